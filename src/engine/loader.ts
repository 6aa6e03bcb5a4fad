// Loads a runbook: secret scan, YAML with positions, schema (ajv), module arguments, then
// semantic checks. Every problem is collected and thrown at once as one InputError (exit 2).
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError, type Diagnostic, type SourceLoc } from '../errors.ts';
import { modules } from '../tasks/index.ts';
import type { TaskModule } from '../tasks/types.ts';
import type { HealthCheckSpec, HealthSpec, Runbook, TaskSpec } from './model.ts';
import { blockKeywordDiagnostics, withBlockKeywords } from './block.ts';
import { schemaDiagnostics, validatorFor } from './schema.ts';
import { scanSecrets } from './secret-scan.ts';
import { semanticDiagnostics } from './semantic.ts';
import { joinPointer, parseYamlSource, type YamlSource } from './yaml-source.ts';
import { parseTemplate, TemplateError } from './template.ts';

type Raw = Record<string, unknown>;
const TASK_LISTS = ['tasks', 'handlers', 'rollback', 'block', 'rescue', 'always'];
const MODULE_PATH = new RegExp(`/(${TASK_LISTS.join('|')})/\\d+/(${Object.keys(modules).join('|')})(/|$)`);

const MAX_SOURCE_BYTES = 2 * 1024 * 1024;

/** Reads at most MAX_SOURCE_BYTES + 1 bytes, so /dev/zero or a 1 GB file cannot exhaust memory. */
async function readBounded(abs: string): Promise<Buffer> {
  const fh = await open(abs, 'r');
  try {
    const buf = Buffer.alloc(MAX_SOURCE_BYTES + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length;) n += (got = (await fh.read(buf, n, buf.length - n, null)).bytesRead);
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** Byte offset of the first invalid UTF-8 sequence (only called when isUtf8 said no). */
function firstBadByte(b: Buffer): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return 0; // overlong or surrogate forms isUtf8 refuses: report the start of the file
}

function utf8Diagnostic(file: string, bytes: Buffer): Diagnostic {
  const bad = firstBadByte(bytes);
  const lineStart = bytes.lastIndexOf(0x0a, bad - 1) + 1;
  const line = bad === 0 ? 1 : bytes.subarray(0, lineStart).filter((c) => c === 0x0a).length + 1;
  const col = bytes.subarray(lineStart, bad).toString('utf8').length + 1;
  return { loc: { file, line, col }, message: `not UTF-8 text (byte 0x${(bytes[bad] ?? 0).toString(16)}): binary or wrongly encoded file` };
}

export async function readSource(file: string): Promise<{ text: string; abs: string }> {
  const abs = resolve(file);
  let bytes: Buffer;
  try {
    bytes = await readBounded(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code)}`);
  }
  if (bytes.length > MAX_SOURCE_BYTES) throw new InputError([{ loc: { file, line: 1, col: 1 }, message: `file is larger than ${MAX_SOURCE_BYTES / 1024 / 1024} MB; refusing to parse` }]);
  if (!isUtf8(bytes)) throw new InputError([utf8Diagnostic(file, bytes)]);
  return { text: bytes.toString('utf8'), abs };
}

/** Parse + secret scan + schema. Throws when the YAML cannot be used at all; else returns the problems found. */
export function parseWithDiagnostics(file: string, text: string, schema: 'runbook' | 'environment', skip?: (p: string) => boolean): { source: YamlSource; diagnostics: Diagnostic[] } {
  const secrets = scanSecrets(file, text);
  const { source, diagnostics } = parseYamlSource(file, text);
  if (!source || diagnostics.length) throw new InputError([...secrets, ...diagnostics]);
  const value = source.value;
  if (value === null || value === undefined) throw new InputError([...secrets, { loc: source.locOf(''), message: `empty ${schema} file: no YAML content` }]);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError([...secrets, { loc: source.locOf(''), message: `${schema === 'runbook' ? 'a runbook' : 'an environment'} file must be a YAML mapping, not ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}` }]);
  }
  return { source, diagnostics: [...secrets, ...schemaDiagnostics(validatorFor(schema), value, source, { skip })] };
}

export function parseChecked(file: string, text: string, schema: 'runbook' | 'environment', skip?: (p: string) => boolean): YamlSource {
  const { source, diagnostics } = parseWithDiagnostics(file, text, schema, skip);
  if (diagnostics.length) throw new InputError(diagnostics);
  return source;
}

export async function loadRunbook(file: string): Promise<Runbook> {
  const { text, abs } = await readSource(file);
  const { source: src, diagnostics: schemaDiags } = parseWithDiagnostics(file, text, 'runbook', (p) => MODULE_PATH.test(p));
  const doc = src.value as Raw;
  const diags: Diagnostic[] = [...schemaDiags];
  const build = (key: string): TaskSpec[] => (Array.isArray(doc[key]) ? (doc[key] as unknown[]) : [])
    .map((t, i) => (t && typeof t === 'object' && !Array.isArray(t) ? buildTask(src, t as Raw, joinPointer('', key, i), diags) : undefined))
    .filter((t): t is TaskSpec => t !== undefined);
  if (schemaDiags.length) {
    // the structure is wrong somewhere: still look for module-argument problems, then report everything
    try { build('tasks'); build('handlers'); build('rollback'); } catch { /* reported by the schema */ }
    throw new InputError(dedupe(diags));
  }
  const runbook: Runbook = {
    file: abs, dir: dirname(abs), source: text, at: src.locOf(''),
    name: String(doc.name), hosts: String(doc.hosts),
    environments: (doc.environments as string[]) ?? [],
    serial: doc.serial === undefined ? [] : Array.isArray(doc.serial) ? (doc.serial as (number | string)[]) : [doc.serial as number | string],
    maxFailPercentage: (doc.max_fail_percentage as number | undefined) ?? 0,
    vars: (doc.vars as Raw | undefined) ?? {},
    noLogVars: (doc.no_log_vars as string[] | undefined) ?? [],
    newrelic: doc.newrelic ? { ...(doc.newrelic as Raw), deploymentType: (doc.newrelic as Raw).deployment_type as string | undefined, at: src.locOf('/newrelic') } : undefined,
    tasks: build('tasks'), handlers: build('handlers'), rollback: build('rollback'),
    hasRollback: Array.isArray(doc.rollback) && doc.rollback.length > 0,
    health: doc.health ? buildHealth(src, doc.health as Raw) : undefined,
  };
  diags.push(...semanticDiagnostics(runbook, src));
  if (diags.length) throw new InputError(diags);
  return runbook;
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => { const k = `${d.loc.line}:${d.loc.col}:${d.message}`; if (seen.has(k)) return false; seen.add(k); return true; });
}

function listOf(v: unknown): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

function buildTask(src: YamlSource, t: Raw, pointer: string, diags: Diagnostic[]): TaskSpec {
  const at = src.locOf(pointer);
  const present = Object.keys(t).filter((k) => k in modules || k === 'block');
  if (present.length === 0) {
    diags.push({ loc: at, message: 'task has no module: add one of ' + Object.keys(modules).join(', ') + ', or block' });
  } else if (present.length > 1) {
    diags.push({ loc: src.keyLocOf(joinPointer(pointer, present[1]!)), message: `task has more than one module: ${present.join(', ')}` });
  }
  const module = present[0] ?? 'debug';
  if (module !== 'block') diags.push(...argDiagnostics(src, modules[module as keyof typeof modules], t[module], joinPointer(pointer, module)));
  else if (t.rescue === undefined && t.always === undefined && !Array.isArray(t.block)) diags.push({ loc: at, message: 'block must be a list of tasks' });
  if (module === 'block') diags.push(...blockKeywordDiagnostics(src, t, pointer));
  for (const k of ['when', 'until', 'changed_when', 'failed_when'] as const) diags.push(...templateSyntax(src, t[k], joinPointer(pointer, k), true));
  diags.push(...templateSyntax(src, t[module], joinPointer(pointer, module), false));
  const sub = (key: string): TaskSpec[] | undefined => Array.isArray(t[key])
    ? (t[key] as unknown[]).filter((c): c is Raw => !!c && typeof c === 'object' && !Array.isArray(c)).map((c, i) => buildTask(src, c, joinPointer(pointer, key, i), diags))
    : undefined;
  const spec: TaskSpec = {
    at, pointer, module, args: t[module],
    name: t.name !== undefined ? String(t.name) : defaultName(module, t[module]),
    when: t.when as string | string[] | undefined, loop: t.loop,
    loopVar: ((t.loop_control as Raw | undefined)?.loop_var as string | undefined) ?? 'item',
    register: t.register as string | undefined,
    changedWhen: t.changed_when as string | boolean | undefined, failedWhen: t.failed_when as string | boolean | undefined,
    retries: t.retries as number | undefined, delay: t.delay as string | undefined, until: t.until as string | undefined,
    notify: listOf(t.notify), tags: listOf(t.tags),
    become: (t.become as boolean | string | undefined) ?? (t.become_user !== undefined ? true : undefined), becomeUser: t.become_user as string | undefined,
    ignoreErrors: t.ignore_errors as boolean | undefined, runOnce: t.run_once as boolean | undefined,
    delegateTo: t.delegate_to as 'localhost' | undefined, timeout: t.timeout as string | undefined,
    vars: (t.vars as Raw | undefined) ?? {}, noLog: t.no_log as boolean | undefined,
    block: sub('block'), rescue: sub('rescue'), always: sub('always'),
  };
  return module === 'block' ? withBlockKeywords(spec) : spec;
}

function defaultName(module: string, args: unknown): string {
  if (typeof args === 'string') return `${module}: ${args.length > 60 ? args.slice(0, 57) + '...' : args}`;
  return module;
}

function argDiagnostics(src: YamlSource, m: TaskModule<unknown>, args: unknown, pointer: string): Diagnostic[] {
  if (typeof args === 'string' && m.freeForm) return [];
  const schema = m.schema;
  return schemaDiagnostics(validatorFor(schema), args ?? {}, src, { base: pointer, prefix: `${m.name}: ` });
}

/** Template syntax errors at the exact character inside the YAML scalar. */
function templateSyntax(src: YamlSource, value: unknown, pointer: string, bare: boolean): Diagnostic[] {
  if (typeof value === 'string') {
    if (!bare && !value.includes('{{')) return [];
    try {
      parseTemplate(bare && !value.includes('{{') ? `{{ ${value} }}` : value);
      return [];
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      const offset = Math.min(value.length, bare && !value.includes('{{') ? Math.max(0, e.offset - 3) : e.offset);
      return [{ loc: src.scalarLoc(pointer, offset), message: `template: ${e.message}` }];
    }
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => templateSyntax(src, v, joinPointer(pointer, i), bare));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => templateSyntax(src, v, joinPointer(pointer, k), bare));
  return [];
}

const PRESETS = ['apdex_below', 'error_rate_above', 'p95_latency_above', 'throughput_drop_above'] as const;

function buildHealth(src: YamlSource, h: Raw): HealthSpec {
  const checks: HealthCheckSpec[] = ((h.checks as Raw[]) ?? []).map((c, i) => {
    const kind = PRESETS.find((p) => c[p] !== undefined);
    return {
      at: src.locOf(joinPointer('/health/checks', i)), name: String(c.name),
      http: c.http as HealthCheckSpec['http'], nrql: c.nrql as HealthCheckSpec['nrql'],
      preset: kind ? { kind, threshold: Number(c[kind]), window: c.window as string | undefined } : undefined,
    };
  });
  return {
    at: src.locOf('/health'), checks,
    initialDelay: (h.initial_delay as string | undefined) ?? 0, interval: (h.interval as string | undefined) ?? '10s',
    count: (h.count as number | undefined) ?? 3, failureLimit: (h.failure_limit as number | undefined) ?? 0,
    consecutiveErrorLimit: (h.consecutive_error_limit as number | undefined) ?? 2,
  };
}

export function locText(loc: SourceLoc): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}
