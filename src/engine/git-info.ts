// Best-effort git facts for the journal of an unprotected run (the gate computes its own, strictly).
import { execFileSync } from 'node:child_process';
import { dirname, relative } from 'node:path';

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

export function gitInfo(files: readonly string[]): { commit?: string; blobs: Record<string, string> } {
  if (!files.length) return { blobs: {} };
  const cwd = dirname(files[0]!);
  const root = git(cwd, ['rev-parse', '--show-toplevel']);
  if (!root) return { blobs: {} };
  const blobs: Record<string, string> = {};
  for (const f of files) {
    const sha = git(root, ['hash-object', '--', f]);
    if (sha) blobs[relative(root, f)] = sha;
  }
  return { commit: git(root, ['rev-parse', 'HEAD']), blobs };
}
