// The review gate (issue 6): a protected environment runs only the exact bytes a GitHub review approved.
// evaluateGate collects every rule (never throws on refusal); requireGate throws GateRefusedError (exit 3).
import { userInfo } from 'node:os';
import { relative, resolve } from 'node:path';
import { GateRefusedError } from '../errors.ts';
import { describeApiError, getOne, GitHubProblem, githubClient, isRateLimit, repoSlug, userOf, type Gh, type GhUser } from './github.ts';
import { localFacts } from './local.ts';
import { readPolicy, type PolicyResult } from './policy.ts';
import { reviewRules } from './review.ts';
import type { GateEvidence, GateInput, GateRule } from './types.ts';

export type { GateEvidence, GateInput, GatePolicy, GateRule } from './types.ts';
export { formatEvidence } from './format.ts';
export { protectedOnDefaultBranch } from './policy.ts';

/** GateRefusedError that also carries the evidence (which rules failed), for callers and tests. */
export class GateRefused extends GateRefusedError {
  constructor(reasons: readonly string[], readonly evidence?: GateEvidence) { super(reasons); }
}

type Remote = { gh: Gh; defaultBranch: string; operator: GhUser };

/** The token's user; a GitHub Actions token cannot read /user, so GITHUB_ACTOR is looked up instead. */
async function whoRuns(gh: Gh, env: NodeJS.ProcessEnv): Promise<GhUser> {
  try {
    const u = userOf((await gh.octokit.rest.users.getAuthenticated()).data);
    if (u) return u;
    throw new GitHubProblem('GitHub sent an unreadable user for the token; the gate refuses on unknown state');
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status !== 403 || isRateLimit(e) || !env.GITHUB_ACTOR) throw e instanceof GitHubProblem ? e : new GitHubProblem(describeApiError(e, 'asking who runs this apply (GET /user)'));
  }
  const u = userOf(await getOne(gh, 'GET /users/{username}', { username: env.GITHUB_ACTOR }, `looking up GITHUB_ACTOR @${env.GITHUB_ACTOR}`));
  if (!u) throw new GitHubProblem(`GitHub sent an unreadable user for @${env.GITHUB_ACTOR}; the gate refuses on unknown state`);
  return u;
}

async function connect(input: GateInput, env: NodeJS.ProcessEnv, root: string, ev: GateEvidence): Promise<Remote | undefined> {
  try {
    ev.repo = await repoSlug(env, root);
    const gh = githubClient(env, ev.repo, { fetch: input.fetch, timeoutMs: input.timeoutMs });
    const repo = await getOne(gh, 'GET /repos/{owner}/{repo}', {}, `reading ${ev.repo}`);
    if (typeof repo.default_branch !== 'string') throw new GitHubProblem(`GitHub sent no default branch for ${ev.repo}; the gate refuses on unknown state`);
    const operator = await whoRuns(gh, env);
    ev.operator = operator.login;
    ev.rules.push({ rule: 'github', ok: true, detail: `${ev.repo} (default branch ${repo.default_branch}), operator @${operator.login}` });
    return { gh, defaultBranch: repo.default_branch, operator };
  } catch (e) {
    ev.rules.push({ rule: 'github', ok: false, detail: e instanceof GitHubProblem ? e.message : describeApiError(e, 'connecting') });
    return undefined;
  }
}

async function policyRule(input: GateInput, env: NodeJS.ProcessEnv, root: string, remote: Remote | undefined, ev: GateEvidence): Promise<PolicyResult | undefined> {
  try {
    const envFileRel = relative(root, resolve(input.repoDir, input.envFileRel));
    const p = await readPolicy({ env, root, envName: input.envName, envFileRel, extra: input.policy, gh: remote?.gh, defaultBranch: remote?.defaultBranch });
    ev.policy = p;
    ev.rules.push({ rule: 'policy', ok: true, detail: `${p.approvals} approval(s), require ${p.require}, break-glass ${p.breakGlass ? 'allowed' : 'off'} (from ${p.source})` });
    return p;
  } catch (e) {
    ev.rules.push({ rule: 'policy', ok: false, detail: e instanceof GitHubProblem ? e.message : describeApiError(e, 'reading the gate policy') });
    return undefined;
  }
}

function breakGlassRule(input: GateInput, env: NodeJS.ProcessEnv, policy: PolicyResult | undefined, ev: GateEvidence): void {
  const reason = (input.breakGlass ?? '').trim();
  if (!ev.operator) ev.operator = env.GITHUB_ACTOR ?? userInfo().username;
  if (!reason) {
    ev.rules.push({ rule: 'break_glass', ok: false, detail: 'break-glass needs a reason: --break-glass "what is on fire and why it cannot wait for a review"' });
  } else if (!policy?.breakGlass) {
    ev.rules.push({ rule: 'break_glass', ok: false, detail: `break-glass is off for ${input.envName}${policy ? ` (policy from ${policy.source})` : ''}; allow it with gate.break_glass: true in the environment file on the default branch, or in RUNBOOK_GATE_POLICY, or get the change reviewed` });
  } else {
    ev.breakGlass = { reason, operator: ev.operator };
    ev.rules.push({ rule: 'break_glass', ok: true, detail: `BREAK-GLASS by ${ev.operator}: ${reason}; the review rules were skipped and this run is recorded as unreviewed` });
  }
}

export async function evaluateGate(input: GateInput): Promise<GateEvidence> {
  const env = input.env ?? process.env;
  const local = await localFacts(input.repoDir, input.files);
  const ev: GateEvidence = { passed: false, repo: env.GITHUB_REPOSITORY ?? '', commit: local.head ?? '', approvers: [], blobs: local.blobs, rules: [], operator: '' };
  const envOk = input.runbookEnvironments.includes(input.envName);
  ev.rules.push({ rule: 'environment', ok: envOk, detail: envOk ? `the runbook's environments name ${input.envName}`
    : `the runbook's environments: [${input.runbookEnvironments.join(', ')}] does not name ${input.envName}; add it in the runbook and get that reviewed` });
  ev.rules.push({ rule: 'files', ok: !local.problems.length, detail: local.problems.length ? local.problems.join('; ')
    : `${Object.keys(local.blobs).length} run files tracked, committed and clean at HEAD ${ev.commit.slice(0, 7)}` });
  const remote = await connect(input, env, local.root, ev);
  const policy = await policyRule(input, env, local.root, remote, ev);
  if (input.breakGlass !== undefined) {
    breakGlassRule(input, env, policy, ev);
  } else if (remote && policy && local.head) {
    try {
      Object.assign(ev, await reviewRules({ ...remote, root: local.root, head: local.head, blobs: local.blobs, policy, rules: ev.rules }));
    } catch (e) {
      ev.rules.push({ rule: 'github', ok: false, detail: e instanceof GitHubProblem ? e.message : describeApiError(e, 'checking the reviews') });
    }
  }
  const proven = ev.rules.some((r) => (r.rule === 'approvals' || r.rule === 'break_glass') && r.ok);
  ev.passed = proven && ev.rules.every((r) => r.ok);
  if (ev.passed && ev.breakGlass) (input.warn ?? ((m: string) => process.stderr.write(m + '\n')))(loudWarning(ev));
  return ev;
}

const loudWarning = (ev: GateEvidence): string =>
  `!!! BREAK-GLASS: running UNREVIEWED content at ${ev.commit.slice(0, 12)} on a protected environment, by ${ev.breakGlass?.operator}: ${ev.breakGlass?.reason} !!!`;

export const refusalReasons = (ev: GateEvidence): string[] => ev.rules.filter((r) => !r.ok).map((r) => `${r.rule}: ${r.detail}`);

export async function requireGate(input: GateInput): Promise<GateEvidence> {
  const ev = await evaluateGate(input);
  if (!ev.passed) {
    const reasons = refusalReasons(ev);
    throw new GateRefused(reasons.length ? reasons : ['the gate could not prove an approval (unknown state)'], ev);
  }
  return ev;
}

/** Right before the first task: the files and HEAD must still be exactly what the gate pinned. */
export async function recheckPins(evidence: GateEvidence, repoDir: string): Promise<void> {
  const top = await localFacts(repoDir, []);
  const files = Object.keys(evidence.blobs);
  if (!files.length) throw new GateRefused(['pins: the evidence pins no files; run the gate again'], evidence);
  const now = await localFacts(repoDir, files.map((rel) => resolve(top.root, rel)));
  const reasons = [...now.problems];
  if (now.head !== evidence.commit) reasons.push(`HEAD moved from ${evidence.commit.slice(0, 7)} to ${(now.head ?? 'none').slice(0, 7)} after the gate passed; run apply again`);
  for (const [rel, sha] of Object.entries(evidence.blobs)) {
    if (now.blobs[rel] !== undefined && now.blobs[rel] !== sha) reasons.push(`${rel} changed after the gate passed (blob ${sha.slice(0, 7)} -> ${now.blobs[rel]!.slice(0, 7)}); run apply again`);
  }
  if (reasons.length) throw new GateRefused(reasons.map((r) => `pins: ${r}`), evidence);
}
