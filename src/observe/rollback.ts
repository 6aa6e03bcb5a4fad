// The rollback decision: from what failed and how rollback went, the exit code and the outcome
// recorded on the marker. Pure, table-tested. DESIGN.md: 5 = unhealthy and rollback restored
// health; 6 = rollback failed or was impossible (no rollback section), a human must act.
// A failed task whose rollback restored health is exit 1: the change did not happen, nothing is broken.
// A failed task in a runbook without rollback: is exit 1 too (DESIGN: "1 a task failed"); an
// unhealthy app without rollback: is 6, because then something is broken and nothing can undo it.

export type OutcomeInput = {
  tasksFailed: boolean;
  healthy: boolean | undefined;
  rollbackRan: boolean;
  rollbackOk: boolean | undefined;
  rollbackHealthy: boolean | undefined;
  hasRollback: boolean;
  interrupted?: boolean;
};

export type OutcomeDecision = {
  exitCode: 0 | 1 | 5 | 6 | 130;
  outcome: 'success' | 'rolled_back' | 'failed' | 'interrupted';
  needsRollback: boolean;
  message: string;
};

export function decideOutcome(x: OutcomeInput): OutcomeDecision {
  const needsRollback = x.tasksFailed || x.healthy === false;
  if (x.interrupted) return { exitCode: 130, outcome: 'interrupted', needsRollback: false, message: 'interrupted' };
  if (!needsRollback) return { exitCode: 0, outcome: 'success', needsRollback, message: x.healthy ? 'healthy' : '' };
  const why = x.tasksFailed ? 'a task failed' : 'health checks failed';
  if (!x.hasRollback && x.healthy !== false) return { exitCode: 1, outcome: 'failed', needsRollback, message: `${why} (the runbook has no rollback: section)` };
  if (!x.hasRollback) return { exitCode: 6, outcome: 'failed', needsRollback, message: `${why} and the runbook has no rollback: section; a human must act` };
  if (!x.rollbackRan) return { exitCode: 6, outcome: 'failed', needsRollback, message: `${why} and rollback did not run; a human must act` };
  if (!x.rollbackOk) return { exitCode: 6, outcome: 'failed', needsRollback, message: `${why} and rollback failed; a human must act` };
  if (x.rollbackHealthy === false) return { exitCode: 6, outcome: 'failed', needsRollback, message: `${why}; rollback ran but health is still failing; a human must act` };
  return x.tasksFailed
    ? { exitCode: 1, outcome: 'rolled_back', needsRollback, message: `${why}; rollback restored the previous state` }
    : { exitCode: 5, outcome: 'rolled_back', needsRollback, message: `${why}; rollback restored health` };
}
