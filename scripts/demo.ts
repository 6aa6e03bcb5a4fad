// `npm run demo`: the whole story on this machine in under a minute — two app "hosts" on the
// local transport behind a load balancer, a local New Relic (NerdGraph) fake for markers and NRQL.
// 1. install the app on runtime 5; 2. plan the upgrade; 3. apply it WITHOUT the infrastructure
// step (the 2021 mistake): login breaks, health catches it, rollback restores it (exit 5);
// 4. apply it properly (exit 0); 5. apply again: nothing changes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stamped } from '../src/engine/events.ts';
import { startNewRelicFake } from '../test/fakes/newrelic/index.ts';
import { badChangeToRestoredLogin } from '../test/helpers/flagship.ts';
import { startLoadBalancer } from './demo-lb.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/runbook.js', import.meta.url));
const SCRATCH = '/tmp/runbook-demo';

type Step = { title: string; expect: number; code: number | null; run?: string };
const steps: Step[] = [];
const RUNS = join(ROOT, '.runbook', 'runs');
const runIds = (): string[] => (existsSync(RUNS) ? readdirSync(RUNS).filter((f) => f.endsWith('.jsonl')).sort() : []);

/** Async on purpose: the load balancer and the New Relic fake run in this process and must keep answering. */
async function step(title: string, args: string[], env: NodeJS.ProcessEnv, expect: number): Promise<Step> {
  console.log(`\n\u001b[1m=== ${title}\u001b[0m\n$ runbook ${args.join(' ')}`);
  const before = new Set(runIds());
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: 'inherit' });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== expect) {
    console.error(`demo: expected exit ${expect}, got ${code}`);
    process.exitCode = 1;
  }
  const s = { title, expect, code, run: runIds().find((f) => !before.has(f)) };
  steps.push(s);
  return s;
}

/** The story at a glance: each step's exit code, and how fast the broken login was restored. */
function recap(bad: Step | undefined): void {
  console.log('\n\u001b[1m=== The story in exit codes\u001b[0m');
  for (const s of steps) console.log(`  ${s.code === s.expect ? 'ok ' : 'BAD'} exit ${s.code}  ${s.title}`);
  if (!bad?.run) return;
  const events = readFileSync(join(RUNS, bad.run), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Stamped);
  try {
    console.log(`  from the bad change to login restored by rollback: ${badChangeToRestoredLogin(events).toFixed(1)} s, no human involved`);
  } catch { /* the bad step did not roll back: its exit code above says so */ }
}

function stopApps(): void {
  for (const h of ['web1', 'web2']) spawnSync('sh', [`${SCRATCH}/${h}/opt/webapp/appctl`, 'stop'], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  stopApps(); // a previous demo's apps
  rmSync(SCRATCH, { recursive: true, force: true });
  const lb = await startLoadBalancer([18081, 18082], 18080);
  const nr = await startNewRelicFake({ apiKey: 'demo-user-key', entities: [{ name: 'webapp-demo', guid: 'MXxBUE18QVBQTElDQVRJT058MQ', accountId: 1 }] });
  const env = { ...process.env, NEW_RELIC_API_KEY: 'demo-user-key', NEW_RELIC_API_URL: nr.url, NEW_RELIC_ACCOUNT_ID: '1',
    RUNBOOK_SECRET_PROBE_PASSWORD: 'demo-probe-password', FORCE_COLOR: process.stdout.isTTY ? '1' : '' };
  const started = Date.now();
  try {
    await step('1. the app runs on runtime 5 (install)', ['apply', 'runbooks/install-app.yml', '-e', 'demo', '--yes'], env, 0);
    await step('2. plan the upgrade: a true dry run, nothing changes', ['plan', 'runbooks/upgrade-runtime.yml', '-e', 'demo'], env, 0);
    const bad = await step('3. the 2021 mistake: upgrade without the infrastructure step (--skip-tags infra)',
      ['apply', 'runbooks/upgrade-runtime.yml', '-e', 'demo', '--yes', '--skip-tags', 'infra'], env, 5);
    await step('4. the upgrade as written: infrastructure steps included', ['apply', 'runbooks/upgrade-runtime.yml', '-e', 'demo', '--yes'], env, 0);
    await step('5. apply again: nothing changes', ['apply', 'runbooks/upgrade-runtime.yml', '-e', 'demo', '--yes'], env, 0);
    console.log('\n\u001b[1m=== New Relic deployment markers recorded (local NerdGraph fake)\u001b[0m');
    for (const m of nr.markers) console.log(`  ${m.timestamp ? new Date(m.timestamp).toISOString() : ''}  ${m.groupId}  version ${m.version}  ${m.description ?? ''}`);
    recap(bad);
    console.log(`\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)}s; past runs: runbook history`);
  } finally {
    stopApps();
    await lb.stop();
    await nr.stop();
  }
}

await main();
