// The bench's engine runner: the same 10 tasks as bench/ssh-runbook.yml through `runbook apply`
// (in-process applyCommand: loader, executor, journal, lock) over the ssh transport.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostSummary } from '../src/engine/events.ts';
import type { Host } from '../src/transports/types.ts';
import type { Sshd } from '../test/helpers/sshd.ts';
import { PAYLOAD, type RunStats } from './ssh-ops.ts';

const here = dirname(fileURLToPath(import.meta.url));

function environment(hosts: Host[], sshd: Sshd): string {
  const lines = hosts.map((h) => `      ${h.name}: ${JSON.stringify({ address: h.address, port: h.port, user: h.user })}`);
  return ['transport: ssh', 'groups:', '  web:', '    hosts:', ...lines,
    `ssh: ${JSON.stringify({ known_hosts: sshd.knownHosts, identity: sshd.identity })}`, ''].join('\n');
}

async function workspace(hosts: Host[], sshd: Sshd): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'rb-bench-engine-'));
  await mkdir(join(work, 'environments'));
  await writeFile(join(work, 'environments', 'bench.yml'), environment(hosts, sshd));
  await copyFile(join(here, 'ssh-runbook.yml'), join(work, 'ssh-runbook.yml'));
  await copyFile(join(here, 'ssh-app.conf.j2'), join(work, 'ssh-app.conf.j2'));
  await writeFile(join(work, 'payload.bin'), PAYLOAD);
  return work;
}

/** Sum the run_end summary of the JSON event stream into the bench's counts. */
function tally(jsonLines: string): RunStats {
  const end = jsonLines.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; summary?: Record<string, HostSummary> })
    .find((e) => e.type === 'run_end');
  const stats: RunStats = { ok: 0, changed: 0, skipped: 0, failed: 0 };
  for (const s of Object.values(end?.summary ?? {})) {
    stats.ok += s.ok;
    stats.changed += s.changed;
    stats.skipped += s.skipped;
    stats.failed += s.failed + s.unreachable;
  }
  return stats;
}

export const engineRunner = {
  name: 'runbook apply (engine, in-process), 10 tasks',
  async run(hosts: Host[], sshd: Sshd): Promise<RunStats> {
    // Loaded on first use, so the transport-only runner's RSS does not include the whole CLI.
    const { applyCommand } = await import('../src/cli/apply.ts');
    const work = await workspace(hosts, sshd);
    let out = '';
    let err = '';
    try {
      const code = await applyCommand(join(work, 'ssh-runbook.yml'), {
        env: 'bench', inventory: join(work, 'environments'), forks: '50', extraVars: [`data_dir=${sshd.dataDir}`], yes: true, json: true,
      }, { out: { write: (s) => { out += s; } }, err: { write: (s) => { err += s; } }, env: process.env, cwd: work });
      if (code !== 0) throw new Error(`runbook apply exited ${code}:\n${err}\n${out.slice(-4000)}`);
      return tally(out);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};
