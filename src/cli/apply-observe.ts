// Wires New Relic into apply: resolve the entity before any change, a start marker right before
// the first task, health after each batch and after rollback, and the outcome marker at the end.
import { InputError } from '../errors.ts';
import type { EventSink } from '../engine/events.ts';
import type { HealthSpec } from '../engine/model.ts';
import type { RunOpts } from '../engine/run-state.ts';
import type { HealthVerdict } from '../engine/run.ts';
import { buildScope, hideVars } from '../engine/scope.ts';
import { renderValue } from '../engine/template.ts';
import { createMarkers, nerdGraphFromEnv, resolveEntity } from '../observe/markers.ts';
import { runHealth } from '../observe/health.ts';
import type { NerdGraph } from '../observe/nerdgraph.ts';
import type { Prepared } from './prepare.ts';

export type Observe = {
  start(sink: EventSink): Promise<void>;
  outcome(sink: EventSink, outcome: 'success' | 'rolled_back' | 'failed' | 'interrupted', message: string): Promise<void>;
  health(p: Prepared, ro: RunOpts, phase: 'after_tasks' | 'after_rollback'): Promise<HealthVerdict | undefined>;
};

/** Variables known before any host is contacted (for the entity name, marker version, health). */
function runScope(p: Prepared, extra: Record<string, unknown> = {}): ReturnType<typeof buildScope> {
  return hideVars(buildScope(p.runbook.vars, p.env.vars, { environment: p.env.name, secrets: p.secrets, ...extra }, p.extraVars), p.runbook.noLogVars);
}

function needsNewRelic(h: HealthSpec | undefined): string | undefined {
  return h?.checks.find((c) => c.nrql || c.preset)?.name;
}

async function entityGuid(ng: NerdGraph | undefined, p: Prepared, accountId: number | undefined): Promise<string | undefined> {
  const nr = p.runbook.newrelic;
  if (!ng || !nr) return nr?.guid;
  if (nr.guid) return nr.guid;
  if (!nr.entity) return undefined;
  const scope = runScope(p);
  try {
    return (await resolveEntity(ng, String(renderValue(nr.entity, scope)), accountId)).guid;
  } catch (e) {
    throw new InputError([{ loc: nr.at, message: `newrelic.entity: ${(e as Error).message}` }]);
  }
}

/** What the review gate proved, for the marker: commit, PR link and the evidence as changelog. */
export type MarkerEvidence = { commit?: string; deepLink?: string; changelog?: string; user?: string };

export async function setupObserve(p: Prepared, env: NodeJS.ProcessEnv, runId: string, user: string, evidence: () => MarkerEvidence = () => ({})): Promise<Observe> {
  const ng = nerdGraphFromEnv(env);
  const accountId = p.env.newrelic.accountId ?? (env.NEW_RELIC_ACCOUNT_ID ? Number(env.NEW_RELIC_ACCOUNT_ID) : undefined);
  if (!ng && p.env.newrelic.required) throw new InputError(`environment ${p.env.name} sets newrelic.required, but NEW_RELIC_API_KEY is not set`);
  const nrqlCheck = needsNewRelic(p.runbook.health);
  if (!ng && nrqlCheck) throw new InputError([{ loc: p.runbook.health!.at, message: `health check '${nrqlCheck}' queries New Relic, but NEW_RELIC_API_KEY is not set` }]);
  const guid = await entityGuid(ng, p, accountId);
  const appliedAt = new Date();
  const markerFor = (): ReturnType<typeof createMarkers> | undefined => {
    if (!ng || !guid) return undefined;
    const ev = evidence();
    // the PR is named in the description too: it is what the deployments list in APM shows first
    const pr = ev.deepLink ? /\/pull\/(\d+)$/.exec(ev.deepLink)?.[1] : undefined;
    return createMarkers(ng, {
      entityGuid: guid, runId, user, version: String(runScope(p).version ?? runId), accountId, ...ev,
      description: `runbook apply ${p.runbook.name} on ${p.env.name}${pr ? ` (PR #${pr})` : ''}`, deploymentType: p.runbook.newrelic?.deploymentType,
    });
  };
  let markers: ReturnType<typeof createMarkers> | undefined;
  const skipped = !ng ? 'New Relic is not configured (NEW_RELIC_API_KEY unset)' : !guid ? 'the runbook has no newrelic.entity' : undefined;
  return {
    async start(sink) {
      markers = markerFor();
      if (!markers) { sink.emit({ type: 'marker', kind: 'start', skipped }); return; }
      try {
        const m = await markers.start();
        sink.emit({ type: 'marker', kind: 'start', id: m.id, entityGuid: guid });
      } catch (e) {
        // New Relic being down must not block a deploy unless the environment says markers are required
        if (p.env.newrelic.required) throw e;
        sink.emit({ type: 'warning', message: `could not record the start marker (continuing): ${(e as Error).message}` });
      }
    },
    async outcome(sink, outcome, message) {
      if (!markers) return;
      try {
        const m = await markers.outcome(outcome, message);
        sink.emit({ type: 'marker', kind: 'outcome', id: m.id, entityGuid: guid, outcome });
      } catch (e) {
        sink.emit({ type: 'warning', message: `could not record the outcome marker: ${(e as Error).message}` });
      }
    },
    async health(pr, ro, phase) {
      const spec = pr.runbook.health;
      if (!spec) return undefined;
      const scope = runScope(pr, { newrelic: { guid } });
      const r1 = (v: unknown): never => renderValue(v, scope) as never;
      const rendered = { ...spec, initialDelay: r1(spec.initialDelay), interval: r1(spec.interval),
        checks: spec.checks.map((c) => ({ ...c, http: c.http && r1(c.http), nrql: c.nrql && r1(c.nrql) })) } as HealthSpec;
      const r = await runHealth(rendered, { ng, accountId, entityGuid: guid, emit: (e) => ro.sink.emit(e), signal: ro.stop, phase, appliedAt });
      return { healthy: r.healthy, reason: r.reason };
    },
  };
}
