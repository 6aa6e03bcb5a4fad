// The GitHub Action's entry point (scripts/action-entry.js) run as Actions runs it: a temp repository,
// a fake event payload in GITHUB_EVENT_PATH, and the GitHub fake answering the plan comments.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommentsFake } from '../fakes/github/comments.ts';
import { spawnNode, type Spawned } from '../helpers/spawn-async.ts';

const ENTRY = resolve(import.meta.dirname, '../../scripts/action-entry.js');
let fake: Awaited<ReturnType<typeof startCommentsFake>>;
beforeAll(async () => { fake = await startCommentsFake(); });
afterAll(async () => { await fake.close(); });

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();

function commit(dir: string, files: Record<string, string>, message: string): string {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

const runbook = (content: string): string =>
  `name: App settings\nhosts: web\nenvironments: [dev, prod]\ntasks:\n  - name: Settings\n    copy: { content: "${content}\\n", dest: "{{ root }}/app.env" }\n`;

function repo(): { dir: string; base: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rb-action-e2e-'));
  git(dir, 'init', '-q', '-b', 'main');
  mkdirSync(join(dir, 'out'));
  const base = commit(dir, {
    'environments/dev.yml': `transport: local\nvars: { root: "${dir}/out" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n`,
    'runbooks/app.yml': runbook('PORT=1'), 'README.md': 'ops\n', '.gitignore': 'out/\n.runbook/\nevent.json\n',
  }, 'base');
  return { dir, base };
}

/** Async spawn: the GitHub fake lives in this process and must keep answering. */
function action(dir: string, event: string, payload: unknown, inputs: Record<string, string> = {}): Promise<Spawned> {
  const path = join(dir, 'event.json');
  writeFileSync(path, JSON.stringify(payload));
  return spawnNode(ENTRY, [], { cwd: dir, env: { ...process.env, NO_COLOR: '1', GITHUB_EVENT_NAME: event, GITHUB_EVENT_PATH: path,
    GITHUB_REPOSITORY: 'acme/ops', GITHUB_API_URL: fake.url, GITHUB_TOKEN: fake.store.token, GITHUB_ACTOR: 'octocat', NEW_RELIC_API_KEY: '', GITHUB_STEP_SUMMARY: '', ...inputs } });
}

const MARKER = '<!-- runbook-plan:runbooks/app.yml:dev -->';

describe('the action entry point on fake GitHub events', () => {
  it('pull_request: validates the changed runbook and posts its plan; the next push updates the same comment', async () => {
    const { dir, base } = repo();
    const head = commit(dir, { 'runbooks/app.yml': runbook('PORT=2') }, 'change the port');
    const summary = join(mkdtempSync(join(tmpdir(), 'rb-summary-')), 'step-summary.md');
    const first = await action(dir, 'pull_request', { action: 'opened', number: 8, pull_request: { number: 8, base: { sha: base }, head: { sha: head } } },
      { GITHUB_STEP_SUMMARY: summary });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('::group::runbook validate runbooks/app.yml\n');
    expect(first.stdout).toContain('::group::runbook plan runbooks/app.yml -e dev --comment --pr 8\n');
    expect(first.stdout).not.toContain('-e prod'); // declared, but no environments/prod.yml in this repo
    expect(first.stdout).toMatch(/plan comment created on acme\/ops#8/);
    expect(readFileSync(summary, 'utf8').startsWith(MARKER)).toBe(true);
    const next = commit(dir, { 'runbooks/app.yml': runbook('PORT=3') }, 'again');
    const second = await action(dir, 'pull_request', { action: 'synchronize', number: 8, pull_request: { number: 8, base: { sha: base }, head: { sha: next } } });
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/plan comment updated on acme\/ops#8/);
    const comments = fake.store.comments.get('acme/ops#8')!;
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.startsWith(MARKER)).toBe(true);
    expect(comments[0]!.body).toContain('+PORT=3');
    expect(readdirSync(join(dir, 'out'))).toEqual([]); // a plan changes nothing
    expect(fake.store.schemaErrors).toEqual([]);
  });

  it('an invalid runbook fails the step with exit 2, and the valid one still gets its comment', async () => {
    const { dir, base } = repo();
    const head = commit(dir, { 'runbooks/app.yml': runbook('PORT=4'), 'runbooks/broken.yml': 'name: x\nhosts: web\nenvironments: [dev]\ntasks:\n  - comand: ls\n' }, 'two');
    const r = await action(dir, 'pull_request', { pull_request: { number: 9, base: { sha: base }, head: { sha: head } } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("runbooks/broken.yml:5:5: unknown key 'comand'");
    expect(r.stderr).toMatch(/::error::runbook validate runbooks\/app\.yml runbooks\/broken\.yml exited 2/);
    expect(fake.store.comments.get('acme/ops#9')!.map((c) => c.body.split('\n')[0])).toEqual([MARKER]);
  });

  it('push to main with environment input: validates and applies the changed runbook with --yes', async () => {
    const { dir, base } = repo();
    const after = commit(dir, { 'runbooks/app.yml': runbook('PORT=5') }, 'merge');
    const r = await action(dir, 'push', { ref: 'refs/heads/main', before: base, after }, { INPUT_ENVIRONMENT: 'dev' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('::group::runbook apply runbooks/app.yml -e dev --yes\n');
    expect(readFileSync(join(dir, 'out', 'app.env'), 'utf8')).toBe('PORT=5\n');
    expect(existsSync(join(dir, '.runbook', 'runs'))).toBe(true);
  });

  it('a pull request that changes no runbook does nothing and succeeds', async () => {
    const { dir, base } = repo();
    const head = commit(dir, { 'README.md': 'docs only\n' }, 'docs');
    const r = await action(dir, 'pull_request', { pull_request: { number: 10, base: { sha: base }, head: { sha: head } } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('no runbook changed; nothing to do');
    expect(fake.store.comments.get('acme/ops#10')).toBeUndefined();
  });
});
