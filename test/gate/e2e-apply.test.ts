// End to end: the real CLI (`node bin/runbook.js apply`) on a protected environment (transport local) in a
// real git repository, GitHub reached through GITHUB_API_URL at the fake. Approved: exit 0 and the journal's
// gate event carries the evidence. Not approved: exit 3 and nothing on the host changed. A PR that
// sets `protected: false` in its own copy of the environment file still meets the gate.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/engine/lock.ts';
import { ENV_FILE, git, makeWorld, RUNBOOK, TEMPLATE, type World } from '../fakes/github/scenario.ts';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';

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
let nr: NewRelicFake | undefined;
let out = '';
afterEach(async () => {
  expect(world?.state.schemaErrors ?? []).toEqual([]);
  await world?.close();
  await nr?.stop();
  world = undefined;
  nr = undefined;
  rmSync(out, { recursive: true, force: true });
});

const envFile = (gate = 'approvals: 1'): string =>
  `protected: true\ntransport: local\nvars: { out: "${out}" }\ngroups: { web: { hosts: { web1: {} } } }\ngate: { ${gate} }\n`;
const deployRunbook = 'name: deploy\nhosts: web\nenvironments: [staging, prod]\nvars: { version: "2.0" }\nnewrelic: { entity: web-app-prod }\ntasks:\n'
  + '  - name: config\n    template: { src: templates/app.env.j2, dest: "{{ out }}/{{ inventory_hostname }}.env" }\n';

/** bob's PR #1 changes the runbook to write the app config into `out`; approved by `approver` (if any) and merged. */
async function deployWorld(approver?: string): Promise<World> {
  out = mkdtempSync(join(tmpdir(), 'gate-e2e-out-'));
  const w = await makeWorld({ envPolicy: envFile() });
  git(w.work, ['checkout', '-q', '-b', 'feature']);
  w.commit({ [RUNBOOK]: deployRunbook }, 'bob', 'deploy 2.0');
  const pr = w.openPr(1, 'bob', 'feature');
  if (approver) w.review(pr, approver, 'APPROVED');
  w.merge(pr);
  return w;
}

/** The New Relic fake knowing the runbook's entity, and the variables that point the CLI at it. */
async function newRelic(): Promise<NodeJS.ProcessEnv> {
  nr = await startNewRelicFake({ apiKey: 'nr-key', entities: [{ name: 'web-app-prod', guid: 'GUID-PROD', accountId: 1 }] });
  return { NEW_RELIC_API_KEY: 'nr-key', NEW_RELIC_API_URL: nr.url, NEW_RELIC_ACCOUNT_ID: '1' };
}

type Event = { type: string; passed?: boolean; ok?: boolean; reasons?: string[]; commit?: string; blobs?: Record<string, string>; exitCode?: number;
  evidence?: { commit: string; pr?: { number: number; url: string }; approvers: { login: string }[]; blobs: Record<string, string>;
    breakGlass?: { reason: string; operator: string } } };

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

  it('the evidence goes into the New Relic marker (changelog, PR link, commit) and the pins are re-checked and journaled before the first task', async () => {
    const w = (world = await deployWorld('alice'));
    const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes'], { ...w.env, ...(await newRelic()) });
    expect(r.code, r.stderr).toBe(0);
    const head = git(w.work, ['rev-parse', 'HEAD']);
    const blob = (f: string): string => git(w.work, ['rev-parse', `HEAD:${f}`]);
    const approved = w.state.prs[0]!.headSha;
    const start = nr!.markers.find((m) => m.description?.startsWith('[start]'))!;
    expect(start).toMatchObject({ entityGuid: 'GUID-PROD', commit: head, deepLink: 'https://github.com/acme/app/pull/1' });
    expect(start.changelog?.split('\n')).toEqual(['PR #1 Change 1 (https://github.com/acme/app/pull/1)', `approved by @alice at ${approved}`, `commit ${head}`,
      ...[RUNBOOK, ENV_FILE, TEMPLATE].map((f) => `${f} ${blob(f)}`)]);
    const events = journal(w.work);
    const at = (pred: (e: Event) => boolean): number => events.findIndex(pred);
    const pins = events.find((e) => e.type === 'pins');
    expect(pins).toMatchObject({ ok: true, commit: head, blobs: { [RUNBOOK]: blob(RUNBOOK), [ENV_FILE]: blob(ENV_FILE), [TEMPLATE]: blob(TEMPLATE) } });
    expect(at((e) => e.type === 'gate')).toBeLessThan(at((e) => e.type === 'pins'));
    expect(at((e) => e.type === 'pins')).toBeLessThan(at((e) => e.type === 'task_start'));
  });

  it('a file changed after the gate passed (while apply waited for the lock): the pin re-check refuses with exit 3, journaled, nothing changed', async () => {
    const w = (world = await deployWorld('alice'));
    const lock = await acquireLock({ base: w.work, env: 'prod', hosts: 'web|', runId: 'someone-else' });
    const running = cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes', '--lock-wait', '60s'], w.env);
    // the approver's permission is the gate's last question: once asked, the files are pinned
    for (let i = 0; !w.state.requests.some((q) => q.includes('/permission')); i++) {
      if (i > 600) throw new Error('the gate never asked for the approver\'s permission');
      await new Promise((done) => setTimeout(done, 50));
    }
    writeFileSync(join(w.work, TEMPLATE), 'VERSION=swapped-while-waiting\n');
    lock.release();
    const r = await running;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`pins: ${TEMPLATE} has uncommitted changes`);
    expect(existsSync(join(out, 'web1.env'))).toBe(false);
    const events = journal(w.work);
    expect(events.find((e) => e.type === 'gate')?.passed).toBe(true);
    const pins = events.find((e) => e.type === 'pins');
    expect(pins?.ok).toBe(false);
    expect(pins?.reasons?.join('\n')).toContain(`${TEMPLATE} has uncommitted changes`);
    expect(events.some((e) => e.type === 'task_start')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'run_end', exitCode: 3 });
  });

  it('break-glass allowed on the default branch: exit 0, a loud warning, the reason and operator in the journal, the marker and history', async () => {
    out = mkdtempSync(join(tmpdir(), 'gate-e2e-out-'));
    const w = (world = await makeWorld({ envPolicy: envFile('approvals: 1, break_glass: true') }));
    w.commit({ [RUNBOOK]: deployRunbook }, 'carol', 'hotfix straight to main');
    git(w.work, ['push', '-q', 'origin', 'main']);
    const nrEnv = await newRelic();
    const refused = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes'], { ...w.env, ...nrEnv });
    expect(refused.code).toBe(3);
    const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes', '--break-glass', 'login is down for everyone'], { ...w.env, ...nrEnv });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/!!! BREAK-GLASS: running UNREVIEWED content at [0-9a-f]{12} on a protected environment, by carol: login is down for everyone !!!/);
    expect(readFileSync(join(out, 'web1.env'), 'utf8')).toBe('VERSION=2.0\n');
    const events = journal(w.work); // the refused apply stopped at the gate, before any journal
    expect(events.find((e) => e.type === 'gate')?.evidence?.breakGlass).toEqual({ reason: 'login is down for everyone', operator: 'carol' });
    const start = nr!.markers.find((m) => m.description?.startsWith('[start]'))!;
    expect(start.changelog).toContain('BREAK-GLASS by carol: login is down for everyone (unreviewed)');
    expect(start.commit).toBe(git(w.work, ['rev-parse', 'HEAD']));
    const history = await cli(w.work, ['history', '--json'], {});
    expect(JSON.parse(history.stdout.trim().split('\n')[0]!)).toMatchObject({ pr: 'BREAK-GLASS', result: 'success' });
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
