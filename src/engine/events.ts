// The event stream of a run: what `--json` prints (one JSON object per line), what the journal
// stores, and what the human progress view renders. Events are plain data, secrets already `***`.
import type { SourceLoc } from '../errors.ts';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable' | 'would_change' | 'would_run' | 'unknown';
export type Phase = 'tasks' | 'handlers' | 'rollback';

export type RunEvent =
  | { type: 'run_start'; command: 'apply' | 'plan'; runbook: string; env: string; hosts: string[]; operator: string;
      commit?: string; blobs?: Record<string, string>; resumeOf?: string }
  | { type: 'gate'; passed: boolean; evidence: unknown; reasons?: string[] }
  /** The gate's pins (HEAD and blob SHAs) re-checked right before the first task (issue 6, rule 7). */
  | { type: 'pins'; ok: boolean; commit: string; blobs: Record<string, string>; reasons?: string[] }
  | { type: 'batch_start'; batch: number; of: number; hosts: string[] }
  | { type: 'task_start'; task: string; at: SourceLoc; hosts: string[]; phase: Phase; index: number; pointer: string; module: string }
  | { type: 'facts'; host: string; facts?: Record<string, string>; error?: string }
  | { type: 'task_result'; task: string; host: string; status: TaskStatus; ms: number; phase: Phase; index: number; pointer: string;
      ignored?: boolean;
      msg?: string; diff?: string; changes?: string[]; item?: unknown; output?: { code?: number; stdout?: string; stderr?: string } }
  | { type: 'batch_end'; batch: number; failed: string[] }
  | { type: 'marker'; kind: 'start' | 'outcome'; id?: string; entityGuid?: string; outcome?: string; skipped?: string }
  | { type: 'health_measurement'; measurement: number; of: number; check: string; ok: boolean; value?: unknown; error?: string }
  | { type: 'health_result'; healthy: boolean; failed: number; errors: number; phase: 'after_tasks' | 'after_rollback' }
  | { type: 'rollback'; state: 'start' | 'end'; hosts: string[]; ok?: boolean; reason?: string }
  | { type: 'warning'; message: string }
  | { type: 'interrupt'; signal: string; count: number }
  | { type: 'run_end'; exitCode: number; ms: number; summary: Record<string, HostSummary>; message?: string };

export type HostSummary = { ok: number; changed: number; failed: number; skipped: number; unreachable: number; ms: number; why?: string };

export type Stamped = RunEvent & { run: string; time: string };

export interface EventSink {
  emit(event: RunEvent): void;
}

/** Fan one event out to several sinks (journal, --json printer, progress view). */
export function fanOut(...sinks: EventSink[]): EventSink {
  return { emit: (e) => sinks.forEach((s) => s.emit(e)) };
}
