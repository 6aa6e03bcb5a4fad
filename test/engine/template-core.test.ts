// The template language: expressions, filters, tests, errors with offsets, Secret propagation,
// and shell quoting that keeps hostile values one literal argument (checked by running sh).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/engine/secret.ts';
import { evaluate, parseTemplate, referencedNames, renderShell, renderString, renderValue, TemplateError, truthy } from '../../src/engine/template.ts';

const scope = {
  n: 3, s: 'Hello', list: ['a', 'b c'], map: { k: { v: 'deep' } }, empty: '', none: null,
  json: '{"x":[1,2]}', path: '/etc/app/app.env', pw: new Secret('hunter2'), free: { stdout: '600000\n' },
};

describe('expressions', () => {
  const cases: [string, unknown][] = [
    ['n + 1', 4], ['n * 2 - 1', 5], ['n // 2', 1], ['n % 2', 1], ['"a" ~ n', 'a3'], ['-n', -3],
    ['n > 2 and n < 4', true], ['not n == 3', false], ['n == 3 or missing', true], ['"b c" in list', true], ['"z" not in list', true],
    ['missing is defined', false], ['map.k is defined', true], ['map.k.nope is not defined', true], ['none is none', true],
    ['map.k.v', 'deep'], ["map['k']['v']", 'deep'], ['list[1]', 'b c'], ['list[-1]', 'b c'], ['list.0', 'a'],
    ["'yes' if n > 1 else 'no'", 'yes'], ['[1, 2][0]', 1], ['{"a": 1}.a', 1], ['True and not False', true],
    ['free.stdout | int > 512 | int', true], ['(n + 1) * 2', 8],
  ];
  for (const [expr, want] of cases) it(expr, () => expect(evaluate(expr, scope)).toEqual(want));
});

describe('filters', () => {
  const cases: [string, unknown][] = [
    ["{{ missing | default('d') }}", 'd'], ["{{ empty | default('d', true) }}", 'd'], ["{{ empty | default('d') }}", ''],
    ['{{ s | upper }}', 'HELLO'], ['{{ s | lower }}', 'hello'], ['{{ list | join(",") }}', 'a,b c'], ['{{ map | to_json }}', '{"k":{"v":"deep"}}'],
    ['{{ (json | from_json).x[1] }}', 2], ['{{ s | b64encode }}', 'SGVsbG8='], ["{{ 'SGVsbG8=' | b64decode }}", 'Hello'],
    ["{{ '42' | int }}", 42], ["{{ 'yes' | bool }}", true], ["{{ 'off' | bool }}", false], ["{{ s | regex_replace('l+', 'L') }}", 'HeLo'],
    ["{{ 'a-1' | regex_replace('(\\\\w)-(\\\\d)', '\\\\2\\\\1') }}", '1a'],
    ['{{ path | basename }}', 'app.env'], ['{{ path | dirname }}', '/etc/app'], ["{{ 'it\\'s' | quote }}", "'it'\\''s'"], ['{{ list | length }}', 2],
    ['{{ s | raw }}', 'Hello'], ['{{ list | first }}', 'a'], ['{{ list | last }}', 'b c'], ['{{ "a b" | split }}', ['a', 'b']],
  ];
  for (const [tpl, want] of cases) it(tpl, () => expect(renderString(tpl, scope)).toEqual(want));

  it('renders text around expressions and keeps native values for a lone expression', () => {
    expect(renderString('n={{ n }}, list={{ list }}', scope)).toBe('n=3, list=["a","b c"]');
    expect(renderString('{{ list }}', scope)).toEqual(['a', 'b c']);
    expect(renderValue({ a: ['{{ n }}', 'x{{ s }}'], b: 1 }, scope)).toEqual({ a: [3, 'xHello'], b: 1 });
    expect(renderString('no braces', scope)).toBe('no braces');
  });

  it('truthiness is Jinja-like', () => {
    expect([0, '', [], {}, null, 'x', [0], { a: 1 }, 1].map(truthy)).toEqual([false, false, false, false, false, true, true, true, true]);
  });
});

describe('errors point at the offending character', () => {
  const cases: [string, RegExp, number][] = [
    ['a {{ x + }}', /ended too early/, 9], ['{{ nope }}', /undefined variable 'nope'/, 3], ['{{ map.zz }}', /'map' has no attribute 'zz'/, 7],
    ['{{ s | frob }}', /unknown filter 'frob'/, 7], ['x {{ n ', /unclosed/, 2], ['{{ "abc }}', /unclosed/, 0], ['{{ }}', /empty expression/, 2],
    ['{{ n is weird }}', /unknown test 'weird'/, 5], ['{{ n / 0 }}', /division by zero/, 5], ['{{ s + 1 }}', /cannot add/, 5],
  ];
  for (const [tpl, msg, offset] of cases) {
    it(tpl, () => {
      let err: unknown;
      try { renderString(tpl, scope); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).message).toMatch(msg);
      expect((err as TemplateError).offset).toBe(offset);
    });
  }

  it('refuses expressions nested too deeply instead of overflowing the stack', () => {
    expect(() => parseTemplate('{{ ' + '('.repeat(5000) + '1' + ')'.repeat(5000) + ' }}')).toThrow(TemplateError);
  });

  it('reports the names a template reads', () => {
    expect(referencedNames('{{ out.stdout }} and {{ x | default(y) }}').sort()).toEqual(['out', 'x', 'y']);
  });
});

describe('secrets stay secret', () => {
  it('propagates through text and filters, never into an error message', () => {
    const text = renderString('user:{{ pw }}', scope);
    expect(text).toBeInstanceOf(Secret);
    expect(String(text)).toBe('***');
    expect((text as Secret).reveal()).toBe('user:hunter2');
    const up = renderString('{{ pw | upper }}', scope);
    expect(up).toBeInstanceOf(Secret);
    expect((up as Secret).reveal()).toBe('HUNTER2');
    expect(() => renderString('{{ pw.nope }}', scope)).toThrow(/has no attribute/);
    try { renderString('{{ pw + 1 }}', scope); } catch (e) { expect(String(e)).not.toContain('hunter2'); }
  });
});

describe('shell quoting', () => {
  const sh = (script: string): string => execFileSync('sh', ['-c', script]).toString();
  const hostile = ['x; rm -rf /', '$(touch /tmp/rb-pwned)', '`id`', "it's \"quoted\"", 'a\nb', '*', '-n', '', '  spaced  '];
  for (const v of hostile) {
    it(`keeps ${JSON.stringify(v)} one literal argument`, () => {
      const script = renderShell("printf '%s|' {{ v }}", { v });
      expect(sh(script.text)).toBe(`${v}|`);
    });
  }
  it('quotes each list item as one argument', () => {
    expect(sh(renderShell("printf '%s|' {{ l }}", { l: ['a b', 'c;d'] }).text)).toBe('a b|c;d|');
  });
  it('splices `| raw` verbatim', () => {
    expect(sh(renderShell('echo {{ v | raw }}', { v: 'one; echo two' }).text)).toBe('one\ntwo\n');
  });
  it('shows *** for a secret and sends the real value', () => {
    const s = renderShell('echo {{ pw }}', scope);
    expect(s.shown).toBe('echo ***');
    expect(sh(s.text)).toBe('hunter2\n');
  });
});
