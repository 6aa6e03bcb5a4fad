// Markers, entity resolution and health against the NerdGraph fake (real graphql-js validation).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import type { HealthSpec } from '../../src/engine/model.ts';
import { runHealth } from '../../src/observe/health.ts';
import { createMarkers, EntityResolutionError, nerdGraphFromEnv, resolveEntity } from '../../src/observe/markers.ts';
import { NerdGraphError, type NerdGraph } from '../../src/observe/nerdgraph.ts';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';

const KEY = 'NRAK-TESTKEY0000000000000000000';
const GUID = 'MXxBUE18QVBQTElDQVRJT058MQ';
let nr: NewRelicFake;
let ng: NerdGraph;
const noSleep = async (): Promise<void> => {};

beforeAll(async () => {
  nr = await startNewRelicFake({ apiKey: KEY, entities: [{ name: 'webapp-prod', guid: GUID, accountId: 1 }, { name: 'twin', guid: 'G1', accountId: 1 }, { name: 'twin', guid: 'G2', accountId: 2 }] });
  ng = nerdGraphFromEnv({ NEW_RELIC_API_KEY: KEY, NEW_RELIC_API_URL: nr.url }, undefined, noSleep)!;
});
afterAll(() => nr.stop());

const at = { file: 'rb.yml', line: 1, col: 1 };
const spec = (checks: HealthSpec['checks'], extra: Partial<HealthSpec> = {}): HealthSpec =>
  ({ at, initialDelay: 0, interval: 0, count: 3, failureLimit: 0, consecutiveErrorLimit: 1, checks, ...extra });
const deps = (events: RunEvent[]) => ({ ng, accountId: 1, entityGuid: GUID, emit: (e: RunEvent) => events.push(e), signal: new AbortController().signal,
  sleep: async () => {}, phase: 'after_tasks' as const });

describe('entity resolution', () => {
  it('resolves an exact name to its GUID', async () => {
    expect(await resolveEntity(ng, 'webapp-prod')).toEqual({ guid: GUID, name: 'webapp-prod' });
  });
  it('refuses an ambiguous name and names the candidates (Ansible takes the first)', async () => {
    const e = await resolveEntity(ng, 'twin').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EntityResolutionError);
    expect(String((e as Error).message)).toMatch(/matches 2 APM applications \(G1 in account 1, G2 in account 2\)/);
  });
  it('refuses an unknown name', async () => {
    await expect(resolveEntity(ng, 'nope')).rejects.toThrow(/no APM application named 'nope'/);
  });
});

describe('deployment markers', () => {
  it('records every field, with the run id as groupId, and an outcome marker in the same group', async () => {
    const m = createMarkers(ng, { entityGuid: GUID, runId: 'run-1', version: '6.0.36', commit: 'abc123', user: 'alice', changelog: 'PR #7 approved by @bob',
      description: 'upgrade', deepLink: 'https://github.com/o/r/pull/7', deploymentType: 'ROLLING', accountId: 1, now: () => 1700000000000 });
    const start = await m.start();
    const end = await m.outcome('rolled_back', 'login failed');
    const mine = nr.markers.filter((x) => x.groupId === 'run-1');
    expect(mine.map((x) => x.deploymentId)).toEqual([start.id, end.id]);
    expect(mine[0]).toMatchObject({ entityGuid: GUID, version: '6.0.36', commit: 'abc123', user: 'alice', changelog: 'PR #7 approved by @bob',
      deepLink: 'https://github.com/o/r/pull/7', deploymentType: 'ROLLING', timestamp: 1700000000000, description: '[start] upgrade' });
    expect(mine[1]!.description).toBe('[rolled_back] upgrade: rolled_back (login failed)');
  });

  it('does not duplicate a marker whose response was lost, nor on a second start()', async () => {
    const m = createMarkers(ng, { entityGuid: GUID, runId: 'run-2', version: '1', user: 'a', accountId: 1 });
    nr.fail('lost');
    const first = await m.start();
    const again = await m.start();
    expect(nr.markers.filter((x) => x.groupId === 'run-2')).toHaveLength(1);
    expect(again.id).toBe(first.id);
  });

  it('retries a rate limit inside a 200 response, and 5xx, then gives up within a bound', async () => {
    nr.fail('ratelimit');
    nr.fail('500');
    expect((await resolveEntity(ng, 'webapp-prod')).guid).toBe(GUID);
    nr.fail('500', 10);
    const e = await resolveEntity(ng, 'webapp-prod').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NerdGraphError);
    expect((e as NerdGraphError).status).toBe(500);
    while (true) { try { await resolveEntity(ng, 'webapp-prod'); break; } catch { /* drain the remaining faults */ } }
  });

  it('treats GraphQL errors in a 200 as errors and never prints the key', async () => {
    const bad = nerdGraphFromEnv({ NEW_RELIC_API_KEY: 'NRAK-WRONG000000000000000000000', NEW_RELIC_API_URL: nr.url }, undefined, noSleep)!;
    const e = (await resolveEntity(bad, 'webapp-prod').catch((x: unknown) => x)) as Error;
    expect(e.message).toMatch(/Invalid API key/);
    expect(e.message + String(e.stack)).not.toContain('NRAK-WRONG');
    const invalid = (await ng.query('{ actor { nosuchfield } }').catch((x: unknown) => x)) as Error;
    expect(invalid.message).toMatch(/Cannot query field "nosuchfield"/);
  });
});

describe('health', () => {
  let app: Server;
  let status = 200;
  let url = '';
  beforeAll(async () => {
    app = createServer((req, res) => {
      if (req.url === '/slow') { setTimeout(() => res.end('{}'), 300); return; }
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: status === 200 ? 'ok' : 'down', db: { ok: true } }));
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  });
  afterAll(() => app.close());

  it('passes when the app and New Relic are healthy, one event per check per measurement', async () => {
    nr.setSeries('healthy');
    nr.answer(/SELECT count\(\*\) FROM Transaction$/, [[{ count: 5 }]]);
    const events: RunEvent[] = [];
    const r = await runHealth(spec([
      { at, name: 'app', http: { url: `${url}/`, status: 200, contains: 'ok', json_path: { '$.db.ok': true } } },
      { at, name: 'apdex', preset: { kind: 'apdex_below', threshold: 0.85 } },
      { at, name: 'errors', preset: { kind: 'error_rate_above', threshold: 1 } },
      { at, name: 'custom', nrql: { query: 'SELECT count(*) FROM Transaction', fail_if: '> 100' } },
    ]), deps(events));
    expect(r.healthy).toBe(true);
    expect(events.filter((e) => e.type === 'health_measurement')).toHaveLength(12);
    expect(events.at(-1)).toMatchObject({ type: 'health_result', healthy: true });
  });

  it('a degrading series is unhealthy, and it stops as soon as that is certain', async () => {
    nr.setSeries('degrading');
    const events: RunEvent[] = [];
    const r = await runHealth(spec([{ at, name: 'apdex', preset: { kind: 'apdex_below', threshold: 0.8 } }], { failureLimit: 0 }), deps(events));
    expect(r.healthy).toBe(false);
    expect(r.reason).toMatch(/'apdex' value 0.7 matches fail_if '< 0.8'/);
    expect(events.filter((e) => e.type === 'health_measurement')).toHaveLength(2);
  });

  it('an empty NRQL result is a failed measurement, never a pass', async () => {
    nr.setSeries('empty');
    const r = await runHealth(spec([{ at, name: 'errors', preset: { kind: 'error_rate_above', threshold: 1 } }]), deps([]));
    expect(r.healthy).toBe(false);
    expect(r.reason).toMatch(/no data/);
  });

  it('checks that cannot be evaluated count against consecutive_error_limit', async () => {
    nr.setSeries('healthy');
    nr.fail('500', 50);
    const r = await runHealth(spec([{ at, name: 'apdex', preset: { kind: 'apdex_below', threshold: 0.8 } }], { consecutiveErrorLimit: 1 }),
      { ...deps([]), ng: nerdGraphFromEnv({ NEW_RELIC_API_KEY: KEY, NEW_RELIC_API_URL: nr.url }, undefined, noSleep)! });
    expect(r.healthy).toBe(false);
    expect(r.reason).toMatch(/could not be evaluated 2 times in a row/);
    while (true) { try { await resolveEntity(ng, 'webapp-prod'); break; } catch { /* drain */ } }
  });

  it('http checks fail on status, body, JSON path and latency', async () => {
    status = 503;
    const r = await runHealth(spec([{ at, name: 'app', http: { url: `${url}/`, status: 200 } }]), deps([]));
    expect(r.reason).toMatch(/returned 503, expected 200/);
    status = 200;
    const j = await runHealth(spec([{ at, name: 'app', http: { url: `${url}/`, json_path: { '$.status': 'down' } } }]), deps([]));
    expect(j.reason).toMatch(/\$.status is "ok", expected "down"/);
    const slow = await runHealth(spec([{ at, name: 'slow', http: { url: `${url}/slow`, max_latency: '100ms' } }]), deps([]));
    expect(slow.reason).toMatch(/more than 100ms/);
  });

  it('a preset without New Relic configured is an error, not a pass', async () => {
    const r = await runHealth(spec([{ at, name: 'apdex', preset: { kind: 'apdex_below', threshold: 0.8 } }], { consecutiveErrorLimit: 0 }), { ...deps([]), ng: undefined });
    expect(r.healthy).toBe(false);
  });
});
