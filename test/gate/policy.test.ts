// The policy comes from the default branch (or a local file outside the repo), never from the PR;
// the runbook must name the environment; break-glass is off unless that policy allows it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatEvidence, protectedOnDefaultBranch, requireGate } from '../../src/gate/index.ts';
import { parseRemote } from '../../src/gate/github.ts';
import { ENV_FILE, failed, gateInput, git, honestWorld, makeWorld, refusal, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

describe('review gate: policy, environments and break-glass', () => {
  it('policy lowered inside the PR: main says 2 approvals, the PR says 1', async () => {
    const { w, pr } = await honestWorld({ merge: false, envPolicy: 'protected: true\ngate: { approvals: 2 }\n' });
    world = w;
    w.commit({ [ENV_FILE]: 'protected: true\ngate: { approvals: 1 }\n' }, 'bob', 'lower the bar');
    Object.assign(pr, w.openPr(1, 'bob', 'feature'), { reviews: [] });
    w.state.prs.splice(1);
    w.review(pr, 'alice', 'APPROVED');
    const e = await refusal(gateInput(w));
    expect(e.evidence?.policy).toMatchObject({ approvals: 2, source: `main:${ENV_FILE}` });
    expect(failed(e, 'approvals')).toContain('1 of 2 required approval(s)');
  });

  it('the caller policy can raise the bar but never lower it', async () => {
    world = (await honestWorld()).w;
    expect(failed(await refusal(gateInput(world, { policy: { approvals: 3 } })), 'approvals')).toContain('1 of 3');
    world.commit({ [ENV_FILE]: 'protected: true\ngate: { approvals: 3 }\n' }, 'acme', 'raise');
    git(world.work, ['push', '-q', 'origin', 'main']);
    const e = await refusal(gateInput(world, { policy: { approvals: 1 } }));
    expect(e.evidence?.policy?.approvals).toBe(3);
  });

  it('a local policy file outside the repository overrides; inside the repository it is refused', async () => {
    world = (await honestWorld()).w;
    const outside = join(world.root, 'gate-policy.yml');
    writeFileSync(outside, 'approvals: 1\nenvironments:\n  prod: { approvals: 2 }\n');
    const e = await refusal(gateInput(world, { env: { ...world.env, RUNBOOK_GATE_POLICY: outside } }));
    expect(e.evidence?.policy?.source).toContain('local config');
    expect(failed(e, 'approvals')).toContain('1 of 2');
    writeFileSync(join(world.work, 'policy.yml'), 'approvals: 1\n');
    const inside = await refusal(gateInput(world, { env: { ...world.env, RUNBOOK_GATE_POLICY: join(world.work, 'policy.yml') } }));
    expect(failed(inside, 'policy')).toContain('is inside the repository');
  });

  it('an invalid policy on the default branch refuses', async () => {
    world = (await honestWorld({ envPolicy: 'protected: true\ngate: { approvals: 0 }\n' })).w;
    expect(failed(await refusal(gateInput(world)), 'policy')).toContain('gate.approvals in environments/prod.yml on main must be a whole number >= 1');
  });

  it('the runbook must name the environment', async () => {
    world = (await honestWorld()).w;
    const e = await refusal(gateInput(world, { runbookEnvironments: ['staging'] }));
    expect(e.exitCode).toBe(3);
    expect(failed(e, 'environment')).toContain("the runbook's environments: [staging] does not name prod");
  });

  it('break-glass is off unless the default-branch policy allows it', async () => {
    world = await makeWorld();
    const e = await refusal(gateInput(world, { breakGlass: 'login is down' }));
    expect(failed(e, 'break_glass')).toContain('break-glass is off for prod');
  });

  it('break-glass allowed only inside the PR (working tree) stays off', async () => {
    world = await makeWorld();
    world.commit({ [ENV_FILE]: 'protected: true\ngate: { break_glass: true }\n' }, 'mallory', 'allow break glass locally');
    expect(failed(await refusal(gateInput(world, { breakGlass: 'trust me' })), 'break_glass')).toContain('break-glass is off');
  });

  it('break-glass allowed on the default branch passes, is recorded and warns loudly', async () => {
    world = await makeWorld({ envPolicy: 'protected: true\ngate: { approvals: 1, break_glass: true }\n' });
    world.commit({ 'runbooks/templates/app.env.j2': 'HOTFIX=1\n' }, 'carol', 'hotfix without review');
    const warnings: string[] = [];
    const ev = await requireGate(gateInput(world, { breakGlass: 'login is down for everyone', warn: (m) => warnings.push(m) }));
    expect(ev.passed).toBe(true);
    expect(ev.breakGlass).toEqual({ reason: 'login is down for everyone', operator: 'carol' });
    expect(ev.pr).toBeUndefined();
    expect(ev.commit).toBe(git(world.work, ['rev-parse', 'HEAD']));
    expect(warnings.join('\n')).toMatch(/BREAK-GLASS.*UNREVIEWED.*carol.*login is down for everyone/);
    expect(formatEvidence(ev)).toContain('PASSED BY BREAK-GLASS');
    expect(failed(await refusal(gateInput(world, { breakGlass: '  ' })), 'break_glass')).toContain('needs a reason');
  });

  it('reads owner/name from the origin URL when GITHUB_REPOSITORY is unset', () => {
    expect(parseRemote('git@github.com:acme/app.git')).toBe('acme/app');
    expect(parseRemote('https://github.com/acme/app')).toBe('acme/app');
    expect(parseRemote('https://x-access-token:abc@github.com/acme/app.git')).toBe('acme/app');
    expect(parseRemote('ssh://git@github.com/acme/app.git')).toBe('acme/app');
    expect(parseRemote('/tmp/origin.git')).toBeUndefined();
  });

  it('without GITHUB_REPOSITORY and a non-GitHub origin it refuses and says what to set', async () => {
    world = (await honestWorld()).w;
    const e = await refusal(gateInput(world, { env: { ...world.env, GITHUB_REPOSITORY: undefined } }));
    expect(failed(e, 'github')).toContain('set GITHUB_REPOSITORY=owner/name');
  });
});

describe('protectedOnDefaultBranch', () => {
  it('sees protected: true on origin/main even when the working tree unprotects the environment', async () => {
    world = await makeWorld();
    world.commit({ [ENV_FILE]: 'protected: false\n' }, 'mallory', 'unprotect prod in my PR');
    expect(await protectedOnDefaultBranch(world.work, ENV_FILE)).toBe(true);
    expect(await protectedOnDefaultBranch(world.work, 'environments/staging.yml')).toBeUndefined();
    git(world.work, ['push', '-q', 'origin', 'main']);
    expect(await protectedOnDefaultBranch(world.work, ENV_FILE)).toBe(false);
  });
});
