// Bad runbooks: every problem reported at its exact line:col, all at once, exit-2 InputError.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadRunbook } from '../../src/engine/loader.ts';

const dir = mkdtempSync(join(tmpdir(), 'rb-loader-'));
let n = 0;

async function problems(yaml: string): Promise<string[]> {
  const file = join(dir, `rb${n++}.yml`);
  writeFileSync(file, yaml);
  try {
    await loadRunbook(file);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exitCode).toBe(2);
    return (e as InputError).diagnostics.map((d) => `${d.loc.line}:${d.loc.col}: ${d.message}`);
  }
  return [];
}

const head = 'name: t\nhosts: web\nenvironments: [staging]\n';

const cases: { name: string; yaml: string; want: (string | RegExp)[] }[] = [
  { name: 'unknown top-level key with suggestion', yaml: head + 'taks: []\ntasks: []\n', want: [/^4:1: unknown key 'taks'; did you mean 'tasks'\?/] },
  { name: 'missing required key', yaml: 'name: t\nhosts: web\ntasks: []\n', want: ["1:1: missing required key 'environments'"] },
  { name: 'unknown task keyword', yaml: head + 'tasks:\n  - name: a\n    command: ls\n    registr: x\n', want: [/^7:5: unknown key 'registr'; did you mean 'register'\?/] },
  { name: 'task without a module', yaml: head + 'tasks:\n  - name: a\n', want: [/^5:5: task has no module/] },
  { name: 'two modules in one task', yaml: head + 'tasks:\n  - command: ls\n    shell: ls\n', want: [/^6:5: task has more than one module: command, shell/] },
  { name: 'wrong type', yaml: head + 'serial: true\ntasks: []\n', want: [/^4:9: serial: invalid value true/] },
  { name: 'notify of a missing handler', yaml: head + 'tasks:\n  - command: ls\n    notify: restart ap\nhandlers:\n  - name: restart app\n    command: ls\n', want: [/^6:13: notify: no handler named 'restart ap'; did you mean 'restart app'\?/] },
  { name: 'register used before set', yaml: head + 'tasks:\n  - debug: { msg: "{{ out.stdout }}" }\n  - command: ls\n    register: out\n', want: [/^5:12: 'out' is used before it is registered/] },
  { name: 'loop over a non-list variable', yaml: head + 'vars: { v: "6.0" }\ntasks:\n  - debug: { msg: x }\n    loop: "{{ v }}"\n', want: [/^7:11: loop: 'v' is a string, not a list/] },
  { name: 'literal loop that is not a list', yaml: head + 'tasks:\n  - debug: { msg: x }\n    loop: abc\n', want: [/^6:11: loop: invalid value "abc"/] },
  { name: 'duplicate key', yaml: head + 'tasks: []\ntasks: []\n', want: [/^5:1: duplicate key/] },
  { name: 'yaml syntax error', yaml: head + 'tasks:\n  - command: [ls\n', want: [/^\d+:\d+: /] },
  { name: 'bad duration', yaml: head + 'tasks:\n  - command: ls\n    timeout: 10 minutes\n', want: [/^6:14: timeout: invalid value "10 minutes"/] },
  { name: 'template syntax error at the character', yaml: head + 'tasks:\n  - debug: { msg: "a {{ x + }}" }\n', want: [/^5:29: template: the expression ended too early/] },
  { name: 'bad when expression', yaml: head + 'tasks:\n  - command: ls\n    when: x ==\n', want: [/^6:15: template: /] },
  { name: 'AWS access key refused', yaml: head + 'vars: { k: AKIAABCDEFGHIJKLMNOP }\ntasks: []\n', want: [/^4:12: contains an AWS access key id/] },
  { name: 'GitHub token refused', yaml: head + 'vars:\n  t: ghp_abcdefghijklmnopqrstuvwxyz0123456789\ntasks: []\n', want: [/^5:6: contains a GitHub token/] },
  { name: 'GitHub OAuth token refused', yaml: head + 'tasks:\n  - command: echo gho_abcdefghijklmnopqrstuvwxyz0123456789\n', want: [/^5:19: contains a GitHub token/] },
  { name: 'AWS temporary key id refused', yaml: head + 'vars: { k: "ASIAABCDEFGHIJKLMNOP" }\ntasks: []\n', want: [/^4:13: contains an AWS access key id/] },
  { name: 'New Relic key refused', yaml: head + 'vars: { k: NRAK-ABCDEFGHIJKLMNOPQRSTUVWXYZ1 }\ntasks: []\n', want: [/^4:12: contains a New Relic key/] },
  { name: 'private key refused', yaml: head + 'vars:\n  k: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    abc\ntasks: []\n', want: [/^6:5: contains a private key/] },
  { name: 'health check of no kind', yaml: head + 'tasks: []\nhealth:\n  checks:\n    - name: c\n', want: [/^7:7: health check 'c' needs one of/] },
  { name: 'unknown module argument', yaml: head + 'tasks:\n  - copy: { dest: /a, content: x, mdoe: "0644" }\n', want: [/^5:35: copy: unknown key 'mdoe'; did you mean 'mode'\?/] },
  { name: 'loop on a block', yaml: head + 'tasks:\n  - block:\n      - debug: { msg: x }\n    loop: [1, 2]\n    register: r\n',
    want: ["7:5: 'loop' is not valid on a block", "8:5: 'register' is not valid on a block"] },
  { name: 'binary garbage', yaml: 'name: t\u0000\u0001\n', want: [/^1:8: binary content/] },
];

describe('loader diagnostics', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const got = await problems(c.yaml);
      expect(got.length).toBeGreaterThan(0);
      for (const w of c.want) expect(got.some((g) => (typeof w === 'string' ? g === w : w.test(g))), `${got.join('\n')}\n  wanted ${w}`).toBe(true);
    });
  }

  it('reports every problem at once, sorted by position', async () => {
    const got = await problems(head + 'taks: 1\ntasks:\n  - name: a\n    registr: x\n    command: ls\n  - copy: { dest: /a, content: x, mdoe: 1 }\n');
    expect(got.length).toBeGreaterThanOrEqual(3);
    const lines = got.map((g) => Number(g.split(':')[0]));
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('a register guarded by `is defined` or `default` may be read before it is set', async () => {
    expect(await problems(head + 'tasks:\n  - debug: { msg: "{{ out | default(\'none\') }}" }\n    when: out is not defined\n  - command: ls\n    register: out\n')).toEqual([]);
  });

  it('gives the tasks of a block the block\'s keywords; a task\'s own value wins; nested blocks pass them on', async () => {
    const file = join(dir, 'block.yml');
    writeFileSync(file, head + 'tasks:\n  - block:\n      - name: a\n        command: ls\n      - name: b\n        command: ls\n        become: false\n        vars: { x: own }\n' +
      '      - block:\n          - name: c\n            command: ls\n        timeout: 5s\n    rescue:\n      - name: r\n        command: ls\n' +
      '    become: true\n    ignore_errors: true\n    no_log: true\n    vars: { x: block, y: 1 }\n    notify: restart\nhandlers:\n  - name: restart\n    command: ls\n');
    const rb = await loadRunbook(file);
    const [a, b, inner] = rb.tasks[0]!.block!;
    expect(a).toMatchObject({ become: true, ignoreErrors: true, noLog: true, vars: { x: 'block', y: 1 }, notify: ['restart'] });
    expect(b).toMatchObject({ become: false, vars: { x: 'own', y: 1 } });
    expect(inner!.block![0]).toMatchObject({ name: 'c', become: true, timeout: '5s', vars: { x: 'block', y: 1 }, notify: ['restart'] });
    expect(rb.tasks[0]!.rescue![0]).toMatchObject({ name: 'r', become: true, ignoreErrors: true });
  });

  it('loads a good runbook with locations on every task', async () => {
    const file = join(dir, 'good.yml');
    writeFileSync(file, head + 'tasks:\n  - name: one\n    command: ls\n  - block:\n      - debug: { msg: hi }\n    always:\n      - debug: { msg: bye }\n');
    const rb = await loadRunbook(file);
    expect(rb.tasks.map((t) => [t.name, t.at.line])).toEqual([['one', 5], ['block', 7]]);
    expect(rb.tasks[1]!.block![0]!.at.line).toBe(8);
    expect(rb.tasks[1]!.always![0]!.module).toBe('debug');
  });
});
