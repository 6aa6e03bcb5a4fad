// The engine reports its own runs to New Relic through the `newrelic` Node agent (^13), only when
// NEW_RELIC_LICENSE_KEY is set: one RunbookRun custom event per run, one RunbookTask per host-task.
// Without a key it is never imported; it is configured by environment only, never writes a log file
// into the user's folder, and its shutdown is bounded so it never holds the exit for long.
import { createRequire } from 'node:module';
import type { Stamped } from '../engine/events.ts';

/** The part of the agent API runbook uses. */
export type AgentApi = {
  recordCustomEvent(eventType: string, attributes: Record<string, string | number | boolean>): void;
  shutdown(options: { collectPendingData?: boolean; timeout?: number }, cb: (error?: unknown) => void): void;
};

export type RunRecord = { runId: string; status: string; exitCode: number; durationMs: number; command?: string; env?: string;
  runbook?: string; operator?: string; hosts?: number; failedHosts?: number; message?: string };
export type HostTaskRecord = { runId: string; task: string; host: string; status: string; durationMs: number; phase?: string; module?: string };

export interface AgentReporter {
  /** One `RunbookRun` custom event (duration in seconds, status, exit code). */
  recordRun(r: RunRecord): void;
  /** One `RunbookTask` custom event per host and task. */
  recordHostTask(t: HostTaskRecord): void;
  /** Event listener (unbound is fine): task_result -> recordHostTask, run_end -> recordRun with run_start's context. */
  onEvent(e: Stamped): void;
  /** Sends what is pending within the bound (default 3000 ms), then lets go of the collector; never rejects. */
  shutdown(): Promise<void>;
}

export const SHUTDOWN_MS = 3000;
const AGENT_MODULE = 'newrelic'; // a variable: the agent has no type declarations and loads only when used

/**
 * The agent reads only process.env. No newrelic.js is read; logging is off unless the user turns it
 * on, and then goes to stderr (stdout belongs to --json), never to ./newrelic_agent.log.
 */
function configure(env: NodeJS.ProcessEnv): void {
  if (env !== process.env) for (const [k, v] of Object.entries(env)) if (k.startsWith('NEW_RELIC_') && v !== undefined) process.env[k] = v;
  process.env.NEW_RELIC_NO_CONFIG_FILE = 'true';
  process.env.NEW_RELIC_APP_NAME ||= 'runbook';
  process.env.NEW_RELIC_LOG_ENABLED ||= 'false';
  process.env.NEW_RELIC_LOG ||= 'stderr';
}

/** The agent sets no timeout on its collector socket: after shutdown nothing of it may keep the process alive. */
function dropCollectorSockets(): void {
  try {
    const agents = createRequire(import.meta.url)('newrelic/lib/collector/http-agents.js') as { keepAliveAgent(): { destroy(): void } };
    agents.keepAliveAgent().destroy();
  } catch {
    // a later agent version may move this file; bin/runbook.js's exit timer is the second line of defence
  }
}

const seconds = (ms: number): number => Math.round(ms) / 1000;
const clip = (s: string | undefined, n: number): string | undefined => s?.slice(0, n);
const statusOf = (code: number): string => (code === 0 ? 'success' : code === 5 ? 'rolled_back' : code === 130 ? 'interrupted' : 'failed');

function boundedShutdown(api: AgentApi, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  // a ref'd timer: an unref'd one would let Node exit mid-await (code 13) when the agent holds nothing open
  const bound = new Promise<void>((r) => { timer = setTimeout(r, ms); });
  const done = new Promise<void>((r) => {
    try { api.shutdown({ collectPendingData: true, timeout: Math.max(0, ms - 200) }, () => r()); } catch { r(); }
  });
  return Promise.race([done, bound]).finally(() => clearTimeout(timer));
}

type RunContext = Pick<RunRecord, 'command' | 'env' | 'runbook' | 'operator'>;

function createReporter(api: AgentApi, real: boolean, shutdownMs: number): AgentReporter {
  const send = (type: string, attrs: Record<string, string | number | boolean | undefined>): void => {
    const clean = Object.fromEntries(Object.entries(attrs).filter((e): e is [string, string | number | boolean] => e[1] !== undefined));
    try { api.recordCustomEvent(type, clean); } catch { /* reporting must never break a run */ }
  };
  const runs = new Map<string, RunContext>();
  const modules = new Map<string, string>();
  const self: AgentReporter = {
    recordRun: (r) => send('RunbookRun', { runId: r.runId, command: r.command, environment: r.env, runbook: r.runbook, operator: r.operator,
      status: r.status, exitCode: r.exitCode, duration: seconds(r.durationMs), hosts: r.hosts, failedHosts: r.failedHosts, message: clip(r.message, 1000) }),
    recordHostTask: (t) => send('RunbookTask', { runId: t.runId, task: clip(t.task, 255), host: t.host, status: t.status,
      duration: seconds(t.durationMs), phase: t.phase, module: t.module }),
    onEvent(e) {
      if (e.type === 'run_start') runs.set(e.run, { command: e.command, env: e.env, runbook: e.runbook, operator: e.operator });
      else if (e.type === 'task_start') modules.set(`${e.run}#${e.phase}#${e.index}`, e.module);
      else if (e.type === 'task_result') {
        self.recordHostTask({ runId: e.run, task: e.task, host: e.host, status: e.status, durationMs: e.ms, phase: e.phase, module: modules.get(`${e.run}#${e.phase}#${e.index}`) });
      } else if (e.type === 'run_end') {
        const hosts = Object.values(e.summary);
        self.recordRun({ runId: e.run, ...runs.get(e.run), status: statusOf(e.exitCode), exitCode: e.exitCode, durationMs: e.ms, hosts: hosts.length,
          failedHosts: hosts.filter((s) => s.failed || s.unreachable).length, message: e.message });
        runs.delete(e.run);
      }
    },
    async shutdown() {
      await boundedShutdown(api, shutdownMs);
      if (real) dropCollectorSockets();
    },
  };
  return self;
}

/**
 * Loads and starts the agent when NEW_RELIC_LICENSE_KEY is set and NEW_RELIC_ENABLED is not false;
 * otherwise returns undefined without importing it. A failure to load is never a run failure.
 * `importAgent` replaces the dynamic import (tests); `shutdownMs` bounds shutdown().
 */
export async function startAgent(env: NodeJS.ProcessEnv, importAgent?: () => Promise<unknown>, shutdownMs = SHUTDOWN_MS): Promise<AgentReporter | undefined> {
  if (!env.NEW_RELIC_LICENSE_KEY || /^(false|0|no|off)$/i.test(env.NEW_RELIC_ENABLED ?? '')) return undefined;
  configure(env);
  try {
    const mod = (await (importAgent ?? (() => import(AGENT_MODULE)))()) as { default?: AgentApi } & AgentApi;
    const api = mod.default ?? mod;
    if (typeof api.recordCustomEvent !== 'function') return undefined;
    return createReporter(api, !importAgent, shutdownMs);
  } catch {
    return undefined;
  }
}
