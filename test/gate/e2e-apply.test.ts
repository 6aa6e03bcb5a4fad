// End to end: the real CLI (`node bin/runbook.js apply`) on a protected environment (transport local) in a
// real git repository, GitHub reached through GITHUB_API_URL at the fake. Approved: exit 0 and the journal's
// gate event carries the evidence. Not approved: exit 3 and nothing on the host changed. A PR that
// sets `protected: false` in its own copy of the environment file still meets the gate.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV_FILE, git, makeWorld, RUNBOOK, TEMPLATE, type World } from '../fakes/github/scenario.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');

function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd, env: { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', NEW_RELIC_LICENSE_KEY: '', GITHUB_TOKEN: '', GH_TOKEN: '', GITHUB_ACTOR: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

let world: World | undefined;
let out = '';
afterEach(async () => {
  expect(world?.state.schemaErrors ?? []).toEqual([]);
  await world?.close();
  world = undefined;
  rmSync(out, { recursive: true, force: true });
});

/** bob's PR #1 changes the runbook to write the app config into `out`; approved by `approver` (if any) and merged. */
async function deployWorld(approver?: string): Promise<World> {
  out = mkdtempSync(join(tmpdir(), 'gate-e2e-out-'));
  const w = await makeWorld({ envPolicy: `protected: true\ntransport: local\nvars: { out: "${out}" }\ngroups: { web: { hosts: { web1: {} } } }\ngate: { approvals: 1 }\n` });
  git(w.work, ['checkout', '-q', '-b', 'feature']);
  w.commit({
    [RUNBOOK]: 'name: deploy\nhosts: web\nenvironments: [staging, prod]\nvars: { version: "2.0" }\ntasks:\n'
      + '  - name: config\n    template: { src: templates/app.env.j2, dest: "{{ out }}/{{ inventory_hostname }}.env" }\n',
  }, 'bob', 'deploy 2.0');
  const pr = w.openPr(1, 'bob', 'feature');
  if (approver) w.review(pr, approver, 'APPROVED');
  w.merge(pr);
  return w;
}

type Event = { type: string; passed?: boolean; evidence?: { commit: string; pr?: { number: number; url: string }; approvers: { login: string }[]; blobs: Record<string, string> } };

function journal(work: string): Event[] {
  const dir = join(work, '.runbook', 'runs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  expect(files).toHaveLength(1);
  return readFileSync(join(dir, files[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
}

describe('runbook apply on a protected environment (end to end)', { timeout: 90_000 }, () => {
  it('an approved, merged PR: exit 0, the host changed, the journal holds the gate evidence', async () => {
    const w = (world = await deployWorld('alice'));
    const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes'], w.env);
    expect(r.stderr).not.toMatch(/review gate refused/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'web1.env'), 'utf8')).toBe('VERSION=2.0\n');
    const gate = journal(w.work).find((e) => e.type === 'gate');
    expect(gate?.passed).toBe(true);
    const head = git(w.work, ['rev-parse', 'HEAD']);
    expect(gate?.evidence).toMatchObject({ commit: head, pr: { number: 1, url: 'https://github.com/acme/app/pull/1' }, approvers: [{ login: 'alice' }] });
    expect(gate?.evidence?.blobs).toEqual({
      [RUNBOOK]: git(w.work, ['rev-parse', `HEAD:${RUNBOOK}`]), [ENV_FILE]: git(w.work, ['rev-parse', `HEAD:${ENV_FILE}`]),
      [TEMPLATE]: git(w.work, ['rev-parse', `HEAD:${TEMPLATE}`]),
    });
  });

  it('no approval: exit 3 naming what is missing, and nothing changed on the host', async () => {
    const w = (world = await deployWorld());
    const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes'], w.env);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/review gate refused/);
    expect(r.stderr).toMatch(/0 of 1 required approval/);
    expect(existsSync(join(out, 'web1.env'))).toBe(false);
  });

  it('no GitHub token: exit 3 saying which token to set, nothing changed', async () => {
    const w = (world = await deployWorld('alice'));
    const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes'], { ...w.env, GITHUB_TOKEN: '' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/GITHUB_TOKEN/);
    expect(existsSync(join(out, 'web1.env'))).toBe(false);
  });

  it('a PR that sets protected: false in its copy of the environment file still meets the gate: exit 3, nothing changed', async () => {
    out = mkdtempSync(join(tmpdir(), 'gate-e2e-out-'));
    const env = (prot: boolean): string => `protected: ${prot}\ntransport: local\nvars: { out: "${out}" }\ngroups: { web: { hosts: { web1: {} } } }\n`;
    const w = (world = await makeWorld({ envPolicy: env(true) }));
    git(w.work, ['checkout', '-q', '-b', 'unprotect']);
    w.commit({ [ENV_FILE]: env(false), [RUNBOOK]: 'name: deploy\nhosts: web\nenvironments: [prod]\ntasks:\n  - copy: { content: "x", dest: "{{ out }}/{{ inventory_hostname }}.env" }\n' },
      'bob', 'unprotect prod');
    w.openPr(1, 'bob', 'unprotect');
    const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes'], w.env);
    expect(r.stderr).toContain('prod is protected on main; this copy of its environment file says otherwise, so the review gate applies');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/0 of 1 required approval/);
    expect(existsSync(join(out, 'web1.env'))).toBe(false);
  });

  it('an environment unprotected on the default branch too runs without the gate (no token needed)', async () => {
    out = mkdtempSync(join(tmpdir(), 'gate-e2e-out-'));
    const w = (world = await makeWorld({ envPolicy: `protected: false\ntransport: local\nvars: { out: "${out}" }\ngroups: { web: { hosts: { web1: {} } } }\n` }));
    w.commit({ [RUNBOOK]: 'name: deploy\nhosts: web\nenvironments: [prod]\ntasks:\n  - copy: { content: "x", dest: "{{ out }}/{{ inventory_hostname }}.env" }\n' }, 'acme', 'dev');
    const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes'], {});
    expect(r.stderr).not.toMatch(/review gate/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'web1.env'), 'utf8')).toBe('x');
    expect(w.state.requests).toEqual([]);
  });

  it('runbook gate shows the evidence without applying: exit 0 when approved, 3 with the failed rule when not', async () => {
    const w = (world = await deployWorld('alice'));
    const ok = await cli(w.work, ['gate', RUNBOOK, '-e', 'prod'], w.env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/review gate: PASSED[\s\S]*pull request #1[\s\S]*approvers +@alice/);
    expect(ok.stdout).toContain(git(w.work, ['rev-parse', `HEAD:${RUNBOOK}`]));
    expect(existsSync(join(out, 'web1.env'))).toBe(false);
    const json = await cli(w.work, ['gate', RUNBOOK, '-e', 'prod', '--json'], { ...w.env, GITHUB_TOKEN: '' });
    expect(json.code).toBe(3);
    const first = JSON.parse(json.stdout.trim().split('\n')[0]!) as { type: string; passed: boolean; rules: { rule: string; ok: boolean; detail: string }[] };
    expect(first).toMatchObject({ type: 'gate', passed: false });
    expect(first.rules.find((r) => !r.ok)?.detail).toMatch(/GITHUB_TOKEN/);
  });
});
