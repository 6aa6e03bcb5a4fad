// Every error the engine raises, with its exit code (DESIGN.md "Exit codes").
// src/cli/exit.ts is the only place that turns these into text and a process exit code.

export type SourceLoc = { readonly file: string; readonly line: number; readonly col: number };
export type Diagnostic = { readonly loc: SourceLoc; readonly message: string; readonly hint?: string };

export const ExitCode = {
  ok: 0,
  taskFailed: 1,
  input: 2,
  gate: 3,
  lock: 4,
  healthRolledBack: 5,
  rollbackFailed: 6,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class RunbookError extends Error {
  constructor(message: string, readonly exitCode: number, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = new.target.name;
  }
}

/** Invalid input: usage, YAML, schema, template, unknown env/host. Carries every diagnostic at once. */
export class InputError extends RunbookError {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[] | string, opts?: { cause?: unknown }) {
    const list = typeof diagnostics === 'string' ? [] : sortDiagnostics(diagnostics);
    const message = typeof diagnostics === 'string' ? diagnostics : list.map(formatDiagnostic).join('\n');
    super(message, ExitCode.input, opts);
    this.diagnostics = list;
  }
}

export class TaskFailedError extends RunbookError {
  constructor(message: string) { super(message, ExitCode.taskFailed); }
}

export class GateRefusedError extends RunbookError {
  constructor(readonly reasons: readonly string[]) {
    super(`review gate refused:\n${reasons.map((r) => `  - ${r}`).join('\n')}`, ExitCode.gate);
  }
}

export type LockHolder = { runId: string; user: string; host: string; pid: number; startedAt: string; leaseUntil: string };

export class LockHeldError extends RunbookError {
  constructor(readonly holder: LockHolder, readonly stale: string | undefined, readonly env: string) {
    super(
      `another run holds the lock: run ${holder.runId} by ${holder.user}@${holder.host} (pid ${holder.pid}) since ${holder.startedAt}` +
        (stale ? `\nthe lock looks stale (${stale}); if that run is really gone: runbook unlock -e ${env} --run ${holder.runId}` : ''),
      ExitCode.lock,
    );
  }
}

export class HealthFailedError extends RunbookError {
  constructor(message: string) { super(message, ExitCode.healthRolledBack); }
}

export class RollbackFailedError extends RunbookError {
  constructor(message: string) { super(message, ExitCode.rollbackFailed); }
}

export class InterruptedError extends RunbookError {
  constructor(message = 'interrupted') { super(message, ExitCode.interrupted); }
}

export type TransportErrorKind = 'unreachable' | 'timeout' | 'auth' | 'host_key' | 'throttled';

/** A host could not be reached or did not answer; never a non-zero exit (that is a value). */
export class TransportError extends RunbookError {
  constructor(readonly kind: TransportErrorKind, readonly host: string, message: string, opts?: { cause?: unknown }) {
    super(`${host}: ${kind}: ${message}`, ExitCode.taskFailed, opts);
  }
}

/** A bug in runbook itself: the CLI prints the stack and where to report it. */
export class InternalError extends RunbookError {
  constructor(message: string, opts?: { cause?: unknown }) { super(message, ExitCode.taskFailed, opts); }
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.loc.file}:${d.loc.line}:${d.loc.col}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`;
}

export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.loc.file.localeCompare(b.loc.file) || a.loc.line - b.loc.line || a.loc.col - b.loc.col);
}
