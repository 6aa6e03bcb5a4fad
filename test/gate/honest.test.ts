// The honest history passes the gate against the GitHub fake (real @octokit/rest, real git), and the
// evidence names the PR, the approver, the approved commit and every blob SHA.
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateGate, formatEvidence, requireGate } from '../../src/gate/index.ts';
import { ENV_FILE, git, honestWorld, RUNBOOK, TEMPLATE, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

const input = (w: World) => ({ repoDir: w.work, files: w.files(), envName: 'prod', runbookEnvironments: ['staging', 'prod'], envFileRel: ENV_FILE, env: w.env, timeoutMs: 10_000 });

describe('review gate: the honest case', () => {
  it('passes for a merged PR approved at its head by a writer who is not an author', async () => {
    const { w, pr } = await honestWorld();
    world = w;
    const ev = await requireGate(input(w));
    expect(ev.passed).toBe(true);
    expect(ev.rules.filter((r) => !r.ok)).toEqual([]);
    expect(ev.pr).toMatchObject({ number: 1, author: 'bob', url: 'https://github.com/acme/app/pull/1' });
    expect(ev.approvers.map((a) => [a.login, a.id])).toEqual([['alice', 11]]);
    expect(ev.approvedCommit).toBe(pr.headSha);
    expect(ev.commit).toBe(git(w.work, ['rev-parse', 'HEAD']));
    expect(ev.operator).toBe('carol');
    expect(ev.blobs).toEqual({ [RUNBOOK]: git(w.work, ['rev-parse', `HEAD:${RUNBOOK}`]), [ENV_FILE]: git(w.work, ['rev-parse', `HEAD:${ENV_FILE}`]),
      [TEMPLATE]: git(w.work, ['rev-parse', `HEAD:${TEMPLATE}`]) });
    expect(ev.policy).toMatchObject({ approvals: 1, require: 'merged', source: `main:${ENV_FILE}` });
    const text = formatEvidence(ev);
    expect(text).toContain('review gate: PASSED');
    expect(text).toContain('@alice (id 11');
    expect(text).toContain(ev.blobs[RUNBOOK]);
  });

  it('reads every page of a long review list (a change request on page 2 still blocks)', async () => {
    const { w, pr } = await honestWorld();
    world = w;
    w.state.perPage = 10;
    for (let i = 0; i < 25; i++) w.review(pr, 'dave', 'COMMENTED');
    w.review(pr, 'dave', 'CHANGES_REQUESTED');
    const ev = await evaluateGate(input(w));
    expect(ev.passed).toBe(false);
    expect(ev.rules.find((r) => r.rule === 'changes_requested')).toMatchObject({ ok: false });
    expect(w.state.requests.filter((r) => r.includes('/reviews')).length).toBe(3);
  });
});
