// The shape STYLE.md asks for, checked on the real tree: one file per task module (<= 150 lines) named
// after its YAML key, an explicit registry checked with `satisfies`, no src file over 400 lines nor function over 60, and
// no import cycles, type-only imports included (the import graph of src/, as madge would build it).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { modules } from '../src/tasks/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const lines = (file: string): number => readFileSync(file, 'utf8').split('\n').length - 1;

/** Relative imports of a file; with `types: false` only those that exist at run time (`import type` is erased). */
function runtimeImports(file: string, text: string, types = false): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    if (m[2] && !types) continue;
    const spec = m[4] ?? m[5]!;
    out.push(resolve(dirname(file), spec));
  }
  return out;
}

/** Every cycle found by a depth-first walk, as lists of paths relative to the repository. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map((p) => relative(ROOT, p)));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

describe('source layout', () => {
  const files = tsFiles(SRC);

  it('has one file per task module, src/tasks/<yaml key>.ts, each at most 150 lines', () => {
    for (const key of Object.keys(modules)) {
      const file = join(SRC, 'tasks', `${key}.ts`);
      expect(files, key).toContain(file);
      expect(lines(file), file).toBeLessThanOrEqual(150);
    }
  });

  it('registers the modules in an explicit map checked with satisfies (no directory scanning)', () => {
    const index = readFileSync(join(SRC, 'tasks', 'index.ts'), 'utf8');
    expect(index).toMatch(/\}\s*satisfies\s+Record<string,\s*TaskModule<any>>/);
    expect(index).not.toMatch(/readdir|glob|import\(/);
    for (const key of Object.keys(modules)) expect(index, key).toMatch(new RegExp(`from '\\./${key}\\.ts'`));
  });

  it('keeps every src file at most 400 lines', () => {
    const long = files.filter((f) => lines(f) > 400).map((f) => `${relative(ROOT, f)}: ${lines(f)}`);
    expect(long).toEqual([]);
  });

  it('keeps every src function at most 60 lines', () => {
    const long: string[] = [];
    for (const f of files) {
      const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (n: ts.Node): void => {
        if (ts.isFunctionLike(n) && 'body' in n && n.body) {
          const [a, b] = [n.getStart(), n.getEnd()].map((p) => sf.getLineAndCharacterOfPosition(p).line);
          if (b! - a! + 1 > 60) long.push(`${relative(ROOT, f)}:${a! + 1}: ${b! - a! + 1} lines`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(long).toEqual([]);
  });

  it('has no import cycles, not even through type-only imports', () => {
    const graph = new Map(files.map((f) => [f, runtimeImports(f, readFileSync(f, 'utf8'), true).filter((d) => files.includes(d))]));
    expect(findCycles(graph)).toEqual([]);
  });

  it('the cycle finder sees a cycle, and ignores type-only imports', () => {
    const a = join(SRC, 'a.ts');
    const b = join(SRC, 'b.ts');
    expect(runtimeImports(a, "import type { X } from './b.ts';\nexport type { Y } from './b.ts';")).toEqual([]);
    expect(runtimeImports(a, "import type { X } from './b.ts';", true)).toEqual([b]);
    expect(runtimeImports(a, "import { x } from './b.ts';\nconst m = await import('./c.ts');")).toEqual([b, join(SRC, 'c.ts')]);
    expect(findCycles(new Map([[a, [b]], [b, [a]]]))).toEqual([['src/a.ts', 'src/b.ts', 'src/a.ts']]);
  });
});
