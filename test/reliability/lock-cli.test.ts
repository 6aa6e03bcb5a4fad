// The apply lock through the real CLI (issue 9, req 1): a second apply exits 4 naming the holder or
// waits with --lock-wait; a stale lock (expired lease) is reported with the unlock command and left
// in place until `runbook unlock`; the shared git backend stops an apply from another clone.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockPath } from '../../src/engine/lock.ts';
import { spawnNode, type Spawned } from '../helpers/spawn-async.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
const env = { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', GITHUB_TOKEN: '', GH_TOKEN: '' };
const RUNBOOK = 'name: l\nhosts: web\nenvironments: [dev]\ntasks:\n  - name: slow\n    shell: sleep 1.5; echo {{ marker }} >> {{ out }}/log\n';

function project(dir: string, lock = ''): string {
  mkdirSync(join(dir, 'environments'), { recursive: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { out: "${dir}/out" }\n${lock}groups:\n  web:\n    hosts:\n      h1: {}\n`);
  writeFileSync(join(dir, 'rb.yml'), RUNBOOK);
  return dir;
}

const apply = (dir: string, marker: string, ...extra: string[]): Promise<Spawned> =>
  spawnNode(BIN, ['apply', 'rb.yml', '-e', 'dev', '--yes', '--extra-vars', `marker=${marker}`, ...extra], { cwd: dir, env });

/** Start an apply and resolve once it holds the lock (its first task started), with its run id. */
function holding(dir: string, marker: string): { started: Promise<string>; done: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'dev', '--json', '--extra-vars', `marker=${marker}`], { cwd: dir, env });
  let out = '';
  const started = new Promise<string>((ok) => child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('"type":"task_start"')) ok((JSON.parse(out.split('\n')[0]!) as { run: string }).run);
  }));
  return { started, done: new Promise((r) => child.on('exit', r)) };
}

describe('file lock through the CLI', () => {
  it('a second apply exits 4 naming the holder; with --lock-wait it runs once the first is done', async () => {
    const dir = project(mkdtempSync(join(tmpdir(), 'rb-lockcli-')));
    const first = holding(dir, 'first');
    const run = await first.started;
    const refused = await apply(dir, 'refused');
    expect(refused.status, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(new RegExp(`another run holds the lock: run ${run} by .+@${hostname()} \\(pid \\d+\\) since \\d{4}-`));
    const waited = await apply(dir, 'waited', '--lock-wait', '20s');
    expect(await first.done).toBe(0);
    expect(waited.status, waited.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out', 'log'), 'utf8')).toBe('first\nwaited\n'); // in order, never together
  }, 60_000);

  it('--lock-wait that runs out exits 4 with the holder', async () => {
    const dir = project(mkdtempSync(join(tmpdir(), 'rb-lockcli-')));
    const first = holding(dir, 'first');
    const run = await first.started;
    const r = await apply(dir, 'late', '--lock-wait', '300ms');
    expect(r.status).toBe(4);
    expect(r.stderr).toContain(`run ${run}`);
    await first.done;
  }, 60_000);

  it('a lock whose lease expired is reported with the unlock command, never broken; unlock clears it', async () => {
    const dir = project(mkdtempSync(join(tmpdir(), 'rb-lockcli-')));
    const path = lockPath(dir, 'dev', 'web|');
    mkdirSync(join(path, '..'), { recursive: true });
    const holder = { runId: 'old-run', user: 'carol', host: 'another-laptop', pid: 4242, startedAt: '2026-01-01T00:00:00.000Z', leaseUntil: '2026-01-01T02:00:00.000Z' };
    writeFileSync(path, JSON.stringify(holder));
    const r = await apply(dir, 'x');
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('run old-run by carol@another-laptop (pid 4242)');
    expect(r.stderr).toContain('its lease expired at 2026-01-01T02:00:00.000Z');
    expect(r.stderr).toContain('runbook unlock -e dev --run old-run');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(holder); // still there
    expect(existsSync(join(dir, 'out', 'log'))).toBe(false);
    const wrong = await spawnNode(BIN, ['unlock', '-e', 'dev', '--run', 'some-other-run'], { cwd: dir, env });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('held by: old-run');
    const ok = await spawnNode(BIN, ['unlock', '-e', 'dev', '--run', 'old-run'], { cwd: dir, env });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('removed the lock of run old-run (carol@another-laptop, pid 4242');
    expect((await apply(dir, 'after')).status).toBe(0);
  }, 60_000);
});

describe('shared git lock through the CLI (lock: { backend: git })', () => {
  const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

  it('an apply from another clone of the same origin exits 4 naming the holder; the ref is gone afterwards', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rb-gitlock-'));
    git(root, 'init', '-q', '--bare', 'origin.git');
    const clone = (name: string): string => { git(root, 'clone', '-q', 'origin.git', name); return project(join(root, name), 'lock: { backend: git }\n'); };
    const alice = clone('alice');
    const bob = clone('bob');
    const first = holding(alice, 'alice');
    const run = await first.started;
    expect(git(root, '--git-dir', 'origin.git', 'for-each-ref', '--format=%(refname)')).toMatch(/^refs\/runbook\/locks\/dev-[0-9a-f]{12}$/);
    const r = await apply(bob, 'bob');
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toContain(`another run holds the lock: run ${run}`);
    expect(await first.done).toBe(0);
    expect(git(root, '--git-dir', 'origin.git', 'for-each-ref')).toBe('');
    expect(existsSync(join(bob, 'out', 'log'))).toBe(false);
    expect((await apply(bob, 'bob')).status).toBe(0);
    expect(readdirSync(join(bob, '.runbook', 'runs'))).toHaveLength(1); // the refused apply wrote no journal: the lock comes first
  }, 60_000);
});
