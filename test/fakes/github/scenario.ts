// A whole review world for gate tests: a real bare "origin" repository with a default branch, a working
// clone, a pull request with commits by its author, reviews, a merge, and the GitHub fake serving it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeError } from '../../../src/cli/exit.ts';
import { GateRefused, requireGate, type GateInput } from '../../../src/gate/index.ts';
import type { FakePr, FakeReview, FakeUser } from './builders.ts';
import { newGitHubState, startGitHubFake, type GitHubState } from './server.ts';

export const USERS: FakeUser[] = [
  { login: 'acme', id: 1, type: 'User', permission: 'admin', email: 'noreply@github.com' },
  { login: 'alice', id: 11, permission: 'write', email: 'alice@example.com' },
  { login: 'bob', id: 12, permission: 'write', email: 'bob@example.com' },
  { login: 'carol', id: 13, permission: 'maintain', email: 'carol@example.com' },
  { login: 'mallory', id: 14, permission: 'read', email: 'mallory@example.com' },
  { login: 'deploy-bot[bot]', id: 15, type: 'Bot', permission: 'write', email: 'bot@example.com' },
  { login: 'dave', id: 16, permission: 'admin', email: 'dave@example.com' },
];

export const RUNBOOK = 'runbooks/deploy.yml';
export const ENV_FILE = 'environments/prod.yml';
export const TEMPLATE = 'runbooks/templates/app.env.j2';

const cleanEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

export function git(dir: string, args: string[], as = 'acme'): string {
  const u = USERS.find((x) => x.login === as)!;
  const who = { GIT_AUTHOR_NAME: u.login, GIT_AUTHOR_EMAIL: u.email!, GIT_COMMITTER_NAME: u.login, GIT_COMMITTER_EMAIL: u.email! };
  return execFileSync('git', args, { cwd: dir, env: { ...cleanEnv, ...who }, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}

let clock = Date.parse('2026-11-01T10:00:00Z');
export const tick = (): string => new Date((clock += 60_000)).toISOString().replace(/\.\d+Z$/, 'Z');

export type World = {
  root: string; work: string; bare: string; state: GitHubState; url: string; env: NodeJS.ProcessEnv;
  write(files: Record<string, string>): void;
  commit(files: Record<string, string>, as: string, message: string): string;
  /** Opens PR `number` from the current branch (pushed) into main, authored by `author`. */
  openPr(number: number, author: string, branch: string): FakePr;
  review(pr: FakePr, user: string, state: FakeReview['state'], commitId?: string | null): void;
  /** Merges the PR into main with a merge commit (as GitHub's web flow), pushes, checks out main. */
  merge(pr: FakePr): string;
  files(): string[];
  close(): Promise<void>;
};

const BASE_FILES: Record<string, string> = {
  [RUNBOOK]: 'name: deploy\nhosts: web\nenvironments: [staging, prod]\ntasks:\n  - name: config\n    template: { src: templates/app.env.j2, dest: /etc/app.env }\n',
  [TEMPLATE]: 'VERSION={{ version }}\n',
  [ENV_FILE]: 'protected: true\ntransport: local\ngroups: { web: { hosts: { web1: {} } } }\ngate: { approvals: 1 }\n',
  'README.md': 'app\n',
};

export async function makeWorld(o: { envPolicy?: string } = {}): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), 'gate-'));
  const bare = join(root, 'origin.git');
  const work = join(root, 'work');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare], { env: cleanEnv });
  execFileSync('git', ['init', '-q', '-b', 'main', work], { env: cleanEnv });
  git(work, ['config', 'user.email', 'acme@example.com']);
  git(work, ['config', 'user.name', 'acme']);
  git(work, ['remote', 'add', 'origin', bare]);
  const state = newGitHubState({ slug: 'acme/app', bareDir: bare, operator: 'carol', users: structuredClone(USERS) });
  const fake = await startGitHubFake(state);
  const w: World = {
    root, work, bare, state, url: fake.url,
    env: { GITHUB_TOKEN: state.token, GITHUB_API_URL: fake.url, GITHUB_REPOSITORY: 'acme/app' },
    write(files) {
      for (const [rel, text] of Object.entries(files)) { mkdirSync(dirname(join(work, rel)), { recursive: true }); writeFileSync(join(work, rel), text); }
    },
    commit(files, as, message) {
      w.write(files);
      git(work, ['add', '--', ...Object.keys(files)], as);
      git(work, ['commit', '-q', '-m', message, '--date', tick()], as);
      return git(work, ['rev-parse', 'HEAD']);
    },
    openPr(number, author, branch) {
      git(work, ['push', '-q', '-f', 'origin', branch]);
      const head = git(work, ['rev-parse', 'HEAD']);
      const commits = git(work, ['rev-list', '--reverse', `origin/main..${head}`]).split('\n').filter(Boolean);
      const pr: FakePr = { number, title: `Change ${number}`, author, headRef: branch, headSha: head, commits, baseRef: 'main', reviews: [] };
      state.prs.push(pr);
      return pr;
    },
    review(pr, user, st, commitId = pr.headSha) { pr.reviews.push({ user, state: st, commitId, submittedAt: tick() }); },
    merge(pr) {
      git(work, ['checkout', '-q', 'main']);
      git(work, ['merge', '-q', '--no-ff', pr.headSha, '-m', `Merge pull request #${pr.number}`]);
      git(work, ['push', '-q', 'origin', 'main']);
      pr.mergeCommitSha = git(work, ['rev-parse', 'HEAD']);
      pr.mergedAt = tick();
      return pr.mergeCommitSha;
    },
    files: () => [RUNBOOK, ENV_FILE, TEMPLATE].map((f) => join(work, f)),
    close: async () => { await fake.close(); rmSync(root, { recursive: true, force: true }); },
  };
  w.commit({ ...BASE_FILES, ...(o.envPolicy ? { [ENV_FILE]: o.envPolicy } : {}) }, 'acme', 'initial');
  git(work, ['push', '-q', 'origin', 'main']);
  git(work, ['fetch', '-q', 'origin']);
  return w;
}

/** The honest history: bob changes the runbook in PR #1, alice approves the head, acme merges it. */
export async function honestWorld(o: { envPolicy?: string; merge?: boolean } = {}): Promise<{ w: World; pr: FakePr }> {
  const w = await makeWorld(o);
  git(w.work, ['checkout', '-q', '-b', 'feature']);
  w.commit({ [RUNBOOK]: `${BASE_FILES[RUNBOOK]}  - name: restart\n    command: systemctl restart app\n` }, 'bob', 'restart the app after the config');
  const pr = w.openPr(1, 'bob', 'feature');
  w.review(pr, 'alice', 'APPROVED');
  if (o.merge !== false) w.merge(pr);
  return { w, pr };
}

/** The GateInput for `prod` in a world (override any field). */
export function gateInput(w: World, over: Partial<GateInput> = {}): GateInput {
  return { repoDir: w.work, files: w.files(), envName: 'prod', runbookEnvironments: ['staging', 'prod'], envFileRel: ENV_FILE, env: w.env,
    timeoutMs: 10_000, warn: () => {}, ...over };
}

/**
 * Runs requireGate expecting a refusal; returns the error (with evidence) or throws if it passed. The error goes
 * through the CLI's one error mapping (src/cli/exit.ts), which must make it exit 3.
 */
export async function refusal(input: GateInput): Promise<GateRefused> {
  try {
    await requireGate(input);
  } catch (e) {
    if (!(e instanceof GateRefused)) throw e;
    const { code } = describeError(e);
    if (code !== 3) throw new Error(`the gate refused, but the CLI would exit ${code}, not 3`);
    return e;
  }
  throw new Error('the gate passed but should have refused');
}

/**
 * The detail of a failed rule, or undefined when that rule did not fail. A failed rule's detail must also be in
 * the text the CLI prints for the refusal (the operator sees the reason, not just the exit code).
 */
export function failed(e: GateRefused, rule: string): string | undefined {
  const detail = e.evidence?.rules.find((r) => r.rule === rule && !r.ok)?.detail;
  if (detail !== undefined && !describeError(e).text.includes(`${rule}: ${detail}`)) throw new Error(`the printed refusal does not say '${rule}: ${detail}'`);
  return detail;
}
