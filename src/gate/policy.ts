// The gate policy (gate.approvals, gate.require, gate.break_glass) comes from the environment file
// AT THE DEFAULT BRANCH, or from a local file outside the repository (RUNBOOK_GATE_POLICY); never
// from the working tree or the pull request under review, so a PR cannot lower its own bar.
import { readFile, realpath } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { describeApiError, GitHubProblem, isObject, type Gh } from './github.ts';
import { git } from './local.ts';
import type { GatePolicy } from './types.ts';

export type PolicyResult = GatePolicy & { source: string };

export const DEFAULT_POLICY: GatePolicy = { approvals: 1, require: 'merged', breakGlass: false };

/** Validates a `gate:` mapping; unknown or invalid values refuse rather than fall back. */
export function policyFrom(raw: unknown, where: string): GatePolicy {
  if (raw === undefined || raw === null) return { ...DEFAULT_POLICY };
  if (!isObject(raw)) throw new GitHubProblem(`gate policy in ${where} is not a mapping; fix it on the default branch`);
  const { approvals = 1, require = 'merged', break_glass: breakGlass = false } = raw;
  if (typeof approvals !== 'number' || !Number.isInteger(approvals) || approvals < 1) throw new GitHubProblem(`gate.approvals in ${where} must be a whole number >= 1 (got ${JSON.stringify(approvals)})`);
  if (require !== 'merged' && require !== 'approved') throw new GitHubProblem(`gate.require in ${where} must be merged or approved (got ${JSON.stringify(require)})`);
  if (typeof breakGlass !== 'boolean') throw new GitHubProblem(`gate.break_glass in ${where} must be true or false`);
  return { approvals, require, breakGlass };
}

/** RUNBOOK_GATE_POLICY: `{ approvals, require, break_glass }` at the top, overridden by `environments.<env>`. */
async function localPolicy(path: string, root: string, envName: string): Promise<PolicyResult> {
  let real: string;
  try { real = await realpath(resolve(path)); } catch { throw new GitHubProblem(`RUNBOOK_GATE_POLICY ${path} does not exist`); }
  const rel = relative(root, real);
  if (!rel.startsWith('..')) throw new GitHubProblem(`RUNBOOK_GATE_POLICY ${path} is inside the repository; the policy must live outside it (or on the default branch) so a PR cannot change it`);
  let doc: unknown;
  try { doc = parse(await readFile(real, 'utf8')); } catch (e) { throw new GitHubProblem(`RUNBOOK_GATE_POLICY ${path} is not valid YAML: ${(e as Error).message}`); }
  const top = isObject(doc) ? doc : {};
  const perEnv = isObject(top.environments) ? top.environments[envName] : undefined;
  const { environments: _ignored, ...flat } = top;
  return { ...policyFrom({ ...flat, ...(isObject(perEnv) ? perEnv : {}) }, path), source: `local config ${real}` };
}

async function defaultBranchPolicy(gh: Gh, branch: string, envFileRel: string): Promise<PolicyResult> {
  const what = `reading ${envFileRel} at the default branch ${branch}`;
  let data: unknown;
  try {
    data = (await gh.octokit.rest.repos.getContent({ owner: gh.owner, repo: gh.repo, path: envFileRel, ref: branch })).data;
  } catch (e) {
    if ((e as { status?: number }).status === 404) return { ...DEFAULT_POLICY, source: `defaults (${envFileRel} is not on ${branch} yet)` };
    throw new GitHubProblem(describeApiError(e, what));
  }
  if (!isObject(data) || data.type !== 'file' || typeof data.content !== 'string') throw new GitHubProblem(`GitHub sent an unreadable answer while ${what}; the gate refuses on unknown state`);
  let doc: unknown;
  try { doc = parse(Buffer.from(data.content, 'base64').toString('utf8')); } catch (e) { throw new GitHubProblem(`${envFileRel} on ${branch} is not valid YAML: ${(e as Error).message}`); }
  return { ...policyFrom(isObject(doc) ? doc.gate : undefined, `${envFileRel} on ${branch}`), source: `${branch}:${envFileRel}` };
}

/** The caller's policy can only raise the bar. */
function stricter(p: PolicyResult, extra?: Partial<GatePolicy>): PolicyResult {
  if (!extra) return p;
  return { ...p, approvals: Math.max(p.approvals, extra.approvals ?? 0), require: extra.require === 'merged' ? 'merged' : p.require,
    breakGlass: p.breakGlass && extra.breakGlass !== false };
}

export async function readPolicy(o: { env: NodeJS.ProcessEnv; root: string; envName: string; envFileRel: string; extra?: Partial<GatePolicy>;
  gh?: Gh; defaultBranch?: string }): Promise<PolicyResult> {
  if (o.env.RUNBOOK_GATE_POLICY) return stricter(await localPolicy(o.env.RUNBOOK_GATE_POLICY, o.root, o.envName), o.extra);
  if (!o.gh || !o.defaultBranch) throw new GitHubProblem('the gate policy is read from the default branch on GitHub, which is unavailable; fix access, or set RUNBOOK_GATE_POLICY to a policy file outside the repository');
  return stricter(await defaultBranchPolicy(o.gh, o.defaultBranch, o.envFileRel.split('\\').join('/')), o.extra);
}

/**
 * Does the environment file on the default branch (local origin/HEAD, else origin/main or origin/master) say
 * `protected: true`? For an apply whose working tree calls the environment unprotected: a PR must not
 * switch off its own gate. Undefined when the default branch or the file is not available locally.
 */
export async function protectedOnDefaultBranch(repoDir: string, envFileRel: string): Promise<boolean | undefined> {
  const root = await git(repoDir, ['rev-parse', '--show-toplevel']);
  if (!root) return undefined;
  const rel = relative(root, resolve(repoDir, envFileRel)).split('\\').join('/');
  const head = await git(root, ['rev-parse', '--abbrev-ref', 'origin/HEAD']);
  for (const ref of [head, 'origin/main', 'origin/master']) {
    if (!ref || ref === 'origin/HEAD') continue;
    const text = await git(root, ['show', `${ref}:${rel}`]);
    if (text === undefined) continue;
    try {
      const doc: unknown = parse(text);
      return isObject(doc) && doc.protected === true;
    } catch {
      return true;
    }
  }
  return undefined;
}
