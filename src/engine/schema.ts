// Validates parsed YAML against schemas/*.schema.json with ajv and maps every error to
// `file:line:col` through the YAML source, with "did you mean" for unknown keys.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Diagnostic } from '../errors.ts';
import type { JsonSchema } from '../tasks/types.ts';
import { joinPointer, pointerSegments, type YamlSource } from './yaml-source.ts';

const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true, verbose: true });
const compiled = new Map<object | string, ValidateFunction>();

function schemaFile(name: 'runbook' | 'environment'): JsonSchema {
  return JSON.parse(readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8')) as JsonSchema;
}

export function validatorFor(key: 'runbook' | 'environment' | JsonSchema): ValidateFunction {
  const cacheKey = typeof key === 'string' ? key : key;
  let v = compiled.get(cacheKey);
  if (!v) {
    v = ajv.compile(typeof key === 'string' ? schemaFile(key) : key);
    compiled.set(cacheKey, v);
  }
  return v;
}

export function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let score = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < score) { score = d; best = c; }
  }
  return best !== undefined && score <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function valueAt(value: unknown, pointer: string): unknown {
  let v = value;
  for (const seg of pointerSegments(pointer)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[seg] : undefined;
  return v;
}

/** Template strings are checked after rendering, so `{{ port }}` may stand where a number goes. */
const isTemplate = (v: unknown): boolean => typeof v === 'string' && v.includes('{{');
/** Task keywords the engine uses as written, never rendered: a `{{` there cannot be rendered later. */
const LITERAL_KEYWORD = /\/\d+\/(register|become_user|delegate_to|timeout|delay|retries|run_once|ignore_errors|no_log|loop_control\/loop_var)$/;

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required': return `missing required key '${String(e.params.missingProperty)}'`;
    case 'type': return `must be ${String(e.params.type).replace(',', ' or ')}`;
    case 'enum': return `must be one of: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const': return `must be ${JSON.stringify(e.params.allowedValue)}`;
    case 'pattern': return `must match pattern "${String(e.params.pattern)}"`;
    default: return e.message ?? e.keyword;
  }
}

export type ValidateOpts = { readonly base?: string; readonly prefix?: string; readonly skip?: (instancePath: string) => boolean };

/** Validate `value` (found at JSON pointer `base` inside `src`) and return diagnostics, sorted later by the caller. */
export function schemaDiagnostics(validate: ValidateFunction, value: unknown, src: YamlSource, opts: ValidateOpts = {}): Diagnostic[] {
  if (validate(value)) return [];
  const base = opts.base ?? '';
  const prefix = opts.prefix ?? '';
  const errors = (validate.errors ?? []).filter((e) => !opts.skip?.(e.instancePath));
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  // every path that has an error below it (`/a/b/c` -> `/a/b`, `/a`, ''), built once: one pass, not one per union error
  const hasInner = new Set<string>();
  for (const e of errors) for (let p = e.instancePath; p !== ''; ) { p = p.slice(0, p.lastIndexOf('/')); hasInner.add(p); }
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const at = base + e.instancePath;
    const data = valueAt(value, e.instancePath);
    if (isTemplate(data) && e.keyword !== 'additionalProperties' && e.keyword !== 'required' && !LITERAL_KEYWORD.test(at)) continue;
    // inside an anyOf, report the union once ("must be a duration") instead of each branch
    if (unionPaths.has(e.instancePath) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    // ...but a union whose value has a more precise error inside (port: must be <= 65535) reports only that
    if ((e.keyword === 'anyOf' || e.keyword === 'oneOf') && hasInner.has(e.instancePath)) continue;
    const name = pointerSegments(e.instancePath).filter((s) => !/^\d+$/.test(s)).pop();
    const label = prefix + (name ? `${name}: ` : '');
    let d: Diagnostic;
    if (e.keyword === 'additionalProperties') {
      const key = String(e.params.additionalProperty);
      const parent = e.parentSchema as { properties?: Record<string, unknown> } | undefined;
      const guess = didYouMean(key, Object.keys(parent?.properties ?? {}));
      d = { loc: src.keyLocOf(joinPointer(at, key)), message: `${prefix}unknown key '${key}'${guess ? `; did you mean '${guess}'?` : ''}` };
    } else if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const desc = (e.parentSchema as { description?: string } | undefined)?.description;
      d = { loc: src.locOf(at), message: `${label}invalid value ${short(data)}${desc ? ` (${desc.replace(/\.$/, '')})` : ''}` };
    } else {
      d = { loc: src.locOf(at), message: `${label}${describe(e)}` };
    }
    const k = `${d.loc.line}:${d.loc.col}:${d.message}`;
    if (!seen.has(k)) { seen.add(k); out.push(d); }
  }
  return out;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
