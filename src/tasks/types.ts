// The task module interface (STYLE.md): a module only *describes* changes from a read-only check;
// src/engine/executor.ts applies them through a Transport, one generic way, so plan == apply.
import type { Script } from '../engine/script.ts';
import type { Secret } from '../engine/secret.ts';
import type { ExecResult } from '../transports/types.ts';

export type JsonSchema = Record<string, unknown>;

export type Facts = {
  readonly os_family: string;
  readonly distribution: string;
  readonly distribution_version: string;
  readonly arch: string;
  readonly hostname: string;
  readonly user: string;
  readonly pkg_mgr: string;
  readonly service_mgr: string;
};

export type HostInfo = { readonly name: string; readonly facts: Facts };

export type Probe<T> = { readonly key: string } & (
  | { readonly script: Script; readonly become?: boolean; parse(out: ExecResult): T }
  | { local(signal: AbortSignal): Promise<T> }
);

export interface CheckCtx {
  readonly host: HostInfo;
  readonly signal: AbortSignal;
  /** The only way to look at a host; cached per task evaluation by key. */
  probe<T>(p: Probe<T>): Promise<T>;
  /** Read a controller-side file named relative to the runbook's folder (copy src, template src). */
  readLocal(path: string): Promise<Uint8Array>;
  /** Render a template text with the task's variables (template module). */
  /** A template that used a secret renders to a Secret, so the value stays redacted. */
  render(text: string, file: string): string | Secret;
}

export type Result = Readonly<Record<string, unknown>>;

export type Check =
  | { readonly status: 'ok'; readonly why: string; readonly result?: Result; readonly facts?: Result }
  | { readonly status: 'fail'; readonly why: string; readonly result?: Result }
  | { readonly status: 'change'; readonly changes: readonly Change[]; readonly diff?: string; readonly result?: Result };

export type ApplyIo = { readonly signal: AbortSignal; readonly host: string };

export type Change =
  | { readonly kind: 'exec'; readonly why: string; readonly script: Script; readonly become?: boolean; readonly cwd?: string;
      readonly env?: Readonly<Record<string, string | Secret>>; readonly stdin?: Uint8Array }
  | { readonly kind: 'write'; readonly why: string; readonly path: string; readonly content: string | Secret | Uint8Array;
      readonly mode?: number; readonly owner?: string; readonly group?: string; readonly backup?: boolean; readonly become?: boolean }
  | { readonly kind: 'fetch'; readonly why: string; readonly src: string; readonly dest: string; readonly become?: boolean }
  | { readonly kind: 'call'; readonly why: string; run(io: ApplyIo): Promise<Result | void> };

export interface TaskModule<A> {
  /** YAML key == file name. */
  readonly name: string;
  /** ajv schema of the arguments; `description`s are the docs and editor hints. */
  readonly schema: JsonSchema;
  /** false: command/shell unless creates/removes; plans show "will run". */
  readonly idempotent: boolean;
  /** Accepts a bare string (`command: ls -l`) and turns it into args. */
  readonly freeForm?: (text: string) => A;
  check(ctx: CheckCtx, args: A): Promise<Check>;
}

export function defineTask<A>(m: TaskModule<A>): TaskModule<A> {
  return m;
}

export const ok = (why: string, extra?: { result?: Result; facts?: Result }): Check => ({ status: 'ok', why, ...extra });
export const fail = (why: string, result?: Result): Check => ({ status: 'fail', why, ...(result ? { result } : {}) });
export const change = (changes: readonly Change[], diff?: string, result?: Result): Check =>
  ({ status: 'change', changes, ...(diff !== undefined ? { diff } : {}), ...(result ? { result } : {}) });
