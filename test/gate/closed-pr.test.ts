// gate.require: approved lets an approved PR head run before the merge, but not once the PR was closed
// without a merge: its approvals no longer stand (exit 3, saying to reopen it or open a new PR).
import { afterEach, describe, expect, it } from 'vitest';
import { requireGate } from '../../src/gate/index.ts';
import { ENV_FILE, failed, gateInput, honestWorld, refusal, tick, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

const approvedPolicy = 'protected: true\ntransport: local\ngroups: { web: { hosts: { web1: {} } } }\ngate: { approvals: 1, require: approved }\n';

describe('review gate: a closed pull request', () => {
  it('the open, approved PR head passes under require: approved', async () => {
    const { w } = await honestWorld({ merge: false, envPolicy: approvedPolicy });
    world = w;
    const ev = await requireGate(gateInput(w));
    expect(ev.policy).toMatchObject({ require: 'approved', source: `main:${ENV_FILE}` });
    expect(ev.pr?.number).toBe(1);
  });

  it('the same PR closed without a merge is refused', async () => {
    const { w, pr } = await honestWorld({ merge: false, envPolicy: approvedPolicy });
    world = w;
    pr.closedAt = tick();
    const e = await refusal(gateInput(w));
    expect(e.exitCode).toBe(3);
    expect(failed(e, 'head')).toBe('PR #1 was closed without being merged; its approvals no longer stand: reopen it or open a new PR');
  });
});
