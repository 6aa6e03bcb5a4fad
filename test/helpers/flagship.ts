// Plumbing shared by the end-to-end replays of runbooks/upgrade-runtime.yml (over ssh and over ssm):
// the real CLI pointed at the New Relic fake, the last run's journal, a login through the load
// balancer, each host's runtime, and the time from the bad change to restored login.
import { readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Stamped } from '../../src/engine/events.ts';
import { lastRun } from './cli-project.ts';
import { spawnNode } from './spawn-async.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const BIN = join(REPO, 'bin/runbook.js');
export const RUNBOOKS = join(REPO, 'runbooks');
export const UPGRADE = join(RUNBOOKS, 'upgrade-runtime.yml');

export type CliResult = { code: number; stdout: string; stderr: string };

/** Async on purpose: the fakes and the load balancer live in the test's process and must keep answering. */
export async function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  const r = await spawnNode(BIN, args, { cwd, env: { ...process.env, NO_COLOR: '1', RUNBOOK_SECRET_PROBE_PASSWORD: 'probe-pw',
    GITHUB_TOKEN: '', GH_TOKEN: '', GITHUB_ACTOR: '', NEW_RELIC_LICENSE_KEY: '', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The environment variables that point the CLI at the New Relic fake. */
export const newRelicEnv = (url: string): NodeJS.ProcessEnv => ({ NEW_RELIC_API_KEY: 'e2e-key', NEW_RELIC_API_URL: url, NEW_RELIC_ACCOUNT_ID: '1' });

/** The environment's `vars:` lines for the demo runtime and the tests' short health intervals. */
export const flagshipVars = (publicUrl: string): string[] => ['vars:', '  runtime_source: demo', `  public_url: ${publicUrl}`, '  escalate: false',
  '  min_free_kb: 1024', '  health_initial_delay: 300ms', '  health_interval: 400ms'];

export function lastJournal(project: string): Stamped[] {
  return lastRun(project).events;
}

/** The version the host's `current` runtime link points at. */
export const runtimeOf = (root: string): string => readlinkSync(join(root, 'usr/share/dotnet-versions/current')).split('/').pop()!;

export const login = async (url: string): Promise<number> => (await fetch(`${url}/login`, { method: 'POST', body: 'user=e2e' })).status;

/** Hosts that ran any task in the run. */
export const touchedHosts = (events: Stamped[]): string[] =>
  [...new Set(events.filter((e) => e.type === 'task_result').map((e) => (e as { host: string }).host))].sort();

/** Seconds from the first host switched to the new runtime to the healthy check after rollback. */
export function badChangeToRestoredLogin(events: Stamped[]): number {
  const bad = events.find((e) => e.type === 'task_result' && e.task === 'Point the runtime at the new version' && e.status === 'changed');
  const restored = events.find((e) => e.type === 'health_result' && e.phase === 'after_rollback' && e.healthy);
  if (!bad || !restored) throw new Error('the run has no bad change or no restored health');
  return (Date.parse(restored.time) - Date.parse(bad.time)) / 1000;
}
