// Templates: `{{ expr }}` inside strings, evaluated over a scope with filters and tests (a Jinja
// subset; no JavaScript eval). Secrets stay Secret through every operation; renderShell quotes
// every interpolated value for POSIX sh unless the expression ends in `| raw`.
import { Script, quote } from './script.ts';
import { Secret } from './secret.ts';
import { namesOf, parseExpr, TemplateError, type Node } from './expr.ts';
import { filters, tests } from './template-filters.ts';
import { defined, reveal, taint, toText, truthy, Undef } from './template-values.ts';

export { toText, truthy, Undef };

export { TemplateError };
export type Scope = Readonly<Record<string, unknown>>;

const MAX_OUTPUT = 50 * 1024 * 1024;

function lookup(obj: unknown, key: string | number, at: number, label: string): unknown {
  const o = reveal(obj);
  if (o instanceof Undef) return o;
  if (o !== null && o !== undefined && (typeof o === 'object' || typeof o === 'string')) {
    if (Array.isArray(o) || typeof o === 'string') {
      const i = Number(key);
      if (Number.isInteger(i)) { const v = o[i < 0 ? o.length + i : i]; return v === undefined ? new Undef(`index ${key} out of range`, at) : v; }
      if (key === 'length') return o.length;
    } else if (Object.prototype.hasOwnProperty.call(o, key) || key in (o as object)) {
      const v = (o as Record<string, unknown>)[key];
      if (v !== undefined) return v;
    }
  }
  return new Undef(`'${label}' has no attribute '${key}'`, at);
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const x = reveal(a);
  const y = reveal(b);
  switch (op) {
    case '==': return JSON.stringify(x) === JSON.stringify(y) || x === y;
    case '!=': return !(JSON.stringify(x) === JSON.stringify(y) || x === y);
    case '<': return (x as number) < (y as number);
    case '<=': return (x as number) <= (y as number);
    case '>': return (x as number) > (y as number);
    default: return (x as number) >= (y as number);
  }
}

function contains(container: unknown, item: unknown): boolean {
  const c = reveal(container);
  const i = reveal(item);
  if (typeof c === 'string') return c.includes(String(i));
  if (Array.isArray(c)) return c.some((x) => compare('==', x, i));
  if (c && typeof c === 'object') return Object.prototype.hasOwnProperty.call(c, String(i));
  return false;
}

function arith(op: string, a: unknown, b: unknown, at: number): unknown {
  const x = reveal(a);
  const y = reveal(b);
  if (op === '+' && (typeof x === 'string' || typeof y === 'string')) {
    if (typeof x !== typeof y) throw new TemplateError(`cannot add ${typeof x} and ${typeof y} (use ~ to join text)`, at);
    return taint(String(x) + String(y), a, b);
  }
  if (op === '+' && Array.isArray(x) && Array.isArray(y)) return [...x, ...y];
  if (typeof x !== 'number' || typeof y !== 'number') throw new TemplateError(`'${op}' needs numbers, got ${typeof x} and ${typeof y}`, at);
  if ((op === '/' || op === '//' || op === '%') && y === 0) throw new TemplateError('division by zero', at);
  const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : op === '//' ? Math.floor(x / y) : x % y;
  return r;
}

export function evalNode(n: Node, scope: Scope): unknown {
  switch (n.k) {
    case 'lit': return n.v;
    case 'name': return n.name in scope ? (scope as Record<string, unknown>)[n.name] ?? null : new Undef(`undefined variable '${n.name}'`, n.at);
    case 'attr': return lookup(evalNode(n.obj, scope), n.name, n.at, labelOf(n.obj));
    case 'index': { const i = defined(evalNode(n.index, scope)); return lookup(evalNode(n.obj, scope), reveal(i) as string | number, n.at, labelOf(n.obj)); }
    case 'list': return n.items.map((i) => defined(evalNode(i, scope)));
    case 'dict': return Object.fromEntries(n.entries.map(([k, v]) => [String(defined(evalNode(k, scope))), defined(evalNode(v, scope))]));
    case 'unary': {
      const v = defined(evalNode(n.arg, scope));
      if (n.op === 'not') return !truthy(v);
      if (typeof reveal(v) !== 'number') throw new TemplateError(`'-' needs a number`, n.at);
      return -(reveal(v) as number);
    }
    case 'bin': return evalBin(n, scope);
    case 'filter': {
      const f = filters[n.name];
      if (!f) throw new TemplateError(`unknown filter '${n.name}'`, n.at);
      const arg = evalNode(n.arg, scope);
      return f(arg, n.args.map((a) => defined(evalNode(a, scope))), n.at);
    }
    case 'test': {
      const t = tests[n.name];
      if (!t) throw new TemplateError(`unknown test '${n.name}'`, n.at);
      const r = t(evalNode(n.arg, scope));
      return n.negate ? !r : r;
    }
    case 'cond': return truthy(defined(evalNode(n.test, scope))) ? evalNode(n.then, scope) : n.else ? evalNode(n.else, scope) : '';
  }
}

function labelOf(n: Node): string {
  return n.k === 'name' ? n.name : n.k === 'attr' ? `${labelOf(n.obj)}.${n.name}` : 'value';
}

function evalBin(n: Extract<Node, { k: 'bin' }>, scope: Scope): unknown {
  if (n.op === 'and') { const l = defined(evalNode(n.left, scope)); return truthy(l) ? defined(evalNode(n.right, scope)) : l; }
  if (n.op === 'or') { const l = defined(evalNode(n.left, scope)); return truthy(l) ? l : defined(evalNode(n.right, scope)); }
  const l = defined(evalNode(n.left, scope));
  const r = defined(evalNode(n.right, scope));
  if (n.op === 'in') return contains(r, l);
  if (n.op === 'not in') return !contains(r, l);
  if (n.op === '~') return taint(toText(l) + toText(r), l, r);
  if (['==', '!=', '<', '<=', '>', '>='].includes(n.op)) return compare(n.op, l, r);
  return arith(n.op, l, r, n.at);
}

type Segment = { text: string } | { expr: string; at: number };

/** Split a template into literal text and `{{ expr }}` parts (quotes inside expressions respected). */
export function segments(text: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) { out.push({ text: text.slice(i) }); break; }
    if (open > i) out.push({ text: text.slice(i, open) });
    let j = open + 2;
    let q: string | undefined;
    while (j < text.length && (q || !text.startsWith('}}', j))) {
      const c = text[j]!;
      if (q) { if (c === '\\') j++; else if (c === q) q = undefined; } else if (c === '"' || c === "'") q = c;
      j++;
    }
    if (j >= text.length) throw new TemplateError("unclosed '{{'", open);
    out.push({ expr: text.slice(open + 2, j), at: open + 2 });
    i = j + 2;
  }
  return out;
}

function evalExpr(expr: string, at: number, scope: Scope): unknown {
  if (!expr.trim()) throw new TemplateError('empty expression', at);
  return defined(evalNode(parseExpr(expr, at), scope));
}

export function parseTemplate(text: string): void {
  for (const s of segments(text)) if ('expr' in s) { if (!s.expr.trim()) throw new TemplateError('empty expression', s.at); parseExpr(s.expr, s.at); }
}

export function renderString(text: string, scope: Scope): unknown {
  if (!text.includes('{{')) return text;
  const segs = segments(text);
  const only = segs.filter((s) => 'expr' in s || s.text.trim() !== '');
  if (only.length === 1 && 'expr' in only[0]!) return evalExpr(only[0].expr, only[0].at, scope);
  let out = '';
  let secret = false;
  for (const s of segs) {
    if ('text' in s) { out += s.text; continue; }
    const v = evalExpr(s.expr, s.at, scope);
    if (v instanceof Secret) secret = true;
    out += toText(v);
    if (out.length > MAX_OUTPUT) throw new TemplateError(`rendered value too large (over ${MAX_OUTPUT / 1024 / 1024} MB)`, s.at);
  }
  return secret ? new Secret(out) : out;
}

export function renderValue(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') return renderString(value, scope);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope));
  if (value && typeof value === 'object' && !(value instanceof Secret) && !(value instanceof Script)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, scope)]));
  }
  return value;
}

export function evaluate(expr: string, scope: Scope): unknown {
  const t = expr.trim();
  if (t.startsWith('{{') && t.endsWith('}}') && segments(t).length === 1) return renderString(t, scope);
  return evalExpr(expr, 0, scope);
}

/** For command/shell: each value shell-quoted (lists: each item), unless the expression ends with `| raw`. */
export function renderShell(text: string, scope: Scope): Script {
  let out = '';
  let shown = '';
  for (const s of segments(text)) {
    if ('text' in s) { out += s.text; shown += s.text; continue; }
    const node = parseExpr(s.expr, s.at);
    const v = defined(evalNode(node, scope));
    const isRaw = node.k === 'filter' && node.name === 'raw';
    const items = Array.isArray(v) && !isRaw ? v : [v];
    const parts = items.map((x) => (isRaw ? { t: toText(x), s: x instanceof Secret ? '***' : toText(x) } : { t: quote(toText(x)), s: x instanceof Secret ? '***' : quote(toText(x)) }));
    out += parts.map((p) => p.t).join(' ');
    shown += parts.map((p) => p.s).join(' ');
    if (out.length > MAX_OUTPUT) throw new TemplateError('rendered command too large', s.at);
  }
  return new Script(out, shown);
}

export function referencedNames(text: string): string[] {
  const names = new Set<string>();
  for (const s of segments(text)) if ('expr' in s) namesOf(parseExpr(s.expr, s.at), names);
  return [...names];
}
