// Template filters and tests: explicit registries checked with `satisfies`. Every filter keeps a
// Secret a Secret (and never puts its value in an error); `default` is the only filter that sees Undef.
import { posix } from 'node:path';
import { quote } from './script.ts';
import { Secret } from './secret.ts';
import { TemplateError } from './expr.ts';
import { defined, equal, hasSecret, reveal, revealDeep, taint, toText, truthy, typeName, Undef } from './template-values.ts';

export type Filter = (v: unknown, args: unknown[], at: number) => unknown;

/**
 * A filter over a defined, revealed value; the result is secret when the input or an argument was a
 * Secret, or (`flat`: filters that turn the whole value into text) when the input held one anywhere.
 */
const strict = (f: (v: unknown, args: unknown[], at: number) => unknown, flat = false): Filter => (v, args, at) => {
  const d = defined(v);
  return taint(f(reveal(d), args.map(reveal), at), flat ? d : reveal(d) === d ? undefined : d, ...args);
};
const text = (f: (s: string, args: unknown[], at: number) => unknown): Filter => strict((v, a, at) => f(toText(v), a, at), true);
function sizedOnly(name: string, v: unknown, at: number): string | unknown[] {
  if (typeof v === 'string' || Array.isArray(v)) return v;
  throw new TemplateError(`${name}: needs a string or a list, got ${typeName(v)}`, at);
}
const sized = (name: string, f: (v: string | unknown[], args: unknown[], at: number) => unknown): Filter => strict((v, a, at) => f(sizedOnly(name, v, at), a, at));

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function toInt(v: unknown, [fallback = 0, base = 10]: unknown[]): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : fallback;
  const s = toText(v).trim();
  if (Number(base) === 10) return NUMBER.test(s) ? Math.trunc(Number(s)) : fallback;
  const n = parseInt(s.replace(/^0[xob]/i, ''), Number(base));
  return Number.isNaN(n) ? fallback : n;
}

function toFloat(v: unknown, [fallback = 0]: unknown[]): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return Number(v);
  const s = toText(v).trim();
  return NUMBER.test(s) ? Number(s) : fallback;
}

function toBool(v: unknown): boolean {
  if (typeof v === 'string') return ['true', 'yes', 'on', '1', 'y'].includes(v.trim().toLowerCase());
  return truthy(v);
}

/** Python-style pattern and replacement (`\1`, `(?P<n>...)`) on JavaScript RegExp. */
function regex(pattern: unknown, flags: string, at: number, name: string): RegExp {
  const p = toText(pattern).replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(p, flags);
  } catch (e) {
    const why = /: ([^:]*)$/.exec((e as Error).message)?.[1] ?? 'syntax error'; // only the reason: the pattern may be secret
    throw new TemplateError(`${name}: invalid pattern (${why})`, at);
  }
}

function regexReplace(s: string, [pattern, replacement = '', ignorecase, multiline]: unknown[], at: number): string {
  const re = regex(pattern, `g${truthy(ignorecase) ? 'i' : ''}${truthy(multiline) ? 'm' : ''}`, at, 'regex_replace');
  const r = toText(replacement).replace(/\$/g, '$$$$').replace(/\\g<(\w+)>/g, '$$<$1>').replace(/\\(\d+)/g, '$$$1');
  return s.replace(re, r);
}

function fromJson(s: string, _a: unknown[], at: number): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new TemplateError('from_json: not valid JSON', at); // JSON.parse's message quotes the input
  }
}

function b64decode(s: string, _a: unknown[], at: number): string {
  if (!/^[A-Za-z0-9+/=\s_-]*$/.test(s)) throw new TemplateError('b64decode: not base64', at);
  return Buffer.from(s, 'base64').toString('utf8');
}

const json = (v: unknown, indent?: number): string => JSON.stringify(revealDeep(v ?? null), null, indent);

const fallback: Filter = (v, [value = '', boolean]) => (v instanceof Undef || (truthy(boolean) && !truthy(v)) ? value : v);

function at0(v: string | unknown[], i: number, at: number, name: string): unknown {
  return v.length ? v[i < 0 ? v.length + i : i] : new Undef(`${name}: the ${typeof v === 'string' ? 'string' : 'list'} is empty`, at);
}

export const filters = {
  default: fallback,
  d: fallback,
  upper: text((s) => s.toUpperCase()),
  lower: text((s) => s.toLowerCase()),
  trim: text((s) => s.trim()),
  string: text((s) => s),
  length: strict((v, _a, at) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new TemplateError(`length: ${typeName(v)} has no length`, at);
  }),
  first: sized('first', (v, _a, at) => at0(v, 0, at, 'first')),
  last: sized('last', (v, _a, at) => at0(v, -1, at, 'last')),
  join: strict((v, [sep = ''], at) => [...sizedOnly('join', v, at)].map(toText).join(toText(sep)), true),
  split: text((s, [sep]) => (sep === undefined || sep === null ? s.split(/\s+/).filter(Boolean) : s.split(toText(sep)))),
  replace: text((s, [from = '', to = '']) => s.split(toText(from)).join(toText(to))),
  to_json: strict((v) => json(v), true),
  to_nice_json: strict((v) => json(v, 2), true),
  from_json: text(fromJson),
  b64encode: text((s) => Buffer.from(s, 'utf8').toString('base64')),
  b64decode: text(b64decode),
  int: strict(toInt),
  float: strict(toFloat),
  bool: strict(toBool),
  abs: strict((v, _a, at) => {
    if (typeof v !== 'number') throw new TemplateError(`abs: needs a number, got ${typeName(v)}`, at);
    return Math.abs(v);
  }),
  regex_replace: text(regexReplace),
  regex_search: text((s, [p], at) => regex(p, '', at, 'regex_search').exec(s)?.[0] ?? null),
  basename: text((s) => posix.basename(s)),
  dirname: text((s) => posix.dirname(s)),
  quote: text((s) => quote(s)),
  raw: (v) => defined(v), // identity here; renderShell splices a value whose last filter is raw verbatim
  list: strict((v) => (Array.isArray(v) ? v : typeof v === 'string' ? [...v] : v && typeof v === 'object' ? Object.keys(v) : [v])),
  unique: sized('unique', (v) => [...v].filter((x, i, all) => all.findIndex((y) => equal(x, y)) === i)),
  sort: sized('sort', (v) => [...v].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : toText(a) < toText(b) ? -1 : toText(a) > toText(b) ? 1 : 0))),
  min: sized('min', (v) => [...v].reduce((m, x) => (m === undefined || (x as number) < (m as number) ? x : m), undefined)),
  max: sized('max', (v) => [...v].reduce((m, x) => (m === undefined || (x as number) > (m as number) ? x : m), undefined)),
} satisfies Record<string, Filter>;

const isMapping = (v: unknown): boolean => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Undef) && !(v instanceof Secret);

export const tests = {
  defined: (v: unknown) => !(v instanceof Undef),
  undefined: (v: unknown) => v instanceof Undef,
  none: (v: unknown) => v === null,
  string: (v: unknown) => typeof v === 'string' || v instanceof Secret,
  number: (v: unknown) => typeof v === 'number',
  mapping: isMapping,
  sequence: (v: unknown) => Array.isArray(v) || typeof v === 'string',
  iterable: (v: unknown) => Array.isArray(v) || typeof v === 'string' || isMapping(v),
  true: (v: unknown) => v === true,
  false: (v: unknown) => v === false,
  truthy: (v: unknown) => truthy(v),
  falsy: (v: unknown) => !truthy(v),
  secret: (v: unknown) => hasSecret(v),
} satisfies Record<string, (v: unknown) => boolean>;
