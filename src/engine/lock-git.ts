// The shared lock for teams: a ref refs/runbook/locks/<key> on the runbook repo's `origin`.
// Created with `git push --force-with-lease=<ref>:` (the server refuses if it exists: an atomic
// compare-and-swap every operator already has rights for), renewed and deleted the same way.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { hostname, userInfo } from 'node:os';
import { InputError, LockHeldError, type LockHolder } from '../errors.ts';
import { sleep } from './duration.ts';
import type { Lock } from './lock.ts';
import { staleness } from './lock.ts';

const run = promisify(execFile);
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

async function git(cwd: string, args: string[], input?: string): Promise<string> {
  const p = run('git', args, { cwd, maxBuffer: 1 << 20 });
  if (input !== undefined) p.child.stdin?.end(input);
  return (await p).stdout.trim();
}

export type GitLockOpts = { repoDir: string; key: string; runId: string; env: string; waitMs?: number; leaseMs?: number; remote?: string };

async function holderCommit(o: GitLockOpts, h: LockHolder): Promise<string> {
  const env = { GIT_AUTHOR_NAME: 'runbook', GIT_AUTHOR_EMAIL: 'runbook@localhost', GIT_COMMITTER_NAME: 'runbook', GIT_COMMITTER_EMAIL: 'runbook@localhost' };
  const p = run('git', ['commit-tree', EMPTY_TREE, '-m', JSON.stringify(h)], { cwd: o.repoDir, env: { ...process.env, ...env } });
  return (await p).stdout.trim();
}

async function remoteHolder(o: GitLockOpts, ref: string): Promise<{ sha: string; holder?: LockHolder } | undefined> {
  const remote = o.remote ?? 'origin';
  const line = await git(o.repoDir, ['ls-remote', remote, ref]);
  if (!line) return undefined;
  const sha = line.split(/\s/)[0]!;
  await git(o.repoDir, ['fetch', '-q', remote, `+${ref}:${ref}`]);
  try {
    return { sha, holder: JSON.parse(await git(o.repoDir, ['log', '-1', '--format=%B', sha])) as LockHolder };
  } catch {
    return { sha };
  }
}

async function push(o: GitLockOpts, ref: string, expect: string, sha: string | ''): Promise<boolean> {
  try {
    await git(o.repoDir, ['push', '-q', '--porcelain', `--force-with-lease=${ref}:${expect}`, o.remote ?? 'origin', `${sha}:${ref}`]);
    return true;
  } catch {
    return false;
  }
}

export async function acquireGitLock(o: GitLockOpts): Promise<Lock> {
  const ref = `refs/runbook/locks/${o.key}`;
  const lease = o.leaseMs ?? 2 * 60 * 60 * 1000;
  const deadline = Date.now() + (o.waitMs ?? 0);
  for (;;) {
    const holder: LockHolder = { runId: o.runId, user: userInfo().username, host: hostname(), pid: process.pid,
      startedAt: new Date().toISOString(), leaseUntil: new Date(Date.now() + lease).toISOString() };
    const sha = await holderCommit(o, holder);
    if (await push(o, ref, '', sha)) return heldGit(o, ref, sha, holder, lease);
    const other = await remoteHolder(o, ref);
    if (Date.now() >= deadline) {
      if (!other?.holder) throw new InputError(`the shared lock ${ref} on ${o.remote ?? 'origin'} exists but cannot be read; inspect it with git ls-remote`);
      throw new LockHeldError(other.holder, staleness(other.holder), o.env);
    }
    await sleep(Math.min(2000, Math.max(100, deadline - Date.now())));
  }
}

function heldGit(o: GitLockOpts, ref: string, first: string, holder: LockHolder, lease: number): Lock {
  let current = first;
  let chain: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    chain = chain.then(async () => {
      const next = await holderCommit(o, { ...holder, leaseUntil: new Date(Date.now() + lease).toISOString() });
      if (await push(o, ref, current, next)) current = next;
    }).catch(() => {});
  }, Math.max(1000, lease / 4));
  timer.unref();
  let released: Promise<void> | undefined;
  return {
    holder,
    release() {
      clearInterval(timer);
      released ??= chain.then(async () => { await push(o, ref, current, ''); });
      return released;
    },
  };
}

/** `runbook unlock` for the shared lock: delete the env's lock ref only if the named run holds it. */
export async function unlockGit(o: { repoDir: string; env: string; runId: string; remote?: string }): Promise<LockHolder> {
  const remote = o.remote ?? 'origin';
  const refs = (await git(o.repoDir, ['ls-remote', remote, `refs/runbook/locks/${o.env}-*`])).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[1]!);
  for (const ref of refs) {
    const opts = { repoDir: o.repoDir, key: '', runId: o.runId, env: o.env, remote };
    const other = await remoteHolder(opts, ref);
    if (other?.holder?.runId !== o.runId) continue;
    if (!(await push(opts, ref, other.sha, ''))) throw new InputError(`could not delete ${ref}: it changed while unlocking; try again`);
    return other.holder;
  }
  throw new InputError(`no shared lock of environment ${o.env} on ${remote} is held by run ${o.runId}`);
}
