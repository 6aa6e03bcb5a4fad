// Table tests for one task module, like ESLint's RuleTester: facts (recorded probe output, keyed by
// probe key) -> expected ok / change / fail; invalid args are checked with ajv against module.schema.
// A probe missing from the table throws, and a listed fact the module did not read fails the case.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/engine/secret.ts';
import type { Change, Check, CheckCtx, Facts, Probe, TaskModule } from '../../src/tasks/types.ts';
import type { ExecResult } from '../../src/transports/types.ts';

/** Recorded output of a script probe (a string is stdout with exit 0), or a local probe's value. */
export type Fact = string | { code?: number; stdout?: string; stderr?: string } | { value: unknown };
export type FactTable = Readonly<Record<string, Fact>>;

type Common<A> = {
  name: string;
  args: A;
  facts?: FactTable;
  host?: Partial<Facts>;
  /** Controller-side files for ctx.readLocal (template/copy src). */
  local?: Readonly<Record<string, string>>;
  /** Variables for the test render function ({{ name }} only). */
  vars?: Readonly<Record<string, string>>;
};
export type OkCase<A> = Common<A> & { why?: RegExp | string; result?: Record<string, unknown>; factsOut?: Record<string, unknown> };
export type FailCase<A> = Common<A> & { why: RegExp | string };
export type ExpectedChange = Partial<Record<string, unknown>> & { kind: Change['kind'] };
export type ChangeCase<A> = Common<A> & { changes: ExpectedChange[]; diff?: RegExp | string };
export type InvalidCase = { name?: string; args: unknown; error: string };
/** The check rejects (a probe could not run); the executor reports the message as a failed task. */
export type ThrowsCase<A> = Common<A> & { error: RegExp | string };
export type TaskCases<A> = { ok?: OkCase<A>[]; change?: ChangeCase<A>[]; fail?: FailCase<A>[]; throws?: ThrowsCase<A>[]; invalid?: InvalidCase[]; valid?: unknown[] };

export const debianFacts: Facts = {
  os_family: 'Debian', distribution: 'debian', distribution_version: '12', arch: 'x86_64',
  hostname: 'web1', user: 'root', pkg_mgr: 'apt', service_mgr: 'systemd',
};

/** Tiny stand-in for the template engine: {{ name }} from vars, anything else is an error. */
export function simpleRender(vars: Readonly<Record<string, string>>): (text: string) => string {
  return (text) => text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, k: string) => {
    if (!(k in vars)) throw new Error(`undefined variable ${k}`);
    return vars[k]!;
  });
}

function asExec(f: Fact): ExecResult {
  if (typeof f === 'string') return { code: 0, stdout: f, stderr: '', ms: 1 };
  const r = f as { code?: number; stdout?: string; stderr?: string };
  return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: 1 };
}

/** A CheckCtx answering probes from the table; `read` collects the keys the module asked for. */
export function tableCtx(c: Common<unknown>, read: Set<string> = new Set()): CheckCtx {
  const facts = c.facts ?? {};
  return {
    host: { name: 'web1', facts: { ...debianFacts, ...c.host } },
    signal: new AbortController().signal,
    async probe<T>(p: Probe<T>): Promise<T> {
      if (!(p.key in facts)) throw new Error(`probe not in the facts table: '${p.key}'`);
      read.add(p.key);
      const f = facts[p.key]!;
      if ('local' in p) return (f as { value: T }).value;
      return p.parse(asExec(f));
    },
    async readLocal(path) {
      const text = c.local?.[path];
      if (text === undefined) throw new Error(`local file not in the table: ${path}`);
      return new Uint8Array(Buffer.from(text));
    },
    render: simpleRender(c.vars ?? {}),
  };
}

/** A change as plain data: scripts as their text, contents as text (a Secret as ***). */
export function plainChange(c: Change): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  if (c.kind === 'exec') out.script = c.script.text;
  if (c.kind === 'write') out.content = c.content instanceof Secret ? '***' : typeof c.content === 'string' ? c.content : Buffer.from(c.content).toString('utf8');
  if (c.kind === 'call') delete out.run;
  return out;
}

const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true });

/** ajv errors as `path: message` lines (the lead maps paths to YAML locations). */
const compiled = new WeakMap<object, ReturnType<typeof ajv.compile>>();
export function schemaErrors(m: TaskModule<unknown>, args: unknown): string[] {
  const v = compiled.get(m.schema) ?? ajv.compile(m.schema);
  compiled.set(m.schema, v);
  if (v(args)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath.replace(/^\//, '').replace(/\//g, '.')}${e.instancePath ? ': ' : ''}${e.message ?? e.keyword}`);
}

const matches = (actual: string, want: RegExp | string): void => {
  if (typeof want === 'string') expect(actual).toContain(want);
  else expect(actual).toMatch(want);
};

async function run<A>(m: TaskModule<A>, c: Common<A>): Promise<Check> {
  const read = new Set<string>();
  const check = await m.check(tableCtx(c as Common<unknown>, read), c.args);
  const unused = Object.keys(c.facts ?? {}).filter((k) => !read.has(k));
  expect(unused, 'facts listed but never probed').toEqual([]);
  return check;
}

export function describeTask<A>(m: TaskModule<A>, cases: TaskCases<A>): void {
  describe(`${m.name} (table)`, () => {
    for (const c of cases.ok ?? []) {
      it(`ok: ${c.name}`, async () => {
        const r = await run(m, c);
        expect(r.status, r.status !== 'ok' ? JSON.stringify(r.status === 'fail' ? r.why : r.changes.map(plainChange)) : '').toBe('ok');
        if (r.status !== 'ok') return;
        if (c.why !== undefined) matches(r.why, c.why);
        if (c.result) expect(r.result).toMatchObject(c.result);
        if (c.factsOut) expect(r.facts).toEqual(c.factsOut);
      });
    }
    for (const c of cases.fail ?? []) {
      it(`fail: ${c.name}`, async () => {
        const r = await run(m, c);
        expect(r.status).toBe('fail');
        if (r.status === 'fail') matches(r.why, c.why);
      });
    }
    for (const c of cases.throws ?? []) {
      it(`throws: ${c.name}`, async () => {
        await expect(m.check(tableCtx(c as Common<unknown>), c.args)).rejects.toThrow(c.error);
      });
    }
    for (const c of cases.change ?? []) {
      it(`change: ${c.name}`, async () => {
        const r = await run(m, c);
        expect(r.status, r.status === 'fail' || r.status === 'ok' ? r.why : '').toBe('change');
        if (r.status !== 'change') return;
        expect(r.changes.map(plainChange)).toMatchObject(c.changes);
        if (c.diff !== undefined) matches(r.diff ?? '', c.diff);
      });
    }
    for (const c of cases.invalid ?? []) {
      it(`invalid: ${c.name ?? JSON.stringify(c.args)}`, () => {
        expect(schemaErrors(m as TaskModule<unknown>, c.args)).toContain(c.error);
      });
    }
    if (cases.valid?.length) {
      it('accepts the valid argument examples', () => {
        for (const a of cases.valid!) expect(schemaErrors(m as TaskModule<unknown>, a), JSON.stringify(a)).toEqual([]);
      });
    }
  });
}
