// Response bodies for the GitHub fake, built from GitHub's own documented examples in the OpenAPI
// description and patched with the fake's state (the server validates every one before sending).
import type { OpenApi } from './openapi.ts';

type Json = Record<string, any>;
export type FakeUser = { login: string; id: number; type?: 'User' | 'Bot'; email?: string; permission?: 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none' };
export type FakeReview = { user: string; state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED'; commitId: string | null; submittedAt: string };
export type FakePr = { number: number; title: string; author: string; headRef: string; headSha: string; commits: string[]; headRepo?: string | null;
  baseRef: string; mergedAt?: string; /** Closed without a merge. */ closedAt?: string; mergeCommitSha?: string; reviews: FakeReview[];
  /** Force pushes of the head branch (timeline head_ref_force_pushed events). */
  forcePushes?: { actor: string; commitId: string; at: string }[] };
export type GitCommit = { sha: string; tree: string; parents: string[]; author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string }; message: string };

export function simpleUser(u: FakeUser): Json {
  const api = `https://api.github.com/users/${u.login}`;
  return { login: u.login, id: u.id, node_id: `U_${u.id}`, avatar_url: `https://avatars.githubusercontent.com/u/${u.id}`, gravatar_id: '', url: api,
    html_url: `https://github.com/${u.login}`, followers_url: `${api}/followers`, following_url: `${api}/following{/other_user}`, gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`, subscriptions_url: `${api}/subscriptions`, organizations_url: `${api}/orgs`, repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`, received_events_url: `${api}/received_events`, type: u.type ?? 'User', site_admin: false };
}

export function fullUser(api: OpenApi, u: FakeUser, priv: boolean): Json {
  const base = api.example<Json>(priv ? 'private-user-response-with-public-and-private-profile-information' : 'public-user-default-response');
  return { ...base, ...simpleUser(u), email: u.email ?? null, name: u.login };
}

function repoPatch(r: Json, slug: string, owner: FakeUser, defaultBranch: string): Json {
  const [, name] = slug.split('/');
  return { ...r, id: 1296269, name, full_name: slug, owner: simpleUser(owner), html_url: `https://github.com/${slug}`, url: `https://api.github.com/repos/${slug}`,
    default_branch: defaultBranch, fork: false, private: true };
}

export function fullRepository(api: OpenApi, slug: string, owner: FakeUser, defaultBranch: string): Json {
  const r = repoPatch(api.example<Json>('full-repository-default-response'), slug, owner, defaultBranch);
  delete r.parent; delete r.source; delete r.template_repository;
  return { ...r, language: null };
}

function prPatch(api: OpenApi, base: Json, pr: FakePr, o: { slug: string; users: (login: string) => FakeUser; defaultOwner: FakeUser }): Json {
  const author = simpleUser(o.users(pr.author));
  const headSlug = pr.headRepo === undefined ? o.slug : pr.headRepo;
  const exampleRepo = base.base.repo as Json;
  const side = (ref: string, sha: string, slug: string | null): Json => ({ label: `${(slug ?? o.slug).split('/')[0]}:${ref}`, ref, sha, user: author,
    repo: slug === null ? null : repoPatch(structuredClone(exampleRepo), slug, slug === o.slug ? o.defaultOwner : o.users(pr.author), 'main') });
  const url = `https://api.github.com/repos/${o.slug}/pulls/${pr.number}`;
  return { ...base, id: 1000 + pr.number, number: pr.number, url, html_url: `https://github.com/${o.slug}/pull/${pr.number}`, title: pr.title, user: author,
    state: pr.mergedAt || pr.closedAt ? 'closed' : 'open', merged_at: pr.mergedAt ?? null, closed_at: pr.mergedAt ?? pr.closedAt ?? null, merge_commit_sha: pr.mergeCommitSha ?? null,
    head: side(pr.headRef, pr.headSha, headSlug), base: side(pr.baseRef, pr.mergeCommitSha ?? pr.headSha, o.slug), requested_teams: [], requested_reviewers: [],
    assignee: null, assignees: [], milestone: null, labels: [], auto_merge: null, draft: false };
}

export function pullRequest(api: OpenApi, pr: FakePr, o: { slug: string; users: (login: string) => FakeUser; defaultOwner: FakeUser }): Json {
  const base = prPatch(api, api.example<Json>('pull-request'), pr, o);
  return { ...base, merged: Boolean(pr.mergedAt), merged_by: pr.mergedAt ? simpleUser(o.defaultOwner) : null, commits: pr.commits.length, mergeable: true };
}

export function pullRequestSimple(api: OpenApi, pr: FakePr, o: { slug: string; users: (login: string) => FakeUser; defaultOwner: FakeUser }): Json {
  return prPatch(api, api.example<Json[]>('pull-request-simple-items')[0]!, pr, o);
}

export function review(api: OpenApi, slug: string, prNumber: number, id: number, r: FakeReview, user: FakeUser): Json {
  const html = `https://github.com/${slug}/pull/${prNumber}#pullrequestreview-${id}`;
  const pull = `https://api.github.com/repos/${slug}/pulls/${prNumber}`;
  return { ...api.example<Json[]>('pull-request-review-items')[0], id, node_id: `PRR_${id}`, user: simpleUser(user), state: r.state, commit_id: r.commitId,
    submitted_at: r.submittedAt, html_url: html, pull_request_url: pull, _links: { html: { href: html }, pull_request: { href: pull } } };
}

export function commit(api: OpenApi, slug: string, c: GitCommit, byEmail: (email: string) => FakeUser | undefined): Json {
  const base = api.example<Json[]>('commit-items')[0]!;
  const api0 = `https://api.github.com/repos/${slug}`;
  const gh = (email: string): Json | null => { const u = byEmail(email); return u ? simpleUser(u) : null; };
  return { ...base, sha: c.sha, node_id: `C_${c.sha}`, url: `${api0}/commits/${c.sha}`, html_url: `https://github.com/${slug}/commit/${c.sha}`,
    comments_url: `${api0}/commits/${c.sha}/comments`,
    commit: { ...base.commit, url: `${api0}/git/commits/${c.sha}`, author: c.author, committer: c.committer, message: c.message,
      tree: { url: `${api0}/git/trees/${c.tree}`, sha: c.tree } },
    author: gh(c.author.email), committer: gh(c.committer.email),
    parents: c.parents.map((p) => ({ sha: p, url: `${api0}/commits/${p}`, html_url: `https://github.com/${slug}/commit/${p}` })) };
}

export function collaboratorPermission(api: OpenApi, u: FakeUser): Json {
  const perm = u.permission ?? 'none';
  const legacy = perm === 'maintain' ? 'write' : perm === 'triage' ? 'read' : perm;
  const base = api.example<Json>('repository-collaborator-permission-response-if-user-has-admin-permissions');
  return { ...base, permission: legacy, role_name: perm, user: { ...simpleUser(u), permissions: { admin: perm === 'admin', maintain: perm === 'maintain',
    push: ['admin', 'maintain', 'write'].includes(perm), triage: perm !== 'read' && perm !== 'none', pull: perm !== 'none' }, role_name: perm } };
}

export function contentFile(api: OpenApi, slug: string, path: string, ref: string, sha: string, bytes: Buffer): Json {
  const api0 = `https://api.github.com/repos/${slug}`;
  return { ...api.example<Json>('content-file-response-if-content-is-a-file'), name: path.split('/').at(-1), path, sha, size: bytes.length,
    content: bytes.toString('base64'), url: `${api0}/contents/${path}?ref=${ref}`, git_url: `${api0}/git/blobs/${sha}`,
    html_url: `https://github.com/${slug}/blob/${ref}/${path}`, download_url: `https://raw.githubusercontent.com/${slug}/${ref}/${path}`,
    _links: { git: `${api0}/git/blobs/${sha}`, self: `${api0}/contents/${path}`, html: `https://github.com/${slug}/blob/${ref}/${path}` } };
}

export function gitTree(slug: string, sha: string, entries: { mode: string; type: string; sha: string; size?: number; path: string }[]): Json {
  const api0 = `https://api.github.com/repos/${slug}`;
  return { sha, url: `${api0}/git/trees/${sha}`, truncated: false,
    tree: entries.map((e) => ({ ...e, url: `${api0}/git/${e.type === 'tree' ? 'trees' : 'blobs'}/${e.sha}` })) };
}

export function forcePushEvent(slug: string, prNumber: number, id: number, e: { commitId: string; at: string }, actor: FakeUser): Json {
  return { id, node_id: `HRFPE_${id}`, url: `https://api.github.com/repos/${slug}/issues/events/${id}`, actor: simpleUser(actor), event: 'head_ref_force_pushed',
    commit_id: e.commitId, commit_url: `https://api.github.com/repos/${slug}/commits/${e.commitId}`, created_at: e.at, performed_via_github_app: null };
}
