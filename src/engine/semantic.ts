// Checks beyond the schema: notify of a missing handler, a register used before it is set,
// a loop over a non-list, health checks of exactly one kind, `..` in paths, and the target environment.
import type { Diagnostic } from '../errors.ts';
import type { Environment, Runbook, TaskSpec } from './model.ts';
import { didYouMean } from './schema.ts';
import { definedTests, referencedNames } from './template.ts';
import { joinPointer, type YamlSource } from './yaml-source.ts';

/** Tasks in the order they run (block, rescue, always flattened). */
export function flatten(tasks: readonly TaskSpec[]): TaskSpec[] {
  return tasks.flatMap((t) => [t, ...flatten(t.block ?? []), ...flatten(t.rescue ?? []), ...flatten(t.always ?? [])]);
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

/** Names read unguarded (a name only tested with `is defined` or given a `default` may come later). */
function namesIn(text: string, bare: boolean): string[] {
  try {
    const t = bare && !text.includes('{{') ? `{{ ${text} }}` : text;
    const guarded = new Set(definedTests(t));
    return referencedNames(t).filter((n) => !guarded.has(n));
  } catch {
    return []; // syntax errors are reported by the loader with their exact position
  }
}

function notifyDiagnostics(rb: Runbook, src: YamlSource, all: TaskSpec[]): Diagnostic[] {
  const handlers = new Set(rb.handlers.map((h) => h.name));
  return all.flatMap((t) => t.notify.flatMap((n, i) => {
    if (handlers.has(n)) return [];
    const guess = didYouMean(n, handlers);
    const ptr = joinPointer(t.pointer, 'notify');
    const loc = src.locOf(joinPointer(ptr, i)); // a scalar notify has no index: locOf falls back to the scalar
    return [{ loc, message: `notify: no handler named '${n}'${guess ? `; did you mean '${guess}'?` : handlers.size ? '' : ' (this runbook has no handlers)'}` }];
  }));
}

function registerDiagnostics(rb: Runbook, src: YamlSource): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const list of [rb.tasks, rb.handlers, rb.rollback]) {
    const order = flatten(list);
    const laterRegister = new Map<string, TaskSpec>();
    order.forEach((t) => { if (t.register && !laterRegister.has(t.register)) laterRegister.set(t.register, t); });
    const known = new Set<string>([...Object.keys(rb.vars), 'item', 'secrets', 'facts', 'inventory_hostname', 'env']);
    for (const t of order) {
      const own = t.register;
      const fields: [string, unknown, boolean][] = [['when', t.when, true], ['loop', t.loop, false], [t.module, t.args, false],
        ['until', t.until, true], ['changed_when', t.changedWhen, true], ['failed_when', t.failedWhen, true]];
      for (const [key, value, bare] of fields) {
        const selfOk = key === 'until' || key === 'changed_when' || key === 'failed_when';
        for (const text of strings(value)) {
          for (const name of namesIn(text, bare)) {
            const setter = laterRegister.get(name);
            if (!setter || known.has(name) || (selfOk && name === own) || t.vars[name] !== undefined || name === t.loopVar) continue;
            out.push({ loc: src.locOf(joinPointer(t.pointer, key)),
              message: `'${name}' is used before it is registered (register: ${name} is set by the task at line ${setter.at.line})` });
          }
        }
      }
      if (own) known.add(own);
    }
  }
  return out;
}

function loopDiagnostics(rb: Runbook, src: YamlSource, all: TaskSpec[]): Diagnostic[] {
  return all.flatMap((t) => {
    if (typeof t.loop !== 'string') return [];
    const m = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$/.exec(t.loop);
    const v = m ? (t.vars[m[1]!] ?? rb.vars[m[1]!]) : undefined;
    if (v === undefined || Array.isArray(v)) return [];
    return [{ loc: src.locOf(joinPointer(t.pointer, 'loop')), message: `loop: '${m![1]}' is ${typeof v === 'object' ? 'a mapping' : `a ${typeof v}`}, not a list` }];
  });
}

function healthDiagnostics(rb: Runbook): Diagnostic[] {
  return (rb.health?.checks ?? []).flatMap((c) => {
    const kinds = [c.http && 'http', c.nrql && 'nrql', c.preset && c.preset.kind].filter(Boolean);
    if (kinds.length === 1) return [];
    return [{ loc: c.at, message: kinds.length ? `health check '${c.name}' has more than one kind: ${kinds.join(', ')}`
      : `health check '${c.name}' needs one of http, nrql, apdex_below, error_rate_above, p95_latency_above, throughput_drop_above` }];
  });
}

function handlerNameDiagnostics(rb: Runbook): Diagnostic[] {
  const seen = new Set<string>();
  return rb.handlers.flatMap((h) => {
    if (seen.has(h.name)) return [{ loc: h.at, message: `duplicate handler name '${h.name}'` }];
    seen.add(h.name);
    return [];
  });
}

/** Path arguments that must not climb out with `..`: host paths, and fetch's controller folder. */
const PATH_ARGS: Readonly<Record<string, readonly string[]>> = { copy: ['dest'], template: ['dest'], file: ['path'], lineinfile: ['path'], fetch: ['src', 'dest'] };

/** The first path argument of a module call with a `..` segment, if any (also checked after templating). */
export function dotDotArg(module: string, args: unknown): string | undefined {
  const a = args && typeof args === 'object' ? (args as Record<string, unknown>) : {};
  return (PATH_ARGS[module] ?? []).find((k) => typeof a[k] === 'string' && (a[k] as string).split('/').includes('..'));
}

function pathDiagnostics(src: YamlSource, all: TaskSpec[]): Diagnostic[] {
  return all.flatMap((t) => {
    const key = dotDotArg(t.module, t.args);
    return key ? [{ loc: src.locOf(joinPointer(t.pointer, t.module, key)), message: `${t.module}: ${key}: '..' is not allowed in a path; write the path itself` }] : [];
  });
}

/** become_user is used as written (never rendered): it must be a user name. */
function becomeUserDiagnostics(src: YamlSource, all: TaskSpec[]): Diagnostic[] {
  return all.filter((t) => t.becomeUser !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(t.becomeUser))
    .map((t) => ({ loc: src.locOf(joinPointer(t.pointer, 'become_user')), message: `become_user: '${t.becomeUser}' is not a user name` }));
}

export function semanticDiagnostics(rb: Runbook, src: YamlSource): Diagnostic[] {
  const all = [...flatten(rb.tasks), ...flatten(rb.handlers), ...flatten(rb.rollback)];
  return [...notifyDiagnostics(rb, src, all), ...registerDiagnostics(rb, src), ...loopDiagnostics(rb, src, all),
    ...healthDiagnostics(rb), ...handlerNameDiagnostics(rb), ...pathDiagnostics(src, all), ...becomeUserDiagnostics(src, all)];
}

/** The runbook refuses to run on an environment its own `environments:` does not name. */
export function environmentDiagnostics(rb: Runbook, env: string): Diagnostic[] {
  if (rb.environments.includes(env)) return [];
  const guess = didYouMean(env, rb.environments);
  const loc = { ...rb.at, ...locOfEnvironments(rb) };
  return [{ loc, message: `environment '${env}' is not in this runbook's environments: [${rb.environments.join(', ')}]${guess ? `; did you mean '${guess}'?` : ''}` }];
}

function locOfEnvironments(rb: Runbook): { line: number; col: number } {
  const lines = rb.source.split('\n');
  const i = lines.findIndex((l) => /^environments\s*:/.test(l));
  return i >= 0 ? { line: i + 1, col: 1 } : { line: rb.at.line, col: rb.at.col };
}

/**
 * A protected environment expects a way back (#7): a runbook without `rollback:` or `health:` is a
 * warning there, and an error (exit 2) where the environment sets `require_rollback: true`.
 */
export function rollbackPolicy(rb: Runbook, env: Pick<Environment, 'name' | 'protected' | 'requireRollback'>, shownPath: string): { error?: Diagnostic; warning?: string } {
  if (!env.protected || (rb.hasRollback && rb.health)) return {};
  const missing = [!rb.hasRollback && 'rollback:', !rb.health && 'health:'].filter(Boolean).join(' and ');
  if (env.requireRollback) return { error: { loc: rb.at, message: `environment ${env.name} requires rollback: and health:, and this runbook has no ${missing}` } };
  return { warning: `${shownPath}: runs on protected environment ${env.name} without ${missing}` };
}
