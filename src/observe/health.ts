// Health verification after an apply: wait initial_delay, then `count` measurements every
// `interval`; each runs every check (HTTP from the engine host, NRQL through NerdGraph, presets).
// More than failure_limit failed measurements, or more than consecutive_error_limit checks in a
// row that cannot be evaluated, is unhealthy. An empty NRQL result is a failure, never a pass.
import { parseDuration, sleep as defaultSleep } from '../engine/duration.ts';
import type { RunEvent } from '../engine/events.ts';
import type { HealthCheckSpec, HealthSpec } from '../engine/model.ts';
import type { CheckResult } from './check-result.ts';
import { httpCheck } from './http-check.ts';
import type { NerdGraph } from './nerdgraph.ts';
import { presetQuery, runNrql } from './nrql.ts';

export type HealthDeps = {
  ng?: NerdGraph; accountId?: number; entityGuid?: string; emit: (e: RunEvent) => void; signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>; fetch?: typeof fetch; phase: 'after_tasks' | 'after_rollback'; appliedAt?: Date;
};

export type HealthVerdict = { healthy: boolean; failed: number; errors: number; reason: string };

async function runCheck(c: HealthCheckSpec, d: HealthDeps): Promise<CheckResult> {
  try {
    if (c.http) return await httpCheck(c.http, d.fetch ?? fetch, d.signal);
    if (!d.ng || !d.accountId) return { ok: false, error: 'New Relic is not configured (NEW_RELIC_API_KEY and NEW_RELIC_ACCOUNT_ID)' };
    if (c.nrql) return await runNrql(d.ng, d.accountId, c.nrql.query, { failIf: c.nrql.fail_if, passIf: c.nrql.pass_if });
    if (c.preset) {
      if (!d.entityGuid) return { ok: false, error: 'preset checks need the runbook\'s newrelic.entity' };
      return await presetQuery(d.ng, d.accountId, d.entityGuid, c.preset, d.appliedAt ?? new Date());
    }
    return { ok: false, error: 'check has no kind' };
  } catch (e) {
    if (d.signal.aborted) throw e;
    return { ok: false, error: (e as Error).message };
  }
}

type Tally = { failed: number; errors: number; streak: number[]; evaluated: number[]; reasons: string[] };

/** One measurement: every check once. Returns a reason when unhealthy is already certain. */
async function measure(spec: HealthSpec, d: HealthDeps, m: number, t: Tally): Promise<string | undefined> {
  let measurementFailed = false;
  for (const [i, c] of spec.checks.entries()) {
    const r = await runCheck(c, d);
    d.emit({ type: 'health_measurement', measurement: m, of: spec.count, check: c.name, ok: r.ok, ...(r.value !== undefined ? { value: r.value } : {}),
      ...(r.error ? { error: `cannot evaluate: ${r.error}` } : r.why ? { error: r.why } : {}) });
    if (r.error) {
      t.errors++;
      if (++t.streak[i]! > spec.consecutiveErrorLimit) return `'${c.name}' could not be evaluated ${t.streak[i]} times in a row: ${r.error}`;
      continue;
    }
    t.streak[i] = 0;
    t.evaluated[i]!++;
    if (!r.ok) { measurementFailed = true; t.reasons.push(`'${c.name}' ${r.why ?? 'failed'}`); }
  }
  if (measurementFailed) t.failed++;
  if (t.failed > spec.failureLimit) return `${t.failed} of ${m} measurements failed (limit ${spec.failureLimit}): ${t.reasons.at(-1)}`;
  return undefined;
}

/**
 * Errors are counted per check (a check that keeps erroring is not excused by another that passes),
 * and a check that was never evaluated at all cannot make a run healthy. Throws when `signal` aborts.
 */
export async function runHealth(spec: HealthSpec, d: HealthDeps): Promise<HealthVerdict> {
  const wait = d.sleep ?? defaultSleep;
  const t: Tally = { failed: 0, errors: 0, streak: spec.checks.map(() => 0), evaluated: spec.checks.map(() => 0), reasons: [] };
  const verdict = (healthy: boolean, reason: string): HealthVerdict => {
    d.emit({ type: 'health_result', healthy, failed: t.failed, errors: t.errors, phase: d.phase });
    return { healthy, failed: t.failed, errors: t.errors, reason };
  };
  await wait(parseDuration(spec.initialDelay), d.signal);
  for (let m = 1; m <= spec.count; m++) {
    if (m > 1) await wait(parseDuration(spec.interval), d.signal);
    const unhealthy = await measure(spec, d, m, t);
    if (unhealthy) return verdict(false, unhealthy);
  }
  const never = spec.checks.find((_c, i) => t.evaluated[i] === 0);
  if (never) return verdict(false, `'${never.name}' could not be evaluated in any of ${spec.count} measurements`);
  return verdict(true, `${spec.count - t.failed} of ${spec.count} measurements passed`);
}
