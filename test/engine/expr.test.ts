// The expression parser: tokens, precedence (printed as s-expressions), literals, syntax errors
// with their offsets, and the length / nesting limits that keep hostile input from crashing us.
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, MAX_EXPR_LENGTH, parseExpr, TemplateError, tokenize, type Node } from '../../src/engine/expr.ts';
import { definedTests, evaluate, parseTemplate, referencedNames } from '../../src/engine/template.ts';

/** An AST as a compact s-expression, so precedence is visible in one line. */
function show(n: Node): string {
  switch (n.k) {
    case 'lit': return JSON.stringify(n.v);
    case 'name': return n.name;
    case 'attr': return `${show(n.obj)}.${n.name}`;
    case 'index': return `${show(n.obj)}[${show(n.index)}]`;
    case 'list': return `[${n.items.map(show).join(' ')}]`;
    case 'dict': return `{${n.entries.map(([k, v]) => `${show(k)}:${show(v)}`).join(' ')}}`;
    case 'unary': return `(${n.op} ${show(n.arg)})`;
    case 'bin': return `(${n.op} ${show(n.left)} ${show(n.right)})`;
    case 'filter': return `(|${n.name} ${[n.arg, ...n.args].map(show).join(' ')})`;
    case 'test': return `(is${n.negate ? ' not' : ''} ${n.name} ${show(n.arg)})`;
    case 'cond': return `(if ${show(n.test)} ${show(n.then)} ${n.else ? show(n.else) : '_'})`;
  }
}

function errorOf(f: () => unknown): TemplateError {
  try { f(); } catch (e) { if (e instanceof TemplateError) return e; throw e; }
  throw new Error('expected a TemplateError');
}

describe('tokenizer', () => {
  it('reads numbers, names, both quote styles with escapes, and two-character operators', () => {
    const toks = tokenize(`a.b1 == 'it\\'s' ~ "x\\ty" // 2.5 <= -3`);
    expect(toks.map((t) => `${t.t}:${t.v}`)).toEqual([
      'id:a', 'op:.', 'id:b1', 'op:==', "str:it's", 'op:~', 'str:x\ty', 'op://', 'num:2.5', 'op:<=', 'op:-', 'num:3', 'end:',
    ]);
  });
  it('keeps the backslash of an unknown escape, as Python does (regex patterns survive)', () => {
    expect(tokenize(String.raw`'\d+\.\w'`)[0]!.v).toBe(String.raw`\d+\.\w`);
    expect(tokenize(String.raw`'a\\b'`)[0]!.v).toBe('a\\b');
  });
  it('offsets count from the base given', () => {
    expect(tokenize('x + y', 10).map((t) => t.at)).toEqual([10, 12, 14, 15]);
  });
});

describe('precedence and shapes', () => {
  const cases: [string, string][] = [
    ['1 + 2 * 3', '(+ 1 (* 2 3))'],
    ['(1 + 2) * 3', '(* (+ 1 2) 3)'],
    ['a - b - c', '(- (- a b) c)'],
    ['a ~ b + c', '(~ a (+ b c))'],
    ['a or b and not c', '(or a (and b (not c)))'],
    ['not a == b', '(not (== a b))'],
    ['a < b == c', '(== (< a b) c)'],
    ['x in l and y not in l', '(and (in x l) (not in y l))'],
    ['x is not defined or x is none', '(or (is not defined x) (is none x))'],
    ['-x | abs', '(|abs (- x))'],
    ['not x | bool', '(not (|bool x))'],
    ['a.b | f(1) + c', '(+ (|f a.b 1) c)'],
    ['a.b[0].c["d"]', 'a.b[0].c["d"]'],
    ['a.0', 'a[0]'],
    ["x | default('d') | upper", '(|upper (|default x "d"))'],
    ["x | default(value='d', boolean=true)", '(|default x "d" true)'],
    ['out.stdout | int > 512 | int', '(> (|int out.stdout) (|int 512))'],
    ["'y' if a else 'n'", '(if a "y" "n")'],
    ["'y' if a", '(if a "y" _)'],
    ['a if b else c if d else e', '(if b a (if d c e))'],
    ['[1, "two", [3],]', '[1 "two" [3]]'],
    ['{"k": v, 1: [], }', '{"k":v 1:[]}'],
    ['[]', '[]'],
    ['{}', '{}'],
    ['True and false or None and null and none', '(or (and true false) (and (and null null) null))'],
    ['a // b % c', '(% (// a b) c)'],
  ];
  for (const [src, want] of cases) it(src, () => expect(show(parseExpr(src))).toBe(want));
});

describe('syntax errors carry the offset of the offending character', () => {
  const cases: [string, RegExp, number][] = [
    ['1 +', /ended too early/, 3],
    ['a b', /unexpected 'b'/, 2],
    ['(a', /expected '\)' but the expression ended/, 2],
    ['[1 2]', /expected ',' but found '2'/, 3],
    ['{"a" 1}', /expected ':'/, 5],
    ["'open", /unterminated string/, 0],
    ['a $ b', /unexpected character '\$'/, 2],
    ['a | 3', /filter name/, 4],
    ['a is 3', /test name/, 5],
    ['a.(b)', /attribute name/, 2],
    ['lookup("env", "HOME")', /function calls are not supported/, 0],
    ['', /empty expression/, 0],
  ];
  for (const [src, msg, offset] of cases) {
    it(JSON.stringify(src), () => {
      const e = errorOf(() => parseExpr(src));
      expect(e.message).toMatch(msg);
      expect(e.offset).toBe(offset);
    });
  }

  it('offsets inside a template point into the whole text', () => {
    expect(errorOf(() => parseTemplate('dest: /etc/{{ app }}/{{ name | nope }}')).offset).toBe('dest: /etc/{{ app }}/{{ name | '.length);
    expect(errorOf(() => parseTemplate('ok {{ a }} then {{ a b }}')).offset).toBe('ok {{ a }} then {{ a '.length);
    expect(errorOf(() => parseTemplate('{{ a is frob }}')).message).toBe("unknown test 'frob'");
  });
});

describe('limits: hostile input is an error, never a crash', () => {
  const deep: [string, string][] = [
    ['parentheses', '('.repeat(4000) + '1' + ')'.repeat(4000)],
    ['lists', '['.repeat(3000) + ']'.repeat(3000)],
    ['not chain', 'not '.repeat(2400) + 'x'],
    ['minus chain', '-'.repeat(9000) + '1'],
    ['long sum', Array(4000).fill('1').join('+')],
    ['long attribute chain', 'a' + '.b'.repeat(4000)],
    ['long filter chain', 'a' + '|upper'.repeat(1500)],
  ];
  for (const [what, src] of deep) {
    it(what, () => expect(errorOf(() => evaluate(src, { a: {}, x: 1 })).message).toMatch(/nested too deeply/));
  }
  it('accepts nesting up to the limit', () => {
    const depth = MAX_DEPTH - 2;
    expect(evaluate('('.repeat(depth) + '1' + ')'.repeat(depth), {})).toBe(1);
    expect(evaluate(Array(MAX_DEPTH).fill('1').join('+'), {})).toBe(MAX_DEPTH);
  });
  it('refuses an over-long expression', () => {
    expect(errorOf(() => parseExpr('1'.repeat(MAX_EXPR_LENGTH + 1))).message).toMatch(/longer than/);
  });
  it('parses a long flat list fast (tokenizer is linear)', () => {
    const src = `[${Array(2400).fill('12').join(',')}]`;
    const t0 = performance.now();
    expect((evaluate(src, {}) as unknown[]).length).toBe(2400);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('names a template reads', () => {
  const cases: [string, string[], string[]][] = [
    ['{{ out.stdout }} {{ a[b].c }}', ['a', 'b', 'out'], []],
    ['{{ reg is defined and reg.rc == 0 }}', ['reg'], []],
    ['{{ reg is not defined or other }}', ['other', 'reg'], ['reg']],
    ['{{ reg.stdout is defined }}', ['reg'], ['reg']],
    ['{{ reg | default(fallback) }}', ['fallback', 'reg'], ['reg']],
    ['{{ x[key] is defined }}', ['key', 'x'], ['x']],
    ['{{ (x | upper) is defined }}', ['x'], []],
    ["{{ 'lit' ~ 1 }}", [], []],
    ['no template here', [], []],
  ];
  for (const [text, names, guarded] of cases) {
    it(text, () => {
      expect(referencedNames(text).sort()).toEqual(names);
      expect(definedTests(text).sort()).toEqual(guarded);
    });
  }
});
