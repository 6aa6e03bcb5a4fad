// A fake of the GitHub REST endpoints the review gate reads, on 127.0.0.1. Git facts (trees, commits,
// file contents) come from a real bare repository; PRs, reviews and users from the test's state.
// Every 200 body is validated against GitHub's OpenAPI description; an invalid one becomes a 500.
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { OpenApi } from './openapi.ts';
import * as b from './builders.ts';
import type { FakePr, FakeUser, GitCommit } from './builders.ts';

export type Fault = {
  /** Substring of the request path the fault applies to ('' = every request). */
  path: string;
  kind: 'status' | 'rate_limit' | 'secondary_rate_limit' | 'slow' | 'malformed' | 'truncated';
  status?: number;
  delayMs?: number;
  /** How many requests it hits (default: all). */
  times?: number;
};

export type GitHubState = {
  slug: string; defaultBranch: string; bareDir: string; token: string;
  /** Login of the token's user (GET /user). */
  operator: string;
  users: FakeUser[]; prs: FakePr[]; faults: Fault[];
  /** Bodies the fake refused to send because they broke the OpenAPI schema (tests assert this stays empty). */
  schemaErrors: string[];
  requests: string[];
  perPage?: number;
  /** GitHub lists at most 250 commits of a pull request (the count on the PR stays true); lower it to test that. */
  prCommitListLimit?: number;
};

type Ctx = { state: GitHubState; api: OpenApi; req: IncomingMessage; res: ServerResponse; url: URL };
type Route = { re: RegExp; template: string; list?: boolean; handle(c: Ctx, m: string[]): unknown };

const gitOut = (dir: string, args: string[]): Buffer => execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });

function readCommit(dir: string, sha: string): GitCommit {
  const f = gitOut(dir, ['log', '-1', '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s', sha]).toString().trim().split('\0');
  const iso = (d: string): string => new Date(d).toISOString().replace(/\.\d+Z$/, 'Z');
  return { sha: f[0]!, tree: f[1]!, parents: f[2] ? f[2].split(' ') : [], author: { name: f[3]!, email: f[4]!, date: iso(f[5]!) },
    committer: { name: f[6]!, email: f[7]!, date: iso(f[8]!) }, message: f[9]! };
}

class HttpError extends Error { constructor(readonly status: number, message: string) { super(message); } }

function user(s: GitHubState, login: string): FakeUser {
  const u = s.users.find((x) => x.login === login);
  if (!u) throw new HttpError(404, 'Not Found');
  return u;
}

function pr(s: GitHubState, n: string): FakePr {
  const p = s.prs.find((x) => x.number === Number(n));
  if (!p) throw new HttpError(404, 'Not Found');
  return p;
}

const prOpts = (s: GitHubState) => ({ slug: s.slug, users: (l: string) => user(s, l), defaultOwner: user(s, s.slug.split('/')[0]!) });
const R = '^/repos/([^/]+)/([^/]+)';

const routes: Route[] = [
  { re: new RegExp(`${R}$`), template: '/repos/{owner}/{repo}', handle: ({ state: s, api }) => b.fullRepository(api, s.slug, user(s, s.slug.split('/')[0]!), s.defaultBranch) },
  { re: new RegExp(`${R}/contents/(.+)$`), template: '/repos/{owner}/{repo}/contents/{path}', handle: ({ state: s, api, url }, m) => {
    const path = decodeURIComponent(m[3]!);
    const ref = url.searchParams.get('ref') ?? s.defaultBranch;
    let sha: string;
    try { sha = gitOut(s.bareDir, ['rev-parse', '--verify', `${ref}:${path}`]).toString().trim(); } catch { throw new HttpError(404, 'Not Found'); }
    return b.contentFile(api, s.slug, path, ref, sha, gitOut(s.bareDir, ['cat-file', 'blob', sha]));
  } },
  { re: new RegExp(`${R}/commits/([0-9a-f]{40})/pulls$`), template: '/repos/{owner}/{repo}/commits/{commit_sha}/pulls', list: true, handle: ({ state: s, api }, m) => {
    try { gitOut(s.bareDir, ['cat-file', '-e', `${m[3]}^{commit}`]); } catch { throw new HttpError(422, `No commit found for SHA: ${m[3]}`); }
    return s.prs.filter((p) => p.headSha === m[3] || p.mergeCommitSha === m[3] || p.commits.includes(m[3]!)).map((p) => b.pullRequestSimple(api, p, prOpts(s)));
  } },
  { re: new RegExp(`${R}/pulls/(\\d+)$`), template: '/repos/{owner}/{repo}/pulls/{pull_number}', handle: ({ state: s, api }, m) => b.pullRequest(api, pr(s, m[3]!), prOpts(s)) },
  { re: new RegExp(`${R}/pulls/(\\d+)/reviews$`), template: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews', list: true, handle: ({ state: s, api }, m) =>
    pr(s, m[3]!).reviews.map((r, i) => b.review(api, s.slug, Number(m[3]), 5000 + Number(m[3]) * 100 + i, r, user(s, r.user))) },
  { re: new RegExp(`${R}/pulls/(\\d+)/commits$`), template: '/repos/{owner}/{repo}/pulls/{pull_number}/commits', list: true, handle: ({ state: s, api }, m) =>
    pr(s, m[3]!).commits.slice(0, s.prCommitListLimit ?? 250).map((sha) => b.commit(api, s.slug, readCommit(s.bareDir, sha), (e) => s.users.find((u) => u.email === e))) },
  { re: new RegExp(`${R}/issues/(\\d+)/timeline$`), template: '/repos/{owner}/{repo}/issues/{issue_number}/timeline', list: true, handle: ({ state: s }, m) =>
    (pr(s, m[3]!).forcePushes ?? []).map((e, i) => b.forcePushEvent(s.slug, Number(m[3]), 9000 + i, e, user(s, e.actor))) },
  { re: new RegExp(`${R}/git/trees/([^/]+)$`), template: '/repos/{owner}/{repo}/git/trees/{tree_sha}', handle: ({ state: s }, m) => {
    let tree: string;
    try { tree = gitOut(s.bareDir, ['rev-parse', '--verify', `${m[3]}^{tree}`]).toString().trim(); } catch { throw new HttpError(404, 'Not Found'); }
    const entries = gitOut(s.bareDir, ['ls-tree', '-r', '-l', tree]).toString().split('\n').filter(Boolean).map((line) => {
      const [meta, path] = line.split('\t') as [string, string];
      const [mode, type, sha, size] = meta.trim().split(/\s+/) as [string, string, string, string];
      return { mode, type, sha, path, ...(size !== '-' ? { size: Number(size) } : {}) };
    });
    return b.gitTree(s.slug, tree, entries);
  } },
  { re: new RegExp(`${R}/collaborators/([^/]+)/permission$`), template: '/repos/{owner}/{repo}/collaborators/{username}/permission',
    handle: ({ state: s, api }, m) => b.collaboratorPermission(api, user(s, m[3]!)) },
  { re: /^\/user$/, template: '/user', handle: ({ state: s, api }) => b.fullUser(api, user(s, s.operator), true) },
  { re: /^\/users\/([^/]+)$/, template: '/users/{username}', handle: ({ state: s, api }, m) => b.fullUser(api, user(s, m[1]!), false) },
];

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const errorBody = (status: number, message: string): Record<string, string> => ({ message, documentation_url: 'https://docs.github.com/rest', status: String(status) });
const sendError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
  send(res, status, errorBody(status, message), headers);

/** An error answer of a known route; where GitHub documents that status, the body is checked against the OpenAPI description too. */
function sendRouteError(c: Ctx, route: Route | undefined, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = errorBody(status, message);
  const problems = route && c.api.documents(route.template, 'get', status) ? c.api.check(route.template, 'get', status, body) : [];
  if (problems.length) c.state.schemaErrors.push(`${route!.template} ${status}: ${problems.join('; ')}`);
  send(c.res, status, body, headers);
}

function takeFault(s: GitHubState, path: string): Fault | undefined {
  const f = s.faults.find((x) => path.includes(x.path) && (x.times === undefined || x.times > 0));
  if (f && f.times !== undefined) f.times--;
  return f;
}

/** Answers a fault; returns true when the request is done. */
async function applyFault(c: Ctx, f: Fault | undefined, route: Route | undefined): Promise<boolean> {
  if (!f) return false;
  const reset = String(Math.floor(Date.now() / 1000) + 600);
  switch (f.kind) {
    case 'slow': await new Promise((r) => setTimeout(r, f.delayMs ?? 5000)); return c.res.destroyed;
    case 'status': sendRouteError(c, route, f.status ?? 500, 'Server Error'); return true;
    case 'rate_limit': sendRouteError(c, route, 403, 'API rate limit exceeded for user ID 1.', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }); return true;
    case 'secondary_rate_limit': sendRouteError(c, route, 429, 'You have exceeded a secondary rate limit.', { 'retry-after': '60' }); return true;
    case 'malformed': send(c.res, 200, '[{"id": 1, "user": '); return true;
    case 'truncated':
      if (!route?.list || Number(c.url.searchParams.get('page') ?? 1) <= 1) return false;
      sendRouteError(c, route, 502, 'Bad Gateway'); return true;
  }
}

function sendList(c: Ctx, route: Route, items: unknown[], truncated: boolean): void {
  const perPage = Math.min(c.state.perPage ?? 100, Number(c.url.searchParams.get('per_page') ?? 30));
  const page = Math.max(1, Number(c.url.searchParams.get('page') ?? 1));
  const last = truncated ? Math.max(2, page + 1) : Math.max(1, Math.ceil(items.length / perPage));
  const link = (p: number, rel: string): string => { const u = new URL(c.url); u.searchParams.set('page', String(p)); u.searchParams.set('per_page', String(perPage)); return `<${u}>; rel="${rel}"`; };
  const links = [page < last && link(page + 1, 'next'), page < last && link(last, 'last'), page > 1 && link(page - 1, 'prev'), page > 1 && link(1, 'first')].filter(Boolean);
  sendValid(c, route, items.slice((page - 1) * perPage, page * perPage), links.length ? { link: links.join(', ') } : {});
}

function sendValid(c: Ctx, route: Route, body: unknown, headers: Record<string, string> = {}): void {
  const problems = c.api.check(route.template, 'get', 200, body);
  if (problems.length) {
    c.state.schemaErrors.push(`${route.template}: ${problems.join('; ')}`);
    sendError(c.res, 500, `fake GitHub: response breaks the OpenAPI schema of ${route.template}: ${problems.join('; ')}`);
    return;
  }
  send(c.res, 200, body, headers);
}

async function handle(c: Ctx): Promise<void> {
  const path = c.url.pathname.replace(/^\/api\/v3/, '');
  c.state.requests.push(`${c.req.method} ${path}${c.url.search}`);
  if ((c.req.headers.authorization ?? '').replace(/^(token|bearer) /i, '') !== c.state.token) return sendError(c.res, 401, 'Bad credentials');
  const found = routes.map((r) => ({ r, m: r.re.exec(path) })).find((x) => x.m);
  if (await applyFault(c, takeFault(c.state, path), found?.r)) return;
  if (!found || c.req.method !== 'GET') return sendError(c.res, 404, 'Not Found');
  const [, owner, repo] = found.m!;
  if (found.r.template.startsWith('/repos/') && `${owner}/${repo}`.toLowerCase() !== c.state.slug.toLowerCase()) return sendError(c.res, 404, 'Not Found');
  try {
    const body = found.r.handle(c, [...found.m!]);
    if (found.r.list) sendList(c, found.r, body as unknown[], c.state.faults.some((f) => f.kind === 'truncated' && path.includes(f.path)));
    else sendValid(c, found.r, body);
  } catch (e) {
    if (e instanceof HttpError) sendRouteError(c, found.r, e.status, e.message);
    else throw e;
  }
}

export function newGitHubState(o: Pick<GitHubState, 'slug' | 'bareDir' | 'operator'> & Partial<GitHubState>): GitHubState {
  return { defaultBranch: 'main', token: 'gh-test-token', users: [], prs: [], faults: [], schemaErrors: [], requests: [], ...o };
}

let shared: OpenApi | undefined;

export async function startGitHubFake(state: GitHubState): Promise<{ url: string; state: GitHubState; close(): Promise<void> }> {
  const api = (shared ??= new OpenApi());
  const server = createServer((req, res) => {
    const c: Ctx = { state, api, req, res, url: new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`) };
    handle(c).catch((e: unknown) => { state.schemaErrors.push(`fake crashed: ${String(e)}`); if (!res.headersSent) sendError(res, 500, `fake crashed: ${String(e)}`); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, state, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
