// A small NerdGraph (New Relic GraphQL) client: `API-Key` header, US/EU endpoints or
// NEW_RELIC_API_URL, GraphQL `errors` in a 200 response are errors, rate limits and 5xx are
// retried with bounded exponential backoff. The key never appears in an error message.
import { RunbookError } from '../errors.ts';
import { sleep as defaultSleep } from '../engine/duration.ts';
import { redactText, type Secret } from '../engine/secret.ts';

export const ENDPOINTS = { US: 'https://api.newrelic.com/graphql', EU: 'https://api.eu.newrelic.com/graphql' } as const;

/**
 * A failed NerdGraph call. `status` is the HTTP status (undefined: no answer), `errors` the GraphQL
 * errors of a 200 response, `retryable` for rate limits / 5xx / no answer, `retryAfterMs` from a
 * Retry-After header. Messages are redacted of the API key before they are built.
 */
export class NerdGraphError extends RunbookError {
  constructor(message: string, readonly status: number | undefined, readonly errors: readonly { message: string; errorClass?: string }[] = [],
    readonly retryable = false, readonly retryAfterMs?: number) {
    super(`New Relic NerdGraph: ${message}`, 1);
  }
  /** A retryable failure that may hide a request that was carried out: no answer, a 5xx, an unreadable 200 (not a rate limit). */
  get mayHaveLanded(): boolean {
    return this.retryable && this.status !== 429 && this.errors.length === 0;
  }
}

export interface NerdGraph {
  readonly url: string;
  readonly sleep: (ms: number) => Promise<void>;
  /** `retries: 0` for calls that are not safe to repeat blindly (a mutation whose response may be lost). */
  query<T>(doc: string, variables?: Record<string, unknown>, opts?: { retries?: number }): Promise<T>;
}

export const backoff = (attempt: number): number => Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);

export type NerdGraphOpts = { apiKey: Secret; url?: string; region?: 'US' | 'EU'; fetch?: typeof fetch; maxRetries?: number;
  sleep?: (ms: number) => Promise<void>; timeoutMs?: number };

type GqlResponse<T> = { data?: T; errors?: { message: string; extensions?: { errorClass?: string } }[] };

const RATE_LIMITED = /TOO_MANY_REQUESTS|RATE[_ -]?LIMIT/i;

/** Retry-After in seconds or as an HTTP date, capped at 30 s. */
function retryAfter(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (!h) return undefined;
  const ms = /^\d+$/.test(h) ? Number(h) * 1000 : Date.parse(h) - Date.now();
  return Number.isFinite(ms) ? Math.min(30_000, Math.max(0, ms)) : undefined;
}

/** Builds errors whose text (and the GraphQL error texts) never contain the key, whatever a server echoes. */
function failWith(key: Secret) {
  return (message: string, status: number | undefined, errors: { message: string; errorClass?: string }[] = [], retryable = false, after?: number): NerdGraphError =>
    new NerdGraphError(redactText(message, [key]), status, errors.map((e) => ({ ...e, message: redactText(e.message, [key]) })), retryable, after);
}

async function once<T>(o: NerdGraphOpts, url: string, doc: string, variables: Record<string, unknown> | undefined): Promise<T> {
  const fail = failWith(o.apiKey);
  let res: Response;
  let text: string;
  try {
    res = await (o.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json', 'API-Key': o.apiKey.reveal() },
      body: JSON.stringify({ query: doc, variables }), signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
    text = await res.text();
  } catch (e) {
    throw fail(`cannot reach ${url}: ${(e as Error).message}`, undefined, [], true);
  }
  if (res.status === 429 || res.status >= 500) throw fail(`HTTP ${res.status} from ${url}`, res.status, [], true, retryAfter(res));
  if (res.status === 401 || res.status === 403) throw fail(`HTTP ${res.status}: the API key was refused (NEW_RELIC_API_KEY must be a user key)`, res.status);
  if (!res.ok) throw fail(`HTTP ${res.status} from ${url}`, res.status);
  let body: GqlResponse<T>;
  try {
    body = JSON.parse(text) as GqlResponse<T>;
  } catch {
    throw fail(`malformed JSON in the response from ${url}`, res.status, [], true);
  }
  if (body.errors?.length) {
    const errors = body.errors.map((e) => ({ message: String(e.message), errorClass: e.extensions?.errorClass }));
    const limited = errors.some((e) => RATE_LIMITED.test(`${e.errorClass ?? ''} ${e.message}`));
    throw fail(errors.map((e) => e.message).join('; '), res.status, errors, limited);
  }
  if (body.data === undefined || body.data === null) throw fail('response has no data', res.status);
  return body.data;
}

export function createNerdGraph(o: NerdGraphOpts): NerdGraph {
  const url = o.url ?? ENDPOINTS[o.region ?? 'US'];
  const retries = o.maxRetries ?? 4;
  const wait = o.sleep ?? ((ms: number) => defaultSleep(ms));
  return {
    url, sleep: wait,
    async query<T>(doc: string, variables?: Record<string, unknown>, opts?: { retries?: number }): Promise<T> {
      const limit = opts?.retries ?? retries;
      for (let attempt = 0; ; attempt++) {
        try {
          return await once<T>(o, url, doc, variables);
        } catch (e) {
          if (!(e instanceof NerdGraphError) || !e.retryable || attempt >= limit) throw e;
          await wait(Math.max(backoff(attempt), e.retryAfterMs ?? 0));
        }
      }
    },
  };
}
