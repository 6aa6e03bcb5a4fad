// The HTTP health check, from the engine host: method, headers, form/json/body, expected status,
// body text, JSON path values and latency. Secret values (URL, headers, form) are revealed only on the wire.
// An app that refuses, resets or does not answer in time FAILS the check; a name that does not resolve
// or a URL that cannot be parsed is an ERROR (the check could not be evaluated from this host).
import { parseDuration } from '../engine/duration.ts';
import type { HttpCheckSpec } from '../engine/model.ts';
import { redactText, Secret } from '../engine/secret.ts';
import { secretsIn } from '../engine/template-values.ts';
import type { CheckResult } from './check-result.ts';
import { jsonPath } from '../engine/json-path.ts';

const plain = (v: unknown): string => (v instanceof Secret ? v.reveal() : String(v));

function request(c: HttpCheckSpec): { init: RequestInit; timeoutMs: number } {
  const headers: Record<string, string> = Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k, plain(v)]));
  let body: string | undefined;
  if (c.form) { body = new URLSearchParams(Object.entries(c.form).map(([k, v]): [string, string] => [k, plain(v)])).toString(); headers['content-type'] ??= 'application/x-www-form-urlencoded'; }
  else if (c.json !== undefined) { body = JSON.stringify(c.json, (_k, v) => (v instanceof Secret ? v.reveal() : v)); headers['content-type'] ??= 'application/json'; }
  else if (c.body !== undefined) body = plain(c.body);
  const method = c.method ?? (body !== undefined ? 'POST' : 'GET');
  return { init: { method, headers, body, redirect: 'manual' }, timeoutMs: c.timeout !== undefined ? parseDuration(c.timeout) : 10_000 };
}

const CANNOT_EVALUATE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ERR_INVALID_URL', 'ERR_INVALID_ARG_TYPE']);

/** fetch() says only "fetch failed": the reason is in the cause chain (ECONNREFUSED, ENOTFOUND, ...). */
function networkFailure(e: unknown, what: string, timeoutMs: number): CheckResult {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return { ok: false, why: `${what}: no answer within ${timeoutMs} ms` };
  const code = err.cause?.code ?? (err as { code?: string }).code;
  const text = `${what}: ${err.message}${err.cause ? ` (${code ?? err.cause.message})` : ''}`;
  return code && CANNOT_EVALUATE.has(code) ? { ok: false, error: text } : { ok: false, why: text };
}

export async function httpCheck(c: HttpCheckSpec, f: typeof fetch, signal: AbortSignal): Promise<CheckResult> {
  const { init, timeoutMs } = request(c);
  const started = performance.now();
  let res: Response;
  let text: string;
  try {
    res = await f(plain(c.url), { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
    text = await res.text();
  } catch (e) {
    if (signal.aborted) throw e;
    return networkFailure(e, `${init.method} ${String(c.url)}`, timeoutMs);
  }
  const ms = Math.round(performance.now() - started);
  const want = c.status === undefined ? [200] : Array.isArray(c.status) ? c.status : [c.status];
  // an app may echo what it was sent (a login form's password): blank the secrets in the excerpt
  const excerpt = redactText(text, secretsIn(c)).replace(/<[^>]+>/g, ' ').trim().slice(0, 120);
  if (!want.includes(res.status)) return { ok: false, value: res.status, why: `returned ${res.status}, expected ${want.join(' or ')}: ${excerpt}` };
  if (c.contains !== undefined && !text.includes(c.contains)) return { ok: false, value: res.status, why: `body does not contain '${c.contains}'` };
  if (c.json_path) {
    let doc: unknown;
    try { doc = JSON.parse(text); } catch { return { ok: false, why: 'body is not JSON' }; }
    for (const [path, expected] of Object.entries(c.json_path)) {
      const got = jsonPath(doc, path);
      if (JSON.stringify(got) !== JSON.stringify(expected)) return { ok: false, value: got, why: `${path} is ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}` };
    }
  }
  if (c.max_latency !== undefined && ms > parseDuration(c.max_latency)) return { ok: false, value: ms, why: `took ${ms} ms, more than ${c.max_latency}` };
  return { ok: true, value: res.status };
}
