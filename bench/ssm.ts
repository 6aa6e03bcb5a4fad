// Bench (npx tsx bench/ssm.ts [--hosts 1000] [--fleet] [--in-process] [--latency 50]): a 10-task runbook shape (writes,
// commands, checks) over the ssm transport on N emulated instances; prints wall time, SSM API calls per task by
// operation (target: at most ceil(N/50) SendCommand per task, polls bounded), peak RSS and CPU of this process.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from '../src/engine/script.ts';
import type { ExecOpts, Host, HostResults, Transport } from '../src/transports/types.ts';
import { DUMMY_CREDENTIALS, type SsmEmulatorOpts } from '../test/fakes/ssm/emulator.ts';
import { emulatedFleet } from '../test/fakes/ssm/env.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Loaded after the line above: the SDK checks the variable when it loads.
const { createSsmTransport } = await import('../src/transports/ssm.ts');

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback;
}

const N = Number(flag('hosts', '1000'));
const FLEET = process.argv.includes('--fleet');
const PAYLOAD = Buffer.alloc(24 * 1024, 'runbook-payload-line\n');
const CONF = 'listen 8080\nworkers 4\nfeature_flag on\n';

type Task = { name: string; run(t: Transport, hosts: Host[], o: ExecOpts): Promise<HostResults<unknown>> };

const exec = (name: string, script: ReturnType<typeof sh>): Task => ({ name, run: (t, hosts, o) => t.exec(hosts, { script }, o) });

/** Relative paths: the emulator runs each instance in its own sandbox directory (cwd), like separate machines. */
const TASKS: Task[] = [
  exec('file: app directory', sh`mkdir -p app && chmod 755 app`),
  { name: 'copy: payload (24 KB)', run: (t, hosts, o) => t.put(hosts, { path: 'app/payload.bin', content: PAYLOAD }, o) },
  { name: 'template: app.conf', run: (t, hosts, o) => t.put(hosts, { path: 'app/app.conf', content: CONF, mode: 0o640 }, o) },
  exec('lineinfile: env', sh`touch app/env && (grep -qx 'FEATURE_FLAG=on' app/env || echo 'FEATURE_FLAG=on' >> app/env)`),
  exec('command: uname -r', sh`uname -r`),
  exec('shell: count files', sh`ls app | wc -l`),
  exec('stat: payload', sh`stat -c '%s %a' app/payload.bin`),
  exec('when: conditional', sh`[ "$(ls app | wc -l)" -ge 3 ] && echo conditional`),
  exec('check: read app.conf', sh`cat app/app.conf`),
  exec('file: link current', sh`ln -sfn app current`),
];

type Row = { name: string; ms: number; ok: number; failed: number; calls: Record<string, number> };

async function runTask(task: Task, t: Transport, hosts: Host[], calls: Record<string, number>): Promise<Row> {
  for (const k of Object.keys(calls)) delete calls[k];
  const started = performance.now();
  const r = await task.run(t, hosts, { signal: new AbortController().signal, timeoutMs: 120_000 });
  const outcomes = [...r.values()];
  const ok = outcomes.filter((o) => o.ok && (typeof o.value !== 'object' || o.value === null || !('code' in o.value) || o.value.code === 0)).length;
  return { name: task.name, ms: performance.now() - started, ok, failed: outcomes.length - ok, calls: { ...calls } };
}

type Emulated = { instances: readonly { id: string; name?: string; sandbox: string }[]; hosts: Host[]; where: string; stop(): Promise<void> };

/** The emulator in a child process (default: this process's CPU and RSS are then the transport's) or in-process. */
async function emulate(opts: SsmEmulatorOpts): Promise<Emulated> {
  if (process.argv.includes('--in-process')) {
    const emu = await emulatedFleet(opts);
    return { instances: emu.instances, hosts: emu.hosts, where: 'in-process', stop: async () => { await emu.stop(); emu.restoreEnv(); } };
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/ssm/serve.ts', JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  const { endpoint, instances } = JSON.parse(line) as { endpoint: string; instances: Emulated['instances'] };
  Object.assign(process.env, { AWS_ENDPOINT_URL_SSM: endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey });
  const hosts = instances.map((i) => ({ name: i.name ?? i.id, address: i.id, vars: {} }));
  const stop = (): Promise<void> => new Promise((resolve) => { child.once('exit', () => resolve()); child.stdin!.end(); });
  return { instances, hosts, where: 'separate process', stop };
}

async function verify(emu: Emulated): Promise<number> {
  const want = createHash('sha256').update(PAYLOAD).digest('hex');
  let bad = 0;
  for (const inst of emu.instances) {
    const got = await readFile(join(inst.sandbox, 'app', 'payload.bin')).catch(() => Buffer.alloc(0));
    if (createHash('sha256').update(got).digest('hex') !== want) bad++;
  }
  return bad;
}

function print(rows: Row[], wallMs: number, bad: number, where: string): void {
  const ops = ['SendCommand', 'ListCommandInvocations', 'GetCommandInvocation', 'CancelCommand'];
  const pad = (s: string | number, n: number): string => String(s).padStart(n);
  console.log(`\n${N} emulated instances (emulator ${where}), ${FLEET ? 'fleet mode (Targets + MaxConcurrency)' : 'batches of 50 instance ids'}`);
  console.log(`${'task'.padEnd(26)}${pad('ms', 8)}${pad('ok', 6)}${pad('fail', 6)}${pad('Send', 6)}${pad('List', 6)}${pad('Get', 6)}${pad('Cancel', 8)}`);
  for (const r of rows) {
    const c = ops.map((op) => r.calls[op] ?? 0);
    console.log(`${r.name.padEnd(26)}${pad(r.ms.toFixed(0), 8)}${pad(r.ok, 6)}${pad(r.failed, 6)}${pad(c[0]!, 6)}${pad(c[1]!, 6)}${pad(c[2]!, 6)}${pad(c[3]!, 8)}`);
  }
  const maxSend = Math.max(...rows.map((r) => r.calls.SendCommand ?? 0));
  const total = rows.reduce((n, r) => n + Object.values(r.calls).reduce((a, b) => a + b, 0), 0);
  console.log(`\nwall time: ${(wallMs / 1000).toFixed(2)} s for ${rows.length} tasks`);
  console.log(`SendCommand per task: max ${maxSend} (target <= ${Math.ceil(N / 50)}); API calls in all: ${total} (${(total / rows.length).toFixed(1)} per task)`);
  console.log(`payload checksum wrong on ${bad} of ${N} instances`);
  const u = process.resourceUsage();
  console.log(`peak RSS: ${(u.maxRSS / 1024).toFixed(0)} MB; CPU of this process: ${((u.userCPUTime + u.systemCPUTime) / 1e6).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const emu = await emulate({
    instances: Array.from({ length: N }, (_, i) => ({ name: `web-${String(i + 1).padStart(4, '0')}`, tags: { Role: 'bench' } })),
    latencyMs: Number(flag('latency', '50')), concurrency: Number(flag('concurrency', '64')),
  });
  const calls: Record<string, number> = {};
  const t = createSsmTransport({
    pollMinMs: Number(flag('poll-min', '250')), pollMaxMs: Number(flag('poll-max', '2000')),
    onApiCall: (op) => { calls[op] = (calls[op] ?? 0) + 1; },
    ...(FLEET ? { fleet: { targets: [{ key: 'tag:Role', values: ['bench'] }], maxConcurrency: '100%', maxErrors: '10%' } } : {}),
  });
  try {
    const opened = await t.open(emu.hosts, new AbortController().signal);
    const hosts = emu.hosts.filter((h) => opened.get(h.name)?.ok);
    const started = performance.now();
    const rows: Row[] = [];
    for (const task of TASKS) rows.push(await runTask(task, t, hosts, calls));
    print(rows, performance.now() - started, await verify(emu), emu.where);
  } finally {
    await t.close();
    await emu.stop();
  }
}

await main();
