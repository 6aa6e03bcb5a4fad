// One run (plan or apply) over serial batches: open hosts -> facts -> tasks -> handlers ->
// health -> (rollback on the hosts changed so far). Returns the exit code; never calls exit.
import { ExitCode } from '../errors.ts';
import { decideOutcome } from '../observe/rollback.ts';
import type { HostSummary } from './events.ts';
import { batchesOf, failedPercent, gatherFacts, runHandlers, runList } from './executor.ts';
import { newHostState, type HostState, type RunOpts } from './run-state.ts';
import type { Host } from '../transports/types.ts';

export type HealthVerdict = { healthy: boolean; reason: string };

export type RunHooks = {
  /** Runs right before the first task of an apply: gate pin re-check, start marker. */
  readonly beforeTasks?: () => Promise<void>;
  /** Health after each batch (apply only); undefined result = no health section. */
  readonly health?: (phase: 'after_tasks' | 'after_rollback', batch: number) => Promise<HealthVerdict | undefined>;
};

export type RunResult = {
  exitCode: number;
  outcome: 'success' | 'rolled_back' | 'failed' | 'interrupted' | 'planned';
  message: string;
  summary: Record<string, HostSummary>;
  states: HostState[];
};

async function openHosts(o: RunOpts, states: HostState[]): Promise<void> {
  const res = await o.transport.open(states.map((s) => s.host), o.kill);
  for (const s of states) {
    const r = res.get(s.host.name);
    if (r && !r.ok) {
      s.failed = s.unreachable = true;
      s.why = r.error.message;
      s.summary.unreachable++;
      o.sink.emit({ type: 'task_result', task: 'connect', host: s.host.name, status: 'unreachable', ms: 0, phase: 'tasks', index: -1, pointer: '', msg: r.error.message });
    }
  }
}

async function rollback(o: RunOpts, states: HostState[], reason: string, index: { n: number }): Promise<boolean> {
  const targets = states.filter((s) => s.changed && !s.unreachable);
  o.sink.emit({ type: 'rollback', state: 'start', hosts: targets.map((s) => s.host.name), reason });
  targets.forEach((s) => { s.failed = false; });
  await runList(o, targets, o.runbook.rollback, { phase: 'rollback', index, tags: [] });
  const ok = targets.every((s) => !s.failed);
  o.sink.emit({ type: 'rollback', state: 'end', hosts: targets.map((s) => s.host.name), ok });
  return ok;
}

export async function executeRun(o: RunOpts, hosts: readonly Host[], hooks: RunHooks = {}): Promise<RunResult> {
  const states = hosts.map(newHostState);
  const batches = batchesOf(states, o.runbook.serial);
  const index = { n: 0 };
  let tasksFailed = false;
  let healthy: boolean | undefined;
  let reason = '';
  await openHosts(o, states);
  if (o.mode === 'apply') await hooks.beforeTasks?.();
  for (const [b, batch] of batches.entries()) {
    if (o.stop.aborted) break;
    o.sink.emit({ type: 'batch_start', batch: b + 1, of: batches.length, hosts: batch.map((s) => s.host.name) });
    await gatherFacts(o, batch);
    await runList(o, batch, o.runbook.tasks, { phase: 'tasks', index, tags: [] });
    await runHandlers(o, batch, index);
    o.sink.emit({ type: 'batch_end', batch: b + 1, failed: batch.filter((s) => s.failed).map((s) => s.host.name) });
    if (o.mode === 'plan' || o.stop.aborted) continue;
    if (failedPercent(batch) > o.runbook.maxFailPercentage) {
      tasksFailed = true;
      reason = `${batch.filter((s) => s.failed).length} of ${batch.length} hosts failed in batch ${b + 1} (max_fail_percentage ${o.runbook.maxFailPercentage})`;
      break;
    }
    const verdict = await hooks.health?.('after_tasks', b + 1);
    if (verdict && !verdict.healthy) {
      healthy = false;
      reason = `unhealthy after batch ${b + 1}: ${verdict.reason}`;
      break;
    }
    if (verdict) healthy = true;
  }
  return finish(o, states, { tasksFailed, healthy, reason, index }, hooks);
}

async function finish(o: RunOpts, states: HostState[], r: { tasksFailed: boolean; healthy: boolean | undefined; reason: string; index: { n: number } }, hooks: RunHooks): Promise<RunResult> {
  const summary = Object.fromEntries(states.map((s) => [s.host.name, { ...s.summary, ...(s.why ? { why: s.why } : {}) }]));
  const failedHosts = states.filter((s) => s.failed).map((s) => s.host.name);
  const anyFailed = failedHosts.length > 0;
  if (o.stop.aborted) return { exitCode: ExitCode.interrupted, outcome: 'interrupted', message: 'interrupted', summary, states };
  if (o.mode === 'plan') {
    return { exitCode: anyFailed ? ExitCode.taskFailed : ExitCode.ok, outcome: 'planned', message: anyFailed ? 'some checks failed' : 'plan complete', summary, states };
  }
  const needs = r.tasksFailed || r.healthy === false;
  let rollbackOk: boolean | undefined;
  let rollbackHealthy: boolean | undefined;
  if (needs && o.runbook.hasRollback) {
    rollbackOk = await rollback(o, states, r.reason, r.index);
    if (rollbackOk) {
      const v = await hooks.health?.('after_rollback', 0);
      rollbackHealthy = v ? v.healthy : true;
    }
  }
  const d = decideOutcome({ tasksFailed: r.tasksFailed, healthy: r.healthy, rollbackRan: needs && o.runbook.hasRollback,
    rollbackOk, rollbackHealthy, hasRollback: o.runbook.hasRollback });
  const exitCode = d.exitCode === 0 && anyFailed ? ExitCode.taskFailed : d.exitCode;
  // hosts that failed within max_fail_percentage let the run go on, but the run still exits 1: say which
  const tolerated = d.exitCode === 0 && anyFailed ? `${failedHosts.length} host(s) failed within max_fail_percentage: ${failedHosts.join(', ')}` : '';
  const message = [r.reason, d.message, tolerated].filter(Boolean).join('; ');
  return { exitCode, outcome: exitCode === 0 ? 'success' : d.outcome === 'success' ? 'failed' : d.outcome, message, summary, states };
}
