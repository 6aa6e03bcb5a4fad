// The engine's own New Relic agent: never imported without a key; custom events per run and per
// host-task; with a key, a real agent process reports to a TLS collector fake, writes no log file
// into its working folder, keeps stdout clean, and exits within bounds even if the collector hangs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stamped } from '../../src/engine/events.ts';
import { startAgent, type AgentApi } from '../../src/observe/agent.ts';
import { startCollectorFake, type CollectorFake } from '../fakes/newrelic/collector.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const KEY = '0123456789abcdef0123456789abcdef0123NRAL';
const stamp = (e: object): Stamped => ({ run: 'r1', time: new Date().toISOString(), ...e }) as Stamped;
const RUN: Stamped[] = [
  stamp({ type: 'run_start', command: 'apply', runbook: 'rb.yml', env: 'prod', hosts: ['web1'], operator: 'alice' }),
  stamp({ type: 'task_start', task: 'Install', at: { file: 'rb.yml', line: 5, col: 5 }, hosts: ['web1'], phase: 'tasks', index: 0, pointer: '/tasks/0', module: 'package' }),
  stamp({ type: 'task_result', task: 'Install', host: 'web1', status: 'changed', ms: 1500, phase: 'tasks', index: 0, pointer: '/tasks/0' }),
  stamp({ type: 'run_end', exitCode: 5, ms: 4200, summary: { web1: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0, ms: 1500 } }, message: 'rolled back' }),
];

describe('engine agent in-process', () => {
  it('is not even imported without NEW_RELIC_LICENSE_KEY, nor with NEW_RELIC_ENABLED=false', async () => {
    let imported = 0;
    const load = async (): Promise<unknown> => { imported++; return {}; };
    expect(await startAgent({}, load)).toBeUndefined();
    expect(await startAgent({ NEW_RELIC_LICENSE_KEY: KEY, NEW_RELIC_ENABLED: 'false' }, load)).toBeUndefined();
    expect(imported).toBe(0);
  });

  it('turns run and task events into RunbookRun / RunbookTask custom events, and bounds a shutdown that never answers', async () => {
    const sent: [string, Record<string, unknown>][] = [];
    const api: AgentApi = { recordCustomEvent: (t, a) => { sent.push([t, a]); }, shutdown: () => { /* never calls back */ } };
    const agent = (await startAgent({ NEW_RELIC_LICENSE_KEY: KEY }, async () => ({ default: api }), 150))!;
    const { onEvent } = agent;
    RUN.forEach((e) => onEvent(e));
    expect(sent).toEqual([
      ['RunbookTask', { runId: 'r1', task: 'Install', host: 'web1', status: 'changed', duration: 1.5, phase: 'tasks', module: 'package' }],
      ['RunbookRun', { runId: 'r1', command: 'apply', environment: 'prod', runbook: 'rb.yml', operator: 'alice', status: 'rolled_back', exitCode: 5,
        duration: 4.2, hosts: 1, failedHosts: 0, message: 'rolled back' }],
    ]);
    const t = Date.now();
    await agent.shutdown();
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
    expect(Date.now() - t).toBeLessThan(1000);
  });
});

/** Runs a real agent in a child process (its own cwd), feeding it one run's events; resolves at exit. */
function runAgentProcess(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-agent-'));
  const script = join(dir, 'run.mts');
  writeFileSync(script, `import { startAgent } from ${JSON.stringify(join(ROOT, 'src/observe/agent.ts'))};
const a = await startAgent(process.env);
if (!a) { console.log('no agent'); process.exit(3); }
for (const e of ${JSON.stringify(RUN)}) a.onEvent(e);
const t = Date.now();
await a.shutdown();
console.log('shutdown ms', Date.now() - t);
`);
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'), script], { cwd: dir,
    env: { ...process.env, NEW_RELIC_LICENSE_KEY: KEY, NEW_RELIC_HOST: '127.0.0.1', NEW_RELIC_APP_NAME: 'runbook-test', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const kill = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((r) => child.on('close', (code) => { clearTimeout(kill); r({ code, stdout, stderr, ms: Date.now() - started, dir }); }));
}

const logFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f !== 'run.mts');

describe('engine agent in a real process', () => {
  let collector: CollectorFake;
  beforeAll(async () => { collector = await startCollectorFake(); });
  afterAll(() => collector.stop());

  it('reports the run and the host-task to the collector, with nothing on stdout and no file in the working folder', async () => {
    const r = await runAgentProcess({ NEW_RELIC_PORT: String(collector.port), NODE_EXTRA_CA_CERTS: collector.caFile });
    expect(r.stdout, r.stderr).toMatch(/^shutdown ms \d+\n$/);
    expect(r.code).toBe(0);
    expect(collector.methods.slice(0, 2), collector.methods.join()).toEqual(['preconnect', 'connect']);
    expect(collector.methods).toContain('custom_event_data');
    expect(collector.events.find((e) => e.type === 'RunbookRun')?.attributes).toMatchObject({ runId: 'r1', status: 'rolled_back', exitCode: 5, duration: 4.2, environment: 'prod' });
    expect(collector.events.find((e) => e.type === 'RunbookTask')?.attributes).toMatchObject({ host: 'web1', status: 'changed', duration: 1.5, module: 'package' });
    expect(logFiles(r.dir)).toEqual([]);
  }, 30_000);

  it('a collector that accepts and never answers: shutdown within its bound and the process exits', async () => {
    const held: Socket[] = [];
    const blackhole = createServer((s) => { held.push(s); });
    await new Promise<void>((ok) => blackhole.listen(0, '127.0.0.1', ok));
    try {
      const r = await runAgentProcess({ NEW_RELIC_PORT: String((blackhole.address() as { port: number }).port) });
      expect(r.stdout, r.stderr).toMatch(/^shutdown ms \d+\n$/);
      expect(Number(/shutdown ms (\d+)/.exec(r.stdout)![1])).toBeLessThan(3500);
      expect(r.ms).toBeLessThan(10_000);
      expect(logFiles(r.dir)).toEqual([]);
    } finally {
      held.forEach((s) => s.destroy());
      blackhole.close();
    }
  }, 30_000);

  it('a closed collector port: exits quickly, no log file', async () => {
    const r = await runAgentProcess({ NEW_RELIC_PORT: '9' });
    expect(r.stdout, r.stderr).toMatch(/shutdown ms \d+/);
    expect(r.ms).toBeLessThan(10_000);
    expect(logFiles(r.dir)).toEqual([]);
  }, 30_000);
});
