// Values of the template language: Undef (a missing name, an error only when used), truthiness,
// equality, text conversion, and Secret propagation (anything computed from a Secret stays one).
import { Secret } from './secret.ts';
import { TemplateError } from './expr.ts';

/** A missing variable or attribute; becomes an error only when used (so `default` and `is defined` work). */
export class Undef {
  constructor(readonly what: string, readonly at: number) {}
}

export const reveal = (v: unknown): unknown => (v instanceof Secret ? v.reveal() : v);

const isPlain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !(v instanceof Secret) && !(v instanceof Undef);

/** Whether a value is, or contains (in lists and dicts), a Secret. */
export function hasSecret(v: unknown, depth = 0): boolean {
  if (v instanceof Secret) return true;
  if (depth > 100) return false;
  if (Array.isArray(v)) return v.some((x) => hasSecret(x, depth + 1));
  if (isPlain(v)) return Object.values(v).some((x) => hasSecret(x, depth + 1));
  return false;
}

/** Every Secret inside a value (lists and dicts included). */
export function secretsIn(v: unknown, depth = 0): Secret[] {
  if (v instanceof Secret) return [v];
  if (depth > 100) return [];
  if (Array.isArray(v)) return v.flatMap((x) => secretsIn(x, depth + 1));
  if (isPlain(v)) return Object.values(v).flatMap((x) => secretsIn(x, depth + 1));
  return [];
}

/** Make a computed value secret: text and numbers become Secrets, lists and dicts secret inside. */
export function secretOf(v: unknown): unknown {
  if (typeof v === 'string' || typeof v === 'number') return new Secret(String(v));
  if (Array.isArray(v)) return v.map(secretOf);
  if (isPlain(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, secretOf(x)]));
  return v; // booleans and none: a test result may be shown (`when: token is defined`)
}

/** The result of an operation on `inputs`: secret if any input held a Secret. */
export const taint = (result: unknown, ...inputs: unknown[]): unknown => (inputs.some((v) => hasSecret(v)) && !hasSecret(result) ? secretOf(result) : result);

export function defined(v: unknown): unknown {
  if (v instanceof Undef) throw new TemplateError(v.what, v.at);
  return v;
}

/** Jinja truthiness: undefined, none, false, 0, '' and empty lists and dicts are false. */
export function truthy(v: unknown): boolean {
  const x = reveal(v);
  if (x instanceof Undef || x === null || x === undefined) return false;
  if (Array.isArray(x)) return x.length > 0;
  if (typeof x === 'object') return Object.keys(x).length > 0;
  return Boolean(x);
}

/** Deep equality over revealed values (a Secret equals its text). */
export function equal(a: unknown, b: unknown, depth = 0): boolean {
  const x = reveal(a);
  const y = reveal(b);
  if (x === y) return true;
  if (depth > 100 || !x || !y || typeof x !== 'object' || typeof y !== 'object') return false;
  if (Array.isArray(x) || Array.isArray(y)) {
    return Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => equal(v, y[i], depth + 1));
  }
  const kx = Object.keys(x);
  const ky = new Set(Object.keys(y));
  return kx.length === ky.size && kx.every((k) => ky.has(k) && equal((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], depth + 1));
}

/** A copy with every Secret replaced by its text (JSON.stringify would call Secret.toJSON first). */
export function revealDeep(v: unknown, depth = 0): unknown {
  if (v instanceof Secret) return v.reveal();
  if (depth > 100) return v;
  if (Array.isArray(v)) return v.map((x) => revealDeep(x, depth + 1));
  if (isPlain(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealDeep(x, depth + 1)]));
  return v;
}

/** How a value prints inside text, with the real value of any Secret (callers keep the result secret). */
export function toText(v: unknown): string {
  if (v instanceof Secret) return v.reveal();
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(hasSecret(v) ? revealDeep(v) : v);
  return String(v);
}

/** Jinja-style type name for messages: 'dict object', 'list object', ... (never the value). */
export function typeName(v: unknown): string {
  if (v instanceof Secret) return 'secret';
  if (v === null || v === undefined) return 'NoneType';
  if (Array.isArray(v)) return 'list object';
  if (typeof v === 'object') return 'dict object';
  return typeof v === 'string' ? 'str' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v === 'boolean' ? 'bool' : typeof v;
}
