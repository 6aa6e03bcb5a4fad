// The bad-input corpus (test/corpus/): every file is refused by `runbook validate` with exit 2, and
// its first diagnostic is exactly the `# expect: line:col: message` written on the file's first line.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnNode, type Spawned } from '../helpers/spawn-async.ts';

const REPO = resolve(import.meta.dirname, '../..');
const CORPUS = join(REPO, 'test/corpus');
const files = ['runbooks', 'environments'].flatMap((d) =>
  readdirSync(join(CORPUS, d)).filter((f) => f.endsWith('.yml')).sort().map((f) => relative(REPO, join(CORPUS, d, f))));

const expected = (file: string): string => {
  const first = readFileSync(join(REPO, file), 'latin1').split('\n')[0]!;
  const m = /^# expect: (\d+:\d+: .+)$/.exec(first);
  if (!m) throw new Error(`${file}: first line must be '# expect: line:col: message'`);
  return m[1]!;
};

let run: Spawned;
/** file -> its diagnostics, in the order printed */
const byFile = new Map<string, string[]>();

beforeAll(async () => {
  // one process for the whole corpus: validate reports every problem of every file at once
  run = await spawnNode(join(REPO, 'bin/runbook.js'), ['validate', ...files], { cwd: REPO, env: { ...process.env, NO_COLOR: '1' } });
  for (const line of run.stderr.split('\n')) {
    const m = /^(test\/corpus\/[^:]+\.yml):(\d+:\d+: .*)$/.exec(line);
    if (m) byFile.set(m[1]!, [...(byFile.get(m[1]!) ?? []), m[2]!]);
  }
}, 60_000);

describe('bad-input corpus', () => {
  it('is large enough to mean something and exits 2 without a stack trace', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n|TypeError|RangeError|InternalError/);
    expect(run.stderr).toMatch(new RegExp(`${byFile.size > 0 ? '\\d+ problems found' : 'never'}`));
  });

  it.each(files)('%s', (file) => {
    const got = byFile.get(file);
    expect(got, `no diagnostic for ${file}:\n${run.stderr.slice(0, 2000)}`).toBeDefined();
    expect(got![0]).toBe(expected(file));
  });

  it('prints the offending line with a caret under each diagnostic', () => {
    const lines = run.stderr.split('\n');
    const heads = lines.map((l, i) => [l, i] as const).filter(([l]) => /^test\/corpus\/.*:\d+:\d+: /.test(l));
    expect(heads.length).toBeGreaterThanOrEqual(files.length);
    for (const [, i] of heads) expect(lines[i + 2], lines.slice(i, i + 3).join('\n')).toMatch(/^\s*\^$/);
  });
});
