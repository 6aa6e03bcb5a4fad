// A commit in the PR whose git author or committer GitHub cannot tie to an account could be the approver's
// own (a second, unlinked email): the gate cannot tell, so it refuses (exit 3) and says how to fix it.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/gate/index.ts';
import { failed, gateInput, git, honestWorld, refusal, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

describe('review gate: commits by unknown git identities', () => {
  it('dave commits with an email GitHub does not know, then approves: refused, naming the commit and the email', async () => {
    const { w, pr } = await honestWorld({ merge: false });
    world = w;
    pr.reviews.length = 0;
    w.write({ 'README.md': 'laptop\n' });
    git(w.work, ['add', 'README.md'], 'dave');
    execFileSync('git', ['commit', '-q', '-m', 'from the laptop'], { cwd: w.work, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'dave', GIT_AUTHOR_EMAIL: 'dave@laptop.local', GIT_COMMITTER_NAME: 'dave', GIT_COMMITTER_EMAIL: 'dave@laptop.local' } });
    const sha = git(w.work, ['rev-parse', 'HEAD']);
    w.state.prs.splice(0);
    const head = w.openPr(1, 'bob', 'feature');
    w.review(head, 'dave', 'APPROVED');
    w.merge(head);
    const e = await refusal(gateInput(w));
    expect(e.exitCode).toBe(3);
    expect(failed(e, 'commit_identities')).toContain(`${sha.slice(0, 7)} (author dave@laptop.local, committer dave@laptop.local)`);
    expect(failed(e, 'commit_identities')).toContain('add the email to its owner\'s GitHub account');
  });

  it('the honest PR (every commit by a linked account) passes the rule', async () => {
    const { w } = await honestWorld();
    world = w;
    const ev = await evaluateGate(gateInput(w));
    expect(ev.rules.find((r) => r.rule === 'commit_identities')).toMatchObject({ ok: true });
    expect(ev.passed).toBe(true);
  });
});
