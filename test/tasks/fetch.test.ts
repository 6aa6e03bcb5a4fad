// fetch: host sha256 vs the local copy's; a real round trip into dest/<host>/<src> and flat mode.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fetch, { fetchDest } from '../../src/tasks/fetch.ts';
import { sha256Hex } from '../../src/tasks/probes.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { localHost } from '../helpers/local-host.ts';

const S = '/var/log/app.log';
const remote = `type=file\nmode=640\nowner=app\ngroup=adm\nsize=4\nsha256=${sha256Hex('log\n')}\n`;

describeTask(fetch, {
  ok: [{ name: 'local copy matches', args: { src: S, dest: 'out' }, facts: { [`file_sum:${S}`]: remote, 'local_sha256:out/web1/var/log/app.log': { value: sha256Hex('log\n') } }, why: 'matches' }],
  change: [
    { name: 'no local copy', args: { src: S, dest: 'out' }, facts: { [`file_sum:${S}`]: remote, 'local_sha256:out/web1/var/log/app.log': { value: undefined } },
      changes: [{ kind: 'fetch', why: `fetch ${S}`, src: S, dest: 'out/web1/var/log/app.log' }] },
    { name: 'flat into a folder, stale copy', args: { src: S, dest: '/tmp/logs/', flat: true }, facts: { [`file_sum:${S}`]: remote, 'local_sha256:/tmp/logs/app.log': { value: sha256Hex('old') } },
      changes: [{ kind: 'fetch', why: 'refresh /tmp/logs/app.log', dest: '/tmp/logs/app.log' }] },
  ],
  fail: [
    { name: 'missing on the host', args: { src: S, dest: 'out' }, facts: { [`file_sum:${S}`]: 'type=absent\n' }, why: `${S} does not exist on web1` },
    { name: 'a directory', args: { src: S, dest: 'out' }, facts: { [`file_sum:${S}`]: 'type=directory\nmode=755\nowner=root\ngroup=root\nsize=4096\n' }, why: 'is a directory, not a file' },
    { name: 'unreadable', args: { src: S, dest: 'out' }, facts: { [`file_sum:${S}`]: 'type=file\nmode=600\nowner=root\ngroup=root\nsize=4\n' }, why: 'become may be needed' },
  ],
  invalid: [{ args: { src: 'rel', dest: 'x' }, error: 'src: must match pattern "^/"' }, { args: { src: S }, error: "must have required property 'dest'" }],
});

describe('fetch on a real host', async () => {
  const h = await localHost();
  it('fetches into dest/<host>/<src>, then ok; a changed host file is fetched again', async () => {
    const src = join(h.dir, "remote 'log'.txt");
    writeFileSync(src, 'one\n');
    const dest = mkdtempSync(join(tmpdir(), 'rb-fetched-'));
    const r = await h.apply(fetch, { src, dest });
    expect(r.before).toMatchObject({ status: 'change', changes: [{ kind: 'fetch' }] });
    expect(r.after.status).toBe('ok');
    const local = fetchDest('local', { src, dest });
    expect(local).toBe(join(dest, 'local', src));
    expect(readFileSync(local, 'utf8')).toBe('one\n');
    writeFileSync(src, 'two\n');
    const r2 = await h.apply(fetch, { src, dest });
    expect(r2.before).toMatchObject({ status: 'change', changes: [{ why: `refresh ${local}` }] });
    expect(readFileSync(local, 'utf8')).toBe('two\n');
  });
  it('flat writes dest itself', async () => {
    const src = join(h.dir, 'flat.txt');
    writeFileSync(src, 'x');
    const dest = join(mkdtempSync(join(tmpdir(), 'rb-flat-')), 'copy.txt');
    const r = await h.apply(fetch, { src, dest, flat: true });
    expect(r.after.status).toBe('ok');
    expect(readFileSync(dest, 'utf8')).toBe('x');
  });
});
