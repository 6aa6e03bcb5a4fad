// GitHub access for the gate: an Octokit client from GITHUB_TOKEN / GITHUB_API_URL, the repository
// slug, full pagination, and API failures turned into refusals that say what to do (fail closed).
import { Octokit } from '@octokit/rest';
import { git } from './local.ts';

/** Any GitHub failure or answer the gate cannot read; evaluateGate turns it into a failed rule. */
export class GitHubProblem extends Error {}

export type Gh = { octokit: Octokit; owner: string; repo: string; slug: string };

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export function parseRemote(url: string): string | undefined {
  const m = /^(?:https?:\/\/(?:[^@/]+@)?[^/]+\/|ssh:\/\/git@[^/]+\/|git@[^:]+:)([^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(url.trim());
  return m?.[1];
}

export async function repoSlug(env: NodeJS.ProcessEnv, root: string): Promise<string> {
  if (env.GITHUB_REPOSITORY) return env.GITHUB_REPOSITORY;
  const url = await git(root, ['remote', 'get-url', 'origin']);
  const slug = url ? parseRemote(url) : undefined;
  if (!slug) throw new GitHubProblem(`cannot tell the GitHub repository (origin is ${url ?? 'not set'}); set GITHUB_REPOSITORY=owner/name`);
  return slug;
}

export function githubClient(env: NodeJS.ProcessEnv, slug: string, opts: { fetch?: typeof fetch; timeoutMs?: number }): Gh {
  const token = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (!token) throw new GitHubProblem('no GITHUB_TOKEN or GH_TOKEN: the gate must ask GitHub who approved what; export a token with read access to pull requests');
  const [owner, repo] = slug.split('/') as [string, string];
  if (!owner || !repo) throw new GitHubProblem(`GITHUB_REPOSITORY '${slug}' is not owner/name`);
  const octokit = new Octokit({
    auth: token, baseUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''), log: silent,
    userAgent: 'runbook-gate', request: { fetch: opts.fetch, signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000), retries: 0 },
  });
  return { octokit, owner, repo, slug };
}

type ApiError = { status?: number; message?: string; name?: string; response?: { headers?: Record<string, string | undefined> }; request?: { method?: string; url?: string } };

/** Is this a rate limit (403/429 with the rate-limit headers or retry-after)? */
export function isRateLimit(e: unknown): boolean {
  const x = e as ApiError;
  const h = x.response?.headers ?? {};
  return (x.status === 429 || x.status === 403) && (h['x-ratelimit-remaining'] === '0' || h['retry-after'] !== undefined);
}

/** Text for any failed GitHub call: what failed and how to fix it. Never includes the token. */
export function describeApiError(e: unknown, what: string): string {
  if (e instanceof GitHubProblem) return e.message;
  const x = e as ApiError;
  const h = x.response?.headers ?? {};
  if (isRateLimit(e)) {
    const reset = h['x-ratelimit-reset'] ? new Date(Number(h['x-ratelimit-reset']) * 1000).toISOString() : h['retry-after'] ? `in ${h['retry-after']} s` : 'later';
    return `GitHub API rate limit reached while ${what} (${x.status}); the gate cannot prove the review, so it refuses: retry after ${reset} or use a token with a higher limit`;
  }
  if (e instanceof TypeError) return `GitHub sent an unreadable answer while ${what} (${e.message}); the gate refuses on unknown state`;
  if (!x.response) {
    const cause = (e as { cause?: { name?: string } }).cause;
    const timedOut = [x.name, cause?.name].some((n) => n === 'TimeoutError' || n === 'AbortError');
    return timedOut ? `GitHub API did not answer in time while ${what}; the gate refuses without an answer: retry, or check GITHUB_API_URL`
      : `GitHub API unreachable while ${what} (${x.message ?? String(e)}); check GITHUB_API_URL and the network`;
  }
  if (typeof x.status === 'number' && x.status >= 500) return `GitHub API error ${x.status} while ${what}; the gate refuses without an answer: retry later`;
  if (x.status === 401) return `GitHub rejected the token (401) while ${what}; set a valid GITHUB_TOKEN`;
  if (x.status === 403 || x.status === 404) return `GitHub answered ${x.status} while ${what}: the token lacks access (needs contents and pull-requests read) or the object does not exist`;
  if (typeof x.status === 'number') return `GitHub answered ${x.status} while ${what}: ${x.message ?? 'unknown error'}`;
  return `GitHub API unreachable while ${what} (${x.message ?? String(e)}); check GITHUB_API_URL and the network`;
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A response the gate cannot read (malformed JSON, wrong shape) is an unknown state: refuse. */
export function expectArray(data: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(data) || !data.every(isObject)) throw new GitHubProblem(`GitHub sent an unreadable answer while ${what} (not a JSON list); the gate refuses on unknown state`);
  return data;
}

export function expectObject(data: unknown, what: string): Record<string, unknown> {
  if (!isObject(data)) throw new GitHubProblem(`GitHub sent an unreadable answer while ${what} (not a JSON object); the gate refuses on unknown state`);
  return data;
}

/** Reads every page (Link rel="next") or throws: a list read in part is never trusted. */
export async function listAll(gh: Gh, route: string, params: Record<string, unknown>, what: string): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  try {
    for await (const page of gh.octokit.paginate.iterator(route, { owner: gh.owner, repo: gh.repo, per_page: 100, ...params })) {
      all.push(...expectArray(page.data, what));
    }
  } catch (e) {
    throw new GitHubProblem(describeApiError(e, what));
  }
  return all;
}

export async function getOne(gh: Gh, route: string, params: Record<string, unknown>, what: string): Promise<Record<string, unknown>> {
  try {
    const r = await gh.octokit.request(route, { ...(route.includes('{owner}') ? { owner: gh.owner, repo: gh.repo } : {}), ...params });
    return expectObject(r.data, what);
  } catch (e) {
    throw new GitHubProblem(describeApiError(e, what));
  }
}

export type GhUser = { login: string; id: number; type: string };

export function userOf(v: unknown): GhUser | undefined {
  if (!isObject(v) || typeof v.login !== 'string' || typeof v.id !== 'number') return undefined;
  return { login: v.login, id: v.id, type: typeof v.type === 'string' ? v.type : 'User' };
}

export const isBot = (u: GhUser): boolean => u.type === 'Bot' || u.login.endsWith('[bot]');
