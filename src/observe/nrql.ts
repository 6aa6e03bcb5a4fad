// NRQL health checks through NerdGraph: the first numeric value of the first result is compared
// with fail_if / pass_if; an empty result fails. Presets build the NRQL for the APM entity.
import type { HealthCheckSpec } from '../engine/model.ts';
import { parseDuration } from '../engine/duration.ts';
import type { CheckResult } from './check-result.ts';
import type { NerdGraph } from './nerdgraph.ts';

const QUERY = 'query ($account: Int!, $nrql: Nrql!) { actor { account(id: $account) { nrql(query: $nrql) { results } } } }';

/** The number a check compares: `score`/`result` when present, else the first numeric leaf. */
export function firstNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  for (const k of ['score', 'result']) if (typeof o[k] === 'number') return o[k] as number;
  for (const x of Object.values(o)) { const n = firstNumber(x); if (n !== undefined) return n; }
  return undefined;
}

const CONDITION = /^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

/** For validation: fail_if / pass_if must be an operator and a number, e.g. "> 1", "< 0.9", ">= 2". */
export function isCondition(cond: string): boolean {
  return CONDITION.test(cond);
}

export function compareWith(cond: string, value: number): boolean {
  const m = CONDITION.exec(cond);
  if (!m) throw new Error(`invalid condition '${cond}'`);
  const n = Number(m[2]);
  switch (m[1]) {
    case '<': return value < n;
    case '<=': return value <= n;
    case '>': return value > n;
    case '>=': return value >= n;
    case '==': return value === n;
    default: return value !== n;
  }
}

export async function nrqlValue(ng: NerdGraph, account: number, nrql: string): Promise<number | undefined> {
  const data = await ng.query<{ actor: { account: { nrql: { results: unknown[] } | null } } }>(QUERY, { account, nrql });
  const results = data.actor.account.nrql?.results ?? [];
  return results.length ? firstNumber(results[0]) : undefined;
}

export async function runNrql(ng: NerdGraph, account: number, nrql: string, c: { failIf?: string; passIf?: string }): Promise<CheckResult> {
  const value = await nrqlValue(ng, account, nrql);
  if (value === undefined) return { ok: false, why: 'NRQL returned no data (an empty result never passes)' };
  if (c.failIf && compareWith(c.failIf, value)) return { ok: false, value, why: `value ${value} matches fail_if '${c.failIf}'` };
  if (c.passIf && !compareWith(c.passIf, value)) return { ok: false, value, why: `value ${value} does not match pass_if '${c.passIf}'` };
  return { ok: true, value };
}

type Preset = NonNullable<HealthCheckSpec['preset']>;

export async function presetQuery(ng: NerdGraph, account: number, guid: string, p: Preset, appliedAt: Date): Promise<CheckResult> {
  const windowMs = p.window !== undefined ? parseDuration(p.window) : 60_000;
  const since = `SINCE ${Math.max(1, Math.round(windowMs / 1000))} seconds ago`;
  const where = `FROM Transaction WHERE entityGuid = '${guid.replace(/'/g, '')}'`;
  switch (p.kind) {
    case 'apdex_below': return runNrql(ng, account, `SELECT apdex(duration) AS score ${where} ${since}`, { failIf: `< ${p.threshold}` });
    case 'error_rate_above': return runNrql(ng, account, `SELECT percentage(count(*), WHERE error IS true) AS result ${where} ${since}`, { failIf: `> ${p.threshold}` });
    case 'p95_latency_above': return runNrql(ng, account, `SELECT percentile(duration, 95) AS result ${where} ${since}`, { failIf: `> ${p.threshold}` });
    case 'throughput_drop_above': {
      const before = await nrqlValue(ng, account, `SELECT rate(count(*), 1 minute) AS result ${where} SINCE ${appliedAt.getTime() - windowMs} UNTIL ${appliedAt.getTime()}`);
      const now = await nrqlValue(ng, account, `SELECT rate(count(*), 1 minute) AS result ${where} ${since}`);
      if (before === undefined || now === undefined) return { ok: false, why: 'NRQL returned no throughput data (an empty result never passes)' };
      const drop = before > 0 ? ((before - now) / before) * 100 : 0;
      return drop > p.threshold ? { ok: false, value: drop, why: `throughput dropped ${drop.toFixed(1)}% (limit ${p.threshold}%)` } : { ok: true, value: drop };
    }
  }
}
