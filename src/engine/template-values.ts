// Values of the template language: Undef (a missing name, an error only when used), truthiness,
// text conversion, and Secret propagation. Shared by template.ts and template-filters.ts.
import { Secret } from './secret.ts';
import { TemplateError } from './expr.ts';

/** A missing variable or attribute; becomes an error only when used (so `default` and `is defined` work). */
export class Undef {
  constructor(readonly what: string, readonly at: number) {}
}

export const reveal = (v: unknown): unknown => (v instanceof Secret ? v.reveal() : v);
const anySecret = (...vs: unknown[]): boolean => vs.some((v) => v instanceof Secret);
export const taint = (result: unknown, ...inputs: unknown[]): unknown => (anySecret(...inputs) && typeof result !== 'boolean' ? new Secret(String(result)) : result);

function fail(u: Undef): never {
  throw new TemplateError(u.what, u.at);
}
export const defined = (v: unknown): unknown => (v instanceof Undef ? fail(v) : v);

export function truthy(v: unknown): boolean {
  const x = reveal(v);
  if (x instanceof Undef) return false;
  if (Array.isArray(x)) return x.length > 0;
  if (x && typeof x === 'object') return Object.keys(x).length > 0;
  return Boolean(x);
}

/** How a value prints inside text. */
export function toText(v: unknown): string {
  if (v instanceof Secret) return v.reveal();
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v, (_k, x) => (x instanceof Secret ? x.reveal() : x));
  return String(v);
}

