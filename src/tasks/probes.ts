// Shared read-only probes (POSIX sh, one round trip each) and their output parsers: file stat,
// file stat + sha256, file text, path existence, and a controller-side file's sha256.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Script, sh } from '../engine/script.ts';
import type { ExecResult } from '../transports/types.ts';
import type { Probe } from './types.ts';

export type FileType = 'absent' | 'file' | 'directory' | 'link' | 'other';
export type FileStat = {
  readonly type: FileType;
  readonly mode?: number;
  readonly owner?: string;
  readonly group?: string;
  readonly size?: number;
  /** Symlink target (lstat probes only). */
  readonly target?: string;
  /** Content sha256 (fileSum probes of regular files only). */
  readonly sha256?: string;
};

/** Exit code of the fileText probe for a missing file. */
export const FILE_ABSENT_CODE = 3;

// GNU stat first, BSD stat second; `-L` follows links when asked. Prints key=value lines.
const STAT_FN = new Script(`st() { stat $1 -c 'mode=%a
owner=%U
group=%G
size=%s' -- "$2" 2>/dev/null || stat $1 -f 'mode=%Lp
owner=%Su
group=%Sg
size=%z' "$2"; }`);
const SUM_FN = new Script(`sum256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum < "$1"
elif command -v shasum >/dev/null 2>&1; then shasum -a 256 < "$1"
else openssl dgst -sha256 < "$1" | sed 's/^.*= *//'; fi; }`);

const TYPE_OF = sh`if [ -L "$p" ]; then t=link; elif [ -d "$p" ]; then t=directory; elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=other; else t=absent; fi`;

function statScript(path: string, follow: boolean, withSum: boolean): Script {
  const flag = follow ? '-L' : '';
  const typeLine = follow ? sh`if [ -d "$p" ]; then t=directory; elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=other; else t=absent; fi` : TYPE_OF;
  const sum = withSum ? sh`if [ "$t" = file ] && [ -r "$p" ]; then echo "sha256=$(sum256 "$p" | cut -c1-64)"; fi` : sh``;
  const target = follow ? sh`` : sh`if [ "$t" = link ]; then echo "target=$(readlink "$p")"; fi`;
  return new Script([STAT_FN.text, SUM_FN.text, sh`p=${path}`.text, typeLine.text, 'echo "type=$t"',
    `if [ "$t" != absent ]; then st '${flag}' "$p"; fi`, target.text, sum.text].filter(Boolean).join('\n'),
  `stat ${follow ? '-L ' : ''}${sh`${path}`.shown}${withSum ? ' + sha256' : ''}`);
}

/** Parse the key=value output of the stat probes (also what tests record). */
export function parseStat(out: ExecResult): FileStat {
  if (out.code !== 0) throw new Error(`stat probe failed (exit ${out.code}): ${out.stderr.trim()}`);
  const kv: Record<string, string> = {};
  for (const line of out.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !(line.slice(0, i) in kv)) kv[line.slice(0, i)] = line.slice(i + 1);
  }
  const type = (kv.type ?? 'absent') as FileType;
  if (!['absent', 'file', 'directory', 'link', 'other'].includes(type)) throw new Error(`stat probe: unknown type '${type}'`);
  if (type === 'absent') return { type };
  const sha = kv.sha256?.match(/^[0-9a-f]{64}/)?.[0];
  return {
    type,
    ...(kv.mode !== undefined ? { mode: parseInt(kv.mode, 8) } : {}),
    ...(kv.owner !== undefined ? { owner: kv.owner } : {}),
    ...(kv.group !== undefined ? { group: kv.group } : {}),
    ...(kv.size !== undefined ? { size: Number(kv.size) } : {}),
    ...(kv.target !== undefined ? { target: kv.target } : {}),
    ...(sha ? { sha256: sha } : {}),
  };
}

/** lstat of `path`: type (a link is a link), mode, owner, group, link target. */
export const fileStat = (path: string): Probe<FileStat> =>
  ({ key: `file_stat:${path}`, script: statScript(path, false, false), parse: parseStat });

/** stat following links, plus the sha256 of a regular file's content. */
export const fileSum = (path: string): Probe<FileStat> =>
  ({ key: `file_sum:${path}`, script: statScript(path, true, true), parse: parseStat });

/** The text of a file, or undefined when it does not exist. */
export const fileText = (path: string): Probe<string | undefined> => ({
  key: `file_text:${path}`,
  script: sh`if [ -e ${path} ]; then cat -- ${path} || exit 2; else exit ${FILE_ABSENT_CODE}; fi`,
  parse: (out) => {
    if (out.code === FILE_ABSENT_CODE) return undefined;
    if (out.code !== 0) throw new Error(`cannot read ${path}: ${out.stderr.trim() || `exit ${out.code}`}`);
    return out.stdout;
  },
});

/** Whether each path exists (relative paths from `chdir`, as the command will see them). */
export const pathsExist = (paths: readonly string[], chdir?: string): Probe<boolean[]> => ({
  key: `exists:${chdir ?? ''}:${JSON.stringify(paths)}`,
  script: new Script([chdir ? sh`cd ${chdir} || exit 1`.text : '',
    ...paths.map((p) => sh`if [ -e ${p} ] || [ -L ${p} ]; then echo 1; else echo 0; fi`.text)].filter(Boolean).join('\n')),
  parse: (out) => {
    if (out.code !== 0) throw new Error(`cannot look for ${paths.join(', ')}${chdir ? ` in ${chdir}` : ''}: ${out.stderr.trim() || `exit ${out.code}`}`);
    const bits = out.stdout.trim().split('\n');
    return paths.map((_, i) => bits[i] === '1');
  },
});

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** sha256 of a controller-side file, or undefined when it does not exist (fetch). */
export const localSha256 = (path: string): Probe<string | undefined> => ({
  key: `local_sha256:${path}`,
  async local() {
    try {
      return sha256Hex(await readFile(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  },
});

/** Read a mode argument: "0640" / "640" as octal text; a number's decimal digits read as octal (644 -> 0o644). */
export function parseMode(mode: string | number | undefined): number | undefined {
  if (mode === undefined) return undefined;
  const text = String(mode);
  if (!/^0?[0-7]{3,4}$/.test(text)) throw new Error(`mode ${text}: expected octal digits such as "0644"`);
  return parseInt(text, 8);
}

export const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

export const modeSchema = {
  description: 'Permission bits as octal text ("0644"); quote it in YAML. A bare number is read as octal digits (644).',
  examples: ['0644', '0755', '0600'],
  anyOf: [{ type: 'string', pattern: '^0?[0-7]{3,4}$' }, { type: 'integer', minimum: 0, maximum: 7777 }],
};

/** Absolute host path (templates are checked after rendering). */
export const hostPath = (description: string): Record<string, unknown> => ({ type: 'string', pattern: '^/', description });
