// Template filters and tests: an explicit registry (`{ upper, lower, ... } satisfies Record<...>`).
// Every filter keeps a Secret a Secret; `default` and `is defined` are the only ones that see Undef.
import { basename, dirname } from 'node:path';
import { quote } from './script.ts';
import { Secret } from './secret.ts';
import { TemplateError } from './expr.ts';
import { defined, reveal, taint, toText, truthy, Undef } from './template-values.ts';

type Filter = (v: unknown, args: unknown[], at: number) => unknown;

/** Most filters need a defined value; the Secret-ness of the input carries over to the output. */
const strict = (f: (v: unknown, args: unknown[], at: number) => unknown): Filter => (v, args, at) => {
  const d = defined(v);
  return taint(f(reveal(d), args.map(reveal), at), d);
};
const text = (f: (s: string, args: unknown[], at: number) => unknown): Filter => strict((v, a, at) => f(toText(v), a, at));

function toInt(v: unknown, args: unknown[]): number {
  const n = typeof v === 'number' ? Math.trunc(v) : parseInt(String(v).trim(), 10);
  return Number.isNaN(n) ? Number(args[0] ?? 0) : n;
}

function toBool(v: unknown): boolean {
  if (typeof v === 'string') return ['true', 'yes', 'on', '1', 'y'].includes(v.trim().toLowerCase());
  return truthy(v);
}

function regexReplace(s: string, args: unknown[], at: number): string {
  let re: RegExp;
  try {
    re = new RegExp(String(args[0] ?? ''), 'g');
  } catch (e) {
    throw new TemplateError(`regex_replace: invalid pattern: ${(e as Error).message}`, at);
  }
  return s.replace(re, String(args[1] ?? '').replace(/\\(\d)/g, '$$$1'));
}

function fromJson(s: string, _a: unknown[], at: number): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new TemplateError('from_json: not valid JSON', at);
  }
}

function b64decode(s: string, _a: unknown[], at: number): string {
  if (!/^[A-Za-z0-9+/=\s_-]*$/.test(s)) throw new TemplateError('b64decode: not base64', at);
  return Buffer.from(s, 'base64').toString('utf8');
}

const fallback: Filter = (v, args) => (v instanceof Undef || v === null || (args[1] === true && !truthy(v)) ? args[0] ?? '' : v);

export const filters: Readonly<Record<string, Filter>> = {
  default: fallback,
  d: fallback,
  upper: text((s) => s.toUpperCase()),
  lower: text((s) => s.toLowerCase()),
  trim: text((s) => s.trim()),
  string: text((s) => s),
  length: strict((v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0)),
  count: strict((v) => (Array.isArray(v) || typeof v === 'string' ? v.length : 0)),
  first: strict((v) => (Array.isArray(v) || typeof v === 'string' ? v[0] : undefined)),
  last: strict((v) => (Array.isArray(v) || typeof v === 'string' ? v[v.length - 1] : undefined)),
  join: strict((v, a) => (Array.isArray(v) ? v.map(toText).join(String(a[0] ?? '')) : toText(v))),
  split: text((s, a) => (a[0] === undefined ? s.split(/\s+/).filter(Boolean) : s.split(String(a[0])))),
  replace: text((s, a) => s.split(String(a[0] ?? '')).join(String(a[1] ?? ''))),
  to_json: strict((v) => JSON.stringify(v)),
  to_nice_json: strict((v) => JSON.stringify(v, null, 2)),
  from_json: text(fromJson),
  b64encode: text((s) => Buffer.from(s, 'utf8').toString('base64')),
  b64decode: text(b64decode),
  int: strict(toInt),
  float: strict((v) => Number(v) || 0),
  bool: strict(toBool),
  abs: strict((v) => Math.abs(Number(v))),
  regex_replace: text(regexReplace),
  regex_search: text((s, a) => new RegExp(String(a[0] ?? '')).exec(s)?.[0] ?? null),
  basename: text((s) => basename(s)),
  dirname: text((s) => dirname(s)),
  quote: text((s) => quote(s)),
  raw: (v) => defined(v),
  list: strict((v) => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : [v])),
  unique: strict((v) => (Array.isArray(v) ? [...new Set(v.map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x) as unknown) : v)),
  sort: strict((v) => (Array.isArray(v) ? [...v].sort() : v)),
  min: strict((v) => (Array.isArray(v) ? Math.min(...v.map(Number)) : v)),
  max: strict((v) => (Array.isArray(v) ? Math.max(...v.map(Number)) : v)),
};

export const tests: Readonly<Record<string, (v: unknown) => boolean>> = {
  defined: (v: unknown) => !(v instanceof Undef),
  undefined: (v: unknown) => v instanceof Undef,
  none: (v: unknown) => v === null,
  string: (v: unknown) => typeof v === 'string' || v instanceof Secret,
  number: (v: unknown) => typeof v === 'number',
  mapping: (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Undef) && !(v instanceof Secret),
  sequence: (v: unknown) => Array.isArray(v) || typeof v === 'string',
  iterable: (v: unknown) => Array.isArray(v) || typeof v === 'string',
  true: (v: unknown) => v === true,
  false: (v: unknown) => v === false,
  truthy: (v: unknown) => truthy(v),
  falsy: (v: unknown) => !truthy(v),
};

export const isFilter = (name: string): boolean => Object.prototype.hasOwnProperty.call(filters, name);
export type { Filter };
