// New Relic deployment markers through NerdGraph change tracking: the app name resolves to
// exactly one APM entity (ambiguity is refused), a start marker and an outcome marker share the
// run id as groupId, and a marker that already exists for this run and kind is never re-sent.
// Outcome design: a second changeTrackingCreateDeployment in the same groupId whose description
// starts with `[success]`, `[rolled_back]`, `[failed]` or `[interrupted]` (the start one with `[start]`).
import { RunbookError } from '../errors.ts';
import { Secret } from '../engine/secret.ts';
import { backoff, createNerdGraph, NerdGraphError, type NerdGraph } from './nerdgraph.ts';

export class EntityResolutionError extends RunbookError {
  constructor(message: string) { super(message, 2); }
}

export function nerdGraphFromEnv(env: NodeJS.ProcessEnv, fetchImpl?: typeof fetch, sleep?: (ms: number) => Promise<void>): NerdGraph | undefined {
  const key = env.NEW_RELIC_API_KEY;
  if (!key) return undefined;
  const region = env.NEW_RELIC_REGION?.toUpperCase() === 'EU' ? 'EU' : 'US';
  return createNerdGraph({ apiKey: new Secret(key, 'NEW_RELIC_API_KEY'), region, url: env.NEW_RELIC_API_URL || undefined, fetch: fetchImpl, sleep });
}

const gqlString = (s: string): string => JSON.stringify(s).slice(1, -1).replace(/'/g, "\\'");

type Entity = { guid: string; name: string; entityType?: string; accountId?: number };

export async function resolveEntity(ng: NerdGraph, name: string, accountId?: number): Promise<{ guid: string; name: string }> {
  const query = `name = '${gqlString(name)}' AND domain = 'APM' AND type = 'APPLICATION'${accountId ? ` AND accountId = '${accountId}'` : ''}`;
  const data = await ng.query<{ actor: { entitySearch: { results: { entities: Entity[]; nextCursor?: string | null } } } }>(
    'query ($query: String!) { actor { entitySearch(query: $query) { results { entities { guid name entityType accountId } nextCursor } } } }', { query });
  const exact = data.actor.entitySearch.results.entities.filter((e) => e.name === name);
  if (exact.length === 0) throw new EntityResolutionError(`no APM application named '${name}' in New Relic${accountId ? ` account ${accountId}` : ''}`);
  if (exact.length > 1) {
    throw new EntityResolutionError(`'${name}' matches ${exact.length} APM applications (${exact.map((e) => `${e.guid}${e.accountId ? ` in account ${e.accountId}` : ''}`).join(', ')}); set newrelic.guid in the runbook to choose one`);
  }
  return { guid: exact[0]!.guid, name: exact[0]!.name };
}

export type MarkerOpts = { entityGuid: string; runId: string; version: string; commit?: string; user: string; changelog?: string;
  description?: string; deepLink?: string; deploymentType?: string; accountId?: number; now?: () => number };

export type Outcome = 'success' | 'rolled_back' | 'failed' | 'interrupted';

const CREATE = `mutation ($deployment: ChangeTrackingDeploymentInput!) {
  changeTrackingCreateDeployment(deployment: $deployment) { deploymentId entityGuid }
}`;

/** An entity GUID is base64 of `accountId|DOMAIN|TYPE|id`: the account to query when none is configured. */
export function accountOfGuid(guid: string): number | undefined {
  const first = Buffer.from(guid.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8').split('|')[0] ?? '';
  return /^\d{1,12}$/.test(first) ? Number(first) : undefined;
}

/** Markers already recorded for this run and kind: NRQL on `Deployment` events (where change tracking stores them). */
async function existing(ng: NerdGraph, o: MarkerOpts, kind: string): Promise<string | undefined> {
  const account = o.accountId ?? accountOfGuid(o.entityGuid);
  if (!account) return undefined;
  const nrql = `SELECT deploymentId FROM Deployment WHERE groupId = '${gqlString(o.runId)}' AND description LIKE '[${kind}]%' SINCE 1 day ago LIMIT 1`;
  const data = await ng.query<{ actor: { account: { nrql: { results: { deploymentId?: string }[] } } } }>(
    'query ($account: Int!, $nrql: Nrql!) { actor { account(id: $account) { nrql(query: $nrql) { results } } } }', { account, nrql });
  return data.actor.account.nrql.results[0]?.deploymentId;
}

/** NRDB shows a new Deployment event after a few seconds: how long to wait before looking for a create that may have landed. */
export const LANDING_WAIT_MS = 5000;

/**
 * Look up, then create without blind retries: a create whose answer was lost (no answer, 5xx) is
 * looked for again after LANDING_WAIT_MS before it is re-sent; a rate-limited one is re-sent after backoff.
 */
async function send(ng: NerdGraph, o: MarkerOpts, kind: string, text: string): Promise<{ id: string }> {
  let waitedForLanding = false; // once per marker: bounds a flaky API to ~5 s + 4 backoffs
  for (let attempt = 0; ; attempt++) {
    const found = await existing(ng, o, kind);
    if (found) return { id: found };
    try {
      return await create(ng, o, kind, text);
    } catch (e) {
      if (!(e instanceof NerdGraphError) || !e.retryable || attempt >= 4) throw e;
      const landing: boolean = e.mayHaveLanded && !waitedForLanding;
      waitedForLanding ||= landing;
      await ng.sleep(landing ? LANDING_WAIT_MS : Math.max(backoff(attempt), e.retryAfterMs ?? 0));
    }
  }
}

async function create(ng: NerdGraph, o: MarkerOpts, kind: string, text: string): Promise<{ id: string }> {
  const deployment = {
    entityGuid: o.entityGuid, version: o.version, groupId: o.runId, user: o.user, timestamp: (o.now ?? Date.now)(),
    description: `[${kind}] ${text}`.slice(0, 1000),
    ...(o.commit ? { commit: o.commit } : {}), ...(o.changelog ? { changelog: o.changelog.slice(0, 4000) } : {}),
    ...(o.deepLink ? { deepLink: o.deepLink } : {}), ...(o.deploymentType ? { deploymentType: o.deploymentType } : {}),
  };
  const data = await ng.query<{ changeTrackingCreateDeployment: { deploymentId: string } }>(CREATE, { deployment }, { retries: 0 });
  return { id: data.changeTrackingCreateDeployment.deploymentId };
}

export function createMarkers(ng: NerdGraph, o: MarkerOpts): { start(): Promise<{ id: string }>; outcome(outcome: Outcome, detail?: string): Promise<{ id: string }> } {
  return {
    start: () => send(ng, o, 'start', o.description ?? `runbook run ${o.runId}`),
    outcome: (outcome, detail) => send(ng, o, outcome, `${o.description ?? `runbook run ${o.runId}`}: ${outcome}${detail ? ` (${detail})` : ''}`),
  };
}
