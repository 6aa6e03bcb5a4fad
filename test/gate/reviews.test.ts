// One test per review bypass: each is refused with exit 3 (GateRefusedError) and the right reason.
import { afterEach, describe, expect, it } from 'vitest';
import { GateRefusedError } from '../../src/errors.ts';
import { requireGate } from '../../src/gate/index.ts';
import { failed, gateInput, git, honestWorld, makeWorld, refusal, RUNBOOK, TEMPLATE, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

/** PR #1 by bob on branch feature, not merged yet; the caller adds reviews and pushes, then merges. */
async function openWorld(envPolicy?: string) {
  const { w, pr } = await honestWorld({ merge: false, envPolicy });
  world = w;
  pr.reviews.length = 0;
  return { w, pr };
}

const short = (sha: string): string => sha.slice(0, 7);

describe('review gate: review bypasses are refused with exit 3', () => {
  it('approve-then-push: the runbook changed after the approval', async () => {
    const { w, pr } = await openWorld();
    const approved = pr.headSha;
    w.review(pr, 'alice', 'APPROVED');
    const pushed = w.commit({ [RUNBOOK]: 'name: deploy\nhosts: web\nenvironments: [staging, prod]\ntasks:\n  - command: rm -rf /srv/app\n' }, 'bob', 'sneaky');
    Object.assign(pr, w.openPr(1, 'bob', 'feature'), { reviews: pr.reviews });
    w.state.prs.splice(1);
    w.merge(pr);
    const e = await refusal(gateInput(w));
    expect(e).toBeInstanceOf(GateRefusedError);
    expect(e.exitCode).toBe(3);
    expect(failed(e, 'approvals')).toContain(`review by @alice approved ${short(approved)} but ${RUNBOOK} changed in ${short(pushed)} after it; ask for a new review`);
  });

  it('approval on an older commit (only other files changed since) does not count', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED');
    w.commit({ 'README.md': 'docs\n' }, 'bob', 'docs');
    Object.assign(pr, w.openPr(1, 'bob', 'feature'), { reviews: pr.reviews });
    w.state.prs.splice(1);
    w.merge(pr);
    const e = await refusal(gateInput(w));
    expect(failed(e, 'approvals')).toMatch(/review by @alice approved [0-9a-f]{7}, not the PR head [0-9a-f]{7}/);
  });

  it('a template changed but not the runbook', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED');
    const pushed = w.commit({ [TEMPLATE]: 'VERSION={{ version }}\nEVIL=1\n' }, 'bob', 'template only');
    Object.assign(pr, w.openPr(1, 'bob', 'feature'), { reviews: pr.reviews });
    w.state.prs.splice(1);
    w.merge(pr);
    const e = await refusal(gateInput(w));
    expect(failed(e, 'approvals')).toContain(`${TEMPLATE} changed in ${short(pushed)} after it`);
    expect(failed(e, 'approvals')).not.toContain(RUNBOOK);
  });

  it('self-approval by the PR author', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'bob', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('@bob is the PR author; self-approval does not count');
  });

  it('approval by someone who committed to the PR (the last pusher)', async () => {
    const { w, pr } = await openWorld();
    w.commit({ 'README.md': 'more\n' }, 'dave', 'dave pushes to bob\'s branch');
    Object.assign(pr, w.openPr(1, 'bob', 'feature'), { reviews: [] });
    w.state.prs.splice(1);
    w.review(pr, 'dave', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('@dave is the last pusher');
  });

  it('approval by the author of an earlier commit in the PR (someone else pushed last)', async () => {
    const { w, pr } = await openWorld();
    git(w.work, ['reset', '-q', '--hard', 'origin/main']);
    w.commit({ 'README.md': 'by dave\n' }, 'dave', 'dave starts the branch');
    w.commit({ [RUNBOOK]: 'name: deploy\nhosts: web\nenvironments: [staging, prod]\ntasks:\n  - command: echo two\n' }, 'bob', 'bob finishes it');
    Object.assign(pr, w.openPr(1, 'bob', 'feature'), { reviews: [] });
    w.state.prs.splice(1);
    w.review(pr, 'dave', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('@dave is an author of a commit in the PR; self-approval does not count');
  });

  it('approval by the operator running the apply', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'carol', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('@carol is running this apply');
  });

  it('approval by a user without write permission', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'mallory', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('@mallory has no write access to acme/app');
  });

  it('approval by a bot', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'deploy-bot[bot]', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('@deploy-bot[bot] is a bot');
  });

  it('a dismissed review does not count', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'DISMISSED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('review by @alice was dismissed');
  });

  it('a superseded approval (the same reviewer later requested changes) blocks', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED');
    w.review(pr, 'alice', 'CHANGES_REQUESTED');
    w.merge(pr);
    const e = await refusal(gateInput(w));
    expect(failed(e, 'changes_requested')).toContain('@alice requested changes');
    expect(failed(e, 'approvals')).toContain('0 of 1');
  });

  it('changes requested by another reviewer block even with an approval', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED');
    w.review(pr, 'dave', 'CHANGES_REQUESTED');
    w.merge(pr);
    const e = await refusal(gateInput(w));
    expect(failed(e, 'changes_requested')).toContain(`@dave requested changes on ${short(pr.headSha)}`);
    expect(failed(e, 'approvals')).toBeUndefined();
  });

  it('only the latest review counts: changes requested, then approved, passes', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'CHANGES_REQUESTED');
    w.review(pr, 'alice', 'COMMENTED');
    w.review(pr, 'alice', 'APPROVED');
    w.merge(pr);
    expect((await requireGate(gateInput(w))).approvers.map((a) => a.login)).toEqual(['alice']);
  });

  it('a PR from a fork is refused', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED');
    pr.headRepo = 'mallory/app';
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'pull_request')).toContain('comes from the fork mallory/app');
  });

  it('a commit in two PRs is refused', async () => {
    const { w, pr } = await openWorld('protected: true\ngate: { approvals: 1, require: approved }\n');
    w.review(pr, 'alice', 'APPROVED');
    git(w.work, ['checkout', '-q', '-b', 'feature-copy']);
    w.openPr(2, 'bob', 'feature-copy');
    expect(failed(await refusal(gateInput(w)), 'pull_request')).toContain('is in 2 pull requests (#1, #2)');
  });

  it('an approved but unmerged PR is refused when the policy requires merged (the default)', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED');
    expect(failed(await refusal(gateInput(w)), 'merged')).toContain('PR #1 is not merged into main');
  });

  it('require: approved lets the approved PR head run before the merge', async () => {
    const { w, pr } = await openWorld('protected: true\ngate: { approvals: 1, require: approved }\n');
    w.review(pr, 'alice', 'APPROVED');
    const ev = await requireGate(gateInput(w));
    expect(ev.commit).toBe(pr.headSha);
    expect(ev.rules.find((r) => r.rule === 'head')?.ok).toBe(true);
  });

  it('HEAD pushed to main without a PR is refused', async () => {
    const { w } = await openWorld();
    git(w.work, ['checkout', '-q', 'main']);
    w.commit({ [TEMPLATE]: 'direct\n' }, 'dave', 'direct push');
    git(w.work, ['push', '-q', 'origin', 'main']);
    expect(failed(await refusal(gateInput(w)), 'pull_request')).toContain('belongs to no pull request');
  });

  it('needs gate.approvals distinct approvers', async () => {
    const { w, pr } = await openWorld('protected: true\ngate: { approvals: 2 }\n');
    w.review(pr, 'alice', 'APPROVED');
    w.review(pr, 'alice', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('1 of 2 required approval(s)');
    w.review(pr, 'dave', 'APPROVED');
    expect((await requireGate(gateInput(w))).approvers.map((a) => a.login).sort()).toEqual(['alice', 'dave']);
  });
  it('a review without a commit (garbage-collected) does not count', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED', null);
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('review by @alice has no commit');
  });

  it('merged: HEAD files differ from the approved head (the default branch changed a template meanwhile)', async () => {
    const { w, pr } = await openWorld();
    w.review(pr, 'alice', 'APPROVED');
    git(w.work, ['checkout', '-q', 'main']);
    w.commit({ [TEMPLATE]: 'VERSION=from-main\n' }, 'dave', 'unreviewed change on main');
    git(w.work, ['push', '-q', 'origin', 'main']);
    w.merge(pr);
    const e = await refusal(gateInput(w));
    expect(failed(e, 'same_bytes')).toContain(`${TEMPLATE} differs between HEAD`);
    expect(failed(e, 'same_bytes')).toContain(`the approved commit ${short(pr.headSha)}`);
  });
});

describe('review gate: pushers', () => {
  it('approval by someone who force-pushed the PR branch (commits authored as someone else) does not count', async () => {
    const { w, pr } = await honestWorld({ merge: false });
    world = w;
    pr.reviews.length = 0;
    pr.forcePushes = [{ actor: 'dave', commitId: pr.headSha, at: '2026-11-01T11:00:00Z' }];
    w.review(pr, 'dave', 'APPROVED');
    w.merge(pr);
    expect(failed(await refusal(gateInput(w)), 'approvals')).toContain('@dave is a force-pusher of the PR branch');
  });
});
