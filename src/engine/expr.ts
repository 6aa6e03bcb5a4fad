// The expression language of templates and conditions (a Jinja subset): a tokenizer and a
// recursive-descent parser to an AST, with length and nesting limits. No JavaScript eval:
// src/engine/template-eval.ts evaluates the AST.

export class TemplateError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type Node =
  | { k: 'lit'; v: unknown; at: number }
  | { k: 'name'; name: string; at: number }
  | { k: 'attr'; obj: Node; name: string; at: number }
  | { k: 'index'; obj: Node; index: Node; at: number }
  | { k: 'list'; items: Node[]; at: number }
  | { k: 'dict'; entries: [Node, Node][]; at: number }
  | { k: 'unary'; op: 'not' | '-'; arg: Node; at: number }
  | { k: 'bin'; op: string; left: Node; right: Node; at: number }
  | { k: 'filter'; arg: Node; name: string; args: Node[]; at: number }
  | { k: 'test'; arg: Node; name: string; negate: boolean; at: number }
  | { k: 'cond'; test: Node; then: Node; else?: Node; at: number };

type Tok = { t: 'num' | 'str' | 'id' | 'op' | 'end'; v: string; at: number };

const OPS = ['==', '!=', '<=', '>=', '//', '<', '>', '=', '+', '-', '*', '/', '%', '~', '|', '.', ',', ':', '(', ')', '[', ']', '{', '}'];
const COMPARE = new Set(['==', '!=', '<', '<=', '>', '>=']);
const LITERALS: Record<string, unknown> = { true: true, True: true, false: false, False: false, none: null, None: null, null: null };
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
/** Longest expression accepted, and deepest AST / recursion: hostile input gets an error, not a stack overflow. */
export const MAX_EXPR_LENGTH = 10_000;
export const MAX_DEPTH = 64;

const NUM = /\d+(\.\d+)?/y;
const ID = /[A-Za-z_][A-Za-z0-9_]*/y;

function readString(src: string, i: number, base: number): { v: string; end: number } {
  const q = src[i]!;
  let j = i + 1;
  let s = '';
  while (j < src.length && src[j] !== q) {
    if (src[j] === '\\' && j + 1 < src.length) {
      const n = src[j + 1]!;
      s += Object.hasOwn(ESCAPES, n) ? ESCAPES[n] : `\\${n}`; // like Python: an unknown escape keeps its backslash ('\d' stays \d)
      j += 2;
    } else s += src[j++];
  }
  if (j >= src.length) throw new TemplateError('unterminated string', base + i);
  return { v: s, end: j + 1 };
}

export function tokenize(src: string, base = 0): Tok[] {
  if (src.length > MAX_EXPR_LENGTH) throw new TemplateError(`expression longer than ${MAX_EXPR_LENGTH} characters`, base);
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const at = base + i;
    const re = c >= '0' && c <= '9' ? NUM : /[A-Za-z_]/.test(c) ? ID : undefined;
    if (re) {
      re.lastIndex = i;
      const m = re.exec(src)![0];
      out.push({ t: re === NUM ? 'num' : 'id', v: m, at });
      i += m.length;
    } else if (c === '"' || c === "'") {
      const s = readString(src, i, base);
      out.push({ t: 'str', v: s.v, at });
      i = s.end;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (!op) throw new TemplateError(`unexpected character '${c}'`, at);
      out.push({ t: 'op', v: op, at });
      i += op.length;
    }
  }
  out.push({ t: 'end', v: '', at: base + src.length });
  return out;
}

/** Direct sub-expressions of a node. */
export function children(n: Node): Node[] {
  switch (n.k) {
    case 'attr': return [n.obj];
    case 'index': return [n.obj, n.index];
    case 'list': return n.items;
    case 'dict': return n.entries.flat();
    case 'unary': return [n.arg];
    case 'bin': return [n.left, n.right];
    case 'filter': return [n.arg, ...n.args];
    case 'test': return [n.arg];
    case 'cond': return n.else ? [n.test, n.then, n.else] : [n.test, n.then];
    default: return [];
  }
}

/**
 * Recursive descent, lowest precedence first: if-else, or, and, not, comparison (in, is),
 * `~`, + -, * / // %, filters over unary minus, postfix (.attr, [index]), primary.
 */
class Parser {
  private i = 0;
  private descent = 0;
  private readonly depth = new WeakMap<Node, number>();
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok { return this.toks[this.i]!; }
  private next(): Tok { return this.toks[this.i++]!; }
  private isOp(v: string): boolean { const t = this.peek(); return t.t === 'op' && t.v === v; }
  private isId(v: string): boolean { const t = this.peek(); return t.t === 'id' && t.v === v; }
  private expect(v: string): Tok {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new TemplateError(t.t === 'end' ? `expected '${v}' but the expression ended` : `expected '${v}' but found '${t.v}'`, t.at);
    return t;
  }

  /** Record a node's depth; a chain like a.b.c... or 1+1+... is as deep as it is long. */
  private mk<N extends Node>(n: N): N {
    let d = 0;
    for (const c of children(n)) d = Math.max(d, this.depth.get(c) ?? 0);
    if (d + 1 > MAX_DEPTH) throw new TemplateError(`expression nested too deeply (more than ${MAX_DEPTH} levels)`, n.at);
    this.depth.set(n, d + 1);
    return n;
  }

  /** Guard the parser's own recursion (parentheses, `not not ...`, `- - ...`). */
  private nested<T>(f: () => T): T {
    if (++this.descent > MAX_DEPTH) throw new TemplateError(`expression nested too deeply (more than ${MAX_DEPTH} levels)`, this.peek().at);
    try { return f(); } finally { this.descent--; }
  }

  parseAll(): Node {
    if (this.peek().t === 'end') throw new TemplateError('empty expression', this.peek().at);
    const n = this.expr();
    const t = this.peek();
    if (t.t !== 'end') throw new TemplateError(`unexpected '${t.v}'`, t.at);
    return n;
  }

  expr(): Node {
    return this.nested(() => {
      const then = this.or();
      if (!this.isId('if')) return then;
      const at = this.next().at;
      const test = this.or();
      let other: Node | undefined;
      if (this.isId('else')) { this.next(); other = this.expr(); }
      return this.mk({ k: 'cond', test, then, else: other, at });
    });
  }

  private or(): Node {
    let l = this.and();
    while (this.isId('or')) { const at = this.next().at; l = this.mk({ k: 'bin', op: 'or', left: l, right: this.and(), at }); }
    return l;
  }
  private and(): Node {
    let l = this.not();
    while (this.isId('and')) { const at = this.next().at; l = this.mk({ k: 'bin', op: 'and', left: l, right: this.not(), at }); }
    return l;
  }
  private not(): Node {
    if (!this.isId('not')) return this.compare();
    const at = this.next().at;
    return this.nested(() => this.mk({ k: 'unary', op: 'not', arg: this.not(), at }));
  }
  private compare(): Node {
    let l = this.concat();
    for (;;) {
      const t = this.peek();
      const notIn = t.t === 'id' && t.v === 'not' && this.toks[this.i + 1]?.t === 'id' && this.toks[this.i + 1]?.v === 'in';
      if ((t.t === 'op' && COMPARE.has(t.v)) || (t.t === 'id' && t.v === 'in') || notIn) {
        this.i += notIn ? 2 : 1;
        l = this.mk({ k: 'bin', op: notIn ? 'not in' : t.v, left: l, right: this.concat(), at: t.at });
      } else if (t.t === 'id' && t.v === 'is') {
        this.next();
        const negate = this.isId('not');
        if (negate) this.next();
        const name = this.next();
        if (name.t !== 'id') throw new TemplateError(`expected a test name after 'is'`, name.at);
        l = this.mk({ k: 'test', arg: l, name: name.v, negate, at: t.at });
      } else return l;
    }
  }
  private binary(ops: readonly string[], operand: () => Node): Node {
    let l = operand();
    while (ops.some((o) => this.isOp(o))) { const t = this.next(); l = this.mk({ k: 'bin', op: t.v, left: l, right: operand(), at: t.at }); }
    return l;
  }
  private concat(): Node { return this.binary(['~'], () => this.sum()); }
  private sum(): Node { return this.binary(['+', '-'], () => this.product()); }
  private product(): Node { return this.binary(['*', '/', '//', '%'], () => this.unary()); }
  /** Like Jinja, filters apply to a signed operand: `-x | abs` is abs(-x). */
  private unary(): Node {
    let n = this.sign();
    while (this.isOp('|')) {
      this.next();
      const name = this.next();
      if (name.t !== 'id') throw new TemplateError(`expected a filter name after '|'`, name.at);
      const args = this.isOp('(') ? (this.next(), this.items(')', true)) : [];
      n = this.mk({ k: 'filter', arg: n, name: name.v, args, at: name.at });
    }
    return n;
  }
  private sign(): Node {
    if (!this.isOp('-')) return this.postfix();
    const at = this.next().at;
    return this.nested(() => this.mk({ k: 'unary', op: '-', arg: this.sign(), at }));
  }
  /** Comma-separated expressions up to `close`; filter `name=value` keyword arguments count by position. */
  private items(close: string, keywords = false): Node[] {
    const out: Node[] = [];
    while (!this.isOp(close)) {
      if (keywords && this.peek().t === 'id' && this.toks[this.i + 1]?.t === 'op' && this.toks[this.i + 1]?.v === '=') this.i += 2;
      out.push(this.expr());
      if (!this.isOp(close)) this.expect(',');
    }
    this.next();
    return out;
  }
  private postfix(): Node {
    let n = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const t = this.next();
        if (t.t !== 'id' && t.t !== 'num') throw new TemplateError(`expected an attribute name after '.'`, t.at);
        n = t.t === 'num' ? this.mk({ k: 'index', obj: n, index: { k: 'lit', v: Number(t.v), at: t.at }, at: t.at }) : this.mk({ k: 'attr', obj: n, name: t.v, at: t.at });
      } else if (this.isOp('[')) {
        const at = this.next().at;
        const index = this.expr();
        this.expect(']');
        n = this.mk({ k: 'index', obj: n, index, at });
      } else return n;
    }
  }
  private primary(): Node {
    const t = this.next();
    if (t.t === 'num') return { k: 'lit', v: Number(t.v), at: t.at };
    if (t.t === 'str') return { k: 'lit', v: t.v, at: t.at };
    if (t.t === 'id') {
      if (Object.hasOwn(LITERALS, t.v)) return { k: 'lit', v: LITERALS[t.v], at: t.at };
      if (this.isOp('(')) throw new TemplateError(`'${t.v}(...)': function calls are not supported (use a filter: x | name)`, t.at);
      return { k: 'name', name: t.v, at: t.at };
    }
    if (t.t === 'op' && t.v === '(') { const e = this.expr(); this.expect(')'); return e; }
    if (t.t === 'op' && t.v === '[') return this.mk({ k: 'list', items: this.items(']'), at: t.at });
    if (t.t === 'op' && t.v === '{') return this.dict(t.at);
    throw new TemplateError(t.t === 'end' ? 'the expression ended too early' : `unexpected '${t.v}'`, t.at);
  }
  private dict(at: number): Node {
    const entries: [Node, Node][] = [];
    while (!this.isOp('}')) {
      const key = this.expr();
      this.expect(':');
      entries.push([key, this.expr()]);
      if (!this.isOp('}')) this.expect(',');
    }
    this.next();
    return this.mk({ k: 'dict', entries, at });
  }
}

/**
 * A bounded memo: the oldest entry goes when it is full (templates repeat per host and per loop item).
 * Keys longer than `maxKey` (a large file template) are not kept, so the cache stays small in bytes.
 */
export function memo<V>(max: number, maxKey = 64 * 1024): (key: string, make: () => V) => V {
  const map = new Map<string, V>();
  return (key, make) => {
    if (key.length > maxKey) return make();
    const hit = map.get(key);
    if (hit !== undefined) return hit;
    const v = make();
    if (map.size >= max) map.delete(map.keys().next().value!);
    map.set(key, v);
    return v;
  };
}

const parsed = memo<Node>(2000);

/** Parse an expression; `base` is its offset inside the template text (for error positions). */
export function parseExpr(src: string, base = 0): Node {
  return parsed(`${base}:${src}`, () => new Parser(tokenize(src, base)).parseAll());
}
