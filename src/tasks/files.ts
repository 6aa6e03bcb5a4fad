// Shared by copy and template: compare desired content with the host's file (one stat + sha256 probe),
// then describe a write (with a unified diff) and/or chmod/chown. Idempotent: same sha256, mode, owner, group -> ok.
import { createTwoFilesPatch } from 'diff';
import { sh } from '../engine/script.ts';
import { Secret } from '../engine/secret.ts';
import { fileSum, fileText, octal, parseMode, sha256Hex, type FileStat } from './probes.ts';
import { change, fail, ok, type Change, type Check, type CheckCtx } from './types.ts';

export type Content = string | Secret | Uint8Array;
export type DesiredFile = {
  readonly dest: string;
  readonly content: Content;
  readonly mode?: string | number;
  readonly owner?: string;
  readonly group?: string;
  readonly backup?: boolean;
  /** false: leave an existing file's content alone. */
  readonly force?: boolean;
};

const MAX_DIFF = 1024 * 1024;

export const ownerSchema = { type: 'string', minLength: 1, description: 'Owner user name (needs become to change).', examples: ['root', 'www-data'] };
export const groupSchema = { type: 'string', minLength: 1, description: 'Group name (needs become to change).', examples: ['root', 'adm'] };
export const backupSchema = { type: 'boolean', default: false, description: 'Keep a timestamped copy (`dest.YYYYmmddHHMMSS~`) of the old file before replacing it.' };

const bytesOf = (c: Content): Uint8Array => (c instanceof Uint8Array ? c : Buffer.from(c instanceof Secret ? c.reveal() : c));

function isText(b: Uint8Array): boolean {
  if (b.includes(0)) return false;
  return !Buffer.from(b).toString('utf8').includes('\uFFFD');
}

/** A unified diff of old -> new, or a one-line summary for secrets, binary or large files. */
export function contentDiff(path: string, before: string | undefined, after: Content, shaBefore?: string): string {
  if (after instanceof Secret) return `${path}: content hidden (secret)`;
  const bytes = bytesOf(after);
  const text = Buffer.from(bytes).toString('utf8');
  if (!isText(bytes) || bytes.length > MAX_DIFF || (before !== undefined && before.length > MAX_DIFF)) {
    return `${path}: binary/large file differs (sha256 ${shaBefore?.slice(0, 12) ?? 'none'} -> ${sha256Hex(bytes).slice(0, 12)})`;
  }
  return createTwoFilesPatch(before === undefined ? '/dev/null' : path, path, before ?? '', text, undefined, undefined, { context: 3 });
}

/** chmod/chown changes for an existing path whose mode/owner/group differ from what is asked. */
export function attrChanges(path: string, st: FileStat, want: { mode?: number; owner?: string; group?: string }): Change[] {
  const out: Change[] = [];
  if (want.mode !== undefined && st.mode !== want.mode) {
    const why = st.mode === undefined ? `set mode ${octal(want.mode)}` : `mode ${octal(st.mode)} -> ${octal(want.mode)}`;
    out.push({ kind: 'exec', why, script: sh`chmod ${octal(want.mode)} ${path}` });
  }
  const owner = want.owner !== undefined && st.owner !== want.owner ? want.owner : undefined;
  const group = want.group !== undefined && st.group !== want.group ? want.group : undefined;
  if (owner !== undefined || group !== undefined) {
    const spec = `${owner ?? ''}${group !== undefined ? `:${group}` : ''}`;
    const why = st.type === 'absent' ? `set owner ${spec}` : `owner ${st.owner}:${st.group} -> ${owner ?? st.owner}:${group ?? st.group}`;
    out.push({ kind: 'exec', why, script: sh`chown ${spec} ${path}` });
  }
  return out;
}

/** The check both copy and template return. */
export async function checkFile(ctx: CheckCtx, want: DesiredFile): Promise<Check> {
  let mode: number | undefined;
  try {
    mode = parseMode(want.mode);
  } catch (e) {
    return fail((e as Error).message);
  }
  const st = await ctx.probe(fileSum(want.dest));
  if (st.type === 'directory') return fail(`${want.dest} is a directory (end dest with / to copy into it)`);
  if (st.type === 'other') return fail(`${want.dest} exists and is not a regular file`);
  const bytes = bytesOf(want.content);
  const sha = sha256Hex(bytes);
  const attrs = { mode, owner: want.owner, group: want.group };
  const result = { dest: want.dest, checksum: sha, size: bytes.length };
  if (st.type === 'file' && (st.sha256 === sha || want.force === false)) {
    const changes = attrChanges(want.dest, st, attrs);
    if (changes.length === 0) return ok(st.sha256 === sha ? `${want.dest} is up to date` : `${want.dest} exists (force: false)`, { result });
    return change(changes, undefined, result);
  }
  const old = st.type === 'file' && (st.size ?? 0) <= MAX_DIFF && !(want.content instanceof Secret) ? await ctx.probe(fileText(want.dest)) : undefined;
  const write: Change = {
    kind: 'write', why: st.type === 'absent' ? `create ${want.dest}` : `update ${want.dest}`, path: want.dest,
    content: want.content, ...(mode !== undefined ? { mode } : {}), ...(want.owner ? { owner: want.owner } : {}),
    ...(want.group ? { group: want.group } : {}), ...(want.backup && st.type === 'file' ? { backup: true } : {}),
  };
  return change([write], contentDiff(want.dest, old, want.content, st.sha256), result);
}
