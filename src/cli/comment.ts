// `runbook plan --comment`: one pull-request comment per (runbook, environment), found again by a
// hidden marker on its first line and updated in place, through the GitHub REST API (@octokit/rest).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Octokit } from '@octokit/rest';
import { InputError, RunbookError } from '../errors.ts';
import { parseRemote } from '../gate/github.ts';

export type CommentTarget = { owner: string; repo: string; pr: number };
export type UpsertResult = { action: 'created' | 'updated' | 'unchanged'; id: number; url: string };

/** A GitHub client from GITHUB_TOKEN / GH_TOKEN and GITHUB_API_URL (DESIGN.md "Outside services"). */
export function githubClient(env: NodeJS.ProcessEnv, why = 'plan --comment'): Octokit {
  const token = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (!token) throw new InputError(`${why} needs a GitHub token in GITHUB_TOKEN or GH_TOKEN`);
  return new Octokit({
    auth: token, baseUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''), userAgent: 'runbook',
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
}

export function resolveRepository(env: NodeJS.ProcessEnv, cwd: string): { owner: string; repo: string } {
  const slug = env.GITHUB_REPOSITORY?.trim();
  if (slug) {
    const [owner, repo, ...rest] = slug.split('/');
    if (!owner || !repo || rest.length) throw new InputError(`GITHUB_REPOSITORY '${slug}': expected owner/name`);
    return { owner, repo };
  }
  let url: string;
  try {
    url = execFileSync('git', ['remote', 'get-url', 'origin'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    throw new InputError('cannot tell the GitHub repository: set GITHUB_REPOSITORY=owner/name or add a git remote named origin');
  }
  const found = parseRemote(url)?.split('/');
  if (!found?.[0] || !found[1]) throw new InputError(`cannot tell the GitHub repository from the origin remote '${url.trim()}': set GITHUB_REPOSITORY=owner/name`);
  return { owner: found[0], repo: found[1] };
}

/** The PR number from --pr, else from the Actions event payload (pull_request, pull_request_review, issue_comment). */
export function resolvePullNumber(pr: string | undefined, env: NodeJS.ProcessEnv): number {
  if (pr !== undefined) {
    const n = Number(pr);
    if (!Number.isInteger(n) || n < 1) throw new InputError(`--pr ${pr}: must be a pull request number`);
    return n;
  }
  const path = env.GITHUB_EVENT_PATH;
  if (path) {
    let event: { pull_request?: { number?: unknown }; issue?: { number?: unknown; pull_request?: unknown }; number?: unknown };
    try {
      event = JSON.parse(readFileSync(path, 'utf8')) as typeof event;
    } catch (e) {
      throw new InputError(`cannot read the GitHub event payload GITHUB_EVENT_PATH=${path}: ${(e as Error).message}`);
    }
    const n = event.pull_request?.number ?? (event.issue?.pull_request ? event.issue.number : undefined);
    if (typeof n === 'number' && n > 0) return n;
  }
  throw new InputError('plan --comment: no pull request; pass --pr <number> or run on a pull_request event');
}

export function resolveTarget(o: { pr?: string }, env: NodeJS.ProcessEnv, cwd: string): CommentTarget {
  return { ...resolveRepository(env, cwd), pr: resolvePullNumber(o.pr, env) };
}

/** Create the comment whose first line is `marker`, or update the existing one (all pages are searched). */
export async function upsertComment(gh: Octokit, t: CommentTarget, marker: string, body: string): Promise<UpsertResult> {
  const text = body.trimStart().startsWith(marker) ? body : `${marker}\n${body}`;
  const base = { owner: t.owner, repo: t.repo };
  try {
    const comments = await gh.paginate(gh.rest.issues.listComments, { ...base, issue_number: t.pr, per_page: 100 });
    const mine = comments.find((c) => (c.body ?? '').trimStart().startsWith(marker));
    if (mine && mine.body === text) return { action: 'unchanged', id: mine.id, url: mine.html_url };
    if (mine) {
      const r = await gh.rest.issues.updateComment({ ...base, comment_id: mine.id, body: text });
      return { action: 'updated', id: r.data.id, url: r.data.html_url };
    }
    const r = await gh.rest.issues.createComment({ ...base, issue_number: t.pr, body: text });
    return { action: 'created', id: r.data.id, url: r.data.html_url };
  } catch (e) {
    const status = (e as { status?: number }).status;
    const hint = status === 401 ? ' (is the token valid?)' : status === 403 || status === 404 ? ' (does the token have pull-requests: write / issues: write on this repository?)' : '';
    throw new RunbookError(`cannot post the plan comment on ${t.owner}/${t.repo}#${t.pr}: ${status ?? ''} ${(e as Error).message}${hint}`.replace(/ {2,}/g, ' '), 1, { cause: e });
  }
}
