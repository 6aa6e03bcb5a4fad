// Runs a runbook text through the real engine on a given transport (ssm against the emulator, or ssh against
// the test sshd): like run-yaml.ts, but the environment names that transport and the hosts are its hosts.
import { join } from 'node:path';
import { Batcher } from '../../src/engine/batcher.ts';
import type { RunEvent } from '../../src/engine/events.ts';
import type { Environment } from '../../src/engine/model.ts';
import { executeRun, type RunResult } from '../../src/engine/run.ts';
import type { Host, Transport } from '../../src/transports/types.ts';
import { writeRunbook } from './run-yaml.ts';

export type RunOnOpts = { transport: Transport; hosts: Host[]; mode?: 'plan' | 'apply'; files?: Record<string, string>; forks?: number; dir?: string };
export type RunOnResult = RunResult & { events: RunEvent[]; dir: string; results(task: string): Extract<RunEvent, { type: 'task_result' }>[] };

export function ssmEnv(dir: string, hosts: readonly Host[], transport: Environment['transport'] = 'ssm'): Environment {
  const at = { file: 'env.yml', line: 1, col: 1 };
  return {
    name: 'test', file: join(dir, 'env.yml'), source: '', protected: false, transport, vars: {},
    hosts: hosts.map((h) => ({ ...h, groups: ['web'], at })), groups: { web: hosts.map((h) => h.name) },
    ssh: { hostKeyPolicy: 'strict' }, ssm: { region: process.env.AWS_REGION }, gate: { approvals: 1, require: 'merged', breakGlass: false },
    newrelic: { required: false }, requireRollback: false, lock: { backend: 'file' }, at,
  };
}

/** Apply (or plan) `yaml` on `hosts` over `transport`; the transport is left open for the caller to reuse. */
export async function runYamlOn(yaml: string, o: RunOnOpts): Promise<RunOnResult> {
  const { dir, runbook } = await writeRunbook(yaml, o.files, o.dir);
  const events: RunEvent[] = [];
  const r = await executeRun({
    mode: o.mode ?? 'apply', runbook, env: ssmEnv(dir, o.hosts, o.transport.kind), transport: o.transport, batcher: new Batcher(o.transport),
    forks: o.forks ?? 50, tags: [], skipTags: [], extraVars: {}, secrets: {},
    sink: { emit: (e) => events.push(e) }, stop: new AbortController().signal, kill: new AbortController().signal,
    verbose: false, reads: new Set(),
  }, o.hosts);
  const results = (task: string) => events.filter((e): e is Extract<RunEvent, { type: 'task_result' }> => e.type === 'task_result' && e.task === task);
  return { ...r, events, dir, results };
}
