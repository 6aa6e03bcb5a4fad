// The expression language of templates and conditions (a Jinja subset): a tokenizer and a
// recursive-descent parser to an AST. No JavaScript eval: src/engine/template.ts evaluates it.

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
const MAX_LEN = 10_000;
const MAX_DEPTH = 64;

export function tokenize(src: string, base = 0): Tok[] {
  if (src.length > MAX_LEN) throw new TemplateError(`expression longer than ${MAX_LEN} characters`, base);
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    const at = base + i;
    if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0], at });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0], at });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const n = src[j + 1]!;
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new TemplateError('unterminated string', at);
      out.push({ t: 'str', v: s, at });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new TemplateError(`unexpected character '${c}'`, at);
    out.push({ t: 'op', v: op, at });
    i += op.length;
  }
  out.push({ t: 'end', v: '', at: base + src.length });
  return out;
}

/** Recursive descent, lowest precedence first: if-else, or, and, not, comparison, concat, sum, product, unary, filter, postfix. */
class Parser {
  private i = 0;
  private depth = 0;
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

  parseAll(): Node {
    const n = this.expr();
    const t = this.peek();
    if (t.t !== 'end') throw new TemplateError(`unexpected '${t.v}'`, t.at);
    return n;
  }

  expr(): Node {
    if (++this.depth > MAX_DEPTH) throw new TemplateError('expression nested too deeply', this.peek().at);
    try {
      const test = this.or();
      if (!this.isId('if')) return test;
      const at = this.next().at;
      const cond = this.or();
      let other: Node | undefined;
      if (this.isId('else')) { this.next(); other = this.expr(); }
      return { k: 'cond', test: cond, then: test, else: other, at };
    } finally {
      this.depth--;
    }
  }

  private or(): Node {
    let l = this.and();
    while (this.isId('or')) { const at = this.next().at; l = { k: 'bin', op: 'or', left: l, right: this.and(), at }; }
    return l;
  }
  private and(): Node {
    let l = this.not();
    while (this.isId('and')) { const at = this.next().at; l = { k: 'bin', op: 'and', left: l, right: this.not(), at }; }
    return l;
  }
  private not(): Node {
    if (this.isId('not')) { const at = this.next().at; return { k: 'unary', op: 'not', arg: this.not(), at }; }
    return this.compare();
  }
  private compare(): Node {
    let l = this.concat();
    for (;;) {
      const t = this.peek();
      if (t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) { this.next(); l = { k: 'bin', op: t.v, left: l, right: this.concat(), at: t.at }; continue; }
      if (t.t === 'id' && t.v === 'in') { this.next(); l = { k: 'bin', op: 'in', left: l, right: this.concat(), at: t.at }; continue; }
      if (t.t === 'id' && t.v === 'not' && this.toks[this.i + 1]?.v === 'in') { this.i += 2; l = { k: 'bin', op: 'not in', left: l, right: this.concat(), at: t.at }; continue; }
      if (t.t === 'id' && t.v === 'is') {
        this.next();
        const negate = this.isId('not');
        if (negate) this.next();
        const name = this.next();
        if (name.t !== 'id') throw new TemplateError(`expected a test name after 'is'`, name.at);
        l = { k: 'test', arg: l, name: name.v, negate, at: t.at };
        continue;
      }
      return l;
    }
  }
  private concat(): Node {
    let l = this.sum();
    while (this.isOp('~')) { const at = this.next().at; l = { k: 'bin', op: '~', left: l, right: this.sum(), at }; }
    return l;
  }
  private sum(): Node {
    let l = this.product();
    while (this.isOp('+') || this.isOp('-')) { const t = this.next(); l = { k: 'bin', op: t.v, left: l, right: this.product(), at: t.at }; }
    return l;
  }
  private product(): Node {
    let l = this.unary();
    while (['*', '/', '%', '//'].some((o) => this.isOp(o))) { const t = this.next(); l = { k: 'bin', op: t.v, left: l, right: this.unary(), at: t.at }; }
    return l;
  }
  private unary(): Node {
    if (this.isOp('-')) { const at = this.next().at; return { k: 'unary', op: '-', arg: this.unary(), at }; }
    return this.filtered();
  }
  private filtered(): Node {
    let n = this.postfix();
    while (this.isOp('|')) {
      this.next();
      const name = this.next();
      if (name.t !== 'id') throw new TemplateError(`expected a filter name after '|'`, name.at);
      const args = this.isOp('(') ? this.args(')') : [];
      n = { k: 'filter', arg: n, name: name.v, args, at: name.at };
    }
    return n;
  }
  private args(close: string): Node[] {
    this.next();
    const out: Node[] = [];
    while (!this.isOp(close)) {
      if (this.peek().t === 'id' && this.toks[this.i + 1]?.t === 'op' && this.toks[this.i + 1]?.v === '=') this.i += 2; // keyword args: value only
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
        n = t.t === 'num' ? { k: 'index', obj: n, index: { k: 'lit', v: Number(t.v), at: t.at }, at: t.at } : { k: 'attr', obj: n, name: t.v, at: t.at };
      } else if (this.isOp('[')) {
        const at = this.next().at;
        const index = this.expr();
        this.expect(']');
        n = { k: 'index', obj: n, index, at };
      } else return n;
    }
  }
  private primary(): Node {
    const t = this.next();
    if (t.t === 'num') return { k: 'lit', v: Number(t.v), at: t.at };
    if (t.t === 'str') return { k: 'lit', v: t.v, at: t.at };
    if (t.t === 'id') {
      const lits: Record<string, unknown> = { true: true, True: true, false: false, False: false, none: null, None: null, null: null };
      if (t.v in lits) return { k: 'lit', v: lits[t.v], at: t.at };
      return { k: 'name', name: t.v, at: t.at };
    }
    if (t.t === 'op' && t.v === '(') { const e = this.expr(); this.expect(')'); return e; }
    if (t.t === 'op' && t.v === '[') {
      const items: Node[] = [];
      while (!this.isOp(']')) { items.push(this.expr()); if (!this.isOp(']')) this.expect(','); }
      this.next();
      return { k: 'list', items, at: t.at };
    }
    if (t.t === 'op' && t.v === '{') {
      const entries: [Node, Node][] = [];
      while (!this.isOp('}')) { const key = this.expr(); this.expect(':'); entries.push([key, this.expr()]); if (!this.isOp('}')) this.expect(','); }
      this.next();
      return { k: 'dict', entries, at: t.at };
    }
    throw new TemplateError(t.t === 'end' ? 'the expression ended too early' : `unexpected '${t.v}'`, t.at);
  }
}

const cache = new Map<string, Node>();

/** Parse an expression; `base` is its offset inside the template text (for error positions). */
export function parseExpr(src: string, base = 0): Node {
  const key = `${base}:${src}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const node = new Parser(tokenize(src, base)).parseAll();
  if (cache.size > 5000) cache.clear();
  cache.set(key, node);
  return node;
}

/** Names an expression reads at the top level (`a.b` reads `a`). */
export function namesOf(n: Node, out: Set<string> = new Set()): Set<string> {
  switch (n.k) {
    case 'name': out.add(n.name); break;
    case 'attr': namesOf(n.obj, out); break;
    case 'index': namesOf(n.obj, out); namesOf(n.index, out); break;
    case 'list': n.items.forEach((i) => namesOf(i, out)); break;
    case 'dict': n.entries.forEach(([a, b]) => { namesOf(a, out); namesOf(b, out); }); break;
    case 'unary': namesOf(n.arg, out); break;
    case 'bin': namesOf(n.left, out); namesOf(n.right, out); break;
    case 'filter': namesOf(n.arg, out); n.args.forEach((a) => namesOf(a, out)); break;
    case 'test': namesOf(n.arg, out); break;
    case 'cond': namesOf(n.test, out); namesOf(n.then, out); if (n.else) namesOf(n.else, out); break;
    default: break;
  }
  return out;
}
