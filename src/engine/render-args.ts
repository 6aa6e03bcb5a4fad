// Renders a task's arguments for one host: command/shell lines through renderShell (every value
// shell-quoted unless `| raw`), assert expressions evaluated, everything else rendered as data.
// Rendered arguments are checked against the module schema again (types templates produced).
import { isAbsolute, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import type { TaskModule } from '../tasks/types.ts';
import { Script } from './script.ts';
import { Secret } from './secret.ts';
import { validatorFor } from './schema.ts';
import { dotDotArg } from './semantic.ts';
import { evaluate, renderShell, renderValue, truthy, type Scope } from './template.ts';

const SHELL_MODULES = new Set(['command', 'shell']);

function plain(v: unknown): unknown {
  if (v instanceof Secret || v instanceof Script) return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function renderArgs(m: TaskModule<unknown>, raw: unknown, scope: Scope, dir: string): unknown {
  if (SHELL_MODULES.has(m.name)) {
    if (typeof raw === 'string') return m.freeForm!(renderShell(raw, scope) as never);
    const { cmd, ...rest } = (raw ?? {}) as Record<string, unknown>;
    const rendered = renderValue(rest, scope) as Record<string, unknown>;
    return typeof cmd === 'string' ? { ...rendered, cmd: renderShell(cmd, scope) } : { ...rendered, ...(cmd !== undefined ? { cmd } : {}) };
  }
  if (m.name === 'assert') {
    const a = (raw ?? {}) as Record<string, unknown>;
    const that = Array.isArray(a.that) ? a.that : [a.that];
    return { ...(renderValue({ ...a, that: undefined }, scope) as object), that: that.map((e) => typeof e === 'boolean' ? e : truthy(evaluate(String(e), scope))) };
  }
  if (m.name === 'debug' && raw && typeof raw === 'object' && typeof (raw as { var?: unknown }).var === 'string') {
    return { var: evaluate((raw as { var: string }).var, scope) }; // debug: { var: name } prints the value
  }
  if (typeof raw === 'string' && m.freeForm) return m.freeForm(renderValue(raw, scope) as string);
  const args = renderValue(raw ?? {}, scope);
  if (m.name === 'fetch' && args && typeof (args as { dest?: unknown }).dest === 'string' && !isAbsolute((args as { dest: string }).dest)) {
    return { ...(args as object), dest: resolve(dir, (args as { dest: string }).dest) }; // like src: relative to the runbook
  }
  return args;
}

/** Schema errors in rendered arguments (a template produced the wrong type), as text. */
export function renderedArgErrors(m: TaskModule<unknown>, args: unknown): string | undefined {
  if (SHELL_MODULES.has(m.name) || m.name === 'assert') return undefined;
  const dotDot = dotDotArg(m.name, plain(args));
  if (dotDot) return `${m.name}.${dotDot}: '..' is not allowed in a path`; // a variable must not steer a write elsewhere
  const v: ValidateFunction = validatorFor(m.schema);
  if (v(plain(args))) return undefined;
  return (v.errors ?? []).map((e) => `${m.name}${e.instancePath.replace(/\//g, '.')}: ${e.message ?? e.keyword}`).join('; ');
}
