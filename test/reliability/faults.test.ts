// Faults on the worst day, through the real CLI: sshd killed mid-run, a connection that hangs,
// New Relic down or answering garbage. Each: the right exit code, a message saying what happened,
// a journal whose every line is complete JSON, and every touched host reported.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';
import { startSshd, TEST_USER, type Sshd } from '../helpers/sshd.ts';
import { lastRun } from '../helpers/cli-project.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
type Ev = { type: string; host?: string; status?: string; exitCode?: number; message?: string; summary?: Record<string, { unreachable: number; failed: number; why?: string }> };

function project(env: string, runbook: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-fault-'));
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'test.yml'), env);
  writeFileSync(join(dir, 'rb.yml'), runbook);
  return dir;
}

function run(dir: string, env: NodeJS.ProcessEnv, onLine?: (e: Ev) => void): Promise<{ code: number; events: Ev[]; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'test', '--json'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...env } });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const l of lines) if (l.trim()) onLine?.(JSON.parse(l) as Ev);
    });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => done({ code: code ?? -1, events: journal(dir), stderr }));
  });
}

/** Every journal line must be complete JSON, ending with run_end. */
function journal(dir: string): Ev[] {
  const { text, events } = lastRun<Ev>(dir);
  expect(text.endsWith('\n')).toBe(true);
  return events;
}

describe('ssh faults through the CLI', () => {
  let sshd: Sshd;
  beforeAll(async () => { sshd = await startSshd(); });
  afterAll(async () => { await sshd.stop(); });

  const env = (): string => ['transport: ssh', 'groups:', '  web:', '    hosts:',
    `      ssh-a: ${JSON.stringify({ address: '127.0.0.1', port: sshd.port, user: TEST_USER })}`,
    `      ssh-b: ${JSON.stringify({ address: '127.0.0.1', port: sshd.port, user: TEST_USER })}`,
    `ssh: ${JSON.stringify({ known_hosts: sshd.knownHosts, identity: sshd.identity })}`, ''].join('\n');

  it('a connection that hangs fails that host by timeout while the other host goes on', async () => {
    const dir = project(env(), 'name: f\nhosts: web\nenvironments: [test]\nmax_fail_percentage: 50\ntasks:\n' +
      '  - name: slow\n    shell: sleep 2; echo {{ inventory_hostname }}-hangmark\n    timeout: 6s\n  - name: after\n    shell: "true"\n');
    let frozen = false;
    const r = await run(dir, {}, (e) => {
      if (e.type === 'task_start' && !frozen) { frozen = true; setTimeout(() => sshd.dropSessionRunning('ssh-a-hangmark', 'SIGSTOP'), 500); }
    });
    expect(r.code).toBe(1);
    const end = r.events.at(-1)!;
    expect(end.type).toBe('run_end');
    expect(end.summary!['ssh-a']!.unreachable + end.summary!['ssh-a']!.failed).toBeGreaterThan(0);
    expect(end.summary!['ssh-a']!.why).toMatch(/timeout|unreachable|timed out|keepalive/i);
    expect(r.events.some((e) => e.type === 'task_result' && e.host === 'ssh-b' && e.status === 'changed')).toBe(true);
  }, 60_000);

  it('sshd killed mid-run: every host fails as unreachable, exit 1, and the journal is complete', async () => {
    const other = await startSshd();
    const dir = project(env().replaceAll(String(sshd.port), String(other.port)).replace(sshd.knownHosts, other.knownHosts).replace(sshd.identity, other.identity),
      'name: f\nhosts: web\nenvironments: [test]\ntasks:\n  - name: slow\n    shell: sleep 3\n  - name: never\n    shell: "true"\n');
    let killed = false;
    const r = await run(dir, {}, (e) => { if (e.type === 'task_start' && !killed) { killed = true; setTimeout(() => other.kill(), 300); } });
    await other.stop();
    expect(r.code).toBe(1);
    const results = r.events.filter((e) => e.type === 'task_result');
    expect(results.filter((e) => e.status === 'unreachable').map((e) => e.host).sort()).toEqual(['ssh-a', 'ssh-b']);
    expect(r.events.at(-1)!.type).toBe('run_end');
  }, 60_000);
});

describe('New Relic faults through the CLI', () => {
  let nr: NewRelicFake;
  beforeAll(async () => { nr = await startNewRelicFake({ apiKey: 'k', entities: [{ name: 'app', guid: 'G', accountId: 1 }] }); });
  afterAll(() => nr.stop());

  const rb = (rollback: boolean): string => 'name: f\nhosts: web\nenvironments: [test]\nnewrelic: { entity: app }\ntasks:\n  - copy: { content: x, dest: "{{ root }}/{{ inventory_hostname }}" }\n' +
    'health:\n  interval: 10ms\n  count: 2\n  consecutive_error_limit: 1\n  checks:\n    - name: apdex\n      apdex_below: 0.8\n' +
    (rollback ? 'rollback:\n  - file: { path: "{{ root }}/{{ inventory_hostname }}", state: absent }\n' : '');

  const localEnv = (dir: string): string => `transport: local\nvars: { root: "${dir}" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n`;
  const nrEnv = { NEW_RELIC_API_KEY: 'k', NEW_RELIC_ACCOUNT_ID: '1' };

  it('garbage from NerdGraph: markers are warnings, health cannot be evaluated, rollback runs, and with health still unknown a human must act (6)', async () => {
    const dir = project('', rb(true));
    writeFileSync(join(dir, 'environments', 'test.yml'), localEnv(dir));
    const r = await new Promise<Awaited<ReturnType<typeof run>>>((done) => {
      nr.fail('malformed', 1); // the entity lookup retries through it
      void run(dir, { ...nrEnv, NEW_RELIC_API_URL: nr.url }, (e) => { if (e.type === 'marker' || e.type === 'batch_start') nr.fail('malformed', 40); }).then(done);
    });
    expect(r.code).toBe(6);
    expect(r.events.some((e) => e.type === 'health_result')).toBe(true);
    expect(r.events.at(-1)!.message).toMatch(/could not be evaluated/);
    while (true) { try { const res = await fetch(nr.url, { method: 'POST', body: '{"query":"{ actor { account(id: 1) { id } } }"}' }); if ((await res.text()).startsWith('{"data"')) break; } catch { /* drain */ } }
  }, 60_000);

  it('slow answers, a 429 and a 500 from NerdGraph: the run waits them out, exit 0, each marker recorded exactly once', async () => {
    const own = await startNewRelicFake({ apiKey: 'k', entities: [{ name: 'app', guid: 'G', accountId: 1 }] }); // no faults left from other tests
    const dir = project('', rb(true));
    writeFileSync(join(dir, 'environments', 'test.yml'), localEnv(dir));
    own.fail('slow', 3); // the entity lookup and the first marker calls take 1.5 s each
    own.fail('429', 1);  // then a rate limit with Retry-After: 2
    own.fail('500', 1);  // then a server error
    const started = Date.now();
    const r = await run(dir, { ...nrEnv, NEW_RELIC_API_URL: own.url });
    expect(r.code, r.stderr + JSON.stringify(r.events.at(-1))).toBe(0);
    const markers = own.markers.filter((m) => m.groupId === (r.events[0] as Ev & { run: string }).run);
    await own.stop();
    expect(markers.map((m) => m.description?.split(']')[0])).toEqual(['[start', '[success']);
    expect(r.events.filter((e) => e.type === 'marker').every((e) => (e as { id?: string }).id)).toBe(true);
    expect(r.events.some((e) => e.type === 'warning')).toBe(false);
    console.log(`apply through slow/429/500 NerdGraph answers: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 60_000);

  it('New Relic unreachable when resolving the entity: exit 2 before any change', async () => {
    const dir = project('', rb(true));
    writeFileSync(join(dir, 'environments', 'test.yml'), localEnv(dir));
    const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'test'], { cwd: dir, env: { ...process.env, ...nrEnv, NEW_RELIC_API_URL: 'http://127.0.0.1:9/graphql' } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(2);
    expect(stderr).toMatch(/newrelic.entity: .*cannot reach/);
    expect(readdirSync(dir)).not.toContain('h1');
  }, 60_000);
});
