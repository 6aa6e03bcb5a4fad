// Probe parsers from recorded output (GNU/BSD stat, dpkg-query/apt-cache, rpm/dnf, apk, systemctl), and
// the probe scripts themselves on the real local host, including hostile file names.
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileStat, fileSum, fileText, FILE_ABSENT_CODE, parseMode, parseStat, pathsExist, sha256Hex } from '../../src/tasks/probes.ts';
import { pkgQuery } from '../../src/tasks/package-query.ts';
import { parseUnit } from '../../src/tasks/service.ts';
import type { ExecResult } from '../../src/transports/types.ts';
import { localHost } from '../helpers/local-host.ts';

const out = (stdout: string, code = 0, stderr = ''): ExecResult => ({ code, stdout, stderr, ms: 1 });

describe('probe parsers (recorded output)', () => {
  it('parses GNU stat of a file with sha256', () => {
    const r = parseStat(out('type=file\nmode=640\nowner=app\ngroup=adm\nsize=3\nsha256=98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4\n'));
    expect(r).toEqual({ type: 'file', mode: 0o640, owner: 'app', group: 'adm', size: 3, sha256: '98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4' });
  });
  it('parses a link with a target holding spaces and =', () => {
    expect(parseStat(out('type=link\nmode=777\nowner=root\ngroup=root\nsize=11\ntarget=/tmp/a b=c\n'))).toMatchObject({ type: 'link', target: '/tmp/a b=c', mode: 0o777 });
  });
  it('parses absent and setuid modes', () => {
    expect(parseStat(out('type=absent\n'))).toEqual({ type: 'absent' });
    expect(parseStat(out('type=file\nmode=4755\nowner=root\ngroup=root\nsize=0\n')).mode).toBe(0o4755);
  });
  it('throws on a failed probe or unknown type', () => {
    expect(() => parseStat(out('', 1, 'sh: boom'))).toThrow(/stat probe failed \(exit 1\): sh: boom/);
    expect(() => parseStat(out('type=socketish\n'))).toThrow(/unknown type/);
  });
  it('file text: absent by exit code, unreadable is an error', () => {
    const p = fileText('/etc/x');
    if ('local' in p) throw new Error('expected a script probe');
    expect(p.parse(out('', FILE_ABSENT_CODE))).toBeUndefined();
    expect(p.parse(out('a\nb\n'))).toBe('a\nb\n');
    expect(() => p.parse(out('', 2, 'cat: /etc/x: Permission denied'))).toThrow(/cannot read \/etc\/x: cat: \/etc\/x: Permission denied/);
  });
  it('parses modes: octal text, bare numbers read as octal digits, rejects others', () => {
    expect(parseMode('0640')).toBe(0o640);
    expect(parseMode('755')).toBe(0o755);
    expect(parseMode(644)).toBe(0o644);
    expect(parseMode(undefined)).toBeUndefined();
    expect(() => parseMode('0999')).toThrow(/expected octal digits/);
    expect(() => parseMode('u+x')).toThrow(/expected octal digits/);
  });
  it('parses apt (dpkg-query + apt-cache policy) output recorded on Debian 12', () => {
    const p = pkgQuery('apt', ['coreutils', 'nonexistent-pkg-xyz', 'bash'], true);
    if ('local' in p) throw new Error('expected a script probe');
    const s = p.parse(out('@installed\nbash\tinstall ok installed\t5.2.15-2+b8\ncoreutils\tinstall ok installed\t9.1-1\nold\tdeinstall ok config-files\t1.0\n@upgradable\ncoreutils:\n  Installed: 9.1-1\n  Candidate: 9.1-1\n  Version table:\n *** 9.1-1 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n        100 /var/lib/dpkg/status\nbash:\n  Installed: 5.2.15-2+b8\n  Candidate: 5.2.15-2+b13\n  Version table:\n     5.2.15-2+b13 500\n'));
    expect([...s.installed]).toEqual([['bash', '5.2.15-2+b8'], ['coreutils', '9.1-1']]);
    expect([...s.upgradable]).toEqual(['bash']);
  });
  it('parses rpm -q and dnf check-update output', () => {
    const p = pkgQuery('dnf', ['nginx', 'curl', 'python3.11'], true);
    if ('local' in p) throw new Error('expected a script probe');
    const s = p.parse(out('@installed\nnginx\t1.20.1-14.el9\npackage curl is not installed\npython3.11\t3.11.5-1.el9\n@upgradable\n\nnginx.x86_64                 1:1.20.1-16.el9            appstream\npython3.11.x86_64   3.11.7-1.el9   appstream\n', 100));
    expect([...s.installed.keys()]).toEqual(['nginx', 'python3.11']);
    expect([...s.upgradable].sort()).toEqual(['nginx', 'python3.11']);
  });
  it('parses apk info -e and apk version -l "<" output', () => {
    const p = pkgQuery('apk', ['curl', 'jq', 'py3-yaml'], true);
    if ('local' in p) throw new Error('expected a script probe');
    const s = p.parse(out('@installed\ncurl\npy3-yaml\n@upgradable\nInstalled:                                Available:\ncurl-8.5.0-r0                           < 8.9.1-r1\npy3-yaml-6.0.1-r1 < 6.0.2-r0\n'));
    expect([...s.installed.keys()]).toEqual(['curl', 'py3-yaml']);
    expect([...s.upgradable]).toEqual(['curl', 'py3-yaml']);
  });
  it('a package query that never ran is an error', () => {
    const p = pkgQuery('apk', ['curl'], false);
    if ('local' in p) throw new Error('expected a script probe');
    expect(() => p.parse(out('', 127, 'sh: apk: not found'))).toThrow(/package query failed \(exit 127\): sh: apk: not found/);
  });
  it('parses systemctl unit state', () => {
    expect(parseUnit(out('load=loaded\nactive=inactive\nenabled=disabled\n', 3))).toEqual({ load: 'loaded', active: 'inactive', enabled: 'disabled' });
    expect(() => parseUnit(out('', 127, 'systemctl: not found'))).toThrow(/systemctl probe failed/);
  });
});

describe('probe scripts on the real host', async () => {
  const h = await localHost();
  const ctx = async () => h.ctx();
  it('stat, sum, text and exists stay literal with hostile names', async () => {
    const d = join(h.dir, "we ird 'q' $(touch pwned); x");
    mkdirSync(d);
    const f = join(d, 'a "b".txt');
    writeFileSync(f, 'hi\n');
    chmodSync(f, 0o640);
    symlinkSync(f, join(d, 'link'));
    const c = await ctx();
    expect(await c.probe(fileStat(f))).toMatchObject({ type: 'file', mode: 0o640, size: 3 });
    expect(await c.probe(fileStat(join(d, 'link')))).toMatchObject({ type: 'link', target: f });
    expect(await c.probe(fileSum(join(d, 'link')))).toMatchObject({ type: 'file', sha256: sha256Hex('hi\n') });
    expect(await c.probe(fileStat(d))).toMatchObject({ type: 'directory' });
    expect(await c.probe(fileStat(join(d, 'nope')))).toEqual({ type: 'absent' });
    expect(await c.probe(fileText(f))).toBe('hi\n');
    expect(await c.probe(fileText(join(d, 'nope')))).toBeUndefined();
    expect(await c.probe(pathsExist(['a "b".txt', 'nope'], d))).toEqual([true, false]);
    for (const at of [process.cwd(), h.dir, d]) expect(existsSync(join(at, 'pwned')), at).toBe(false);
  });
  it('an empty folder has no sha256 and the mkdtemp folder is a directory', async () => {
    const e = mkdtempSync(join(tmpdir(), 'rb-empty-'));
    expect(await (await ctx()).probe(fileSum(e))).toMatchObject({ type: 'directory' });
    expect((await (await ctx()).probe(fileSum(e))).sha256).toBeUndefined();
  });
});
