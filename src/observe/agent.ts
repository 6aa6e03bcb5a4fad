// The engine reports its own runs to New Relic through the Node agent (newrelic ^13), only when
// NEW_RELIC_LICENSE_KEY is set: one RunbookRun event per run and one RunbookTask per host-task.
// Without a key the agent is never imported. It never writes a log file into the user's folder,
// and its shutdown is bounded so it never holds the exit for more than a few seconds.
import type { Stamped } from '../engine/events.ts';

type NewRelicApi = {
  recordCustomEvent(type: string, attrs: Record<string, string | number | boolean>): void;
  shutdown(opts: { collectPendingData?: boolean; timeout?: number }, cb: (err?: unknown) => void): void;
};

export type AgentReporter = { onEvent(e: Stamped): void; shutdown(): Promise<void> };

const SHUTDOWN_MS = 3000;

const AGENT_MODULE = 'newrelic'; // a variable: the agent has no type declarations and loads only when used

export async function startAgent(env: NodeJS.ProcessEnv, importAgent: () => Promise<unknown> = () => import(AGENT_MODULE)): Promise<AgentReporter | undefined> {
  if (!env.NEW_RELIC_LICENSE_KEY || env.NEW_RELIC_ENABLED === 'false') return undefined;
  // configured by environment only: no newrelic.js, no newrelic_agent.log in the user's directory
  process.env.NEW_RELIC_NO_CONFIG_FILE = 'true';
  process.env.NEW_RELIC_APP_NAME ??= 'runbook';
  process.env.NEW_RELIC_LOG_ENABLED = 'false';
  process.env.NEW_RELIC_LOG = process.platform === 'win32' ? 'NUL' : '/dev/null';
  process.env.NEW_RELIC_LICENSE_KEY = env.NEW_RELIC_LICENSE_KEY;
  let api: NewRelicApi;
  try {
    const mod = (await importAgent()) as { default?: NewRelicApi } & NewRelicApi;
    api = mod.default ?? mod;
  } catch {
    return undefined; // reporting must never stop a run
  }
  return {
    onEvent(e) {
      try {
        if (e.type === 'task_result') {
          api.recordCustomEvent('RunbookTask', { runId: e.run, task: e.task, host: e.host, status: e.status, durationMs: e.ms, phase: e.phase });
        } else if (e.type === 'run_end') {
          api.recordCustomEvent('RunbookRun', { runId: e.run, exitCode: e.exitCode, durationMs: e.ms, hosts: Object.keys(e.summary).length,
            failedHosts: Object.values(e.summary).filter((s) => s.failed || s.unreachable).length });
        }
      } catch { /* never let reporting break a run */ }
    },
    shutdown: () => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SHUTDOWN_MS);
      try {
        api.shutdown({ collectPendingData: true, timeout: SHUTDOWN_MS - 500 }, () => { clearTimeout(timer); resolve(); });
      } catch {
        clearTimeout(timer);
        resolve();
      }
    }),
  };
}
