// The action's decisions (src/cli/action.ts) on real temp git repositories: which runbooks changed,
// which environments, and which runbook command lines each GitHub event leads to.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { planSteps, readInputs, splitArgs, type ActionContext } from '../../src/cli/action.ts';

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();

function write(dir: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
}

/** A repo with two runbooks on main, then a branch commit with `change`. Returns the two SHAs. */
function repo(change: Record<string, string>): { dir: string; base: string; head: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rb-action-'));
  git(dir, 'init', '-q', '-b', 'main');
  write(dir, {
    'runbooks/a.yml': 'name: a\nhosts: web\nenvironments: [staging, prod]\ntasks: []\n',
    'runbooks/b.yml': 'name: b\nhosts: web\nenvironments: [staging, qa]\ntasks: []\n',
    'runbooks/templates/a.j2': 'x\n',
    'environments/staging.yml': 'transport: local\n', 'environments/prod.yml': 'transport: local\n',
    'README.md': 'hi\n',
  });
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'base');
  const base = git(dir, 'rev-parse', 'HEAD');
  write(dir, change);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'change');
  return { dir, base, head: git(dir, 'rev-parse', 'HEAD') };
}

const pr = (r: { dir: string; base: string; head: string }, number = 7): ActionContext =>
  ({ event: 'pull_request', cwd: r.dir, payload: { pull_request: { number, base: { sha: r.base }, head: { sha: r.head } } } });

describe('action: which commands an event runs', () => {
  it('pull_request: validate the changed runbook, then plan --comment on each environment it lists that exists', () => {
    const r = repo({ 'runbooks/a.yml': 'name: a2\nhosts: web\nenvironments: [staging, prod]\ntasks: []\n', 'README.md': 'changed\n' });
    const warnings: string[] = [];
    const steps = planSteps(readInputs({}), pr(r), (w) => warnings.push(w));
    expect(steps).toEqual([
      ['validate', 'runbooks/a.yml'],
      ['plan', 'runbooks/a.yml', '-e', 'staging', '--comment', '--pr', '7'],
      ['plan', 'runbooks/a.yml', '-e', 'prod', '--comment', '--pr', '7'],
    ]);
    expect(warnings).toEqual([]);
  });

  it('a changed template or environment file means every runbook; the environment input and args apply to each', () => {
    const r = repo({ 'runbooks/templates/a.j2': 'y\n' });
    const steps = planSteps(readInputs({ INPUT_ENVIRONMENT: 'staging', INPUT_ARGS: '--limit web1 --extra-vars "v=6.0 beta"' }), pr(r, 3), () => {});
    expect(steps).toEqual([
      ['validate', 'runbooks/a.yml', 'runbooks/b.yml'],
      ['plan', 'runbooks/a.yml', '-e', 'staging', '--comment', '--pr', '3', '--limit', 'web1', '--extra-vars', 'v=6.0 beta'],
      ['plan', 'runbooks/b.yml', '-e', 'staging', '--comment', '--pr', '3', '--limit', 'web1', '--extra-vars', 'v=6.0 beta'],
    ]);
    const e = repo({ 'environments/prod.yml': 'transport: local\nprotected: true\n' });
    expect(planSteps(readInputs({}), pr(e), () => {})[0]).toEqual(['validate', 'runbooks/a.yml', 'runbooks/b.yml']);
  });

  it('a pull request that changes no runbook runs nothing', () => {
    const r = repo({ 'README.md': 'only docs\n' });
    expect(planSteps(readInputs({}), pr(r), () => {})).toEqual([]);
  });

  it('push to main: validate + apply --yes on the environment input; apply without an environment is refused', () => {
    const r = repo({ 'runbooks/b.yml': 'name: b2\nhosts: web\nenvironments: [staging, qa]\ntasks: []\n' });
    const ctx: ActionContext = { event: 'push', cwd: r.dir, payload: { before: r.base, after: r.head } };
    expect(planSteps(readInputs({ INPUT_ENVIRONMENT: 'prod' }), ctx, () => {})).toEqual([
      ['validate', 'runbooks/b.yml'], ['apply', 'runbooks/b.yml', '-e', 'prod', '--yes'],
    ]);
    expect(() => planSteps(readInputs({}), ctx, () => {})).toThrow(/set the environment input/);
  });

  it('pull_request_review: apply only when approved, else just validate', () => {
    const r = repo({ 'runbooks/a.yml': 'name: a3\nhosts: web\nenvironments: [staging, prod]\ntasks: []\n' });
    const ctx = (state: string): ActionContext => ({ ...pr(r), event: 'pull_request_review', payload: { ...pr(r).payload, review: { state } } });
    const inputs = readInputs({ INPUT_ENVIRONMENT: 'prod', INPUT_INVENTORY: 'envs' });
    expect(planSteps(inputs, ctx('approved'), () => {})).toEqual([['validate', 'runbooks/a.yml'], ['apply', 'runbooks/a.yml', '-e', 'prod', '-i', 'envs', '--yes']]);
    expect(planSteps(inputs, ctx('commented'), () => {})).toEqual([['validate', 'runbooks/a.yml']]);
  });

  it('workflow_dispatch takes the runbook and environment from the dispatch inputs', () => {
    const r = repo({ 'README.md': 'x\n' });
    const ctx: ActionContext = { event: 'workflow_dispatch', cwd: r.dir, payload: { inputs: { runbook: 'runbooks/b.yml', environment: 'qa' } } };
    expect(planSteps(readInputs({}), ctx, () => {})).toEqual([['validate', 'runbooks/b.yml'], ['apply', 'runbooks/b.yml', '-e', 'qa', '--yes']]);
  });

  it('without the base commit (shallow clone) it warns and takes every runbook', () => {
    const r = repo({ 'README.md': 'x\n' });
    const warnings: string[] = [];
    const ctx: ActionContext = { ...pr(r), payload: { pull_request: { number: 1, base: { sha: 'f'.repeat(40) }, head: { sha: r.head } } } };
    expect(planSteps(readInputs({ INPUT_COMMAND: 'validate' }), ctx, (w) => warnings.push(w))).toEqual([['validate', 'runbooks/a.yml', 'runbooks/b.yml']]);
    expect(warnings[0]).toMatch(/fetch-depth: 0/);
  });

  it('rejects an unknown command input and an event it cannot handle', () => {
    expect(() => readInputs({ INPUT_COMMAND: 'destroy' })).toThrow(/use auto, validate, plan or apply/);
    const r = repo({ 'README.md': 'x\n' });
    expect(() => planSteps(readInputs({}), { event: 'issues', cwd: r.dir, payload: {} }, () => {})).toThrow(/'issues' event/);
  });

  it('splits args like a shell (quotes, no expansion)', () => {
    expect(splitArgs(`--limit 'web*' --extra-vars "a=b c" -v`)).toEqual(['--limit', 'web*', '--extra-vars', 'a=b c', '-v']);
    expect(splitArgs('  ')).toEqual([]);
    expect(splitArgs('--extra-vars "say \\"hi\\""')).toEqual(['--extra-vars', 'say "hi"']);
  });
});

describe('action.yml and the example workflows', () => {
  const root = resolve(import.meta.dirname, '../..');
  type Step = { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, string> };

  it('passes every runbook input to the entry point as the INPUT_ variable it reads', () => {
    const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown>; runs: { using: string; steps: Step[] } };
    expect(action.runs.using).toBe('composite');
    const run = action.runs.steps.find((st) => st.run?.includes('scripts/action-entry.js'))!;
    expect(run).toBeDefined();
    const passed = Object.keys(action.inputs).filter((k) => !['node-version', 'working-directory'].includes(k));
    for (const k of passed) expect(run.env![`INPUT_${k.toUpperCase().replace(/-/g, '_')}`]).toBe(`\${{ inputs.${k} }}`);
    const env = Object.fromEntries(passed.map((k) => [`INPUT_${k.toUpperCase().replace(/-/g, '_')}`, `v-${k}`]));
    expect(readInputs({ ...env, INPUT_COMMAND: 'plan' })).toMatchObject({ command: 'plan', runbooks: ['v-runbook'], environments: ['v-environment'],
      args: ['v-args'], runbooksDir: 'v-runbooks-dir', inventory: 'v-inventory' });
  });

  it('the apply workflow uses OIDC, a protected GitHub Environment and the New Relic secret; the PR workflow can comment', () => {
    const apply = parse(readFileSync(join(root, 'examples/workflows/runbook-apply.yml'), 'utf8')) as
      { permissions: Record<string, string>; jobs: Record<string, { environment: string; steps: Step[] }> };
    expect(apply.permissions['id-token']).toBe('write');
    const job = Object.values(apply.jobs)[0]!;
    expect(job.environment).toBe('production');
    expect(job.steps.find((st) => st.uses?.startsWith('aws-actions/configure-aws-credentials'))?.with?.['role-to-assume']).toBeTruthy();
    const rb = job.steps.find((st) => st.uses?.startsWith('runbook/runbook'))!;
    expect(rb.with).toMatchObject({ command: 'apply', environment: 'prod' });
    expect(rb.env?.NEW_RELIC_API_KEY).toBe('${{ secrets.NEW_RELIC_API_KEY }}');
    const pr = parse(readFileSync(join(root, 'examples/workflows/runbook-pr.yml'), 'utf8')) as { on: Record<string, unknown>; permissions: Record<string, string> };
    expect(Object.keys(pr.on)).toEqual(['pull_request']);
    expect(pr.permissions['pull-requests']).toBe('write');
  });
});
