// Exit codes end to end (DESIGN.md): spawns the real CLI (bin/runbook.js) in a temp project.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPath } from '../../src/engine/lock.ts';
import { startVersionApp } from '../helpers/version-app.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
const baseEnv = { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', GITHUB_TOKEN: '', GH_TOKEN: '' };

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cli-'));
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { root: "${dir}/out" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n      h2: {}\n`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Async on purpose: the test's own HTTP server must keep answering while the CLI runs. */
function cli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...baseEnv, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const head = 'name: t\nhosts: web\nenvironments: [dev, prod]\n';
let app: Awaited<ReturnType<typeof startVersionApp>>;
let port = 0;

beforeAll(async () => {
  app = await startVersionApp(); // unhealthy while the file named by ?f= holds the bad version v2
  port = app.port;
});
afterAll(() => app.stop());

describe('runbook CLI exit codes', () => {
  it('--help exits 0 and lists the commands', async () => {
    const r = await cli(tmpdir(), ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/validate[\s\S]*plan[\s\S]*apply[\s\S]*history[\s\S]*show/);
  });

  it('validate: 0 when good, 2 with file:line:col, the line and a caret, and no stack trace', async () => {
    const dir = project({ 'good.yml': head + 'tasks:\n  - command: "true"\n', 'bad.yml': head + 'tasks:\n  - comand: ls\n' });
    expect((await cli(dir, ['validate', 'good.yml'])).code).toBe(0);
    const r = await cli(dir, ['validate', 'bad.yml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bad.yml:5:5: unknown key 'comand'; did you mean 'command'?");
    expect(r.stderr).toContain('  - comand: ls\n      ^');
    expect(r.stderr).not.toMatch(/\n\s+at .*\.ts:\d+/);
  });

  it('usage errors and unknown environments exit 2', async () => {
    const dir = project({ 'rb.yml': head + 'tasks: []\n' });
    expect((await cli(dir, ['plan', 'rb.yml'])).code).toBe(2); // -e missing
    const r = await cli(dir, ['plan', 'rb.yml', '-e', 'staging']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/environment 'staging' is not in this runbook's environments/);
    const u = await cli(dir, ['plan', 'rb.yml', '-e', 'prod']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/unknown environment 'prod'/);
    expect((await cli(dir, ['frobnicate'])).code).toBe(2);
  });

  it('plan --json prints only JSON lines and changes nothing', async () => {
    const dir = project({ 'rb.yml': head + 'tasks:\n  - copy: { content: "x", dest: "{{ root }}/{{ inventory_hostname }}.txt" }\n' });
    mkdirSync(join(dir, 'out'));
    const r = await cli(dir, ['plan', 'rb.yml', '-e', 'dev', '--json']);
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; status?: string });
    expect(events[0]!.type).toBe('run_start');
    expect(events.at(-1)!.type).toBe('run_end');
    expect(events.filter((e) => e.type === 'task_result').map((e) => e.status)).toEqual(['would_change', 'would_change']);
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
  });

  it('apply: 0, then a second apply changes nothing; a failed task exits 1; the journal records both', async () => {
    const dir = project({ 'rb.yml': head + 'tasks:\n  - file: { path: "{{ root }}/{{ inventory_hostname }}", state: directory }\n  - copy: { content: "x", dest: "{{ root }}/{{ inventory_hostname }}/f" }\n',
      'bad.yml': head + 'tasks:\n  - command: "false"\n' });
    const first = await cli(dir, ['apply', 'rb.yml', '-e', 'dev']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/changed\s+h1/);
    const second = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--json']);
    expect(second.code).toBe(0);
    const end = JSON.parse(second.stdout.trim().split('\n').at(-1)!) as { summary: Record<string, { changed: number }> };
    expect(Object.values(end.summary).map((s) => s.changed)).toEqual([0, 0]);
    expect((await cli(dir, ['apply', 'bad.yml', '-e', 'dev'])).code).toBe(1);
    const hist = await cli(dir, ['history', '--json']);
    const rows = hist.stdout.trim().split('\n').map((l) => JSON.parse(l) as { result: string; id: string });
    expect(rows.map((r) => r.result)).toEqual(['failed', 'success', 'success']);
    expect((await cli(dir, ['show', rows[0]!.id])).stdout).toMatch(/non-zero return code 1/);
  });

  it('a held lock exits 4 naming the holder', async () => {
    const dir = project({ 'rb.yml': head + 'tasks:\n  - command: "true"\n' });
    const path = lockPath(dir, 'dev', 'web|');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify({ runId: 'other-run', user: 'alice', host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), leaseUntil: new Date(Date.now() + 60_000).toISOString() }));
    const r = await cli(dir, ['apply', 'rb.yml', '-e', 'dev']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/run other-run by alice@/);
    expect(existsSync(path)).toBe(true);
  });

  it('a protected environment without a review gate refuses with exit 3 and changes nothing', async () => {
    const dir = project({ 'rb.yml': head + 'tasks:\n  - file: { path: "{{ root }}", state: directory }\n' });
    writeFileSync(join(dir, 'environments', 'prod.yml'), `protected: true\ntransport: local\nvars: { root: "${dir}/prod-out" }\ngroups:\n  web:\n    hosts:\n      p1: {}\n`);
    const r = await cli(dir, ['apply', 'rb.yml', '-e', 'prod']);
    expect(r.code).toBe(3);
    expect(existsSync(join(dir, 'prod-out'))).toBe(false);
  });

  const healthRb = (version: string, rollback: boolean): string => head + `tasks:\n  - copy: { content: "${version}", dest: "{{ root }}/{{ inventory_hostname }}" }\n` +
    `health:\n  interval: 10ms\n  count: 2\n  failure_limit: 0\n  checks:\n    - name: up\n      http: { url: "http://127.0.0.1:${port}/?f={{ root }}/h1", status: 200 }\n` +
    (rollback ? 'rollback:\n  - copy: { content: "v1", dest: "{{ root }}/{{ inventory_hostname }}" }\n' : '');

  it('unhealthy after apply: rollback restored health exits 5, no rollback section exits 6, healthy exits 0', async () => {
    const dir = project({ 'bad.yml': healthRb('v2', true), 'bad-norollback.yml': healthRb('v2', false), 'good.yml': healthRb('v3', true) });
    mkdirSync(join(dir, 'out'));
    const r = await cli(dir, ['apply', 'bad.yml', '-e', 'dev']);
    expect(r.code).toBe(5);
    expect(readFileSync(join(dir, 'out', 'h1'), 'utf8')).toBe('v1');
    expect((await cli(dir, ['apply', 'bad-norollback.yml', '-e', 'dev'])).code).toBe(6);
    expect(readFileSync(join(dir, 'out', 'h1'), 'utf8')).toBe('v2');
    expect((await cli(dir, ['apply', 'good.yml', '-e', 'dev'])).code).toBe(0);
    expect(readFileSync(join(dir, 'out', 'h1'), 'utf8')).toBe('v3');
  });

  it('Ctrl-C stops starting tasks, finishes the journal with exit 130 and releases the lock', async () => {
    const dir = project({ 'rb.yml': head + 'tasks:\n  - shell: sleep 1.5\n  - shell: touch {{ root }}/never\n' });
    const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'dev', '--json'], { cwd: dir, env: baseEnv });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"task_start"') && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(130);
    expect(existsSync(join(dir, 'out', 'never'))).toBe(false);
    const runs = readdirSync(join(dir, '.runbook', 'runs'));
    const lines = readFileSync(join(dir, '.runbook', 'runs', runs[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; exitCode?: number });
    expect(lines.at(-1)).toMatchObject({ type: 'run_end', exitCode: 130 });
    expect(readdirSync(join(dir, '.runbook', 'locks'))).toEqual([]);
  });
});
