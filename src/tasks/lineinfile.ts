// lineinfile: ensure one line is present in (or lines absent from) a text file, optionally replacing
// the last line matching `regexp`. Idempotent: the file's text is read once and compared.
import { createTwoFilesPatch } from 'diff';
import { backupSchema } from './files.ts';
import { fileText } from './probes.ts';
import { change, defineTask, fail, ok } from './types.ts';

export type LineinfileArgs = {
  path: string;
  line?: string;
  regexp?: string;
  state?: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  create?: boolean;
  backup?: boolean;
};

export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
export const joinLines = (lines: readonly string[]): string => (lines.length ? lines.join('\n') + '\n' : '');

const lastIndex = (lines: readonly string[], re: RegExp): number => lines.reduce((at, l, i) => (re.test(l) ? i : at), -1);

/** Where a new line goes: after the last insertafter match, before the last insertbefore match, else at the end. */
function insertAt(lines: readonly string[], a: LineinfileArgs): number {
  if (a.insertbefore === 'BOF') return 0;
  if (a.insertbefore !== undefined) {
    const i = lastIndex(lines, new RegExp(a.insertbefore));
    return i >= 0 ? i : lines.length;
  }
  if (a.insertafter !== undefined && a.insertafter !== 'EOF') {
    const i = lastIndex(lines, new RegExp(a.insertafter));
    return i >= 0 ? i + 1 : lines.length;
  }
  return lines.length;
}

function present(lines: string[], a: LineinfileArgs & { line: string }): { next: string[]; why: string } | undefined {
  const m = a.regexp !== undefined ? lastIndex(lines, new RegExp(a.regexp)) : -1;
  if (m >= 0) {
    if (lines[m] === a.line) return undefined;
    const next = [...lines];
    next[m] = a.line;
    return { next, why: `replace line ${m + 1}` };
  }
  if (lines.includes(a.line)) return undefined;
  const at = insertAt(lines, a);
  return { next: [...lines.slice(0, at), a.line, ...lines.slice(at)], why: `insert line ${at + 1}` };
}

function badRegex(patterns: readonly (string | undefined)[]): string | undefined {
  for (const p of patterns) {
    try {
      if (p !== undefined) new RegExp(p);
    } catch (e) {
      return `bad regular expression: ${(e as Error).message}`;
    }
  }
  return undefined;
}

export default defineTask<LineinfileArgs>({
  name: 'lineinfile',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['path'],
    description: 'Ensure one line is in a text file (replacing the last line matching regexp), or that matching lines are gone.',
    properties: {
      path: { type: 'string', pattern: '^/', description: 'Absolute path of the file on the host.', examples: ['/etc/app.env'] },
      line: { type: 'string', description: 'The whole line (required with state: present).', examples: ['LOG_LEVEL=info'] },
      regexp: { type: 'string', description: 'JavaScript regular expression: present replaces the last matching line; absent removes every matching line.', examples: ['^LOG_LEVEL='] },
      state: { enum: ['present', 'absent'], default: 'present', description: 'present: the line is there; absent: no line equal to `line` (or matching regexp).' },
      insertafter: { type: 'string', description: 'Insert a new line after the last line matching this regular expression, or EOF (default).', examples: ['EOF', '^\\[main\\]'] },
      insertbefore: { type: 'string', description: 'Insert a new line before the last line matching this regular expression, or BOF.', examples: ['BOF', '^# end'] },
      create: { type: 'boolean', default: false, description: 'Create the file when it does not exist (else the task fails).' },
      backup: backupSchema,
    },
    not: { required: ['insertafter', 'insertbefore'] },
    if: { not: { required: ['state'], properties: { state: { const: 'absent' } } } },
    then: { required: ['line'] },
    else: { anyOf: [{ required: ['line'] }, { required: ['regexp'] }] },
  },
  async check(ctx, a) {
    const state = a.state ?? 'present';
    const bad = badRegex([a.regexp, a.insertafter, a.insertbefore]);
    if (bad) return fail(bad);
    const text = await ctx.probe(fileText(a.path));
    if (text === undefined && state === 'absent') return ok(`${a.path} does not exist`);
    if (text === undefined && !a.create) return fail(`${a.path} does not exist (set create: true to create it)`);
    const lines = splitLines(text ?? '');
    let next: string[];
    let why: string;
    if (state === 'present') {
      const r = present(lines, { ...a, line: a.line ?? '' });
      if (!r && text !== undefined) return ok(`line already present in ${a.path}`);
      ({ next, why } = r ?? { next: lines, why: 'create file' });
    } else {
      const re = a.regexp !== undefined ? new RegExp(a.regexp) : undefined;
      next = lines.filter((l) => (re ? !re.test(l) : l !== a.line));
      if (next.length === lines.length) return ok(`line already absent from ${a.path}`);
      why = `remove ${lines.length - next.length} line(s)`;
    }
    const content = joinLines(next);
    const diff = createTwoFilesPatch(text === undefined ? '/dev/null' : a.path, a.path, text ?? '', content, undefined, undefined, { context: 3 });
    return change([{ kind: 'write', why: `${why} in ${a.path}`, path: a.path, content, ...(a.backup && text !== undefined ? { backup: true } : {}) }], diff);
  },
});
