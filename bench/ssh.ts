// Bench (npx tsx bench/ssh.ts [--sizes 1,10,50] [--runner engine|transport] [--no-ansible]): the 10-task runbook on N aliases of a test
// sshd, first and second apply, against the raw floor (10 `ssh true` per host over ControlMaster) and ansible.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSshTransport } from '../src/transports/ssh.ts';
import type { Host } from '../src/transports/types.ts';
import { startSshd, type Sshd } from '../test/helpers/sshd.ts';
import { engineRunner } from './ssh-engine.ts';
import { PAYLOAD, runTenTasks, type RunStats } from './ssh-ops.ts';

/** What a bench run drives. Swap `transportRunner` for one that goes through the executor. */
export type BenchRunner = { readonly name: string; run(hosts: Host[], sshd: Sshd, signal: AbortSignal): Promise<RunStats> };

export const transportRunner: BenchRunner = {
  name: 'ssh transport, 10 tasks',
  async run(hosts, sshd, signal) {
    const t = createSshTransport({ knownHosts: sshd.knownHosts, identity: sshd.identity, forks: 50 });
    try {
      const opened = await t.open(hosts, signal);
      const down = [...opened.values()].filter((o) => !o.ok).length;
      const stats = await runTenTasks(t, hosts, (h) => `${sshd.dataDir}/bench-runbook/${h.name}`, signal);
      return { ...stats, failed: stats.failed + down };
    } finally {
      await t.close();
    }
  },
};

/** Runners by name (`--runner <name>`): the transport alone, or the whole engine (`runbook apply`). */
export const runners = { transport: transportRunner, engine: engineRunner } satisfies Record<string, BenchRunner>;

const here = dirname(fileURLToPath(import.meta.url));
const seconds = (ms: number): string => (ms / 1000).toFixed(2) + ' s';
const rssMb = (): string => (process.resourceUsage().maxRSS / 1024).toFixed(0) + ' MB';

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20000); });
    child.stderr.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20000); });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

function sshArgs(sshd: Sshd, controlPath: string): string[] {
  return ['-F', '/dev/null', '-i', sshd.identity, '-p', String(sshd.port), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=60'];
}

async function closeMasters(sshd: Sshd, dir: string): Promise<void> {
  const sockets = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(sockets.map((s) => run('ssh', [...sshArgs(sshd, join(dir, s)), '-O', 'exit', `${sshd.user}@127.0.0.1`])));
  await rm(dir, { recursive: true, force: true });
}

/** The floor: per host, 10 `ssh true` over one ControlMaster connection (the first one opens it). */
async function rawFloor(hosts: Host[], sshd: Sshd): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'rbcm-'));
  try {
    const started = performance.now();
    await Promise.all(hosts.map(async (h) => {
      for (let i = 0; i < 10; i++) {
        const r = await run('ssh', [...sshArgs(sshd, join(dir, h.name)), `${sshd.user}@127.0.0.1`, 'true']);
        if (r.code !== 0) throw new Error(`ssh true failed on ${h.name}: ${r.out}`);
      }
    }));
    return performance.now() - started;
  } finally {
    await closeMasters(sshd, dir);
  }
}

async function ansibleFound(): Promise<boolean> {
  return run('ansible-playbook', ['--version']).then((r) => r.code === 0, () => false);
}

/** One ansible-playbook run with fresh control sockets (cold connections, like the runbook side). */
async function ansibleRun(hosts: Host[], sshd: Sshd, work: string): Promise<number> {
  const cp = await mkdtemp(join(tmpdir(), 'rbacp-'));
  const inv = hosts.map((h) => `${h.name} ansible_host=127.0.0.1 ansible_port=${sshd.port} ansible_user=${sshd.user} ansible_ssh_private_key_file=${sshd.identity}`);
  await writeFile(join(work, 'inventory.ini'), `[all]\n${inv.join('\n')}\n`);
  await writeFile(join(work, 'ansible.cfg'), [
    '[defaults]', 'forks = 50', 'host_key_checking = True', 'interpreter_python = /usr/bin/python3', 'retry_files_enabled = False',
    '[ssh_connection]', 'pipelining = True', `control_path_dir = ${cp}`, 'control_path = %(directory)s/%%C',
    `ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes -o UserKnownHostsFile=${sshd.knownHosts} -o StrictHostKeyChecking=yes`,
    '',
  ].join('\n'));
  const env = { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg'), ANSIBLE_HOME: join(work, 'home'), ANSIBLE_LOCAL_TEMP: join(work, 'tmp'), ANSIBLE_NOCOLOR: '1' };
  const args = ['-i', join(work, 'inventory.ini'), join(here, 'ssh-playbook.yml'), '-e', `data_dir=${sshd.dataDir}`, '-e', `payload=${join(work, 'payload.bin')}`];
  try {
    const started = performance.now();
    const r = await run('ansible-playbook', args, env);
    const ms = performance.now() - started;
    if (r.code !== 0) throw new Error(`ansible-playbook failed (${r.code}):\n${r.out}`);
    return ms;
  } finally {
    await closeMasters(sshd, cp);
  }
}

type Row = { n: number; first: number; second: number; floor: number; stats: [RunStats, RunStats]; rss: string; ansible?: [number, number] };

async function measure(n: number, sshd: Sshd, runner: BenchRunner, work: string | undefined): Promise<Row> {
  const hosts = sshd.hosts(n, `n${n}-`);
  const signal = new AbortController().signal;
  let t0 = performance.now();
  const s1 = await runner.run(hosts, sshd, signal);
  const first = performance.now() - t0;
  t0 = performance.now();
  const s2 = await runner.run(hosts, sshd, signal);
  const second = performance.now() - t0;
  const rss = rssMb();
  const floor = await rawFloor(hosts, sshd);
  const ansible = work ? [await ansibleRun(hosts, sshd, work), await ansibleRun(hosts, sshd, work)] as [number, number] : undefined;
  return { n, first, second, floor, stats: [s1, s2], rss, ansible };
}

function report(row: Row): void {
  const fmt = (s: RunStats) => `ok=${s.ok} changed=${s.changed} skipped=${s.skipped} failed=${s.failed}`;
  console.log(`\nN = ${row.n}`);
  console.log(`  runbook  first apply  ${seconds(row.first).padStart(9)}   (${fmt(row.stats[0])})`);
  console.log(`  runbook  second apply ${seconds(row.second).padStart(9)}   (${fmt(row.stats[1])})`);
  console.log(`  raw floor (10 x ssh true, ControlMaster) ${seconds(row.floor)}   first/floor ${(row.first / row.floor).toFixed(2)}x, second/floor ${(row.second / row.floor).toFixed(2)}x`);
  if (row.ansible) {
    const [a1, a2] = row.ansible;
    console.log(`  ansible-playbook first ${seconds(a1)}, second ${seconds(a2)}   ansible/runbook: first ${(a1 / row.first).toFixed(1)}x, second ${(a2 / row.second).toFixed(1)}x`);
  }
  console.log(`  peak RSS of this process so far: ${row.rss}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const sizesAt = argv.indexOf('--sizes');
  const sizes = sizesAt >= 0 ? argv[sizesAt + 1]!.split(',').map(Number) : [1, 10, 50];
  const runnerAt = argv.indexOf('--runner');
  const runnerName = runnerAt >= 0 ? argv[runnerAt + 1]! : 'engine';
  const runner: BenchRunner | undefined = (runners as Record<string, BenchRunner>)[runnerName];
  if (!runner) throw new Error(`unknown --runner ${runnerName} (have: ${Object.keys(runners).join(', ')})`);
  const withAnsible = !argv.includes('--no-ansible') && (await ansibleFound());
  if (!withAnsible) console.log('ansible-playbook: not found (apt-get install -y ansible-core), or --no-ansible; skipping the comparison');
  const sshd = await startSshd();
  const work = withAnsible ? await mkdtemp(join(tmpdir(), 'rb-ansible-')) : undefined;
  if (work) await writeFile(join(work, 'payload.bin'), PAYLOAD);
  try {
    console.log(`runner: ${runner.name}; sshd on 127.0.0.1:${sshd.port}; node ${process.version}`);
    for (const n of sizes) report(await measure(n, sshd, runner, work));
  } finally {
    await sshd.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }
}

await main();
