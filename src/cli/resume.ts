// `apply --resume <run-id>`: continue a failed or interrupted run from the first unfinished task
// per host. The files must be byte-identical to the ones that run pinned; finished tasks are skipped.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GateRefusedError, InputError } from '../errors.ts';
import type { Stamped } from '../engine/events.ts';
import { readJournal, runsDir } from '../engine/journal.ts';
import type { Prepared } from './prepare.ts';

export type ResumePlan = { runId: string; done: Map<string, Set<string>> };

export function planResume(runId: string, p: Prepared, blobs: Record<string, string>, cwd: string): ResumePlan {
  if (!/^[A-Za-z0-9_.-]+$/.test(runId)) throw new InputError(`--resume: invalid run id '${runId}'`);
  const path = join(runsDir(cwd), `${runId}.jsonl`);
  if (!existsSync(path)) throw new InputError(`--resume: no run ${runId} in ${runsDir(cwd)} (see runbook history)`);
  const events = readJournal(path);
  const start = events.find((e): e is Extract<Stamped, { type: 'run_start' }> => e.type === 'run_start');
  const end = events.find((e): e is Extract<Stamped, { type: 'run_end' }> => e.type === 'run_end');
  if (!start) throw new InputError(`--resume: run ${runId} has no run_start event`);
  if (start.runbook !== relative(cwd, p.runbook.file) || start.env !== p.env.name) {
    throw new InputError(`--resume: run ${runId} applied ${start.runbook} on ${start.env}, not ${relative(cwd, p.runbook.file)} on ${p.env.name}`);
  }
  if (end?.exitCode === 0) throw new InputError(`--resume: run ${runId} finished successfully; there is nothing to resume`);
  const changed = Object.keys({ ...start.blobs, ...blobs }).filter((f) => start.blobs?.[f] !== blobs[f]);
  if (changed.length) {
    throw new GateRefusedError([`--resume: ${changed.join(', ')} changed since run ${runId} pinned ${changed.length > 1 ? 'them' : 'it'}; start a new apply instead`]);
  }
  const done = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== 'task_result' || e.phase !== 'tasks' || !['ok', 'changed', 'skipped'].includes(e.status) || !e.pointer) continue;
    if (!done.has(e.host)) done.set(e.host, new Set());
    done.get(e.host)!.add(e.pointer);
  }
  return { runId, done };
}
