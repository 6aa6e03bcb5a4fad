// Is the environment protected on the default branch? A pull request that sets `protected: false` in its
// own copy of the environment file must not skip the review gate, so apply asks git what origin says.
import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);

async function git(cwd: string, args: string[], timeoutMs = 15_000): Promise<string | undefined> {
  try {
    return (await run('git', args, { cwd, timeout: timeoutMs, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } })).stdout.trim();
  } catch {
    return undefined;
  }
}

/** origin's default branch: from `ls-remote --symref` (fresh), else the local refs/remotes/origin/HEAD. */
async function defaultBranch(repoDir: string): Promise<string | undefined> {
  const remote = await git(repoDir, ['ls-remote', '--symref', 'origin', 'HEAD']);
  const m = remote ? /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(remote) : null;
  if (m) return m[1];
  const local = await git(repoDir, ['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']);
  return local?.startsWith('origin/') ? local.slice('origin/'.length) : undefined;
}

/**
 * The environment file as the default branch of origin has it (fetched first; the local copy of
 * origin/<default> if the fetch fails). `protected: true` there wins over the working tree.
 * Undefined when there is no origin, no default branch, or the file is not on it.
 */
export async function protectedOnDefaultBranch(envFile: string): Promise<{ branch: string } | undefined> {
  const top = await git(dirname(envFile), ['rev-parse', '--show-toplevel']);
  if (!top) return undefined;
  const repoDir = await realpath(top);
  const envFileRel = relative(repoDir, await realpath(envFile).catch(() => envFile));
  if ((await git(repoDir, ['remote', 'get-url', 'origin'])) === undefined) return undefined;
  const branch = await defaultBranch(repoDir);
  if (!branch) return undefined;
  await git(repoDir, ['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
  const text = await git(repoDir, ['show', `refs/remotes/origin/${branch}:${envFileRel.split('\\').join('/')}`]);
  if (text === undefined) return undefined;
  let doc: unknown;
  try { doc = parse(text); } catch { return { branch }; } // unreadable on the default branch: treat as protected (fail closed)
  const prot = typeof doc === 'object' && doc !== null && (doc as Record<string, unknown>).protected === true;
  return prot ? { branch } : undefined;
}
