// Bad input beyond the corpus files (issue 9, req 5): every corpus file refused in-process within
// 2 s; huge files (over the 2 MB limit, a stream without end, one just under the limit with tens of
// thousands of problems) refused with line:col and no stack; undefined variables found by plan and
// apply before any host is contacted (exit 2 at the name), without refusing names something sets.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, type Diagnostic } from '../../src/errors.ts';
import { prepare, type CommonOpts } from '../../src/cli/prepare.ts';
import { validateCommand } from '../../src/cli/validate.ts';
import type { Io } from '../../src/cli/session.ts';
import { spawnNode } from '../helpers/spawn-async.ts';

const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/runbook.js');
const CORPUS = join(REPO, 'test/corpus');
const corpus = ['runbooks', 'environments'].flatMap((d) => readdirSync(join(CORPUS, d)).filter((f) => f.endsWith('.yml')).sort().map((f) => join(CORPUS, d, f)));
const head = 'name: t\nhosts: web\nenvironments: [dev]\n';
const noStack = /\n\s+at .+:\d+:\d+\)?\n|TypeError|RangeError|internal error/;

const quietIo = (): Io => ({ out: { write: () => {} }, err: { write: () => {} }, env: {}, cwd: REPO });

function project(files: Record<string, string>, env = 'transport: local\ngroups:\n  web:\n    hosts:\n      h1: { vars: { only_on_host: 1 } }\n'): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-limits-'));
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'dev.yml'), env);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const cli = (dir: string, args: string[]) => spawnNode(BIN, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', GITHUB_TOKEN: '' } });

describe('every corpus file is refused within 2 s (in process, validate)', () => {
  it.each(corpus.map((f) => relative(REPO, f)))('%s', async (file) => {
    const started = performance.now();
    const e = await validateCommand([file], {}, quietIo()).then(() => undefined, (err: unknown) => err);
    const ms = performance.now() - started;
    expect(e, `${file} was accepted`).toBeInstanceOf(InputError);
    expect((e as InputError).exitCode).toBe(2);
    expect(ms, `${file} took ${Math.round(ms)} ms`).toBeLessThan(2000);
  });
});

describe('huge files', () => {
  it('a runbook over 2 MB: exit 2 at 1:1 for validate and plan, nothing parsed', async () => {
    const dir = project({ 'huge.yml': `${head}tasks:\n  - command: "true"\n${'  # padding padding padding padding\n'.repeat(70_000)}` });
    for (const args of [['validate', 'huge.yml'], ['plan', 'huge.yml', '-e', 'dev']]) {
      const r = await cli(dir, args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('huge.yml:1:1: file is larger than 2 MB; refusing to parse');
      expect(r.stderr).not.toMatch(noStack);
    }
  });

  it('an environment file over 2 MB: plan exits 2 at its 1:1', async () => {
    const dir = project({ 'rb.yml': `${head}tasks:\n  - command: "true"\n` }, `transport: local\nvars:\n${'  k: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n'.repeat(45_000)}`);
    const r = await cli(dir, ['plan', 'rb.yml', '-e', 'dev']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/environments\/dev\.yml:1:1: file is larger than 2 MB/);
  });

  it('a file that never ends (/dev/zero) is refused without reading it all (the error excerpt read it whole: a hang)', async () => {
    const r = await cli(REPO, ['validate', '/dev/zero']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/dev/zero:1:1: file is larger than 2 MB');
  });

  it('just under the limit with ~20,000 bad tasks: every problem reported, fast, no out-of-memory (was minutes, then a crash)', async () => {
    const tasks = Array.from({ length: 20_000 }, (_, i) => `  - name: task ${i}\n    comand: "echo ${i}"\n`).join('');
    const dir = project({ 'many.yml': `${head}tasks:\n${tasks}` });
    const started = performance.now();
    const r = await cli(dir, ['validate', 'many.yml']);
    const seconds = (performance.now() - started) / 1000;
    console.log(`validate of ${Math.round((head.length + tasks.length) / 1024)} KB with 20,000 bad tasks: ${seconds.toFixed(1)} s`);
    expect(r.status, r.stderr.slice(-2000)).toBe(2);
    expect(r.stderr).toContain("many.yml:6:5: unknown key 'comand'; did you mean 'command'?");
    expect(r.stderr).toContain("many.yml:40004:5: unknown key 'comand'"); // the last task's
    expect(r.stderr).toMatch(/\n40000 problems found\n$/);
    expect(r.stderr).not.toMatch(noStack);
    expect(seconds).toBeLessThan(20);
  }, 60_000);
});

/** The diagnostics plan and apply would stop with (prepare is their shared, host-free front half). */
async function diagnosticsOf(dir: string, file: string, o: Partial<CommonOpts> = {}): Promise<readonly Diagnostic[]> {
  try {
    await prepare(join(dir, file), { env: 'dev', inventory: join(dir, 'environments'), forks: '5', extraVars: [], ...o });
    return [];
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return e.diagnostics;
  }
}

describe('undefined variables, found before any host is contacted', () => {
  it('plan: exit 2 with file:line:col at the name and the line with a caret; nothing ran', async () => {
    const dir = project({ 'rb.yml': `${head}tasks:\n  - name: writes\n    copy: { content: "x", dest: "/tmp/{{ nope }}.txt" }\n` });
    const r = await cli(dir, ['plan', 'rb.yml', '-e', 'dev']);
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain("rb.yml:6:42: undefined variable 'nope'");
    expect(r.stderr).toContain(`    copy: { content: "x", dest: "/tmp/{{ nope }}.txt" }\n  ${' '.repeat(41)}^`); // under the n of nope
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(noStack);
  });

  it('finds them in args, bare when, loop, task vars and health, and suggests close names', async () => {
    const dir = project({ 'rb.yml': `${head}vars: { version: "1" }\ntasks:\n` +
      '  - debug: { msg: "{{ verison }}" }\n' +
      '  - debug: { msg: hi }\n    when: missing_flag\n' +
      '  - debug: { msg: "{{ item }}" }\n    loop: "{{ absent_list }}"\n' +
      '  - debug: { msg: "{{ v }}" }\n    vars: { v: "{{ ghost }}" }\n' +
      'health:\n  checks:\n    - name: up\n      http: { url: "{{ public_url }}/up" }\n' });
    const found = (await diagnosticsOf(dir, 'rb.yml')).map((d) => `${d.loc.line}:${d.loc.col}: ${d.message.split(':')[0]}`);
    expect(found).toEqual([
      "6:23: undefined variable 'verison'; did you mean 'version'?",
      "8:11: undefined variable 'missing_flag'",
      "10:15: undefined variable 'absent_list'",
      "12:20: undefined variable 'ghost'",
      "16:24: undefined variable 'public_url'",
    ]);
  });

  it('accepts names that something sets: host vars, --extra-vars, register, set_fact, loop_var, guards, secrets, facts', async () => {
    const dir = project({ 'rb.yml': `${head}tasks:\n` +
      '  - command: "echo {{ only_on_host }} {{ from_cli }} {{ inventory_hostname }} {{ facts.os_family }} {{ environment }}"\n    register: out\n' +
      '  - set_fact: { later: "{{ out.stdout }}" }\n' +
      '  - debug: { msg: "{{ later }} {{ maybe | default(1) }}" }\n' +
      '  - debug: { msg: "{{ optional }}" }\n    when: optional is defined\n' +
      '  - debug: { msg: "{{ x }}" }\n    loop: [1, 2]\n    loop_control: { loop_var: x }\n' +
      '  - command: "true"\n    register: r\n    until: r.rc == 0\n    changed_when: result.rc != 0\n' });
    expect(await diagnosticsOf(dir, 'rb.yml', { extraVars: ['from_cli=1'] })).toEqual([]);
    const without = await diagnosticsOf(dir, 'rb.yml');
    expect(without.map((d) => d.message.split(':')[0])).toEqual(["undefined variable 'from_cli'"]);
  });
});
