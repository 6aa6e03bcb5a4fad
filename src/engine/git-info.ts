// Content pins for the journal: git blob SHAs computed in-process (same as `git hash-object`),
// keyed by path relative to the repository (or the current folder outside one), plus HEAD.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

export function blobSha(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export function gitInfo(files: readonly string[], cwd = process.cwd()): { commit?: string; blobs: Record<string, string> } {
  if (!files.length) return { blobs: {} };
  const root = git(dirname(files[0]!), ['rev-parse', '--show-toplevel']);
  const blobs: Record<string, string> = {};
  for (const f of files) {
    try {
      blobs[relative(root ?? cwd, f)] = blobSha(readFileSync(f));
    } catch {
      blobs[relative(root ?? cwd, f)] = 'unreadable';
    }
  }
  return { commit: root ? git(root, ['rev-parse', 'HEAD']) : undefined, blobs };
}
