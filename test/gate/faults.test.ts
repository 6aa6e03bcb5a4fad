// Fail closed: any GitHub error, rate limit, timeout, unreadable answer or list not read to the end
// refuses with exit 3 and says what failed; the honest world passes once the fault is gone.
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/gate/index.ts';
import { failed, gateInput, honestWorld, refusal, type World } from '../fakes/github/scenario.ts';
import type { Fault } from '../fakes/github/server.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

async function withFault(fault: Fault): Promise<World> {
  world = (await honestWorld()).w;
  world.state.faults.push(fault);
  return world;
}

describe('review gate: GitHub failures refuse (exit 3)', () => {
  it('API 500 on the reviews', async () => {
    const w = await withFault({ path: '/reviews', kind: 'status', status: 500 });
    const e = await refusal(gateInput(w));
    expect(e.exitCode).toBe(3);
    expect(failed(e, 'github')).toContain('GitHub API error 500 while listing the reviews of PR #1');
    w.state.faults.length = 0;
    expect((await evaluateGate(gateInput(w))).passed).toBe(true);
  });

  it('API rate limit (403 with x-ratelimit-remaining: 0)', async () => {
    const w = await withFault({ path: '/pulls/1/commits', kind: 'rate_limit' });
    expect(failed(await refusal(gateInput(w)), 'github')).toMatch(/GitHub API rate limit reached while listing the commits of PR #1 \(403\); .* retry after 20\d\d-/);
  });

  it('secondary rate limit (429 with retry-after)', async () => {
    const w = await withFault({ path: '/permission', kind: 'secondary_rate_limit' });
    expect(failed(await refusal(gateInput(w)), 'github')).toContain("rate limit reached while reading @alice's permission (429)");
  });

  it('truncated pagination: the next page errors', async () => {
    const w = await withFault({ path: '/reviews', kind: 'truncated' });
    const e = await refusal(gateInput(w));
    expect(failed(e, 'github')).toContain('GitHub API error 502 while listing the reviews of PR #1');
    expect(w.state.requests.filter((r) => r.includes('/reviews'))).toHaveLength(2);
  });

  it('truncated pagination: GitHub lists fewer commits than the PR has (at most 250), so some authors are unseen', async () => {
    const { w, pr } = await honestWorld({ merge: false });
    world = w;
    w.commit({ 'README.md': 'second\n' }, 'bob', 'second commit');
    Object.assign(pr, w.openPr(1, 'bob', 'feature'), { reviews: [] });
    w.state.prs.splice(1);
    w.review(pr, 'alice', 'APPROVED');
    w.merge(pr);
    w.state.prCommitListLimit = 1;
    const e = await refusal(gateInput(w));
    expect(failed(e, 'github')).toBe('PR #1 has 2 commits but GitHub listed 1 (it lists at most 250); the gate cannot see every author, so it refuses: split the PR');
    w.state.prCommitListLimit = undefined;
    expect((await evaluateGate(gateInput(w))).passed).toBe(true);
  });

  it('malformed JSON', async () => {
    const w = await withFault({ path: '/reviews', kind: 'malformed' });
    expect(failed(await refusal(gateInput(w)), 'github')).toContain('GitHub sent an unreadable answer while listing the reviews of PR #1');
  });

  it('a slow API past the deadline', async () => {
    const w = await withFault({ path: '/commits/', kind: 'slow', delayMs: 3000 });
    const started = Date.now();
    const e = await refusal(gateInput(w, { timeoutMs: 800 }));
    expect(Date.now() - started).toBeLessThan(2500);
    expect(failed(e, 'github')).toContain('GitHub API did not answer in time');
  });

  it('the policy file cannot be read from the default branch', async () => {
    const w = await withFault({ path: '/contents/', kind: 'status', status: 503 });
    expect(failed(await refusal(gateInput(w)), 'policy')).toContain('GitHub API error 503 while reading environments/prod.yml at the default branch main');
  });

  it('no token', async () => {
    world = (await honestWorld()).w;
    const e = await refusal(gateInput(world, { env: { ...world.env, GITHUB_TOKEN: '' } }));
    expect(failed(e, 'github')).toContain('no GITHUB_TOKEN or GH_TOKEN');
    expect(world.state.requests).toEqual([]);
  });

  it('a wrong token (401)', async () => {
    world = (await honestWorld()).w;
    const e = await refusal(gateInput(world, { env: { ...world.env, GITHUB_TOKEN: 'nope' } }));
    expect(failed(e, 'github')).toContain('GitHub rejected the token (401)');
    expect(e.message).not.toContain('nope');
  });

  it('an unreachable API', async () => {
    world = (await honestWorld()).w;
    const e = await refusal(gateInput(world, { env: { ...world.env, GITHUB_API_URL: 'http://127.0.0.1:9' } }));
    expect(failed(e, 'github')).toContain('GitHub API unreachable');
  });
});

describe('review gate: who runs it', () => {
  it('a GitHub Actions token cannot read /user: the operator is GITHUB_ACTOR, looked up by name', async () => {
    const w = await withFault({ path: '/user', kind: 'status', status: 403, times: 1 });
    const ev = await evaluateGate(gateInput(w, { env: { ...w.env, GITHUB_ACTOR: 'carol' } }));
    expect(ev.passed).toBe(true);
    expect(ev.operator).toBe('carol');
    expect(w.state.requests).toContain('GET /users/carol');
  });

  it('without GITHUB_ACTOR a 403 on /user refuses', async () => {
    const w = await withFault({ path: '/user', kind: 'status', status: 403, times: 1 });
    expect(failed(await refusal(gateInput(w)), 'github')).toContain('GitHub answered 403 while asking who runs this apply');
  });
});
