// `runbook history [-n N]` and `runbook show <run-id>`: past runs read back from the journal.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { Stamped } from '../engine/events.ts';
import { listRuns, readJournal, runsDir } from '../engine/journal.ts';
import { formatEvidence } from '../gate/format.ts';
import type { GateEvidence } from '../gate/types.ts';
import { createPrinter, useColor } from './output.ts';
import type { Io } from './session.ts';

export type RunRow = { id: string; time: string; runbook: string; env: string; commit: string; pr: string; operator: string;
  result: string; exitCode: number | null; durationMs: number | null; marker: string };

const RESULT: Record<number, string> = { 0: 'success', 1: 'failed', 2: 'invalid', 3: 'refused', 4: 'locked', 5: 'rolled back', 6: 'ROLLBACK FAILED', 130: 'interrupted' };

export function summarize(id: string, events: Stamped[]): RunRow {
  const start = events.find((e) => e.type === 'run_start');
  const end = events.find((e) => e.type === 'run_end');
  const gate = events.find((e) => e.type === 'gate');
  const marker = events.find((e) => e.type === 'marker' && e.id);
  const evidence = gate?.type === 'gate' ? gate.evidence as { pr?: { number: number }; breakGlass?: unknown } | undefined : undefined;
  const pr = evidence?.breakGlass ? 'BREAK-GLASS' : evidence?.pr?.number ? `#${evidence.pr.number}` : '';
  return {
    id, time: start?.time ?? events[0]?.time ?? '',
    runbook: start?.type === 'run_start' ? start.runbook : '?', env: start?.type === 'run_start' ? start.env : '?',
    commit: start?.type === 'run_start' ? (start.commit ?? '').slice(0, 7) : '', pr,
    operator: start?.type === 'run_start' ? start.operator : '',
    result: end?.type === 'run_end' ? (RESULT[end.exitCode] ?? `exit ${end.exitCode}`) : 'unfinished',
    exitCode: end?.type === 'run_end' ? end.exitCode : null, durationMs: end?.type === 'run_end' ? end.ms : null,
    marker: marker?.type === 'marker' ? marker.id ?? '' : '',
  };
}

export function historyCommand(o: { n: string; json?: boolean }, io: Io): number {
  const n = Number(o.n);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`-n ${o.n}: must be a positive whole number`);
  const rows = listRuns(io.cwd).slice(-n).reverse().map((r) => summarize(r.id, readJournal(r.path)));
  if (o.json) { rows.forEach((r) => io.out.write(JSON.stringify(r) + '\n')); return 0; }
  if (!rows.length) { io.out.write(`no runs in ${runsDir(io.cwd)}\n`); return 0; }
  const cols: (keyof RunRow)[] = ['time', 'runbook', 'env', 'commit', 'pr', 'operator', 'result', 'durationMs', 'marker', 'id'];
  const cell = (r: RunRow, c: keyof RunRow): string => c === 'durationMs' ? (r.durationMs === null ? '' : `${(r.durationMs / 1000).toFixed(1)}s`) : c === 'time' ? r.time.replace('T', ' ').slice(0, 19) : String(r[c] ?? '');
  const widths = cols.map((c) => Math.max(c === 'durationMs' ? 8 : c.length, ...rows.map((r) => cell(r, c).length)));
  io.out.write(cols.map((c, i) => (c === 'durationMs' ? 'duration' : c).toUpperCase().padEnd(widths[i]!)).join('  ') + '\n');
  for (const r of rows) io.out.write(cols.map((c, i) => cell(r, c).padEnd(widths[i]!)).join('  ') + '\n');
  return 0;
}

export function showCommand(runId: string, o: { json?: boolean; color?: boolean }, io: Io): number {
  if (!/^[A-Za-z0-9_.-]+$/.test(runId)) throw new InputError(`invalid run id '${runId}'`);
  const path = join(runsDir(io.cwd), `${runId}.jsonl`);
  if (!existsSync(path)) throw new InputError(`no run ${runId} in ${runsDir(io.cwd)} (see runbook history)`);
  const events = readJournal(path);
  const print = createPrinter({ json: o.json === true, color: useColor(o.color, io.out, io.env), verbose: true, command: 'apply', out: io.out, err: io.err });
  for (const e of events) {
    print(e);
    if (!o.json) io.out.write(evidenceText(e));
  }
  if (!o.json && !events.some((e) => e.type === 'run_end')) io.out.write('(run did not finish: no run_end event)\n');
  return 0;
}

const isEvidence = (v: unknown): v is GateEvidence =>
  typeof v === 'object' && v !== null && Array.isArray((v as GateEvidence).rules) && typeof (v as GateEvidence).blobs === 'object';

/** What `show` prints beyond the progress view: the pins a run started from and the gate's full evidence. */
function evidenceText(e: Stamped): string {
  if (e.type === 'run_start') {
    const pins = Object.entries(e.blobs ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([path, sha]) => `    ${sha}  ${path}`);
    return [`  started   ${e.time} by ${e.operator || '?'} (${e.command})`, `  commit    ${e.commit ?? '(not a git checkout)'}`,
      ...(e.resumeOf ? [`  resumes   ${e.resumeOf}`] : []), ...(pins.length ? ['  files', ...pins] : [])].join('\n') + '\n';
  }
  if (e.type === 'gate' && isEvidence(e.evidence)) return formatEvidence(e.evidence);
  return '';
}
