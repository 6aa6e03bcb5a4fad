// Rendering: native values vs text, every filter, evaluation errors with offsets, truthiness,
// Secrets that stay secret through every operation, and shell quoting proven by running sh.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Script } from '../../src/engine/script.ts';
import { Secret } from '../../src/engine/secret.ts';
import { evaluate, MAX_RENDERED, renderShell, renderString, renderValue, TemplateError, truthy, type Scope } from '../../src/engine/template.ts';

const scope: Scope = {
  n: 7, f: 2.5, word: 'Deploy', padded: '  x  ', items: ['web1', 'web 2', 'db'], nums: [3, 1, 2, 3], empty: [], none: null,
  cfg: { port: 8080, tls: { on: true } }, doc: '{"a":[1,{"b":"c"}]}', file: '/srv/app/releases/v2.tar.gz', csv: 'a,b,,c',
  flag: 'yes', off: 'no', count: '42', token: new Secret('s3cr3t-Tok'), secrets: { db: new Secret('pa ss;word') },
};

function errorOf(f: () => unknown): TemplateError {
  try { f(); } catch (e) { if (e instanceof TemplateError) return e; throw e; }
  throw new Error('expected a TemplateError');
}

describe('renderString', () => {
  it('returns text without {{ as is, native values for a lone expression, text otherwise', () => {
    expect(renderString('plain { text }', scope)).toBe('plain { text }');
    expect(renderString('{{ items }}', scope)).toBe(scope.items);
    expect(renderString('  {{ n }}\n', scope)).toBe(7);
    expect(renderString('{{ cfg.tls }}', scope)).toEqual({ on: true });
    expect(renderString('{{ none }}', scope)).toBeNull();
    expect(renderString('{{ n }}{{ n }}', scope)).toBe('77');
    expect(renderString('port={{ cfg.port }} tls={{ cfg.tls }} none=[{{ none }}] ok={{ n > 1 }}', scope)).toBe('port=8080 tls={"on":true} none=[] ok=true');
    expect(renderString('{{ "}}" ~ \'{{\' }}', scope)).toBe('}}{{');
  });
  it('evaluates every operator', () => {
    const cases: [string, unknown][] = [
      ['n + 1', 8], ['n - 10', -3], ['n * f', 17.5], ['n / 2', 3.5], ['n // 2', 3], ['n % 4', 3], ['-7 % 3', 2], ['-n', -7],
      ["'a' + 'b'", 'ab'], ['[1] + [2]', [1, 2]], ["word ~ '-' ~ n", 'Deploy-7'], ['n == 7.0', true], ["n == '7'", false],
      ['cfg == {"port": 8080, "tls": {"on": true}}', true], ['[1, [2]] != [1, [3]]', true], ["'abc' < 'abd'", true], ['n >= 7', true],
      ["'web 2' in items", true], ["'x' in 'box'", true], ["'port' in cfg", true], ["'nope' not in cfg", true],
      ['none is none', true], ['cfg is mapping', true], ['items is sequence', true], ['n is number', true], ['word is string', true],
      ['missing is undefined', true], ['cfg.tls.on is true', true], ['0 or none or "last"', 'last'], ['1 and "b"', 'b'], ['[] and x', []],
      ["'big' if n > 5 else 'small'", 'big'], ["'big' if n > 50", ''], ['items[-1]', 'db'], ['items.1', 'web 2'], ["cfg['tls']['on']", true],
      ['word[0]', 'D'], ['word.length', 6], ['not empty', true], ['(n > 1) == true', true],
    ];
    for (const [expr, want] of cases) expect(evaluate(expr, scope), expr).toEqual(want);
  });
  it('renders a large file template (too big to cache) the same every time', () => {
    const text = Array.from({ length: 3000 }, (_, i) => `line ${i}: {{ word }}-{{ ${i} + n }}\n`).join('');
    expect(text.length).toBeGreaterThan(64 * 1024);
    const once = renderString(text, scope) as string;
    expect(once.split('\n')[2999]).toBe('line 2999: Deploy-3006');
    expect(renderString(text, { ...scope, word: 'Other' })).toBe(once.replaceAll('Deploy', 'Other'));
  });
  it('evaluate accepts a template wrapped in {{ }} too', () => {
    expect(evaluate('{{ n > 5 }}', scope)).toBe(true);
    expect(evaluate('  {{ items | length }} ', scope)).toBe(3);
  });
  it('renderValue renders every string deep, keys untouched, other values kept', () => {
    const script = new Script('x');
    expect(renderValue({ '{{ n }}': ['{{ n }}', { deep: 'v{{ n }}' }], num: 1, t: true, s: script, tok: scope.token }, scope))
      .toEqual({ '{{ n }}': [7, { deep: 'v7' }], num: 1, t: true, s: script, tok: scope.token });
  });
  it('does not reach JavaScript internals through attributes', () => {
    for (const e of ['cfg.constructor', 'cfg.__proto__', 'word.constructor', 'items.map', 'toString', 'cfg.hasOwnProperty']) {
      expect(errorOf(() => evaluate(e, scope)).message, e).toMatch(/has no attribute|undefined variable/);
    }
    expect(evaluate('{"__proto__": 1}', scope)).toEqual(JSON.parse('{"__proto__": 1}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('filters', () => {
  const cases: [string, unknown][] = [
    ["missing | default('d')", 'd'], ['missing.deep.er | d(5)', 5], ["none | default('d')", null], ["none | default('d', true)", 'd'],
    ["'' | d('d', boolean=true)", 'd'], ['n | default(1)', 7],
    ['word | upper', 'DEPLOY'], ['word | lower', 'deploy'], ['padded | trim', 'x'], ['n | string', '7'], ['cfg | string', '{"port":8080,"tls":{"on":true}}'],
    ["items | join(', ')", 'web1, web 2, db'], ['nums | join', '3123'], ['cfg | to_json', '{"port":8080,"tls":{"on":true}}'], ["'q\"' | to_json", '"q\\""'],
    ['doc | from_json', { a: [1, { b: 'c' }] }], ['(doc | from_json).a[1].b', 'c'], ["word | b64encode", 'RGVwbG95'], ["'RGVwbG95' | b64decode", 'Deploy'],
    ['count | int', 42], ["'3.9' | int", 3], ["'0x1f' | int(0, 16)", 31], ["'junk' | int", 0], ["'junk' | int(-1)", -1], ['true | int', 1], ['f | int', 2],
    ["'2.5' | float", 2.5], ['flag | bool', true], ['off | bool', false], ['1 | bool', true], ["'' | bool", false],
    ["file | regex_replace('v(\\\\d+)', 'version-\\\\1')", '/srv/app/releases/version-2.tar.gz'], ["'a$b' | regex_replace('b', '$&x')", 'a$$&x'],
    ["'ABC' | regex_replace('b', '_', true)", 'A_C'], ["'k=v' | regex_replace('(?P<key>\\\\w)=(?P<val>\\\\w)', '\\\\g<val>=\\\\g<key>')", 'v=k'],
    ["'release-12' | regex_search('\\\\d+')", '12'],
    ['file | basename', 'v2.tar.gz'], ['file | dirname', '/srv/app/releases'], ["'a b' | quote", "'a b'"], ['word | quote', 'Deploy'],
    ['word | raw', 'Deploy'], ['items | length', 3], ['word | length', 6], ['cfg | length', 2], ['items | first', 'web1'], ['items | last', 'db'],
    ['word | first', 'D'], ["csv | split(',')", ['a', 'b', '', 'c']], ["' a  b ' | split", ['a', 'b']], ["word | replace('e', '3')", 'D3ploy'],
    ['nums | unique', [3, 1, 2]], ['nums | sort', [1, 2, 3, 3]], ['nums | min', 1], ['nums | max', 3], ['-3 | abs', 3], ['cfg | list', ['port', 'tls']],
    ['empty | first | default("none")', 'none'], ['cfg | to_nice_json', '{\n  "port": 8080,\n  "tls": {\n    "on": true\n  }\n}'],
  ];
  for (const [expr, want] of cases) it(expr, () => expect(evaluate(expr, scope)).toEqual(want));

  const bad: [string, RegExp, number][] = [
    ['{{ n | frobnicate }}', /unknown filter 'frobnicate'/, 7], ["{{ doc ~ '}' | from_json }}", /from_json: not valid JSON/, 15],
    ["{{ '%%' | b64decode }}", /not base64/, 10], ['{{ n | length }}', /int has no length/, 7], ['{{ n | join }}', /join: needs a string or a list, got int/, 7],
    ["{{ word | regex_replace('(', '') }}", /regex_replace: invalid pattern/, 10], ['{{ empty | last }}', /last: the list is empty/, 11],
    ['{{ word | abs }}', /abs: needs a number/, 10], ['{{ missing | upper }}', /undefined variable 'missing'/, 3],
  ];
  for (const [tpl, msg, offset] of bad) {
    it(`error: ${tpl}`, () => {
      const e = errorOf(() => renderString(tpl, scope));
      expect(e.message).toMatch(msg);
      expect(e.offset).toBe(offset);
    });
  }
});

describe('evaluation errors point at the name or operator', () => {
  const cases: [string, string, number][] = [
    ['a {{ cfg.port }} {{ cfg.nope }}', "'cfg' has no attribute 'nope'", 24],
    ['{{ cfg.tls.x.y }}', "'cfg.tls' has no attribute 'x'", 11],
    ['{{ (doc | from_json).zz }}', "'dict object' has no attribute 'zz'", 21],
    ['{{ items[9] }}', "'items' has no attribute '9'", 8],
    ['{{ n.x }}', "'n' has no attribute 'x'", 5],
    ['x={{ ghost.attr }}', "undefined variable 'ghost'", 5],
    ['{{ n < word }}', "cannot compare int and str with '<'", 5],
    ['{{ 1 in n }}', "'in' needs a string, list or dict on its right, got int", 5],
    ['{{ word - 1 }}', "cannot apply '-' to str and int", 8],
    ['{{ cfg * 2 }}', "cannot apply '*' to dict object and int", 7],
    ['{{ n % 0 }}', 'division by zero', 5],
    ['{{ -word }}', "'-' needs a number, got str", 3],
  ];
  for (const [tpl, msg, offset] of cases) {
    it(tpl, () => {
      const e = errorOf(() => renderString(tpl, scope));
      expect(e.message).toBe(msg);
      expect(e.offset).toBe(offset);
    });
  }
  it('short-circuits: the unevaluated side may be undefined', () => {
    expect(evaluate('ghost is defined and ghost.x', scope)).toBe(false);
    expect(evaluate('n or ghost', scope)).toBe(7);
    expect(evaluate("ghost.x if ghost is defined else 'fallback'", scope)).toBe('fallback');
  });
  it('refuses a rendered value over 50 MB', () => {
    const half = 'x'.repeat(MAX_RENDERED / 2 + 1);
    expect(errorOf(() => renderString('{{ h }}{{ h }}', { h: half })).message).toMatch(/rendered value too large/);
    expect(errorOf(() => renderString('{{ h ~ h }}', { h: half })).message).toMatch(/rendered value too large/);
    expect(errorOf(() => renderShell('echo {{ h }} {{ h }}', { h: half })).message).toMatch(/rendered value too large/);
  });
});

describe('truthiness (Jinja)', () => {
  const cases: [unknown, boolean][] = [
    [0, false], [0.0, false], [Number.NaN, false], ['', false], [[], false], [{}, false], [null, false], [undefined, false], [false, false],
    [new Secret(''), false], [1, true], [-1, true], ['0', true], ['false', true], [' ', true], [[0], true], [{ a: null }, true], [true, true], [new Secret('x'), true],
  ];
  for (const [v, want] of cases) it(`${JSON.stringify(v) ?? String(v)} -> ${want}`, () => expect(truthy(v)).toBe(want));
  it('an undefined name is false in a condition only through is defined / default', () => {
    expect(truthy(evaluate('ghost | default(false)', scope))).toBe(false);
    expect(() => evaluate('ghost', scope)).toThrow(/undefined variable 'ghost'/);
  });
});

describe('secrets stay secret', () => {
  const secretCases: [string, string][] = [
    ['{{ secrets.db }}', 'pa ss;word'], ['postgres://app:{{ secrets.db }}@db/app', 'postgres://app:pa ss;word@db/app'],
    ['{{ token | upper }}', 'S3CR3T-TOK'], ['{{ token | b64encode }}', Buffer.from('s3cr3t-Tok').toString('base64')],
    ['{{ token ~ "!" }}', 's3cr3t-Tok!'], ['{{ token + "!" }}', 's3cr3t-Tok!'], ['{{ token[0] }}', 's'], ["{{ token | regex_replace('-.*', '') }}", 's3cr3t'],
    ['{{ {"pw": token} | to_json }}', '{"pw":"s3cr3t-Tok"}'], ['{{ [token, "x"] | join(",") }}', 's3cr3t-Tok,x'], ['{{ token | length }}', '10'],
    ['{{ token | string }}', 's3cr3t-Tok'], ['x{{ {"a": {"b": token}} }}', 'x{"a":{"b":"s3cr3t-Tok"}}'],
    ["{{ 'abc' | regex_replace('b', token) }}", 'as3cr3t-Tokc'], ['{{ (("{\\"k\\":\\"" ~ token ~ "\\"}") | from_json).k }}', 's3cr3t-Tok'],
  ];
  for (const [tpl, real] of secretCases) {
    it(tpl, () => {
      const v = renderString(tpl, scope);
      expect(v).toBeInstanceOf(Secret);
      expect(String(v)).toBe('***');
      expect(JSON.stringify(v)).toBe('"***"');
      expect((v as Secret).reveal()).toBe(real);
    });
  }
  it('a secret is returned itself; its neighbours and structural picks stay plain', () => {
    const sc = { ...scope, db: { host: 'db1', password: scope.token }, mixed: [scope.token, 'pub'] };
    expect(renderString('{{ secrets.db }}', sc)).toBe((scope.secrets as { db: Secret }).db);
    expect(renderString('{{ db.host }}', sc)).toBe('db1');
    expect(renderString('{{ mixed | last }}', sc)).toBe('pub');
    expect(renderString('{{ mixed | first }}', sc)).toBe(scope.token);
    expect(renderString('{{ db | length }}', sc)).toBe(2);
    expect(renderString('{{ mixed + ["x"] }}', sc)).toEqual([scope.token, 'pub', 'x']);
    expect(renderString('{{ db | to_json }}', sc)).toBeInstanceOf(Secret);
    expect(renderString('{{ mixed | join }}', sc)).toBeInstanceOf(Secret);
  });
  it('text mixing a dict that holds a secret is a Secret too', () => {
    const v = renderString('cfg: {{ {"pw": secrets.db} }}', scope);
    expect(v).toBeInstanceOf(Secret);
    expect((v as Secret).reveal()).toBe('cfg: {"pw":"pa ss;word"}');
  });
  it('conditions on a secret work and give plain booleans', () => {
    expect(evaluate("token == 's3cr3t-Tok'", scope)).toBe(true);
    expect(evaluate('token is defined', scope)).toBe(true);
    expect(evaluate("'cr3' in token", scope)).toBe(true);
    expect(evaluate('token | length >= 10', scope)).toBe(true);
    expect(evaluate('(token | length) + 1', scope)).toBeInstanceOf(Secret);
  });
  it('never puts a secret value in an error message', () => {
    const probes = ['{{ token + 1 }}', '{{ cfg[token] }}', '{{ items[token] }}', '{{ token | from_json }}', '{{ token | int + [] }}',
      '{{ "x" | regex_replace(token ~ "(", "") }}', '{{ token.attr }}', '{{ token < 3 }}', '{{ token | abs }}', '{{ token - 1 }}', '{{ token in n }}'];
    for (const p of probes) {
      const e = errorOf(() => renderString(p, scope));
      expect(`${e.message} ${e.stack}`, p).not.toMatch(/s3cr3t|S3CR3T/);
    }
  });
});

describe('renderShell', () => {
  const run = (script: string): string => execFileSync('sh', ['-c', script], { encoding: 'utf8' });

  it("quotes `x; rm -rf /` into one literal word (the required case)", () => {
    const s = renderShell('echo {{ v }}', { v: 'x; rm -rf /' });
    expect(s.text).toBe("echo 'x; rm -rf /'");
    expect(run(s.text)).toBe('x; rm -rf /\n');
  });
  const hostile = ['$(echo pwned)', '`echo pwned`', '${HOME}', "it's", '"dq"', 'a\nb', '*', '/*', '-n', '--help', '', ' ', '~', 'a\\b', '!x', '#c', '&&', '|', '>f', "'", '\t'];
  for (const v of hostile) {
    it(`keeps ${JSON.stringify(v)} literal`, () => {
      const s = renderShell("printf '<%s>' {{ v }} '{{ n }}'", { v, n: 1 });
      expect(run(s.text)).toBe(`<${v}><1>`);
    });
  }
  it('keeps literal text as written and turns a list into one word per item', () => {
    const s = renderShell('for x in {{ l }}; do printf "[%s]" "$x"; done', { l: ['a b', '$(x)', 'c'] });
    expect(run(s.text)).toBe('[a b][$(x)][c]');
  });
  it('splices `| raw` verbatim (globs and operators act) and does not quote twice after `| quote`', () => {
    expect(run(renderShell('echo {{ v | raw }}', { v: 'one && echo two' }).text)).toBe('one\ntwo\n');
    expect(run(renderShell('printf %s {{ v | quote }}', { v: "a 'b' c" }).text)).toBe("a 'b' c");
  });
  it('shows *** for a secret (alone, in a list, in text, raw) while running the real value', () => {
    const s = renderShell('printf "%s|" {{ secrets.db }} {{ [token, "pub"] }} x{{ token }}y {{ token | raw }}', scope);
    expect(s.shown).toBe('printf "%s|" *** *** pub x***y ***');
    expect(s.text).not.toContain('***');
    expect(run(s.text)).toBe('pa ss;word|s3cr3t-Tok|pub|xs3cr3t-Toky|s3cr3t-Tok|');
  });
});
