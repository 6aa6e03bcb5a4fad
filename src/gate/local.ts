// Local git facts for the gate: every file the run reads must be a regular file tracked in git,
// inside the repository (no symlink out, no submodule, no LFS pointer), with bytes equal to HEAD.
import { execFile } from 'node:child_process';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { blobSha } from '../engine/git-info.ts';

const run = promisify(execFile);

export async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    return (await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
  } catch {
    return undefined;
  }
}

export type LocalFacts = { root: string; head?: string; blobs: Record<string, string>; problems: string[] };

const LFS_POINTER = 'version https://git-lfs.github.com/spec/';
const outside = (rel: string): boolean => rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);

/** One file: its repo-relative path and HEAD blob SHA, or the reason it cannot be pinned. */
async function fileFact(root: string, file: string): Promise<{ rel: string; sha?: string; problem?: string }> {
  let link = false;
  let real: string;
  try {
    link = (await lstat(file)).isSymbolicLink();
    real = await realpath(file);
  } catch {
    return { rel: file, problem: `${file} does not exist; the run reads it, so it must be committed in the repository` };
  }
  const rel = relative(root, real);
  if (outside(rel)) {
    return { rel: file, problem: link
      ? `${file} is a symlink to ${real}, outside the repository; the review never saw that file: copy it into the repository and commit it`
      : `${file} is outside the repository ${root}; only files reviewed in git may run on a protected environment` };
  }
  if (link) return { rel, problem: `${relative(root, file)} is a symlink; git reviews the link, not what it points to: reference ${rel} directly` };
  return trackedFact(root, rel, real);
}

async function trackedFact(root: string, rel: string, real: string): Promise<{ rel: string; sha?: string; problem?: string }> {
  const staged = await git(root, ['ls-files', '-s', '--', rel]);
  if (!staged) {
    const top = await git(dirname(real), ['rev-parse', '--show-toplevel']);
    if (top && (await realpath(top)) !== root) return { rel, problem: `${rel} is inside the submodule ${relative(root, top)}; submodule contents are not part of the reviewed commit` };
    return { rel, problem: `${rel} is not tracked by git (untracked file); git add and commit it, then get it reviewed` };
  }
  const mode = staged.split(' ')[0];
  if (mode === '160000') return { rel, problem: `${rel} is a submodule; submodule contents are not part of the reviewed commit` };
  if (mode === '120000') return { rel, problem: `${rel} is a symlink in git; reference the file it points to directly` };
  const sha = await git(root, ['rev-parse', '--verify', '--quiet', `HEAD:${rel}`]);
  if (!sha) return { rel, problem: `${rel} is staged but not committed; commit it and get it reviewed` };
  const attr = await git(root, ['check-attr', 'filter', '--', rel]);
  const bytes = await readFile(real);
  if (attr?.endsWith(': lfs') || bytes.subarray(0, LFS_POINTER.length).toString() === LFS_POINTER) {
    return { rel, sha, problem: `${rel} is stored in Git LFS; a review sees only the pointer, so LFS files cannot run on a protected environment` };
  }
  if (blobSha(bytes) !== sha) {
    return { rel, sha, problem: `${rel} has uncommitted changes (the working tree differs from HEAD ${sha.slice(0, 7)}); commit them and get them reviewed, or discard them` };
  }
  return { rel, sha };
}

/** Pins HEAD and the blob SHA of every file; `problems` lists every file that cannot be pinned. */
export async function localFacts(repoDir: string, files: readonly string[]): Promise<LocalFacts> {
  const top = await git(repoDir, ['rev-parse', '--show-toplevel']);
  if (!top) return { root: repoDir, blobs: {}, problems: [`${repoDir} is not inside a git repository; a protected environment runs only reviewed files from git`] };
  const root = await realpath(top);
  const head = await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  if (!head) return { root, blobs: {}, problems: [`${root} has no commit yet; commit the runbook and get it reviewed`] };
  if (!files.length) return { root, head, blobs: {}, problems: ['no files to pin: the gate needs the runbook and every file it reads (a bug in the caller)'] };
  const facts = await Promise.all([...new Set(files)].map((f) => fileFact(root, f)));
  const blobs: Record<string, string> = {};
  for (const f of facts) if (f.sha && !f.problem) blobs[f.rel] = f.sha;
  return { root, head, blobs, problems: facts.flatMap((f) => (f.problem ? [f.problem] : [])) };
}

/** First commit after `from` up to `to` that changed one of `paths` (short SHA), when both are local. */
export async function firstChange(root: string, from: string, to: string, paths: readonly string[]): Promise<string | undefined> {
  const out = await git(root, ['log', '--format=%h', '--reverse', `${from}..${to}`, '--', ...paths]);
  return out ? out.split('\n')[0] : undefined;
}

/** Run files whose blob differs between two local commits (undefined when a commit is not local). */
export async function changedBetween(root: string, from: string, to: string, paths: readonly string[]): Promise<string[] | undefined> {
  const out = await git(root, ['diff', '--name-only', from, to, '--', ...paths]);
  return out === undefined ? undefined : out.split('\n').filter(Boolean);
}
