// The HTTP request and expectation checks of the http module (controller side, global fetch).
// A secret in the URL, a header or the body is sent, never printed: messages use the shown text.
import { sleep } from '../engine/duration.ts';
import { Secret } from '../engine/secret.ts';
import { jsonPath } from '../engine/json-path.ts';

export type HttpArgs = {
  url: string | Secret;
  method?: string;
  headers?: Readonly<Record<string, string | Secret>>;
  body?: string | Secret;
  form?: Readonly<Record<string, string | number | boolean | Secret>>;
  json?: unknown;
  status?: number | string | readonly (number | string)[];
  contains?: string;
  json_path?: Readonly<Record<string, unknown>>;
  timeout?: number | string;
  retries?: number | string;
  retry_delay?: number | string;
};

export type HttpResponse = { status: number; content: string; json?: unknown; elapsed: number; url: string; headers: Record<string, string> };
export type HttpOutcome = ({ ok: true; response: HttpResponse } | { ok: false; error: string }) & { attempts?: number };

const text = (v: string | number | boolean | Secret): string => (v instanceof Secret ? v.reveal() : String(v));
const deepReveal = (v: unknown): unknown => v instanceof Secret ? v.reveal()
  : Array.isArray(v) ? v.map(deepReveal) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepReveal(x)])) : v;

function requestInit(a: HttpArgs, method: string, signal: AbortSignal): RequestInit {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.headers ?? {})) headers[k] = text(v);
  let body: string | undefined;
  if (a.json !== undefined) {
    body = JSON.stringify(deepReveal(a.json));
    headers['content-type'] ??= 'application/json';
  } else if (a.form) {
    body = new URLSearchParams(Object.entries(a.form).map(([k, v]): [string, string] => [k, text(v)])).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (a.body !== undefined) body = text(a.body);
  return { method, headers, body, signal, redirect: 'follow' };
}

/** Perform the request; a network failure or timeout is an outcome, not an exception. */
export async function request(a: HttpArgs, signal: AbortSignal): Promise<HttpOutcome> {
  const method = (a.method ?? 'GET').toUpperCase();
  const limit = AbortSignal.timeout(Number(a.timeout ?? 30) * 1000);
  const started = performance.now();
  try {
    const res = await fetch(text(a.url), requestInit(a, method, AbortSignal.any([signal, limit])));
    const content = await res.text();
    let json: unknown;
    try {
      json = content ? JSON.parse(content) : undefined;
    } catch {
      json = undefined;
    }
    const headers = Object.fromEntries(res.headers.entries());
    return { ok: true, response: { status: res.status, content, ...(json !== undefined ? { json } : {}), elapsed: Math.round(performance.now() - started), url: String(a.url), headers } };
  } catch (e) {
    if (signal.aborted) throw e;
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = limit.aborted ? `no answer within ${Number(a.timeout ?? 30)}s` : err.cause?.code ?? err.cause?.message ?? err.message;
    return { ok: false, error: `${method} ${String(a.url)}: ${why}` };
  }
}

/** Up to 1 + `retries` requests, `retry_delay` seconds apart, while `again` says the answer is not final. */
export async function requestRetrying(a: HttpArgs, signal: AbortSignal, again: (o: HttpOutcome) => boolean): Promise<HttpOutcome> {
  const retries = Number(a.retries ?? 0);
  for (let i = 0; ; i++) {
    const o = await request(a, signal);
    if (i >= retries || !again(o)) return { ...o, attempts: i + 1 };
    await sleep(Number(a.retry_delay ?? 1) * 1000, signal);
  }
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b) || (typeof a !== 'object' && typeof b !== 'object' && String(a) === String(b));

/** Every expectation that does not hold, as text ([] = all good). */
export function unmet(a: HttpArgs, r: HttpResponse): string[] {
  const method = (a.method ?? 'GET').toUpperCase();
  const want = (Array.isArray(a.status) ? a.status : [a.status ?? 200]).map(Number);
  const out: string[] = [];
  if (!want.includes(r.status)) out.push(`expected status ${want.join(' or ')}, got ${r.status}`);
  if (a.contains !== undefined && !r.content.includes(a.contains)) out.push(`body does not contain ${JSON.stringify(a.contains)}`);
  for (const [path, expected] of Object.entries(a.json_path ?? {})) {
    if (r.json === undefined) { out.push(`${path}: the body is not JSON`); continue; }
    const got = jsonPath(r.json, path);
    if (!same(got, expected)) out.push(`${path}: expected ${JSON.stringify(expected)}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
  }
  return out.map((m) => `${method} ${r.url}: ${m}`);
}
