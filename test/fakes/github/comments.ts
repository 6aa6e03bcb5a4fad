// Fake of GitHub's issue-comment REST endpoints (list with Link pagination, create, update). Every body
// it sends is checked against GitHub's OpenAPI description first. `commentRoutes` can join a bigger fake.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { simpleUser } from './builders.ts';
import { OpenApi } from './openapi.ts';

export type FakeComment = { id: number; node_id: string; url: string; html_url: string; issue_url: string; body: string;
  user: Record<string, unknown>; created_at: string; updated_at: string; author_association: string };

export type CommentStore = {
  /** Comments by `owner/repo#number`. */
  comments: Map<string, FakeComment[]>;
  /** Every request seen: method and path with query. */
  requests: { method: string; path: string }[];
  token: string;
  nextId: number;
  /** Bodies the fake refused to send because they broke the OpenAPI schema (tests assert this stays empty). */
  schemaErrors: string[];
};

export const newCommentStore = (token = 'test-token'): CommentStore => ({ comments: new Map(), requests: [], token, nextId: 1000, schemaErrors: [] });

let api: OpenApi | undefined;
const LIST = '/repos/{owner}/{repo}/issues/{issue_number}/comments';
const ONE = '/repos/{owner}/{repo}/issues/comments/{comment_id}';

function makeComment(s: CommentStore, base: string, key: string, body: string, login: string): FakeComment {
  const id = s.nextId++;
  const [slug, n] = key.split('#') as [string, string];
  const now = new Date().toISOString();
  return { id, node_id: `IC_${id}`, url: `${base}/repos/${slug}/issues/comments/${id}`, html_url: `https://github.com/${slug}/pull/${n}#issuecomment-${id}`,
    issue_url: `${base}/repos/${slug}/issues/${n}`, body, user: simpleUser({ login, id: login.length, type: login.endsWith('[bot]') ? 'Bot' : 'User' }),
    created_at: now, updated_at: now, author_association: 'NONE' };
}

/** Seed a PR with comments (e.g. many from people, to force pagination). */
export function seedComments(s: CommentStore, slug: string, pr: number, bodies: string[], login = 'someone'): FakeComment[] {
  const key = `${slug}#${pr}`;
  const list = s.comments.get(key) ?? [];
  const made = bodies.map((b) => makeComment(s, 'http://fake', key, b, login));
  s.comments.set(key, [...list, ...made]);
  return made;
}

const send = (res: ServerResponse, status: number, data: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(data));
};

/** Sends `data` only if it matches GitHub's documented response schema; otherwise a 500 and a recorded error. */
function sendValid(s: CommentStore, res: ServerResponse, op: [string, string, number], data: unknown, headers: Record<string, string> = {}): void {
  const problems = (api ??= new OpenApi()).check(op[0], op[1], op[2], data);
  if (problems.length) {
    s.schemaErrors.push(`${op[1]} ${op[0]}: ${problems.join('; ')}`);
    send(res, 500, { message: `fake GitHub: response breaks the OpenAPI schema: ${problems.join('; ')}` });
    return;
  }
  send(res, op[2], data, headers);
}

async function readJson(req: IncomingMessage): Promise<{ body?: unknown }> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  try { return JSON.parse(text || '{}') as { body?: unknown }; } catch { return {}; }
}

function listPage(s: CommentStore, res: ServerResponse, url: URL, key: string): void {
  const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30)));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
  const all = s.comments.get(key) ?? [];
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const link = (p: number, rel: string): string => {
    const u = new URL(url);
    u.searchParams.set('page', String(p));
    u.searchParams.set('per_page', String(perPage));
    return `<${u.toString()}>; rel="${rel}"`;
  };
  const links = [page < last && link(page + 1, 'next'), page < last && link(last, 'last'), page > 1 && link(page - 1, 'prev'), page > 1 && link(1, 'first')].filter(Boolean);
  sendValid(s, res, [LIST, 'get', 200], all.slice((page - 1) * perPage, page * perPage), links.length ? { link: links.join(', ') } : {});
}

/** Handles the comment endpoints; returns false for any other path (so a bigger fake can go on). */
export async function commentRoutes(s: CommentStore, req: IncomingMessage, res: ServerResponse, base: string): Promise<boolean> {
  const url = new URL(req.url ?? '/', base);
  const onIssue = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
  const onComment = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
  if (!onIssue && !onComment) return false;
  s.requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search });
  if ((req.headers.authorization ?? '').replace(/^(token|bearer) /i, '') !== s.token) {
    send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    return true;
  }
  if (onIssue) {
    const key = `${onIssue[1]}/${onIssue[2]}#${onIssue[3]}`;
    if (req.method === 'GET') { listPage(s, res, url, key); return true; }
    if (req.method === 'POST') {
      const { body } = await readJson(req);
      if (typeof body !== 'string') { send(res, 422, { message: 'Validation Failed', errors: [{ field: 'body', code: 'missing_field' }] }); return true; }
      const c = makeComment(s, base, key, body, 'github-actions[bot]');
      s.comments.set(key, [...(s.comments.get(key) ?? []), c]);
      sendValid(s, res, [LIST, 'post', 201], c);
      return true;
    }
  }
  if (onComment && req.method === 'PATCH') {
    const id = Number(onComment[3]);
    const c = [...s.comments.values()].flat().find((x) => x.id === id);
    const { body } = await readJson(req);
    if (!c) { send(res, 404, { message: 'Not Found' }); return true; }
    if (typeof body !== 'string') { send(res, 422, { message: 'Validation Failed' }); return true; }
    Object.assign(c, { body, updated_at: new Date().toISOString() });
    sendValid(s, res, [ONE, 'patch', 200], c);
    return true;
  }
  send(res, 405, { message: 'Method Not Allowed' });
  return true;
}

/** A standalone server on 127.0.0.1 serving only the comment endpoints. */
export async function startCommentsFake(store = newCommentStore()): Promise<{ url: string; store: CommentStore; close(): Promise<void> }> {
  let base = '';
  const server: Server = createServer((req, res) => {
    commentRoutes(store, req, res, base).then((handled) => { if (!handled) send(res, 404, { message: 'Not Found' }); },
      (e: unknown) => send(res, 500, { message: String(e) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url: base, store, close: () => new Promise<void>((r) => server.close(() => r())) };
}
