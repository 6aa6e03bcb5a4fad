// Runs a runbook text through the real engine on the local transport, hosts h1..hN each with its
// own folder ({{ root }}), collecting the event stream. For executor semantics tests.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batcher } from '../../src/engine/batcher.ts';
import type { RunEvent } from '../../src/engine/events.ts';
import { loadRunbook } from '../../src/engine/loader.ts';
import type { Environment, Runbook } from '../../src/engine/model.ts';
import { executeRun, type RunHooks, type RunResult } from '../../src/engine/run.ts';
import { createLocalTransport } from '../../src/transports/local.ts';
import type { Host, Transport } from '../../src/transports/types.ts';

export type RunYamlOpts = { hosts?: number; mode?: 'plan' | 'apply'; tags?: string[]; skipTags?: string[]; extraVars?: Record<string, unknown>;
  dir?: string; hooks?: RunHooks; files?: Record<string, string>; forks?: number; stop?: AbortSignal;
  /** Wraps the local transport (e.g. test/fakes/counting-transport.ts); default: the local transport itself. */
  wrap?: (t: Transport) => Transport;
  /** The environment's vars and vars every host gets (besides its own `root`). */
  envVars?: Record<string, unknown>; hostVars?: Record<string, unknown> };

export type RunYamlResult = RunResult & { events: RunEvent[]; dir: string; results(task: string): Extract<RunEvent, { type: 'task_result' }>[] };

export function testEnv(dir: string, n: number, vars: { env?: Record<string, unknown>; host?: Record<string, unknown> } = {}): { env: Environment; hosts: Host[] } {
  const hosts: Host[] = Array.from({ length: n }, (_, i) => {
    const root = join(dir, `h${i + 1}`);
    mkdirSync(root, { recursive: true });
    return { name: `h${i + 1}`, address: '127.0.0.1', vars: { ...vars.host, root } };
  });
  const at = { file: 'env.yml', line: 1, col: 1 };
  const env: Environment = {
    name: 'test', file: join(dir, 'env.yml'), source: '', protected: false, transport: 'local', vars: vars.env ?? {},
    hosts: hosts.map((h) => ({ ...h, groups: ['web'], at })), groups: { web: hosts.map((h) => h.name) },
    ssh: { hostKeyPolicy: 'strict' }, ssm: {}, gate: { approvals: 1, require: 'merged', breakGlass: false },
    newrelic: { required: false }, requireRollback: false, lock: { backend: 'file' }, at,
  };
  return { env, hosts };
}

/** Write `yaml` as dir/runbook.yml beside `files` (a fresh temp dir unless given) and load it. */
export async function writeRunbook(yaml: string, files: Record<string, string> = {}, given?: string): Promise<{ dir: string; runbook: Runbook }> {
  const dir = given ?? mkdtempSync(join(tmpdir(), 'rb-run-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const file = join(dir, 'runbook.yml');
  writeFileSync(file, yaml);
  return { dir, runbook: await loadRunbook(file) };
}

export async function runYaml(yaml: string, o: RunYamlOpts = {}): Promise<RunYamlResult> {
  const { dir, runbook } = await writeRunbook(yaml, o.files, o.dir);
  const { env, hosts } = testEnv(dir, o.hosts ?? 1, { env: o.envVars, host: o.hostVars });
  const local = createLocalTransport({ forks: o.forks ?? 50 });
  const transport = o.wrap ? o.wrap(local) : local;
  const events: RunEvent[] = [];
  try {
    const r = await executeRun({
      mode: o.mode ?? 'apply', runbook, env, transport, batcher: new Batcher(transport), forks: o.forks ?? 50,
      tags: o.tags ?? [], skipTags: o.skipTags ?? [], extraVars: o.extraVars ?? {}, secrets: {},
      sink: { emit: (e) => events.push(e) }, stop: o.stop ?? new AbortController().signal, kill: new AbortController().signal,
      verbose: false, reads: new Set(),
    }, hosts, o.hooks);
    const results = (task: string) => events.filter((e): e is Extract<RunEvent, { type: 'task_result' }> => e.type === 'task_result' && e.task === task);
    return { ...r, events, dir, results };
  } finally {
    await transport.close();
  }
}
