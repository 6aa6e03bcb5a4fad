// A small NerdGraph (New Relic GraphQL) client: `API-Key` header, US/EU endpoints or
// NEW_RELIC_API_URL, GraphQL `errors` in a 200 response are errors, rate limits and 5xx are
// retried with bounded exponential backoff. The key never appears in an error message.
import { RunbookError } from '../errors.ts';
import { sleep as defaultSleep } from '../engine/duration.ts';
import type { Secret } from '../engine/secret.ts';

export const ENDPOINTS = { US: 'https://api.newrelic.com/graphql', EU: 'https://api.eu.newrelic.com/graphql' } as const;

export class NerdGraphError extends RunbookError {
  constructor(message: string, readonly status: number | undefined, readonly errors: readonly { message: string; errorClass?: string }[] = [], readonly retryable = false) {
    super(`New Relic NerdGraph: ${message}`, 1);
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

const RATE_LIMITED = /TOO_MANY_REQUESTS|RATE_LIMIT|rate limit/i;

async function once<T>(o: NerdGraphOpts, url: string, doc: string, variables: Record<string, unknown> | undefined): Promise<T> {
  const f = o.fetch ?? fetch;
  let res: Response;
  try {
    res = await f(url, { method: 'POST', headers: { 'content-type': 'application/json', 'API-Key': o.apiKey.reveal() },
      body: JSON.stringify({ query: doc, variables }), signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
  } catch (e) {
    throw new NerdGraphError(`cannot reach ${url}: ${(e as Error).message}`, undefined, [], true);
  }
  const text = await res.text();
  if (res.status === 429 || res.status >= 500) throw new NerdGraphError(`HTTP ${res.status} from ${url}`, res.status, [], true);
  if (res.status === 401 || res.status === 403) throw new NerdGraphError(`HTTP ${res.status}: the API key was refused (NEW_RELIC_API_KEY must be a user key)`, res.status);
  if (!res.ok) throw new NerdGraphError(`HTTP ${res.status} from ${url}`, res.status);
  let body: GqlResponse<T>;
  try {
    body = JSON.parse(text) as GqlResponse<T>;
  } catch {
    throw new NerdGraphError(`malformed JSON in the response from ${url}`, res.status, [], true);
  }
  if (body.errors?.length) {
    const errors = body.errors.map((e) => ({ message: e.message, errorClass: e.extensions?.errorClass }));
    const limited = errors.some((e) => RATE_LIMITED.test(`${e.errorClass ?? ''} ${e.message}`));
    throw new NerdGraphError(errors.map((e) => e.message).join('; '), res.status, errors, limited);
  }
  if (body.data === undefined) throw new NerdGraphError('response has no data', res.status);
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
          await wait(backoff(attempt));
        }
      }
    },
  };
}
