// Evaluates an expression AST (src/engine/expr.ts) over a scope: lookups, operators, filters and
// tests. Missing names become Undef (an error at the name's offset once used); Secrets stay Secret.
import { Secret } from './secret.ts';
import { children, TemplateError, type Node } from './expr.ts';
import { filters, tests } from './template-filters.ts';
import { defined, equal, reveal, taint, toText, truthy, typeName, Undef } from './template-values.ts';

export type Scope = Readonly<Record<string, unknown>>;

const own = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** `a.b` / `a[b]`: own properties only (no prototype: `x.constructor` is undefined, as it should be). */
function lookup(obj: unknown, key: unknown, at: number, label: string): unknown {
  if (obj instanceof Undef) return obj;
  const o = reveal(obj);
  const k = reveal(key);
  let v: unknown;
  if (Array.isArray(o) || typeof o === 'string') {
    const i = typeof k === 'number' ? k : Number.NaN;
    if (Number.isInteger(i)) v = o[i < 0 ? o.length + i : i];
    else if (k === 'length') v = o.length;
  } else if (o && typeof o === 'object' && typeof k !== 'object' && own(o, String(k))) {
    v = (o as Record<string, unknown>)[String(k)];
  }
  if (v !== undefined) return obj instanceof Secret || key instanceof Secret ? taint(v, obj, key) : v; // `db.host` is not secret because `db.password` is
  const shown = key instanceof Secret ? '***' : typeof k === 'string' ? k : toText(k);
  return new Undef(`'${label || typeName(obj)}' has no attribute '${shown}'`, at);
}

/** The name of a variable path for messages (`map.k`), or '' for a computed value. */
function labelOf(n: Node): string {
  if (n.k === 'name') return n.name;
  if (n.k === 'attr') { const l = labelOf(n.obj); return l && `${l}.${n.name}`; }
  return '';
}

/** A number for arithmetic and ordering; a Secret holding a number (`pw | length`) counts as one. */
function num(v: unknown): unknown {
  const x = reveal(v);
  return v instanceof Secret && /^-?\d+(\.\d+)?$/.test(x as string) ? Number(x) : x;
}

function order(op: string, a: unknown, b: unknown, at: number): boolean {
  const x = num(a);
  const y = num(b);
  const ok = (typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string');
  if (!ok) throw new TemplateError(`cannot compare ${typeName(a)} and ${typeName(b)} with '${op}'`, at);
  const [p, q] = [x as number, y as number];
  return op === '<' ? p < q : op === '<=' ? p <= q : op === '>' ? p > q : p >= q;
}

function contains(container: unknown, item: unknown, at: number): boolean {
  const c = reveal(container);
  const i = reveal(item);
  if (typeof c === 'string') return c.includes(toText(i));
  if (Array.isArray(c)) return c.some((x) => equal(x, i));
  if (c && typeof c === 'object') return own(c, toText(i));
  throw new TemplateError(`'in' needs a string, list or dict on its right, got ${typeName(container)}`, at);
}

function arith(op: string, a: unknown, b: unknown, at: number): unknown {
  const x = num(a);
  const y = num(b);
  if (op === '+' && typeof x === 'string' && typeof y === 'string') return taint(x + y, a, b);
  if (op === '+' && Array.isArray(x) && Array.isArray(y)) return [...x, ...y];
  if (typeof x !== 'number' || typeof y !== 'number') {
    const hint = op === '+' && (typeof x === 'string' || typeof y === 'string') ? ' (use ~ to join text)' : '';
    throw new TemplateError(`cannot ${op === '+' ? 'add' : `apply '${op}' to`} ${typeName(a)} and ${typeName(b)}${hint}`, at);
  }
  if ((op === '/' || op === '//' || op === '%') && y === 0) throw new TemplateError('division by zero', at);
  const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : op === '//' ? Math.floor(x / y) : x - y * Math.floor(x / y);
  return taint(r, a, b);
}

function evalBin(n: Extract<Node, { k: 'bin' }>, scope: Scope): unknown {
  const l = defined(evalNode(n.left, scope));
  if (n.op === 'and') return truthy(l) ? defined(evalNode(n.right, scope)) : l;
  if (n.op === 'or') return truthy(l) ? l : defined(evalNode(n.right, scope));
  const r = defined(evalNode(n.right, scope));
  switch (n.op) {
    case 'in': return contains(r, l, n.at);
    case 'not in': return !contains(r, l, n.at);
    case '~': return taint(toText(l) + toText(r), l, r);
    case '==': return equal(l, r);
    case '!=': return !equal(l, r);
    case '<': case '<=': case '>': case '>=': return order(n.op, l, r, n.at);
    default: return arith(n.op, l, r, n.at);
  }
}

function evalFilter(n: Extract<Node, { k: 'filter' }>, scope: Scope): unknown {
  if (!own(filters, n.name)) throw new TemplateError(`unknown filter '${n.name}'`, n.at);
  const arg = evalNode(n.arg, scope);
  return filters[n.name as keyof typeof filters](arg, n.args.map((a) => defined(evalNode(a, scope))), n.at);
}

function evalTest(n: Extract<Node, { k: 'test' }>, scope: Scope): boolean {
  if (!own(tests, n.name)) throw new TemplateError(`unknown test '${n.name}'`, n.at);
  const r = tests[n.name as keyof typeof tests](evalNode(n.arg, scope));
  return n.negate ? !r : r;
}

/** Evaluate a node; the result may be an Undef, which `defined()` turns into the error. */
export function evalNode(n: Node, scope: Scope): unknown {
  switch (n.k) {
    case 'lit': return n.v;
    case 'name': {
      const v = own(scope, n.name) ? scope[n.name] : undefined;
      return v === undefined ? new Undef(`undefined variable '${n.name}'`, n.at) : v;
    }
    case 'attr': return lookup(evalNode(n.obj, scope), n.name, n.at, labelOf(n.obj));
    case 'index': return lookup(evalNode(n.obj, scope), defined(evalNode(n.index, scope)), n.at, labelOf(n.obj));
    case 'list': return n.items.map((i) => defined(evalNode(i, scope)));
    case 'dict': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of n.entries) Object.defineProperty(out, toText(defined(evalNode(k, scope))), { value: defined(evalNode(v, scope)), enumerable: true, writable: true, configurable: true });
      return out;
    }
    case 'unary': {
      const v = defined(evalNode(n.arg, scope));
      if (n.op === 'not') return !truthy(v);
      const x = num(v);
      if (typeof x !== 'number') throw new TemplateError(`'-' needs a number, got ${typeName(v)}`, n.at);
      return taint(-x, v);
    }
    case 'bin': return evalBin(n, scope);
    case 'filter': return evalFilter(n, scope);
    case 'test': return evalTest(n, scope);
    case 'cond': return truthy(defined(evalNode(n.test, scope))) ? evalNode(n.then, scope) : n.else ? evalNode(n.else, scope) : '';
  }
}

const checked = new WeakSet<Node>();

/** Throw for a filter or test name the registries lack (a syntax-time check for `validate`). */
export function checkNames(n: Node): void {
  if (checked.has(n)) return;
  if (n.k === 'filter' && !own(filters, n.name)) throw new TemplateError(`unknown filter '${n.name}'`, n.at);
  if (n.k === 'test' && !own(tests, n.name)) throw new TemplateError(`unknown test '${n.name}'`, n.at);
  for (const c of children(n)) checkNames(c);
  checked.add(n);
}
