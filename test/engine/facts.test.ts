// Host facts: the one POSIX sh script run against recorded trees (os-release files, a PATH with only
// some package managers, with and without systemd), the parser, this machine, and the executor
// gathering every host's facts in a single round trip per batch.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, machine, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { factsScript, factsScriptFor, parseFacts } from '../../src/engine/facts.ts';
import { sh, Script } from '../../src/engine/script.ts';
import { createLocalTransport } from '../../src/transports/local.ts';
import { countingTransport, type CountingTransport } from '../fakes/counting-transport.ts';
import { runYaml } from '../helpers/run-yaml.ts';

const OS_RELEASE: Record<string, string> = {
  debian: 'ID=debian\nVERSION_ID="12"\n',
  ubuntu: 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n',
  rocky: 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n',
  amzn: 'ID="amzn"\nID_LIKE="centos rhel fedora"\nVERSION_ID="2023"\n',
  alpine: 'ID=alpine\nVERSION_ID=3.19.1\n',
};

const which = (cmd: string): string => execFileSync('sh', ['-c', `command -v ${cmd}`]).toString().trim();

/** A fake root (etc/os-release, maybe run/systemd/system) and a PATH holding only the named tools. */
function tree(o: { os?: string; tools: string[]; systemdDir?: boolean }): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), 'rb-facts-'));
  const bin = join(root, 'bin');
  mkdirSync(join(root, 'etc'));
  mkdirSync(bin);
  if (o.os) writeFileSync(join(root, 'etc', 'os-release'), OS_RELEASE[o.os]!);
  if (o.systemdDir) mkdirSync(join(root, 'run', 'systemd', 'system'), { recursive: true });
  for (const t of ['uname', 'id', 'hostname']) symlinkSync(which(t), join(bin, t));
  for (const t of o.tools) writeFileSync(join(bin, t), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return { root, bin };
}

async function factsOf(o: { os?: string; tools: string[]; systemdDir?: boolean }): Promise<ReturnType<typeof parseFacts>> {
  const { root, bin } = tree(o);
  const t = createLocalTransport();
  const script = new Script(`${sh`PATH=${bin}`.text}\n${factsScriptFor(root).text}`);
  const r = (await t.exec([{ name: 'h', address: '127.0.0.1', vars: {} }], { script }, { signal: new AbortController().signal })).get('h')!;
  if (!r.ok) throw r.error;
  expect(r.value.code, r.value.stderr).toBe(0);
  return parseFacts(r.value);
}

describe('facts script on recorded trees', () => {
  const cases: [string, { os?: string; tools: string[]; systemdDir?: boolean }, Record<string, string>][] = [
    ['Debian with apt and systemd', { os: 'debian', tools: ['apt-get', 'systemctl'], systemdDir: true },
      { os_family: 'Debian', distribution: 'debian', distribution_version: '12', pkg_mgr: 'apt', service_mgr: 'systemd' }],
    ['Ubuntu is Debian by ID_LIKE', { os: 'ubuntu', tools: ['apt-get'] }, { os_family: 'Debian', distribution: 'ubuntu', distribution_version: '24.04', pkg_mgr: 'apt', service_mgr: 'none' }],
    ['Rocky: dnf wins over yum', { os: 'rocky', tools: ['yum', 'dnf', 'systemctl'], systemdDir: true }, { os_family: 'RedHat', distribution: 'rocky', pkg_mgr: 'dnf', service_mgr: 'systemd' }],
    ['Amazon Linux with yum only', { os: 'amzn', tools: ['yum'] }, { os_family: 'RedHat', distribution: 'amzn', distribution_version: '2023', pkg_mgr: 'yum' }],
    ['Alpine with apk and no systemd', { os: 'alpine', tools: ['apk'] }, { os_family: 'Alpine', distribution: 'alpine', pkg_mgr: 'apk', service_mgr: 'none' }],
    ['systemctl without a running systemd is none', { os: 'debian', tools: ['systemctl'] }, { service_mgr: 'none', pkg_mgr: 'unknown' }],
    ['a systemd folder without systemctl is none', { os: 'debian', tools: [], systemdDir: true }, { service_mgr: 'none' }],
    ['no os-release: the kernel name', { tools: [] }, { os_family: execFileSync('uname', ['-s']).toString().trim(), distribution: 'unknown', distribution_version: '' }],
  ];
  for (const [name, o, want] of cases) it(name, async () => expect(await factsOf(o)).toMatchObject(want));
});

describe('parseFacts', () => {
  it('reads key=value lines and defaults what is missing', () => {
    const out = 'os_family=RedHat\ndistribution=rocky\narch=aarch64\nhostname=web1\nuser=deploy\npkg_mgr=dnf\nservice_mgr=systemd\nnoise\n';
    expect(parseFacts({ code: 0, stdout: out, stderr: '', ms: 1 })).toEqual({ os_family: 'RedHat', distribution: 'rocky', distribution_version: '',
      arch: 'aarch64', hostname: 'web1', user: 'deploy', pkg_mgr: 'dnf', service_mgr: 'systemd' });
    expect(parseFacts({ code: 0, stdout: '', stderr: '', ms: 1 })).toMatchObject({ os_family: 'unknown', pkg_mgr: 'unknown', service_mgr: 'none' });
  });
});

describe('facts of this machine', () => {
  it('match what Node sees (arch, hostname, user)', async () => {
    const r = (await createLocalTransport().exec([{ name: 'h', address: '127.0.0.1', vars: {} }], { script: factsScript }, { signal: new AbortController().signal })).get('h')!;
    if (!r.ok) throw r.error;
    expect(parseFacts(r.value)).toMatchObject({ arch: machine(), hostname: hostname(), user: userInfo().username });
  });
});

describe('facts in a run', () => {
  it('are gathered in one round trip for all hosts of a batch, once per host, and reach templates', async () => {
    let t: CountingTransport | undefined;
    const yaml = 'name: t\nhosts: web\nenvironments: [test]\nserial: 2\ntasks:\n  - name: a\n    debug: { msg: "{{ facts.os_family }}/{{ facts.user }}" }\n  - name: b\n    command: "true"\n';
    const r = await runYaml(yaml, { hosts: 3, wrap: (inner) => (t = countingTransport(inner)) });
    expect(r.exitCode).toBe(0);
    const factCalls = t!.calls.filter((c) => c.script === factsScript.text);
    expect(factCalls.map((c) => c.hosts)).toEqual([['h1', 'h2'], ['h3']]);
    expect(r.events.filter((e) => e.type === 'facts').map((e) => (e as { host: string }).host)).toEqual(['h1', 'h2', 'h3']);
    expect(r.results('a').map((e) => e.msg)).toEqual(Array(3).fill(`${r.states[0]!.facts!.os_family}/${userInfo().username}`));
  });
});
