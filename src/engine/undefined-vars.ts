// Undefined variables, found before any host is contacted (plan and apply, once the environment
// and --extra-vars are known): a template that reads a name no layer can define is exit 2 at the
// name's own line:col. Lenient by design: a name set anywhere (any host's vars, any register,
// set_fact or task vars) or tested anywhere with `is defined` / `default` is accepted.
import type { Diagnostic } from '../errors.ts';
import type { Environment, Runbook, TaskSpec } from './model.ts';
import { didYouMean } from './schema.ts';
import { flatten } from './semantic.ts';
import { definedTests, unguardedReads } from './template.ts';
import { joinPointer, parseYamlSource, type YamlSource } from './yaml-source.ts';

/** What the engine itself puts in a task's scope (task-runner hostScope, judge, loops). */
const TASK_BUILTINS = ['inventory_hostname', 'facts', 'secrets', 'environment', 'result', 'item'];
/** What health checks and the marker see (apply-observe runScope). */
const RUN_BUILTINS = ['secrets', 'environment', 'newrelic'];

type Text = { text: string; pointer: string; bare: boolean };

function texts(v: unknown, pointer: string, bare: boolean): Text[] {
  if (typeof v === 'string') return v.includes('{{') || bare ? [{ text: bare && !v.includes('{{') ? `{{ ${v} }}` : v, pointer, bare: bare && !v.includes('{{') }] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => texts(x, joinPointer(pointer, i), bare));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => texts(x, joinPointer(pointer, k), bare));
  return [];
}

function taskTexts(t: TaskSpec): Text[] {
  const p = (k: string): string => joinPointer(t.pointer, k);
  return [...texts(t.when, p('when'), true), ...texts(t.until, p('until'), true), ...texts(t.changedWhen, p('changed_when'), true),
    ...texts(t.failedWhen, p('failed_when'), true), ...texts(t.loop, p('loop'), false), ...(t.module === 'block' ? [] : texts(t.args, p(t.module), false)),
    ...texts(t.vars, p('vars'), false)];
}

/** Names some task may set at run time: register, set_fact keys, task vars, loop variables. */
function setAtRunTime(tasks: readonly TaskSpec[]): string[] {
  return tasks.flatMap((t) => [...(t.register ? [t.register] : []), t.loopVar, ...Object.keys(t.vars),
    ...(t.module === 'set_fact' && t.args && typeof t.args === 'object' ? Object.keys(t.args) : [])]);
}

function envNames(env: Environment): string[] {
  return [...Object.keys(env.vars), ...env.hosts.flatMap((h) => Object.keys(h.vars))];
}

function check(src: YamlSource, items: readonly Text[], known: ReadonlySet<string>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const { text, pointer, bare } of items) {
    let reads: { name: string; at: number }[];
    try { reads = unguardedReads(text); } catch { continue; } // syntax errors are the loader's
    for (const { name, at } of reads) {
      if (known.has(name)) continue;
      const guess = didYouMean(name, known);
      out.push({ loc: src.scalarLoc(pointer, Math.max(0, bare ? at - 3 : at)),
        message: `undefined variable '${name}'${guess ? `; did you mean '${guess}'?` : ': no runbook, environment or host vars, --extra-vars or task sets it'}` });
    }
  }
  return out;
}

/** Every unguarded read of a name that nothing defines, in tasks, handlers, rollback, health and newrelic. */
export function undefinedVarDiagnostics(rb: Runbook, env: Environment, extraVars: Readonly<Record<string, unknown>>): Diagnostic[] {
  const { source: src } = parseYamlSource(rb.at.file, rb.source);
  if (!src) return [];
  const tasks = [...flatten(rb.tasks), ...flatten(rb.handlers), ...flatten(rb.rollback)];
  const taskItems = tasks.flatMap(taskTexts);
  const healthItems = [...texts(rb.health?.checks.map((c) => ({ http: c.http, nrql: c.nrql })), '/health/checks', false),
    ...texts(rb.newrelic?.entity, '/newrelic/entity', false)];
  const everywhere = [...taskItems, ...healthItems, ...texts(rb.vars, '/vars', false)];
  const guarded = everywhere.flatMap((x) => { try { return definedTests(x.text); } catch { return []; } });
  const common = [...Object.keys(rb.vars), ...envNames(env), ...Object.keys(extraVars), ...guarded];
  const taskKnown = new Set([...common, ...TASK_BUILTINS, ...setAtRunTime(tasks)]);
  const runKnown = new Set([...common, ...RUN_BUILTINS]);
  return [...check(src, taskItems, taskKnown), ...check(src, healthItems, runKnown)];
}
