// file: table tests over recorded stat output, and every state on the real local host.
import { existsSync, lstatSync, readlinkSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import file from '../../src/tasks/file.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { localHost } from '../helpers/local-host.ts';

const P = '/srv/app';
const stat = (s: string) => ({ [`file_stat:${P}`]: s });
const DIR = 'type=directory\nmode=755\nowner=root\ngroup=root\nsize=4096\n';
const FILE = 'type=file\nmode=644\nowner=root\ngroup=root\nsize=3\n';
const ABSENT = 'type=absent\n';

describeTask(file, {
  ok: [
    { name: 'directory exists with mode', args: { path: P, state: 'directory', mode: '0755' }, facts: stat(DIR), why: /directory with mode 0755 already/ },
    { name: 'absent already', args: { path: P, state: 'absent' }, facts: stat(ABSENT), why: /absent already/ },
    { name: 'touch keeps an existing file as is', args: { path: P, state: 'touch' }, facts: stat(FILE) },
    { name: 'link points right', args: { path: P, state: 'link', src: '/srv/r1' }, facts: stat('type=link\nmode=777\nowner=root\ngroup=root\nsize=7\ntarget=/srv/r1\n'), why: '-> /srv/r1 already' },
    { name: 'a link to a directory counts as the directory', args: { path: P, state: 'directory' },
      facts: { ...stat('type=link\nmode=777\nowner=root\ngroup=root\nsize=7\ntarget=/srv/r1\n'), [`file_sum:${P}`]: DIR } },
  ],
  change: [
    { name: 'mkdir with mode and owner', args: { path: P, state: 'directory', mode: '0750', owner: 'app', group: 'app' }, facts: stat(ABSENT),
      changes: [{ kind: 'exec', script: 'mkdir -p /srv/app' }, { kind: 'exec', script: 'chmod 0750 /srv/app' }, { kind: 'exec', script: 'chown app:app /srv/app' }] },
    { name: 'chmod only', args: { path: P, state: 'directory', mode: 700 }, facts: stat(DIR),
      changes: [{ kind: 'exec', why: 'mode 0755 -> 0700', script: 'chmod 0700 /srv/app' }] },
    { name: 'chown only the group', args: { path: P, group: 'adm' }, facts: stat(FILE), changes: [{ kind: 'exec', script: 'chown :adm /srv/app' }] },
    { name: 'rm -rf', args: { path: P, state: 'absent' }, facts: stat(DIR), changes: [{ kind: 'exec', script: 'rm -rf -- /srv/app' }], diff: '- /srv/app (directory)' },
    { name: 'touch', args: { path: P, state: 'touch', mode: '0600' }, facts: stat(ABSENT), changes: [{ kind: 'exec', script: 'touch /srv/app' }, { kind: 'exec', script: 'chmod 0600 /srv/app' }] },
    { name: 'new link', args: { path: P, state: 'link', src: '/srv/r 2' }, facts: stat(ABSENT), changes: [{ kind: 'exec', script: "ln -sfn '/srv/r 2' /srv/app" }] },
    { name: 'relink', args: { path: P, state: 'link', src: '/srv/r2' }, facts: stat('type=link\nmode=777\nowner=root\ngroup=root\nsize=7\ntarget=/srv/r1\n'),
      changes: [{ kind: 'exec', why: 'relink /srv/app: /srv/r1 -> /srv/r2' }], diff: '+ /srv/app -> /srv/r2' },
    { name: 'link replaces a file with force', args: { path: P, state: 'link', src: '/srv/r2', force: true }, facts: stat(FILE), changes: [{ kind: 'exec', script: 'ln -sfn /srv/r2 /srv/app' }] },
  ],
  fail: [
    { name: 'state file needs the file', args: { path: P }, facts: stat(ABSENT), why: 'does not exist (state: touch creates it)' },
    { name: 'directory over a file', args: { path: P, state: 'directory' }, facts: stat(FILE), why: 'exists and is not a directory (file)' },
    { name: 'link over a directory', args: { path: P, state: 'link', src: '/x' }, facts: stat(DIR), why: 'is a directory, not a link' },
    { name: 'link over a file without force', args: { path: P, state: 'link', src: '/x' }, facts: stat(FILE), why: 'set force: true' },
    { name: 'bad mode text', args: { path: P, mode: '0999' }, why: 'expected octal digits' },
  ],
  invalid: [
    { args: { path: 'srv/app' }, error: 'path: must match pattern "^/"' },
    { args: { path: P, state: 'link' }, error: "must have required property 'src'" },
    { args: { path: P, state: 'dir' }, error: 'state: must be equal to one of the allowed values' },
    { args: { path: P, mode: 'rwx' }, error: 'mode: must match pattern "^0?[0-7]{3,4}$"' },
  ],
  valid: [{ path: P, state: 'link', src: '/x' }, { path: P, mode: 644 }, { path: P, mode: '0644', owner: 'www-data' }],
});

describe('file on a real host', async () => {
  const h = await localHost();
  const converge = async (args: Parameters<typeof file.check>[1]) => {
    const r = await h.apply(file, args);
    expect(r.before.status, JSON.stringify(r.before)).toBe('change');
    expect(r.after.status, JSON.stringify(r.after)).toBe('ok');
  };
  it('directory (nested, mode), touch, link, relink, chown, absent; each second run is ok', async () => {
    const d = join(h.dir, 'a b', "c'd", '$(touch x)');
    await converge({ path: d, state: 'directory', mode: '0750' });
    expect(statSync(d).mode & 0o7777).toBe(0o750);
    const f = join(d, 'f;ls');
    await converge({ path: f, state: 'touch', mode: '0600' });
    expect(statSync(f).mode & 0o7777).toBe(0o600);
    await converge({ path: f, mode: '0640' });
    await converge({ path: f, owner: 'nobody', group: 'nogroup' });
    expect(statSync(f).uid).not.toBe(0);
    const l = join(h.dir, 'current');
    await converge({ path: l, state: 'link', src: d });
    expect(readlinkSync(l)).toBe(d);
    mkdirSync(join(h.dir, 'r2'));
    await converge({ path: l, state: 'link', src: join(h.dir, 'r2') });
    expect(readlinkSync(l)).toBe(join(h.dir, 'r2'));
    expect(lstatSync(join(h.dir, 'r2')).isDirectory()).toBe(true);
    await converge({ path: join(h.dir, 'a b'), state: 'absent' });
    expect(existsSync(join(h.dir, 'a b'))).toBe(false);
    expect(existsSync(join(process.cwd(), 'x'))).toBe(false);
  });
  it('state file fails on a missing path and passes on an existing one', async () => {
    const f = join(h.dir, 'exists');
    expect(await h.check(file, { path: f })).toMatchObject({ status: 'fail' });
    writeFileSync(f, '');
    expect(await h.check(file, { path: f })).toMatchObject({ status: 'ok' });
  });
});
