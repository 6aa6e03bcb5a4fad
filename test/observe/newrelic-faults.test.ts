// NerdGraph client and health edge cases against the NerdGraph fake: endpoints and the API-Key
// header, Retry-After, a key echoed by the server never reaching an error, invalid documents refused
// by the fake's schema, marker dedupe without an account id, per-check error streaks, presets.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import type { HealthSpec } from '../../src/engine/model.ts';
import { Secret } from '../../src/engine/secret.ts';
import { runHealth } from '../../src/observe/health.ts';
import { isCondition } from '../../src/observe/nrql.ts';
import { accountOfGuid, createMarkers, LANDING_WAIT_MS, nerdGraphFromEnv } from '../../src/observe/markers.ts';
import { createNerdGraph, ENDPOINTS, NerdGraphError, type NerdGraph } from '../../src/observe/nerdgraph.ts';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';

const KEY = 'NRAK-FAULTS00000000000000000000';
const GUID = Buffer.from('1|APM|APPLICATION|42').toString('base64').replace(/=+$/, '');
const at = { file: 'rb.yml', line: 1, col: 1 };
let nr: NewRelicFake;
let slept: number[];
let ng: NerdGraph;

beforeAll(async () => {
  nr = await startNewRelicFake({ apiKey: KEY, entities: [{ name: 'webapp-prod', guid: GUID, accountId: 1 }] });
});
afterAll(() => nr.stop());
const fresh = (maxRetries = 4): NerdGraph => {
  slept = [];
  return createNerdGraph({ apiKey: new Secret(KEY), url: nr.url, maxRetries, sleep: async (ms) => { slept.push(ms); } });
};
const spec = (checks: HealthSpec['checks'], extra: Partial<HealthSpec> = {}): HealthSpec =>
  ({ at, initialDelay: 0, interval: 0, count: 3, failureLimit: 0, consecutiveErrorLimit: 1, checks, ...extra });
const deps = (events: RunEvent[] = [], g: NerdGraph | null = ng) => ({ ng: g ?? undefined, accountId: 1, entityGuid: GUID, emit: (e: RunEvent) => events.push(e),
  signal: new AbortController().signal, sleep: async () => {}, phase: 'after_tasks' as const, appliedAt: new Date(1_700_000_000_000) });

describe('NerdGraph client', () => {
  it('picks US, EU or NEW_RELIC_API_URL, and sends the key in the API-Key header', async () => {
    expect(createNerdGraph({ apiKey: new Secret(KEY) }).url).toBe('https://api.newrelic.com/graphql');
    expect(createNerdGraph({ apiKey: new Secret(KEY), region: 'EU' }).url).toBe(ENDPOINTS.EU);
    expect(nerdGraphFromEnv({ NEW_RELIC_API_KEY: KEY, NEW_RELIC_REGION: 'eu' })!.url).toBe('https://api.eu.newrelic.com/graphql');
    expect(nerdGraphFromEnv({ NEW_RELIC_API_KEY: KEY, NEW_RELIC_REGION: 'EU', NEW_RELIC_API_URL: nr.url })!.url).toBe(nr.url);
    expect(nerdGraphFromEnv({ NEW_RELIC_API_URL: nr.url })).toBeUndefined();
    const before = nr.requests.length;
    await fresh().query('{ actor { account(id: 1) { id } } }');
    expect(nr.requests.slice(before).map((r) => r.apiKey)).toEqual([KEY]);
  });

  it('waits at least Retry-After on a 429, and bounds retries', async () => {
    nr.fail('429');
    await fresh().query('{ actor { account(id: 1) { id } } }');
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(2000);
    nr.fail('ratelimit', 3);
    const e = (await fresh(2).query('{ actor { account(id: 1) { id } } }').catch((x: unknown) => x)) as NerdGraphError;
    expect(e).toBeInstanceOf(NerdGraphError);
    expect(e.errors[0]!.errorClass).toBe('TOO_MANY_REQUESTS');
    expect(slept).toHaveLength(2);
    await fresh().query('{ actor { account(id: 1) { id } } }'); // the third queued fault
  });

  it('never lets the API key into an error, even when the server echoes it', async () => {
    nr.fail('echokey');
    const e = (await fresh().query('{ actor { account(id: 1) { id } } }').catch((x: unknown) => x)) as NerdGraphError;
    expect(e.message).toMatch(/Key \*\*\* is not allowed/);
    expect(JSON.stringify({ m: e.message, s: e.stack, errors: e.errors })).not.toContain(KEY);
  });

  it('the fake refuses documents our schema does not allow, as NerdGraph does (200 with errors)', async () => {
    const g = fresh();
    await expect(g.query('query ($a: String!) { actor { account(id: $a) { id } } }', { a: '1' })).rejects.toThrow(/Variable "\$a" of type "String!" used in position expecting type "Int!"/);
    await expect(g.query('mutation { changeTrackingCreateDeployment(deployment: { version: "1" }) { deploymentId } }')).rejects.toThrow(/entityGuid/);
    await expect(g.query('{ actor { entitySearch(name: "x") { results { entities { guid } } } } }')).rejects.toThrow(/Unknown argument "name"/);
    const noKey = createNerdGraph({ apiKey: new Secret(''), url: nr.url, sleep: async () => {} });
    await expect(noKey.query('{ actor { account(id: 1) { id } } }')).rejects.toThrow(/Invalid API key/);
  });
});

describe('markers without an account id', () => {
  it('reads the account from the entity GUID', () => {
    expect(accountOfGuid(GUID)).toBe(1);
    expect(accountOfGuid('G1')).toBeUndefined();
  });

  it('a create whose answer was lost is looked up again after NRDB has had time, not re-sent', async () => {
    const g = fresh();
    const m = createMarkers(g, { entityGuid: GUID, runId: 'noacct-1', version: '2', user: 'bob' });
    nr.fail('pass');
    nr.fail('lost');
    const first = await m.start();
    expect(slept).toEqual([LANDING_WAIT_MS]);
    expect((await m.start()).id).toBe(first.id);
    expect(nr.markers.filter((x) => x.groupId === 'noacct-1')).toHaveLength(1);
  });

  it('a rate-limited create is re-sent after backoff and recorded once', async () => {
    const g = fresh();
    const m = createMarkers(g, { entityGuid: GUID, runId: 'noacct-2', version: '2', user: 'bob' });
    nr.fail('pass');
    nr.fail('ratelimit');
    await m.outcome('success');
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeLessThan(LANDING_WAIT_MS);
    expect(nr.markers.filter((x) => x.groupId === 'noacct-2').map((x) => x.description)).toEqual(['[success] runbook run noacct-2: success']);
  });
});

describe('health edge cases', () => {
  let app: Server;
  let url = '';
  beforeAll(async () => {
    ng = fresh(0);
    app = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(app.address() as { port: number }).port}/`;
  });
  afterAll(() => app.close());

  it('a check that keeps erroring is not excused by another check that passes', async () => {
    const events: RunEvent[] = [];
    const r = await runHealth(spec([{ at, name: 'app', http: { url } }, { at, name: 'errors', nrql: { query: 'SELECT count(*) FROM Transaction', fail_if: '> 5' } }]),
      deps(events, null));
    expect(r).toMatchObject({ healthy: false, errors: 2 });
    expect(r.reason).toMatch(/'errors' could not be evaluated 2 times in a row/);
    expect(events.filter((e) => e.type === 'health_measurement' && e.check === 'errors').map((e) => (e as { error?: string }).error))
      .toEqual([expect.stringMatching(/^cannot evaluate: New Relic is not configured/), expect.stringMatching(/^cannot evaluate/)]);
  });

  it('a check never evaluated in any measurement cannot make the run healthy', async () => {
    const r = await runHealth(spec([{ at, name: 'app', http: { url } }, { at, name: 'nr', preset: { kind: 'apdex_below', threshold: 0.5 } }],
      { count: 2, consecutiveErrorLimit: 5 }), deps([], null));
    expect(r).toMatchObject({ healthy: false, failed: 0, errors: 2 });
    expect(r.reason).toMatch(/'nr' could not be evaluated in any of 2 measurements/);
  });

  it('a rate-limited NRQL series is an error, never a pass', async () => {
    nr.setSeries('ratelimited');
    const r = await runHealth(spec([{ at, name: 'apdex', preset: { kind: 'apdex_below', threshold: 0.5 } }]), deps());
    expect(r.healthy).toBe(false);
    expect(r.reason).toMatch(/could not be evaluated 2 times in a row: .*Too many NRQL queries/);
    nr.setSeries('healthy');
  });

  it('an app that refuses connections fails; a URL that cannot be parsed is an error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const down = await runHealth(spec([{ at, name: 'down', http: { url: `http://127.0.0.1:${port}/` } }]), deps());
    expect(down).toMatchObject({ healthy: false, failed: 1, errors: 0 });
    expect(down.reason).toMatch(/ECONNREFUSED/);
    const bad = await runHealth(spec([{ at, name: 'bad', http: { url: 'http://[::1' } }]), deps());
    expect(bad).toMatchObject({ healthy: false, failed: 0, errors: 2 });
  });

  it('throughput_drop_above compares with the same window before the apply', async () => {
    nr.answer(/rate\(count\(\*\), 1 minute\).*UNTIL 1700000000000/, [[{ result: 100 }]]);
    nr.answer(/rate\(count\(\*\), 1 minute\).*SINCE 120 seconds ago/, [[{ result: 90 }], [{ result: 30 }]]);
    const before = nr.requests.length;
    const r = await runHealth(spec([{ at, name: 'tp', preset: { kind: 'throughput_drop_above', threshold: 50, window: '2m' } }], { count: 2 }), deps());
    expect(r.healthy).toBe(false);
    expect(r.reason).toMatch(/throughput dropped 70.0% \(limit 50%\)/);
    expect(nr.requests.slice(before).map((q) => q.variables?.nrql)).toContain(`SELECT rate(count(*), 1 minute) AS result FROM Transaction WHERE entityGuid = '${GUID}' SINCE 1699999880000 UNTIL 1700000000000`);
  });

  it('p95_latency_above fails on a slow p95 and passes a fast one', async () => {
    nr.answer(/percentile\(duration, 95\)/, [[{ result: 0.4 }], [{ result: 2.5 }]]);
    const r = await runHealth(spec([{ at, name: 'p95', preset: { kind: 'p95_latency_above', threshold: 1 } }], { count: 3, failureLimit: 0 }), deps());
    expect(r).toMatchObject({ healthy: false, failed: 1 });
    expect(r.reason).toMatch(/value 2.5 matches fail_if '> 1'/);
  });
});

describe('health and interrupts', () => {
  it('an abort during the wait stops health with the abort, not a verdict', async () => {
    const ctl = new AbortController();
    const events: RunEvent[] = [];
    const started = Date.now();
    setTimeout(() => ctl.abort(new Error('SIGINT')), 50);
    const r = runHealth(spec([{ at, name: 'x', nrql: { query: 'SELECT 1', fail_if: '> 5' } }], { initialDelay: '10s' }),
      { ...deps(events), signal: ctl.signal, sleep: undefined });
    await expect(r).rejects.toThrow(/SIGINT/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(events).toEqual([]);
  });
});

it('conditions are an operator and a number', () => {
  expect(['> 1', '< 0.9', '>= 2', '<=-1', '== 0', '!= 3'].every(isCondition)).toBe(true);
  expect(['>1%', 'above 1', '> x', ''].some(isCondition)).toBe(false);
});

it('a create that keeps failing with 5xx waits for NRDB once, then backs off, and gives up bounded', async () => {
  const g = fresh(0);
  const m = createMarkers(g, { entityGuid: GUID, runId: 'flaky-1', version: '1', user: 'u' });
  for (let i = 0; i < 5; i++) { nr.fail('pass'); nr.fail('500'); }
  const e = await m.start().catch((x: unknown) => x);
  expect(e).toBeInstanceOf(NerdGraphError);
  expect(slept.filter((ms) => ms === LANDING_WAIT_MS)).toHaveLength(1);
  expect(slept).toHaveLength(4);
  expect(nr.markers.filter((x) => x.groupId === 'flaky-1')).toHaveLength(0);
});
