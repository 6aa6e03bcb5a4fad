// copy and template: table tests (sha256 + mode probe -> write with diff / chmod / chown) and real round
// trips: mode, backup, a 10 MB file, dest folder, force: false, template rendering.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/engine/secret.ts';
import { renderString } from '../../src/engine/template.ts';
import copy from '../../src/tasks/copy.ts';
import { sha256Hex } from '../../src/tasks/probes.ts';
import template from '../../src/tasks/template.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { localHost } from '../helpers/local-host.ts';

const D = '/etc/app.env';
const sum = (content: string, mode = '644', owner = 'root', group = 'root') =>
  `type=file\nmode=${mode}\nowner=${owner}\ngroup=${group}\nsize=${content.length}\nsha256=${sha256Hex(content)}\n`;
const facts = (content: string | undefined, mode?: string, extra: Record<string, string> = {}) =>
  ({ [`file_sum:${D}`]: content === undefined ? 'type=absent\n' : sum(content, mode), ...extra });

describeTask(copy, {
  ok: [
    { name: 'same content and mode', args: { dest: D, content: 'A=1\n', mode: '0644' }, facts: facts('A=1\n'), why: 'up to date', result: { checksum: sha256Hex('A=1\n') } },
    { name: 'force: false keeps other content', args: { dest: D, content: 'new\n', force: false }, facts: facts('old\n'), why: 'force: false' },
    { name: 'src from the runbook folder', args: { dest: D, src: 'files/app.env' }, local: { 'files/app.env': 'A=1\n' }, facts: facts('A=1\n') },
  ],
  change: [
    { name: 'new file', args: { dest: D, content: 'A=1\n', mode: '0640', owner: 'app' }, facts: facts(undefined),
      changes: [{ kind: 'write', why: `create ${D}`, path: D, content: 'A=1\n', mode: 0o640, owner: 'app' }], diff: /--- \/dev\/null[\s\S]*\+A=1/ },
    { name: 'content differs: unified diff', args: { dest: D, content: 'A=1\nB=3\n', backup: true }, facts: facts('A=1\nB=2\n', '644', { [`file_text:${D}`]: 'A=1\nB=2\n' }),
      changes: [{ kind: 'write', why: `update ${D}`, content: 'A=1\nB=3\n', backup: true }], diff: /-B=2\n\+B=3/ },
    { name: 'mode only: chmod', args: { dest: D, content: 'A=1\n', mode: '0600' }, facts: facts('A=1\n'),
      changes: [{ kind: 'exec', why: 'mode 0644 -> 0600', script: `chmod 0600 ${D}` }] },
    { name: 'owner and group only: chown', args: { dest: D, content: 'A=1\n', owner: 'app', group: 'adm' }, facts: facts('A=1\n'),
      changes: [{ kind: 'exec', script: `chown app:adm ${D}` }] },
    { name: 'secret content: no diff, no old text read', args: { dest: D, content: new Secret('token=s3cr3t\n') }, facts: facts('token=old\n'),
      changes: [{ kind: 'write', content: '***' }], diff: `${D}: content hidden (secret)` },
    { name: 'binary content', args: { dest: '/bin/x', src: 'x.bin' }, local: { 'x.bin': 'a\u0000b' },
      facts: { 'file_sum:/bin/x': sum('old'), 'file_text:/bin/x': 'old' }, changes: [{ kind: 'write', path: '/bin/x' }], diff: /binary\/large file differs \(sha256 [0-9a-f]{12} -> [0-9a-f]{12}\)/ },
    { name: 'dest ending in / takes basename(src)', args: { dest: '/opt/app/', src: 'files/server.mjs' }, local: { 'files/server.mjs': 'x' },
      facts: { 'file_sum:/opt/app/server.mjs': 'type=absent\n' }, changes: [{ kind: 'write', path: '/opt/app/server.mjs' }] },
  ],
  fail: [
    { name: 'dest is a directory', args: { dest: D, content: 'x' }, facts: { [`file_sum:${D}`]: 'type=directory\nmode=755\nowner=root\ngroup=root\nsize=4096\n' }, why: 'is a directory' },
  ],
  invalid: [
    { args: { dest: D }, error: 'must match exactly one schema in oneOf' },
    { args: { dest: D, content: 'a', src: 'b' }, error: 'must match exactly one schema in oneOf' },
    { args: { dest: 'rel', content: 'a' }, error: 'dest: must match pattern "^/"' },
    { args: { dest: D, content: 'a', mode: 'a+x' }, error: 'mode: must match pattern "^0?[0-7]{3,4}$"' },
  ],
  valid: [{ dest: D, content: '', mode: 416 }, { dest: D, src: 'f', backup: true, force: false, owner: 'a', group: 'b' }],
});

describeTask(template, {
  ok: [{ name: 'rendered text matches', args: { src: 't.j2', dest: D }, local: { 't.j2': 'PORT={{ port }}\n' }, vars: { port: '80' }, facts: facts('PORT=80\n') }],
  change: [{ name: 'rendered text differs', args: { src: 't.j2', dest: D, mode: '0640' }, local: { 't.j2': 'PORT={{ port }}\n' }, vars: { port: '81' },
    facts: facts('PORT=80\n', '640', { [`file_text:${D}`]: 'PORT=80\n' }), changes: [{ kind: 'write', content: 'PORT=81\n', mode: 0o640 }], diff: /-PORT=80\n\+PORT=81/ }],
  invalid: [{ args: { dest: D }, error: "must have required property 'src'" }],
});

describe('template with the real template engine', async () => {
  const scope = { items: ['a', 'b'], secrets: { token: new Secret('s3cr3t') } };
  const h = await localHost({ render: (text) => renderString(text, scope) as string });
  it('renders filters, and a secret reaches the file but never the diff', async () => {
    writeFileSync(join(h.runbookDir, 'env.j2'), 'ITEMS={{ items | join(",") | upper }}\nTOKEN={{ secrets.token }}\n');
    const dest = join(h.dir, 'env');
    const r = await h.apply(template, { src: 'env.j2', dest, mode: '0600' });
    expect(r.before.status === 'change' && r.before.diff).toBe(`${dest}: content hidden (secret)`);
    expect(JSON.stringify(r.before)).not.toContain('s3cr3t');
    expect(r.after.status).toBe('ok');
    expect(readFileSync(dest, 'utf8')).toBe('ITEMS=A,B\nTOKEN=s3cr3t\n');
  });
});

describe('copy and template on a real host', async () => {
  const h = await localHost({ vars: { name: "O'Brien $(id)", port: '8080' } });
  it('creates with mode, changes mode only, updates content with a backup, and settles', async () => {
    const dest = join(h.dir, 'conf d', 'a;b.env');
    mkdirSync(join(h.dir, 'conf d'));
    let r = await h.apply(copy, { dest, content: 'A=1\n', mode: '0640' });
    expect(r.before).toMatchObject({ status: 'change' });
    expect(r.after.status).toBe('ok');
    expect(statSync(dest).mode & 0o7777).toBe(0o640);
    r = await h.apply(copy, { dest, content: 'A=1\n', mode: '0600' });
    expect(r.before.status === 'change' && r.before.changes.map((c) => c.kind)).toEqual(['exec']);
    expect(statSync(dest).mode & 0o7777).toBe(0o600);
    r = await h.apply(copy, { dest, content: 'A=2\n', mode: '0600', backup: true });
    expect(r.before.status === 'change' && r.before.diff).toMatch(/-A=1\n\+A=2/);
    expect(r.after.status).toBe('ok');
    expect(readFileSync(dest, 'utf8')).toBe('A=2\n');
    const backups = readdirSync(join(h.dir, 'conf d')).filter((n) => n.startsWith('a;b.env.') && n.endsWith('~'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(h.dir, 'conf d', backups[0]!), 'utf8')).toBe('A=1\n');
  });
  it('copies a 10 MB binary file from the runbook folder into a dest folder, then reports ok', async () => {
    const data = randomBytes(10 * 1024 * 1024);
    writeFileSync(join(h.runbookDir, 'big.bin'), data);
    mkdirSync(join(h.dir, 'big'));
    const t0 = performance.now();
    const r = await h.apply(copy, { src: 'big.bin', dest: join(h.dir, 'big') + '/' });
    const ms = performance.now() - t0;
    expect(r.before.status === 'change' && r.before.diff).toMatch(/binary\/large file differs/);
    expect(r.after.status).toBe('ok');
    expect(sha256Hex(readFileSync(join(h.dir, 'big', 'big.bin')))).toBe(sha256Hex(data));
    expect(ms).toBeLessThan(10_000);
  });
  it('owner and group: set on a new file, fixed alone on an existing one, then ok (runs as root)', async () => {
    const dest = join(h.dir, 'owned.env');
    const nobody = { uid: Number(execFileSync('id', ['-u', 'nobody']).toString()), gid: Number(execFileSync('getent', ['group', 'nogroup']).toString().split(':')[2]) };
    let r = await h.apply(copy, { dest, content: 'A=1\n', owner: 'nobody', group: 'nogroup', mode: '0640' });
    expect(r.before).toMatchObject({ status: 'change', changes: [{ kind: 'write', owner: 'nobody', group: 'nogroup' }] });
    expect(r.after.status).toBe('ok');
    expect(statSync(dest)).toMatchObject(nobody);
    chownSync(dest, 0, 0);
    r = await h.apply(copy, { dest, content: 'A=1\n', owner: 'nobody', group: 'nogroup', mode: '0640' });
    expect(r.before).toMatchObject({ status: 'change', changes: [{ kind: 'exec', why: 'owner root:root -> nobody:nogroup' }] });
    expect(r.after.status).toBe('ok');
    expect(statSync(dest)).toMatchObject(nobody);
  });
  it('force: false leaves existing content but fixes the mode', async () => {
    const dest = join(h.dir, 'keep');
    writeFileSync(dest, 'mine\n');
    chmodSync(dest, 0o644);
    const r = await h.apply(copy, { dest, content: 'theirs\n', force: false, mode: '0600' });
    expect(r.after.status).toBe('ok');
    expect(readFileSync(dest, 'utf8')).toBe('mine\n');
    expect(statSync(dest).mode & 0o7777).toBe(0o600);
  });
  it('template renders values literally (quotes, $(...)) and a second run is ok', async () => {
    writeFileSync(join(h.runbookDir, 'app.j2'), 'NAME={{ name }}\nPORT={{ port }}\n');
    const dest = join(h.dir, 'app.env');
    const r = await h.apply(template, { src: 'app.j2', dest, mode: '0644' });
    expect(r.before.status).toBe('change');
    expect(r.after.status).toBe('ok');
    expect(readFileSync(dest, 'utf8')).toBe("NAME=O'Brien $(id)\nPORT=8080\n");
    expect(existsSync(join(h.dir, 'uid='))).toBe(false);
  });
});
