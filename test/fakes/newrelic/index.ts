// A NerdGraph fake on 127.0.0.1: every GraphQL document is parsed, validated and executed by
// graphql-js against a schema of exactly the operations runbook uses. It checks the API-Key,
// stores deployment markers, answers entitySearch from configured entities and NRQL from
// scripted series, and can fail on purpose (500, 429 with Retry-After, rate limit inside a 200,
// malformed JSON, a lost answer, an error that echoes the API key).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { buildSchema, graphql, GraphQLError } from 'graphql';

const SDL = `
scalar EntityGuid
scalar Nrql
scalar EpochMilliseconds
scalar NrdbResult
type Query { actor: Actor }
type Actor {
  entitySearch(query: String, queryBuilder: EntitySearchQueryBuilder): EntitySearch
  account(id: Int!): Account
}
input EntitySearchQueryBuilder { name: String, domain: String, type: String }
type EntitySearch { results(cursor: String): EntitySearchResult }
type EntitySearchResult { entities: [EntityOutline!]!, nextCursor: String }
type EntityOutline { guid: EntityGuid!, name: String!, entityType: String, accountId: Int }
type Account { id: Int!, nrql(query: Nrql!, timeout: Int): NrdbResultContainer }
type NrdbResultContainer { results: [NrdbResult!]! }
enum ChangeTrackingDeploymentType { BASIC BLUE_GREEN CANARY OTHER ROLLING SHADOW }
input ChangeTrackingDataHandlingRules { validationFlags: [String] }
input ChangeTrackingDeploymentInput {
  entityGuid: EntityGuid!, version: String!, changelog: String, commit: String, deepLink: String,
  deploymentType: ChangeTrackingDeploymentType, description: String, groupId: String, timestamp: EpochMilliseconds, user: String
}
type ChangeTrackingDeployment {
  deploymentId: String!, entityGuid: EntityGuid!, version: String!, changelog: String, commit: String, deepLink: String,
  deploymentType: ChangeTrackingDeploymentType, description: String, groupId: String, timestamp: EpochMilliseconds, user: String
}
type Mutation {
  changeTrackingCreateDeployment(deployment: ChangeTrackingDeploymentInput!, dataHandlingRules: ChangeTrackingDataHandlingRules): ChangeTrackingDeployment
}`;

const schema = buildSchema(SDL);

export type FakeEntity = { name: string; guid: string; accountId?: number; entityType?: string };
export type Marker = { deploymentId: string; entityGuid: string; version: string; changelog?: string; commit?: string; deepLink?: string;
  deploymentType?: string; description?: string; groupId?: string; timestamp?: number; user?: string };
/** ratelimited: every NRQL answer is a 200 whose `errors` say TOO_MANY_REQUESTS (partial data, as NerdGraph does). */
export type Series = 'healthy' | 'degrading' | 'empty' | 'ratelimited';
export type Fault = '500' | '429' | 'ratelimit' | 'malformed' | 'slow' | 'drop' | 'lost' | 'echokey' | 'pass';
export type FakeRequest = { query: string; variables?: Record<string, unknown>; apiKey?: string };

export type NewRelicFake = {
  url: string;
  markers: Marker[];
  requests: FakeRequest[];
  entities: FakeEntity[];
  /** Which scripted series NRQL health queries read from now on. */
  setSeries(series: Series): void;
  /** Answer NRQL whose text matches `pattern` with these results (one list per call; the last repeats). */
  answer(pattern: RegExp, results: unknown[][]): void;
  /** The next `count` requests fail this way, after any queued before ('pass' answers normally). */
  fail(fault: Fault, count?: number): void;
  stop(): Promise<void>;
};

const HEALTHY: Record<string, number> = { apdex: 0.97, error: 0.2, percentile: 0.25, rate: 120 };
const DEGRADING: Record<string, number[]> = { apdex: [0.9, 0.7, 0.5], error: [2, 8, 15], percentile: [1.5, 3, 6], rate: [60, 20, 5] };

function metricOf(nrql: string): string | undefined {
  if (/apdex\(/i.test(nrql)) return 'apdex';
  if (/WHERE error IS true/i.test(nrql)) return 'error';
  if (/percentile\(/i.test(nrql)) return 'percentile';
  if (/rate\(count/i.test(nrql)) return 'rate';
  return undefined;
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += c;
  return s;
}

export async function startNewRelicFake(opts: { apiKey?: string; entities?: FakeEntity[]; series?: Series } = {}): Promise<NewRelicFake> {
  const markers: Marker[] = [];
  const requests: FakeRequest[] = [];
  const entities = [...(opts.entities ?? [])];
  const scripted: { pattern: RegExp; results: unknown[][]; calls: number }[] = [];
  const faults: Fault[] = [];
  let series: Series = opts.series ?? 'healthy';
  const counters = new Map<string, number>();

  const nrql = (query: string): unknown[] => {
    const hit = scripted.find((s) => s.pattern.test(query));
    if (hit) return hit.results[Math.min(hit.calls++, hit.results.length - 1)] ?? [];
    const deploy = /FROM Deployment WHERE groupId = '([^']*)' AND description LIKE '\[([^\]]*)\]%'/.exec(query);
    if (deploy) return markers.filter((m) => m.groupId === deploy[1] && m.description?.startsWith(`[${deploy[2]}]`)).map((m) => ({ deploymentId: m.deploymentId }));
    if (series === 'ratelimited') throw new GraphQLError('Too many NRQL queries', { extensions: { errorClass: 'TOO_MANY_REQUESTS' } });
    const metric = metricOf(query);
    if (!metric || series === 'empty') return [];
    const n = counters.get(metric) ?? 0;
    counters.set(metric, n + 1);
    const value = series === 'healthy' ? HEALTHY[metric]! : DEGRADING[metric]![Math.min(n, 2)]!;
    return [metric === 'apdex' ? { score: value, s: 100, t: 2, f: 1 } : { result: value }];
  };

  const root = {
    actor: () => ({
      entitySearch: ({ query }: { query?: string }) => ({
        results: () => {
          const name = /name = '((?:[^'\\]|\\.)*)'/.exec(query ?? '')?.[1]?.replace(/\\(.)/g, '$1');
          const account = /accountId = '(\d+)'/.exec(query ?? '')?.[1];
          const found = entities.filter((e) => (!name || e.name === name) && (!account || String(e.accountId) === account));
          return { entities: found.map((e) => ({ entityType: 'APM_APPLICATION_ENTITY', ...e })), nextCursor: null };
        },
      }),
      account: ({ id }: { id: number }) => ({ id, nrql: ({ query }: { query: string }) => ({ results: nrql(query) }) }),
    }),
    changeTrackingCreateDeployment: ({ deployment }: { deployment: Omit<Marker, 'deploymentId'> }) => {
      if (!entities.some((e) => e.guid === deployment.entityGuid)) throw new Error(`Entity ${deployment.entityGuid} not found`);
      const m: Marker = { deploymentId: `dep-${markers.length + 1}`, ...deployment };
      markers.push(m);
      return m;
    },
  };

  const server: Server = createServer(async (req, res) => {
    const text = await body(req);
    const apiKey = req.headers['api-key'] as string | undefined;
    let parsed: FakeRequest;
    try { parsed = JSON.parse(text) as FakeRequest; } catch { res.statusCode = 400; res.end('{"errors":[{"message":"invalid JSON"}]}'); return; }
    requests.push({ ...parsed, apiKey });
    const fault = faults.shift();
    if (fault === 'drop') { req.socket.destroy(); return; }
    if (fault === '500' || fault === '429') {
      if (fault === '429') res.setHeader('retry-after', '2');
      res.statusCode = Number(fault);
      res.end('{"error":"fault injected"}');
      return;
    }
    if (fault === 'malformed') { res.setHeader('content-type', 'application/json'); res.end('{"data": {"actor": '); return; }
    if (fault === 'slow') await new Promise((r) => setTimeout(r, 1500));
    res.setHeader('content-type', 'application/json');
    if (fault === 'echokey') { res.end(JSON.stringify({ errors: [{ message: `Key ${apiKey} is not allowed for account 1` }] })); return; }
    if (fault === 'ratelimit') { res.end(JSON.stringify({ errors: [{ message: 'Too many requests', extensions: { errorClass: 'TOO_MANY_REQUESTS' } }] })); return; }
    if (opts.apiKey && apiKey !== opts.apiKey) { res.end(JSON.stringify({ errors: [{ message: 'Invalid API key', extensions: { errorClass: 'UNAUTHORIZED' } }] })); return; }
    const result = await graphql({ schema, source: parsed.query, variableValues: parsed.variables, rootValue: root });
    if (fault === 'lost') { req.socket.destroy(); return; } // executed, but the answer never arrives
    res.end(JSON.stringify(result));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/graphql`, markers, requests, entities,
    setSeries: (s) => { series = s; counters.clear(); },
    answer: (pattern, results) => { scripted.unshift({ pattern, results, calls: 0 }); },
    fail: (f, count = 1) => { for (let i = 0; i < count; i++) faults.push(f); },
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
