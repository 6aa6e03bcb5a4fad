// Variable scopes for templates, in precedence order (later wins): runbook vars, environment
// vars, host vars, facts, registered results and set_fact, task vars, loop item, --extra-vars.
// String values that are themselves templates render lazily, with a guard against cycles.
import { renderString, renderValue, type Scope } from './template.ts';
import { Secret } from './secret.ts';
import { secretOf } from './template-values.ts';

export type Layer = Readonly<Record<string, unknown>>;

function hasTemplate(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('{{');
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v && typeof v === 'object' && !(v instanceof Secret)) return Object.values(v).some(hasTemplate);
  return false;
}

/** Build one scope object from layers; template-valued vars are rendered on first read. */
export function buildScope(...layers: Layer[]): Scope {
  const scope: Record<string, unknown> = {};
  const rendering = new Set<string>();
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (!hasTemplate(v)) {
        Object.defineProperty(scope, k, { value: v, enumerable: true, configurable: true, writable: true });
        continue;
      }
      let cached: { v: unknown } | undefined;
      Object.defineProperty(scope, k, {
        enumerable: true, configurable: true,
        get() {
          if (cached) return cached.v;
          if (rendering.has(k)) throw new Error(`variable '${k}' refers to itself`);
          rendering.add(k);
          try {
            cached = { v: typeof v === 'string' ? renderString(v, scope) : renderValue(v, scope) };
            return cached.v;
          } finally {
            rendering.delete(k);
          }
        },
      });
    }
  }
  return scope;
}

/** `no_log_vars`: each named variable reads as a Secret (and so does anything computed from it). */
export function hideVars(scope: Scope, names: readonly string[]): Scope {
  const target = scope as Record<string, unknown>;
  for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(target, name);
    if (!d) continue;
    const read = (): unknown => (d.get ? d.get.call(target) : d.value);
    Object.defineProperty(target, name, { enumerable: true, configurable: true, get: () => secretOf(read()) });
  }
  return scope;
}
