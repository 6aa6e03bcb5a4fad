// The README's promises checked against the code: exactly two first commands that exist as npm scripts,
// the command list equal to the CLI's subcommands, the exit code table equal to ExitCode, every module
// argument named in the modules table (and nothing named that the schema lacks), task keywords, filters
// and environment keys that the schemas and registries really have.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.ts';
import { ExitCode } from '../src/errors.ts';
import { buildEnvironmentSchema, taskKeywords } from '../src/engine/schema-defs.ts';
import { filters } from '../src/engine/template-filters.ts';
import { modules } from '../src/tasks/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** The text of a `## title` / `### title` section, up to the next heading of any level. */
function section(title: string): string {
  const start = README.search(new RegExp(`^#{2,3} ${title.replace(/[()]/g, '\\$&')}`, 'm'));
  expect(start, title).toBeGreaterThanOrEqual(0);
  const rest = README.slice(start).split('\n').slice(1).join('\n');
  const end = rest.search(/^#{2,3} /m);
  return end < 0 ? rest : rest.slice(0, end);
}
const codeBlocks = (text: string): string[] => [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
const ticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
const tableRows = (text: string): string[][] => text.split('\n').filter((l) => /^\| [^-]/.test(l)).slice(1).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));

describe('README', () => {
  it('starts with exactly two commands that work on a fresh machine: npm ci && npm run demo, and npm test', () => {
    const first = codeBlocks(README)[0]!;
    const commands = first.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
    expect(commands).toEqual(['npm ci && npm run demo', 'npm test']);
    expect(pkg.scripts.demo).toBeTruthy();
    expect(pkg.scripts.test).toMatch(/^vitest run/);
  });

  it('lists exactly the CLI\'s commands', () => {
    const listed = codeBlocks(section('Commands'))[0]!.split('\n').filter(Boolean).map((l) => /^runbook (\S+)/.exec(l)?.[1]);
    const program = buildProgram({ out: { write: () => {} }, err: { write: () => {} }, env: {}, cwd: ROOT }, () => {});
    expect(listed.sort()).toEqual(program.commands.map((c) => c.name()).sort());
  });

  it('names every common flag the CLI has', () => {
    const program = buildProgram({ out: { write: () => {} }, err: { write: () => {} }, env: {}, cwd: ROOT }, () => {});
    const flags = program.commands.find((c) => c.name() === 'apply')!.options.map((o) => o.long!);
    const text = section('Commands');
    for (const f of flags) expect(text, f).toContain(f === '--verbose' ? '`-v`' : f === '--env' ? '-e/--env' : f);
  });

  it('has the exit code table of DESIGN.md, equal to ExitCode', () => {
    const rows = tableRows(section('Exit codes')).map(([code]) => Number(code));
    expect(rows).toEqual(Object.values(ExitCode));
    expect(rows).toEqual([0, 1, 2, 3, 4, 5, 6, 130]); // DESIGN.md's contract
  });

  it('documents every module with every argument its schema has, and no argument it lacks', () => {
    const rows = new Map(tableRows(section('Modules')).map(([name, args]) => [name!.replace(/`/g, ''), args!]));
    expect([...rows.keys()].sort()).toEqual(Object.keys(modules).sort());
    for (const [name, m] of Object.entries(modules)) {
      const props = Object.keys((m.schema.properties ?? {}) as object);
      const named = ticked(rows.get(name)!).flatMap((t) => t.split('/')).filter((t) => /^[a-z_]+$/.test(t));
      expect(props.filter((p) => !named.includes(p)), `${name}: arguments missing from the README`).toEqual([]);
      if (props.length) expect(named.filter((n) => !props.includes(n)), `${name}: README names arguments the schema lacks`).toEqual([]);
    }
  });

  it('names only task keywords the schema accepts, and all of them', () => {
    const m = /Task keywords: `([^`]+)`, and `block` \/ `rescue` \/ `always`/.exec(section('Runbook format'))!;
    const named = [...m[1]!.replace(/\([^)]*\)/g, '').split(/,\s*/).map((k) => k.replace(/:.*$/, '').trim()), 'block', 'rescue', 'always'];
    const keys = Object.keys(taskKeywords).filter((k) => k !== 'loop_control');
    expect(named.filter((k) => !keys.includes(k))).toEqual([]);
    expect(keys.filter((k) => !named.includes(k))).toEqual([]);
  });

  it('lists only template filters that exist, including every filter issue 3 requires', () => {
    const named = /filters \(`([^`]+)`\)/.exec(section('Runbook format'))![1]!.split(/,\s*/).map((f) => f.trim());
    expect(named.filter((f) => !(f in filters))).toEqual([]);
    const required = ['default', 'upper', 'lower', 'join', 'to_json', 'from_json', 'b64encode', 'b64decode', 'int', 'bool', 'regex_replace', 'basename', 'dirname', 'quote', 'raw'];
    expect(required.filter((f) => !named.includes(f))).toEqual([]);
  });

  it('shows only environment keys the environment schema has', () => {
    const yaml = codeBlocks(section('Environments (`environments/<env>.yml`)'))[0]!;
    const keys = yaml.split('\n').map((l) => /^([a-z_]+):/.exec(l)?.[1]).filter((k): k is string => k !== undefined);
    const props = Object.keys(buildEnvironmentSchema().properties as object);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((k) => !props.includes(k))).toEqual([]);
  });
});
