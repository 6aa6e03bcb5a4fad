// http: GET/HEAD are probes (ok / fail with why), other methods are `call` changes; against a real
// node:http server on 127.0.0.1 (status, contains, json_path, form/json bodies, secrets, timeouts).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/engine/secret.ts';
import http from '../../src/tasks/http.ts';
import { jsonPath } from '../../src/engine/json-path.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { freePort } from '../helpers/free-port.ts';
import { localHost } from '../helpers/local-host.ts';

const U = 'http://127.0.0.1:9/health';
const resp = (status: number, content: string) => ({ value: { ok: true, response: { status, content, json: safeJson(content), elapsed: 3, url: U, headers: {} } } });
function safeJson(s: string): unknown { try { return JSON.parse(s); } catch { return undefined; } }

describeTask(http, {
  ok: [
    { name: 'status 200 and json_path', args: { url: U, json_path: { '$.status': 'ok', '$.checks[1].up': true } }, facts: { [`http:GET ${U}`]: resp(200, '{"status":"ok","checks":[{"up":false},{"up":true}]}') },
      why: `GET ${U}: 200`, result: { status: 200, json: { status: 'ok' } } },
    { name: 'a status list and contains', args: { url: U, status: [200, '204'], contains: 'ready' }, facts: { [`http:GET ${U}`]: resp(204, 'all ready') } },
    { name: 'a number expected, a string rendered', args: { url: U, json_path: { '$.n': '3' } }, facts: { [`http:GET ${U}`]: resp(200, '{"n":3}') } },
  ],
  fail: [
    { name: 'wrong status', args: { url: U }, facts: { [`http:GET ${U}`]: resp(503, 'down') }, why: `GET ${U}: expected status 200, got 503` },
    { name: 'missing text', args: { url: U, contains: 'ready' }, facts: { [`http:GET ${U}`]: resp(200, 'booting') }, why: 'body does not contain "ready"' },
    { name: 'json_path mismatch', args: { url: U, json_path: { '$.status': 'ok' } }, facts: { [`http:GET ${U}`]: resp(200, '{"status":"down"}') }, why: '$.status: expected "ok", got "down"' },
    { name: 'not json', args: { url: U, json_path: { '$.a': 1 } }, facts: { [`http:GET ${U}`]: resp(200, '<html>') }, why: '$.a: the body is not JSON' },
    { name: 'connection refused', args: { url: U }, facts: { [`http:GET ${U}`]: { value: { ok: false, error: `GET ${U}: ECONNREFUSED` } } }, why: 'ECONNREFUSED' },
  ],
  change: [{ name: 'POST is a call change', args: { url: U, method: 'POST', json: { a: 1 } }, changes: [{ kind: 'call', why: `will POST ${U}` }] }],
  invalid: [
    { args: { url: 'ftp://x' }, error: 'url: must match pattern "^https?://"' },
    { args: { url: U, method: 'FETCH' }, error: 'method: must be equal to one of the allowed values' },
    { args: { url: U, body: 'a', json: {} }, error: 'must NOT be valid' },
    { args: { url: U, retries: -1 }, error: 'retries: must match a schema in anyOf' },
    { args: { url: U, retry_delay: 'soon' }, error: 'retry_delay: must match a schema in anyOf' },
  ],
  valid: [{ url: U, status: [200, 301], headers: { Authorization: 'Bearer x' }, timeout: 5, retries: 3, retry_delay: 0.5 }, { url: U, retries: '2', retry_delay: '1' }, { url: U, method: 'PUT', form: { a: 'b', n: 1 } }],
});

describe('jsonPath', () => {
  it('walks keys and indexes', () => {
    expect(jsonPath({ a: { b: [1, { c: 'x' }] } }, '$.a.b[1].c')).toBe('x');
    expect(jsonPath({ a: 1 }, '$.a.b')).toBeUndefined();
    expect(jsonPath([5], '$[0]')).toBe(5);
  });
});

describe('http against a local server', async () => {
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const hits = new Map<string, number>();
  let base = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/slow') { setTimeout(() => res.end('late'), 3000); return; }
      const flaky = /^\/flaky\/(\w+)\?fail=(\d+)&then=(\d+)$/.exec(req.url!);
      if (flaky) {
        const n = (hits.get(flaky[1]!) ?? 0) + 1;
        hits.set(flaky[1]!, n);
        res.statusCode = n <= Number(flaky[2]) ? 503 : Number(flaky[3]);
        res.end(n <= Number(flaky[2]) ? 'busy' : 'ready');
        return;
      }
      if (req.url === '/health') { res.setHeader('content-type', 'application/json'); res.end('{"status":"ok","version":"1.2"}'); return; }
      if (req.url === '/items' && req.method === 'POST') { res.statusCode = 201; res.end(JSON.stringify({ got: body })); return; }
      res.statusCode = 404;
      res.end('nope');
    });
  });
  beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', () => { base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`; r(); })));
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const h = await localHost();

  it('GET with expectations is ok and carries status, content, json, elapsed', async () => {
    const r = await h.check(http, { url: `${base}/health`, json_path: { '$.status': 'ok' }, contains: 'version' });
    expect(r).toMatchObject({ status: 'ok', result: { status: 200, json: { status: 'ok', version: '1.2' } } });
    expect(r.status === 'ok' && typeof r.result?.elapsed).toBe('number');
  });
  it('GET 404 fails with the reason; plan/apply never send a GET as a change', async () => {
    expect(await h.check(http, { url: `${base}/missing` })).toMatchObject({ status: 'fail', why: `GET ${base}/missing: expected status 200, got 404` });
  });
  it('a timeout and a refused connection are clear failures', async () => {
    expect(await h.check(http, { url: `${base}/slow`, timeout: 0.3 })).toMatchObject({ status: 'fail', why: `GET ${base}/slow: no answer within 0.3s` });
    const closed = await freePort();
    expect(await h.check(http, { url: `http://127.0.0.1:${closed}/` })).toMatchObject({ status: 'fail', why: `GET http://127.0.0.1:${closed}/: ECONNREFUSED` });
  });
  it('POST is not sent by check; apply sends it once with the JSON body and a secret header', async () => {
    const before = seen.length;
    const args = { url: `${base}/items`, method: 'POST', json: { name: 'a b' }, status: 201, headers: { Authorization: new Secret('Bearer t0ken') } };
    const c = await h.check(http, args);
    expect(c).toMatchObject({ status: 'change', changes: [{ kind: 'call', why: `will POST ${base}/items` }] });
    expect(seen.length).toBe(before);
    const r = await h.apply(http, args);
    expect(r.outcomes[0]).toMatchObject({ ok: true, result: { status: 201, json: { got: '{"name":"a b"}' } } });
    const sent = seen[seen.length - 1]!;
    expect(sent).toMatchObject({ method: 'POST', body: '{"name":"a b"}', headers: { authorization: 'Bearer t0ken', 'content-type': 'application/json' } });
  });
  it('a call whose expectation fails throws a clear error; form bodies are urlencoded', async () => {
    const args = { url: `${base}/items`, method: 'POST', form: { a: 'x y', n: 2 } };
    await expect(h.apply(http, args)).rejects.toThrow(`POST ${base}/items: expected status 200, got 201`);
    expect(seen[seen.length - 1]!.body).toBe('a=x+y&n=2');
  });
  it('retries: a GET is tried again until its expectations hold, retry_delay apart', async () => {
    const t0 = Date.now();
    const r = await h.check(http, { url: `${base}/flaky/get?fail=2&then=200`, contains: 'ready', retries: 3, retry_delay: 0.1 });
    expect(r).toMatchObject({ status: 'ok', why: `GET ${base}/flaky/get?fail=2&then=200: 200 (after 3 attempts)`, result: { requests: 3 } });
    expect(hits.get('get')).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    const gave = await h.check(http, { url: `${base}/flaky/never?fail=9&then=200`, retries: '1', retry_delay: 0 });
    expect(gave).toMatchObject({ status: 'fail', why: `GET ${base}/flaky/never?fail=9&then=200: expected status 200, got 503 (after 2 attempts)` });
    expect(hits.get('never')).toBe(2);
    const closed = await freePort();
    expect(await h.check(http, { url: `http://127.0.0.1:${closed}/`, retries: 2, retry_delay: 0 })).toMatchObject({ status: 'fail', why: /ECONNREFUSED \(after 3 attempts\)$/ });
    expect(await h.check(http, { url: `${base}/flaky/once?fail=0&then=200` })).toMatchObject({ status: 'ok', result: { requests: 1 } });
  });
  it('retries: a POST is sent again only after a 503, never after an answer that does not match', async () => {
    const r = await h.apply(http, { url: `${base}/flaky/post?fail=1&then=201`, method: 'POST', body: 'x', status: 201, retries: 2, retry_delay: 0 });
    expect(r.outcomes[0]).toMatchObject({ ok: true, result: { status: 201, requests: 2 } });
    expect(hits.get('post')).toBe(2);
    await expect(h.apply(http, { url: `${base}/flaky/wrong?fail=0&then=201`, method: 'POST', retries: 3, retry_delay: 0 })).rejects.toThrow('expected status 200, got 201');
    expect(hits.get('wrong')).toBe(1);
  });
  it('a secret URL never shows in the message', async () => {
    const r = await h.check(http, { url: new Secret(`${base}/missing?token=abc123`) as unknown as string });
    expect(r.status).toBe('fail');
    expect(JSON.stringify(r)).not.toContain('abc123');
  });
});
