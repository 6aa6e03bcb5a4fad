// The apply lock: file backend (O_EXCL, stale detection, waiting) and the shared git-ref backend
// against a real bare repository with two clones (two operators).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockHeldError } from '../../src/errors.ts';
import { acquireLock, lockPath, unlock } from '../../src/engine/lock.ts';
import { acquireGitLock, unlockGit } from '../../src/engine/lock-git.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'rb-lock-'));
const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

describe('file lock', () => {
  it('lets one run in, names the holder to the second, and frees on release', async () => {
    const base = tmp();
    const a = await acquireLock({ base, env: 'prod', hosts: 'web', runId: 'run-a' });
    const err = await acquireLock({ base, env: 'prod', hosts: 'web', runId: 'run-b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).exitCode).toBe(4);
    expect((err as LockHeldError).message).toMatch(/run run-a by .+@/);
    expect((err as LockHeldError).stale).toBeUndefined();
    const other = await acquireLock({ base, env: 'prod', hosts: 'db', runId: 'run-c' }); // another host set
    other.release();
    a.release();
    (await acquireLock({ base, env: 'prod', hosts: 'web', runId: 'run-b' })).release();
  });

  it('reports a stale lock (dead pid) with the unlock command, and never breaks it silently', async () => {
    const base = tmp();
    const path = lockPath(base, 'prod', 'web');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify({ runId: 'dead', user: 'bob', host: hostname(), pid: 2 ** 22 + 7, startedAt: '2026-01-01T00:00:00Z', leaseUntil: '2099-01-01T00:00:00Z' }));
    const err = (await acquireLock({ base, env: 'prod', hosts: 'web', runId: 'new' }).catch((e: unknown) => e)) as LockHeldError;
    expect(err.stale).toMatch(/is gone/);
    expect(err.message).toContain('runbook unlock -e prod --run dead');
    expect(() => unlock(base, 'prod', 'other')).toThrow(/held by: dead/);
    expect(unlock(base, 'prod', 'dead').user).toBe('bob');
    (await acquireLock({ base, env: 'prod', hosts: 'web', runId: 'new' })).release();
  });

  it('waits with --lock-wait until the holder releases', async () => {
    const base = tmp();
    const a = await acquireLock({ base, env: 'e', hosts: 'h', runId: 'a' });
    setTimeout(() => a.release(), 300);
    const started = Date.now();
    const b = await acquireLock({ base, env: 'e', hosts: 'h', runId: 'b', waitMs: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    b.release();
  });
});

describe('shared git-ref lock', () => {
  it('is atomic across two clones of the same remote', async () => {
    const root = tmp();
    git(root, 'init', '-q', '--bare', 'origin.git');
    const clone = (name: string): string => { git(root, 'clone', '-q', 'origin.git', name); return join(root, name); };
    const alice = clone('alice');
    const bob = clone('bob');
    const a = await acquireGitLock({ repoDir: alice, key: 'prod-abc', runId: 'run-alice', env: 'prod' });
    const err = (await acquireGitLock({ repoDir: bob, key: 'prod-abc', runId: 'run-bob', env: 'prod' }).catch((e: unknown) => e)) as LockHeldError;
    expect(err).toBeInstanceOf(LockHeldError);
    expect(err.holder.runId).toBe('run-alice');
    expect(git(root, '--git-dir', 'origin.git', 'for-each-ref', '--format=%(refname)')).toBe('refs/runbook/locks/prod-abc');
    await a.release();
    expect(git(root, '--git-dir', 'origin.git', 'for-each-ref')).toBe('');
    const b = await acquireGitLock({ repoDir: bob, key: 'prod-abc', runId: 'run-bob', env: 'prod' });
    await expect(unlockGit({ repoDir: alice, env: 'prod', runId: 'run-alice' })).rejects.toThrow(/no shared lock/);
    expect((await unlockGit({ repoDir: alice, env: 'prod', runId: 'run-bob' })).runId).toBe('run-bob');
    await b.release(); // already gone: release must not throw
  });
});
