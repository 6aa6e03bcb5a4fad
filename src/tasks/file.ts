// file: ensure a path is a file, a directory, a symlink, or absent, with mode/owner/group.
// Idempotent: one lstat probe; only a missing/different type or differing attributes change.
import { sh } from '../engine/script.ts';
import { attrChanges, groupSchema, ownerSchema } from './files.ts';
import { fileStat, fileSum, modeSchema, octal, parseMode, type FileStat } from './probes.ts';
import { change, defineTask, fail, ok, type Change, type Check } from './types.ts';

export type FileState = 'file' | 'directory' | 'absent' | 'touch' | 'link';
export type FileArgs = {
  path: string;
  state?: FileState;
  src?: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  force?: boolean;
};

type Want = { mode?: number; owner?: string; group?: string };

function create(path: string, state: 'directory' | 'touch', want: Want): Change[] {
  const made: Change = state === 'directory'
    ? { kind: 'exec', why: `create directory ${path}`, script: sh`mkdir -p ${path}` }
    : { kind: 'exec', why: `create empty file ${path}`, script: sh`touch ${path}` };
  return [made, ...attrChanges(path, { type: 'absent' }, want)];
}

function link(path: string, st: FileStat, src: string, force: boolean): Check {
  if (st.type === 'link' && st.target === src) return ok(`${path} -> ${src} already`);
  if (st.type === 'directory') return fail(`${path} is a directory, not a link; remove it first`);
  if ((st.type === 'file' || st.type === 'other') && !force) return fail(`${path} exists and is not a link (set force: true to replace it)`);
  const why = st.type === 'link' ? `relink ${path}: ${st.target} -> ${src}` : `link ${path} -> ${src}`;
  return change([{ kind: 'exec', why, script: sh`ln -sfn ${src} ${path}` }], `- ${path}${st.target ? ` -> ${st.target}` : ''}\n+ ${path} -> ${src}`);
}

function ensure(path: string, state: FileState, st: FileStat, want: Want): Check {
  if (st.type === 'absent') {
    if (state === 'file') return fail(`${path} does not exist (state: touch creates it)`);
    return change(create(path, state === 'directory' ? 'directory' : 'touch', want));
  }
  if (state === 'directory' && st.type !== 'directory') return fail(`${path} exists and is not a directory (${st.type})`);
  if (state !== 'directory' && st.type === 'directory') return fail(`${path} is a directory, not a file`);
  const changes = attrChanges(path, st, want);
  if (changes.length === 0) return ok(`${path} is a ${st.type}${want.mode !== undefined ? ` with mode ${octal(want.mode)}` : ''} already`);
  return change(changes);
}

export default defineTask<FileArgs>({
  name: 'file',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['path'],
    description: 'Ensure a path is a file, directory, symlink or absent, with mode, owner and group.',
    examples: [{ path: '/opt/app/releases', state: 'directory', mode: '0755' }, { path: '/opt/app/current', state: 'link', src: '/opt/app/releases/42' }],
    properties: {
      path: { type: 'string', pattern: '^/', description: 'Absolute path on the host.', examples: ['/opt/app/releases'] },
      state: { enum: ['file', 'directory', 'absent', 'touch', 'link'], default: 'file',
        description: 'file: must exist (attributes only); directory: mkdir -p; absent: rm -rf; touch: create empty if missing (an existing file is left as is); link: symlink to src.' },
      src: { type: 'string', minLength: 1, description: 'Link target (state: link), stored as written.', examples: ['/opt/app/releases/42'] },
      mode: modeSchema,
      owner: ownerSchema,
      group: groupSchema,
      force: { type: 'boolean', default: false, description: 'state: link may replace an existing regular file.' },
    },
    if: { required: ['state'], properties: { state: { const: 'link' } } },
    then: { required: ['src'] },
  },
  async check(ctx, args) {
    const state = args.state ?? 'file';
    let mode: number | undefined;
    try {
      mode = parseMode(args.mode);
    } catch (e) {
      return fail((e as Error).message);
    }
    const st = await ctx.probe(fileStat(args.path));
    if (state === 'absent') {
      return st.type === 'absent' ? ok(`${args.path} is absent already`)
        : change([{ kind: 'exec', why: `remove ${st.type} ${args.path}`, script: sh`rm -rf -- ${args.path}` }], `- ${args.path} (${st.type})`);
    }
    if (state === 'link') return link(args.path, st, args.src ?? '', args.force ?? false);
    // a link to a directory or file counts as what it points to (as chmod/chown follow it)
    const real = st.type === 'link' ? await ctx.probe(fileSum(args.path)) : st;
    return ensure(args.path, state, real, { mode, owner: args.owner, group: args.group });
  },
});
