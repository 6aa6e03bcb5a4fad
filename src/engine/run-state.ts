// The mutable state of one run: per-host variables, failures, notified handlers and counts,
// and the options every part of the executor reads. No module-level singletons: this is passed.
import type { Facts } from '../tasks/types.ts';
import type { Host, Transport } from '../transports/types.ts';
import type { Batcher } from './batcher.ts';
import type { EventSink, HostSummary, TaskStatus } from './events.ts';
import type { Environment, Runbook } from './model.ts';
import type { Secret } from './secret.ts';

export interface HostState {
  readonly host: Host;
  facts?: Facts;
  /** Registered results and set_fact values. */
  readonly vars: Record<string, unknown>;
  failed: boolean;
  unreachable: boolean;
  why?: string;
  /** Something on this host changed (it is a rollback candidate). */
  changed: boolean;
  readonly notified: Set<string>;
  readonly summary: HostSummary;
  /** Task pointers finished on this host (ok/changed/skipped), for --resume. */
  readonly done: Set<string>;
}

export interface RunOpts {
  readonly mode: 'plan' | 'apply';
  readonly runbook: Runbook;
  readonly env: Environment;
  readonly transport: Transport;
  readonly batcher: Batcher;
  readonly forks: number;
  readonly tags: readonly string[];
  readonly skipTags: readonly string[];
  readonly extraVars: Readonly<Record<string, unknown>>;
  readonly secrets: Readonly<Record<string, Secret>>;
  readonly sink: EventSink;
  /** Soft stop (first Ctrl-C): start no new task; running commands finish; always: blocks run. */
  readonly stop: AbortSignal;
  /** Hard stop (second Ctrl-C): cancel running commands where the transport can. */
  readonly kill: AbortSignal;
  readonly verbose: boolean;
  /** Controller files read during the run (templates, copied files), for the journal and gate. */
  readonly reads: Set<string>;
  /** --resume: task pointers already finished per host. */
  readonly resume?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Output of the previous task per host for -v. */
  readonly onOutput?: (host: string, stream: 'stdout' | 'stderr', chunk: string) => void;
}

export function newHostState(host: Host): HostState {
  return {
    host, vars: {}, failed: false, unreachable: false, changed: false, notified: new Set(), done: new Set(),
    summary: { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, ms: 0 },
  };
}

export function count(h: HostState, status: TaskStatus, ms: number): void {
  h.summary.ms += ms;
  if (status === 'ok') h.summary.ok++;
  else if (status === 'changed' || status === 'would_change' || status === 'would_run') h.summary.changed++;
  else if (status === 'failed') h.summary.failed++;
  else if (status === 'unreachable') h.summary.unreachable++;
  else h.summary.skipped++;
}

/** Run `f` over items with at most `limit` in flight. */
export async function parallel<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
