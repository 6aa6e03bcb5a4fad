// The rollback decision table: exit codes 0 / 1 / 5 / 6 / 130 from what failed and how rollback went.
import { describe, expect, it } from 'vitest';
import { decideOutcome, type OutcomeInput } from '../../src/observe/rollback.ts';

const base: OutcomeInput = { tasksFailed: false, healthy: undefined, rollbackRan: false, rollbackOk: undefined, rollbackHealthy: undefined, hasRollback: true };
const table: [string, Partial<OutcomeInput>, number, string][] = [
  ['all good, no health section', {}, 0, 'success'],
  ['all good and healthy', { healthy: true }, 0, 'success'],
  ['unhealthy, rollback restored health', { healthy: false, rollbackRan: true, rollbackOk: true, rollbackHealthy: true }, 5, 'rolled_back'],
  ['unhealthy, rollback tasks failed', { healthy: false, rollbackRan: true, rollbackOk: false }, 6, 'failed'],
  ['unhealthy, rollback ran but still unhealthy', { healthy: false, rollbackRan: true, rollbackOk: true, rollbackHealthy: false }, 6, 'failed'],
  ['unhealthy, no rollback section', { healthy: false, hasRollback: false }, 6, 'failed'],
  ['task failed, rollback restored', { tasksFailed: true, rollbackRan: true, rollbackOk: true, rollbackHealthy: true }, 1, 'rolled_back'],
  ['task failed, rollback failed', { tasksFailed: true, rollbackRan: true, rollbackOk: false }, 6, 'failed'],
  ['task failed, no rollback section', { tasksFailed: true, hasRollback: false }, 1, 'failed'],
  ['task failed, rollback ok but health still failing', { tasksFailed: true, rollbackRan: true, rollbackOk: true, rollbackHealthy: false }, 6, 'failed'],
  ['unhealthy, rollback needed but did not run', { healthy: false, rollbackRan: false }, 6, 'failed'],
  ['task failed and unhealthy, rollback restored', { tasksFailed: true, healthy: false, rollbackRan: true, rollbackOk: true, rollbackHealthy: true }, 1, 'rolled_back'],
  ['interrupted', { interrupted: true, tasksFailed: true }, 130, 'interrupted'],
  ['interrupted during rollback', { interrupted: true, healthy: false, rollbackRan: true, rollbackOk: false }, 130, 'interrupted'],
];

describe('decideOutcome', () => {
  for (const [name, x, code, outcome] of table) {
    it(name, () => {
      const d = decideOutcome({ ...base, ...x });
      expect([d.exitCode, d.outcome]).toEqual([code, outcome]);
      expect(d.needsRollback).toBe(!x.interrupted && (!!x.tasksFailed || x.healthy === false));
      if (code === 6) expect(d.message).toMatch(/a human must act/);
    });
  }
  it('says why a needed rollback did not happen', () => {
    expect(decideOutcome({ ...base, healthy: false, rollbackRan: false }).message).toMatch(/health checks failed and rollback did not run/);
    expect(decideOutcome({ ...base, healthy: false, rollbackRan: true, rollbackOk: false }).message).toMatch(/rollback failed/);
  });
});
