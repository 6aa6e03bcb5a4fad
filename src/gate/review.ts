// The GitHub half of the gate: the one pull request behind HEAD, its approved commit C, the bytes at C,
// and who approved C (latest review per person, write access now, never an author, pusher, bot or the operator).
import { changedBetween, firstChange } from './local.ts';
import { describeApiError, getOne, GitHubProblem, isBot, isObject, listAll, userOf, type Gh, type GhUser } from './github.ts';
import type { GateEvidence, GatePolicy, GateRule } from './types.ts';

export type Pr = { number: number; url: string; title: string; author: GhUser; open: boolean; merged: boolean; mergedAt?: string; mergeCommit?: string;
  head: string; baseRef: string; baseRepo: string; headRepo?: string; commits: number };

export type ReviewCtx = { gh: Gh; root: string; head: string; blobs: Record<string, string>; defaultBranch: string; policy: GatePolicy;
  operator: GhUser; rules: GateRule[] };

const short = (sha: string): string => sha.slice(0, 7);
const add = (ctx: ReviewCtx, rule: string, ok: boolean, detail: string): boolean => { ctx.rules.push({ rule, ok, detail }); return ok; };

function parsePr(d: Record<string, unknown>): Pr {
  const head = isObject(d.head) ? d.head : {};
  const base = isObject(d.base) ? d.base : {};
  const author = userOf(d.user);
  const baseRepo = isObject(base.repo) ? base.repo.full_name : undefined;
  if (typeof d.number !== 'number' || typeof head.sha !== 'string' || typeof base.ref !== 'string' || typeof baseRepo !== 'string' || !author
    || typeof d.commits !== 'number') {
    throw new GitHubProblem('GitHub sent a pull request the gate cannot read (missing head, base, author or commit count); the gate refuses on unknown state');
  }
  return { number: d.number, url: String(d.html_url ?? ''), title: String(d.title ?? ''), author, open: d.state === 'open', merged: d.merged === true && typeof d.merged_at === 'string',
    mergedAt: typeof d.merged_at === 'string' ? d.merged_at : undefined, mergeCommit: typeof d.merge_commit_sha === 'string' ? d.merge_commit_sha : undefined,
    head: head.sha, baseRef: base.ref, baseRepo, headRepo: isObject(head.repo) && typeof head.repo.full_name === 'string' ? head.repo.full_name : undefined,
    commits: d.commits };
}

/** C maps to exactly one pull request, from this repository, into the default branch. */
async function findPr(ctx: ReviewCtx): Promise<Pr | undefined> {
  const list = await listAll(ctx.gh, 'GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', { commit_sha: ctx.head }, `listing the pull requests of HEAD ${short(ctx.head)}`);
  const numbers = [...new Set(list.map((p) => p.number))];
  if (numbers.length === 0) {
    add(ctx, 'pull_request', false, `HEAD ${short(ctx.head)} belongs to no pull request on ${ctx.gh.slug} (pushed without a PR, or not pushed); open a PR, get it approved${ctx.policy.require === 'merged' ? ' and merged' : ''}, and run from it`);
    return undefined;
  }
  if (numbers.length > 1) {
    add(ctx, 'pull_request', false, `HEAD ${short(ctx.head)} is in ${numbers.length} pull requests (${numbers.map((n) => `#${String(n)}`).join(', ')}); the gate cannot tell which review applies: run from a commit that is in exactly one PR`);
    return undefined;
  }
  const pr = parsePr(await getOne(ctx.gh, 'GET /repos/{owner}/{repo}/pulls/{pull_number}', { pull_number: numbers[0] }, `reading PR #${String(numbers[0])}`));
  if (pr.headRepo?.toLowerCase() !== pr.baseRepo.toLowerCase()) {
    add(ctx, 'pull_request', false, `PR #${pr.number} comes from ${pr.headRepo ? `the fork ${pr.headRepo}` : 'a deleted fork'}; protected runs only accept PRs from branches of ${pr.baseRepo}: push the branch there and open a new PR`);
    return undefined;
  }
  if (pr.baseRepo.toLowerCase() !== ctx.gh.slug.toLowerCase() || pr.baseRef !== ctx.defaultBranch) {
    add(ctx, 'pull_request', false, `PR #${pr.number} targets ${pr.baseRepo}:${pr.baseRef}, not the default branch ${ctx.gh.slug}:${ctx.defaultBranch}`);
    return undefined;
  }
  add(ctx, 'pull_request', true, `HEAD ${short(ctx.head)} belongs to PR #${pr.number} (${pr.url}) only, from ${pr.baseRepo}`);
  return pr;
}

/** merged: PR merged into the default branch and HEAD is its merge (or head) commit; approved: HEAD is the PR head. */
function stateRule(ctx: ReviewCtx, pr: Pr): boolean {
  if (ctx.policy.require === 'approved') {
    if (!pr.open && !pr.merged) return add(ctx, 'head', false, `PR #${pr.number} was closed without being merged; its approvals no longer stand: reopen it or open a new PR`);
    return add(ctx, 'head', ctx.head === pr.head, ctx.head === pr.head ? `HEAD is the head of PR #${pr.number}`
      : `HEAD ${short(ctx.head)} is not the head of PR #${pr.number} (${short(pr.head)}); check out the PR head, or push HEAD and get it reviewed`);
  }
  if (!pr.merged) return add(ctx, 'merged', false, `PR #${pr.number} is not merged into ${ctx.defaultBranch}; this environment requires merged changes (gate.require: merged): merge it and run from ${ctx.defaultBranch}`);
  const ok = ctx.head === pr.mergeCommit || ctx.head === pr.head;
  return add(ctx, 'merged', ok, ok ? `PR #${pr.number} merged into ${ctx.defaultBranch} at ${pr.mergedAt ?? '?'}`
    : `HEAD ${short(ctx.head)} is neither the merge commit nor the head of PR #${pr.number}; run from the merge commit ${pr.mergeCommit ? short(pr.mergeCommit) : '?'}`);
}

/** Same bytes: every run file's blob at the approved commit C equals the local one (GitHub's tree of C). */
async function sameBytes(ctx: ReviewCtx, c: string): Promise<boolean> {
  const tree = await getOne(ctx.gh, 'GET /repos/{owner}/{repo}/git/trees/{tree_sha}', { tree_sha: c, recursive: '1' }, `reading the tree of ${short(c)}`);
  if (tree.truncated !== false || !Array.isArray(tree.tree)) return add(ctx, 'same_bytes', false, `GitHub sent the tree of ${short(c)} truncated or unreadable; the gate cannot compare every file, so it refuses`);
  const at = new Map<string, { sha: unknown; mode: unknown; type: unknown }>();
  for (const e of tree.tree) if (isObject(e) && typeof e.path === 'string') at.set(e.path, { sha: e.sha, mode: e.mode, type: e.type });
  const bad = Object.entries(ctx.blobs).flatMap(([rel, sha]) => {
    const e = at.get(rel.split('\\').join('/'));
    if (!e) return [`${rel} does not exist at the approved commit ${short(c)}`];
    if (e.type !== 'blob' || (e.mode !== '100644' && e.mode !== '100755')) return [`${rel} is not a regular file at ${short(c)} (mode ${String(e.mode)})`];
    return e.sha === sha ? [] : [`${rel} differs between HEAD ${short(ctx.head)} and the approved commit ${short(c)}; run exactly what was approved`];
  });
  return add(ctx, 'same_bytes', !bad.length, bad.length ? bad.join('; ') : `all ${Object.keys(ctx.blobs).length} run files at HEAD equal the approved commit ${short(c)}`);
}

/** A commit whose author or committer GitHub cannot tie to an account may be an approver's own: unknown, so refuse. */
function unknownIdentities(ctx: ReviewCtx, pr: Pr, commits: Record<string, unknown>[]): void {
  const email = (who: unknown): string => (isObject(who) && typeof who.email === 'string' ? who.email : '?');
  const bad = commits.filter((c) => !userOf(c.author) || !userOf(c.committer)).map((c) => {
    const g = isObject(c.commit) ? c.commit : {};
    return `${short(String(c.sha))} (author ${email(g.author)}, committer ${email(g.committer)})`;
  });
  add(ctx, 'commit_identities', !bad.length, bad.length
    ? `PR #${pr.number} has commits by git identities GitHub cannot tie to an account: ${bad.join(', ')}; the gate cannot tell whether an approver wrote them: add the email to its owner's GitHub account, or re-commit with a linked email`
    : `every commit in PR #${pr.number} is tied to a GitHub account`);
}

/**
 * Everyone who wrote or committed anything in the PR, and the pushers REST can see: the committer of the head
 * commit and every actor of a head_ref_force_pushed timeline event (a plain push has no actor in REST).
 */
async function prPeople(ctx: ReviewCtx, pr: Pr): Promise<Map<number, string>> {
  const commits = await listAll(ctx.gh, 'GET /repos/{owner}/{repo}/pulls/{pull_number}/commits', { pull_number: pr.number }, `listing the commits of PR #${pr.number}`);
  if (commits.length !== pr.commits) throw new GitHubProblem(`PR #${pr.number} has ${pr.commits} commits but GitHub listed ${commits.length} (it lists at most 250); the gate cannot see every author, so it refuses: split the PR`);
  unknownIdentities(ctx, pr, commits);
  const people = new Map<number, string>([[pr.author.id, 'the PR author']]);
  const note = (u: GhUser | undefined, role: string): void => { if (u && !people.has(u.id)) people.set(u.id, role); };
  note(userOf(commits.at(-1)?.committer), 'the last pusher (committer of the head commit)');
  for (const c of commits) {
    note(userOf(c.author), 'an author of a commit in the PR');
    note(userOf(c.committer), 'a committer of a commit in the PR');
  }
  const events = await listAll(ctx.gh, 'GET /repos/{owner}/{repo}/issues/{issue_number}/timeline', { issue_number: pr.number }, `reading the timeline of PR #${pr.number}`);
  for (const e of events) if (e.event === 'head_ref_force_pushed') note(userOf(e.actor), 'a force-pusher of the PR branch');
  return people;
}

async function canWrite(ctx: ReviewCtx, login: string): Promise<boolean> {
  try {
    const r = await ctx.gh.octokit.rest.repos.getCollaboratorPermissionLevel({ owner: ctx.gh.owner, repo: ctx.gh.repo, username: login });
    const d: unknown = r.data;
    if (!isObject(d) || typeof d.permission !== 'string') throw new GitHubProblem(`GitHub sent an unreadable permission for @${login}; the gate refuses on unknown state`);
    return ['admin', 'write'].includes(d.permission) || ['admin', 'maintain', 'write'].includes(String(d.role_name));
  } catch (e) {
    if ((e as { status?: number }).status === 404) return false;
    throw e instanceof GitHubProblem ? e : new GitHubProblem(describeApiError(e, `reading @${login}'s permission`));
  }
}

type Review = { user: GhUser; state: string; commit?: string; at: string };

/** Only each reviewer's latest APPROVED / CHANGES_REQUESTED / DISMISSED review counts (comments never do). */
async function latestReviews(ctx: ReviewCtx, pr: Pr): Promise<Review[]> {
  const raw = await listAll(ctx.gh, 'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', { pull_number: pr.number }, `listing the reviews of PR #${pr.number}`);
  const latest = new Map<number, Review>();
  raw.map((r, i) => ({ r, i })).sort((a, b) => String(a.r.submitted_at ?? '').localeCompare(String(b.r.submitted_at ?? '')) || a.i - b.i).forEach(({ r }) => {
    const user = userOf(r.user);
    if (!user || !['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED'].includes(String(r.state))) return;
    latest.set(user.id, { user, state: String(r.state), commit: typeof r.commit_id === 'string' ? r.commit_id : undefined, at: String(r.submitted_at ?? '') });
  });
  return [...latest.values()];
}

async function staleWhy(ctx: ReviewCtx, r: Review, c: string): Promise<string> {
  if (!r.commit) return `review by @${r.user.login} has no commit (it was garbage-collected); ask for a new review`;
  const files = Object.keys(ctx.blobs);
  const changed = await changedBetween(ctx.root, r.commit, c, files);
  if (changed === undefined) return `review by @${r.user.login} approved ${short(r.commit)} but the PR head is now ${short(c)}; ask for a new review`;
  if (!changed.length) return `review by @${r.user.login} approved ${short(r.commit)}, not the PR head ${short(c)} (other files changed since); ask for a new review of ${short(c)}`;
  const first = await firstChange(ctx.root, r.commit, c, changed);
  return `review by @${r.user.login} approved ${short(r.commit)} but ${changed.join(', ')} changed in ${first ?? short(c)} after it; ask for a new review`;
}

/** Why one latest review does not count as an approval of C, or undefined when it does. */
async function disqualify(ctx: ReviewCtx, r: Review, c: string, people: Map<number, string>): Promise<string | undefined> {
  if (r.state === 'DISMISSED') return `review by @${r.user.login} was dismissed; ask for a new review`;
  if (r.state !== 'APPROVED') return `@${r.user.login} requested changes`;
  if (isBot(r.user)) return `@${r.user.login} is a bot; bots never count as approvers`;
  if (r.commit !== c) return staleWhy(ctx, r, c);
  if (people.has(r.user.id)) return `@${r.user.login} is ${people.get(r.user.id)}; self-approval does not count: ask someone else to review`;
  if (r.user.id === ctx.operator.id) return `@${r.user.login} is running this apply; the operator's own approval does not count`;
  if (!(await canWrite(ctx, r.user.login))) return `@${r.user.login} has no write access to ${ctx.gh.slug} now; ask a maintainer to review`;
  return undefined;
}

/** Every review rule for HEAD; fills ctx.rules and returns the PR and the approvers. */
export async function reviewRules(ctx: ReviewCtx): Promise<Pick<GateEvidence, 'pr' | 'approvers' | 'approvedCommit'>> {
  const pr = await findPr(ctx);
  if (!pr) return { approvers: [] };
  const evidencePr = { number: pr.number, url: pr.url, title: pr.title, author: pr.author.login, mergedAt: pr.mergedAt };
  const c = pr.head;
  stateRule(ctx, pr);
  await sameBytes(ctx, c);
  const people = await prPeople(ctx, pr);
  const reviews = await latestReviews(ctx, pr);
  const blockers = reviews.filter((r) => r.state === 'CHANGES_REQUESTED');
  add(ctx, 'changes_requested', !blockers.length, blockers.length
    ? blockers.map((r) => `@${r.user.login} requested changes${r.commit ? ` on ${short(r.commit)}` : ''} and has not approved since; ask them to approve, or dismiss the review`).join('; ')
    : 'no standing change requests');
  const approvers: GateEvidence['approvers'] = [];
  const why: string[] = [];
  for (const r of reviews.filter((x) => x.state !== 'CHANGES_REQUESTED')) {
    const no = await disqualify(ctx, r, c, people);
    if (no) why.push(no);
    else approvers.push({ login: r.user.login, id: r.user.id, at: r.at });
  }
  const ok = approvers.length >= ctx.policy.approvals;
  add(ctx, 'approvals', ok, `${approvers.length} of ${ctx.policy.approvals} required approval(s) of ${short(c)}`
    + (approvers.length ? ` by ${approvers.map((a) => `@${a.login}`).join(', ')}` : '') + (why.length ? `; not counted: ${why.join('; ')}` : '')
    + (ok ? '' : '; get an approving review of the PR head from someone with write access who did not author it'));
  return { pr: evidencePr, approvers, approvedCommit: c };
}
