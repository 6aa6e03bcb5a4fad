// One script on many instances through SSM: SendCommand (AWS-RunShellScript) per batch of at most 50 ids
// or once with Targets (fleet mode), then ListCommandInvocations (Details=true, paginated) polled with
// backoff + jitter until every invocation is terminal; past the time limit or on abort, CancelCommand.
import { setMaxListeners } from 'node:events';
import type { CommandInvocation, Target } from '@aws-sdk/client-ssm';
import { backoff, mapStatus, sleep, type SsmApi } from './ssm-api.ts';

export const BATCH = 50;
/** ListCommandInvocations' plugin Output is cut at 2,500 chars; GetCommandInvocation gives 24,000 (stdout) / 8,000 (stderr). */
export const LIST_OUTPUT_LIMIT = 2500;
export const STDOUT_LIMIT = 24000;
export const STDERR_LIMIT = 8000;
/** How the plugin Output joins stdout and stderr. */
export const ERROR_MARK = '\n----------ERROR-------\n';

export type InstanceResult =
  | { readonly ok: true; readonly code: number; readonly stdout: string; readonly stderr: string; readonly truncated: boolean; readonly ms: number }
  | { readonly ok: false; readonly kind: 'timeout' | 'unreachable' | 'throttled'; readonly why: string };

export type RunSettings = { readonly api: SsmApi; readonly pollMinMs: number; readonly pollMaxMs: number; readonly forks: number };
export type Fleet = { readonly targets: Target[]; readonly maxConcurrency?: string; readonly maxErrors?: string };
export type RunOpts = { readonly timeoutMs?: number; readonly signal: AbortSignal };

/** Run `script` on every instance id: batches of 50 in parallel, or one fleet send when `fleet` is given. */
export async function runOnInstances(s: RunSettings, ids: readonly string[], script: string, o: RunOpts, fleet?: Fleet): Promise<Map<string, InstanceResult>> {
  const unique = [...new Set(ids)];
  // One relay of the caller's signal shared by every batch's poll loop (no listener-limit warnings at 20 batches).
  const relay = new AbortController();
  setMaxListeners(0, relay.signal);
  const forward = (): void => relay.abort(o.signal.reason);
  if (o.signal.aborted) forward();
  else o.signal.addEventListener('abort', forward, { once: true });
  const ro: RunOpts = { timeoutMs: o.timeoutMs, signal: relay.signal };
  try {
    if (fleet) return await runCommand(s, unique, script, ro, fleet).catch((e: unknown) => failAll(unique, e));
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += BATCH) batches.push(unique.slice(i, i + BATCH));
    const parts = await Promise.all(batches.map((b) => runBatch(s, b, script, ro).catch((e: unknown) => failAll(b, e))));
    return new Map(parts.flatMap((m) => [...m]));
  } finally {
    o.signal.removeEventListener('abort', forward);
  }
}

/** An API error that outlived the retries fails the ids of that batch alone (throttling as `throttled`). */
export function failAll(ids: readonly string[], e: unknown): Map<string, InstanceResult> {
  const err = e as { name?: string; message?: string };
  const kind = err.name === 'ThrottlingException' ? 'throttled' : 'unreachable';
  const why = `SSM API: ${err.name ?? 'Error'}: ${err.message ?? String(e)}`;
  return new Map(ids.map((id) => [id, { ok: false, kind, why }]));
}

/** A batch of ids: an InvalidInstanceId refusal (an offline or unknown id in the batch) is answered by asking
 *  which ids are online (one call), failing the others and sending once more to the rest. */
async function runBatch(s: RunSettings, ids: string[], script: string, o: RunOpts): Promise<Map<string, InstanceResult>> {
  try {
    return await runCommand(s, ids, script, o);
  } catch (e) {
    if ((e as { name?: string }).name !== 'InvalidInstanceId') throw e;
  }
  const online = await onlineIds(s.api, ids);
  const out = new Map<string, InstanceResult>();
  for (const id of ids) if (!online.has(id)) out.set(id, { ok: false, kind: 'unreachable', why: 'instance is not online in SSM (InvalidInstanceId)' });
  if (online.size) for (const [id, r] of await runCommand(s, [...online], script, o)) out.set(id, r);
  return out;
}

/** The ids (at most 50) that SSM reports with PingStatus Online. */
export async function onlineIds(api: SsmApi, ids: readonly string[]): Promise<Set<string>> {
  const online = new Set<string>();
  let NextToken: string | undefined;
  do {
    const r = await api.call('DescribeInstanceInformation', { Filters: [{ Key: 'InstanceIds', Values: [...ids] }], NextToken });
    for (const i of r.InstanceInformationList ?? []) if (i.PingStatus === 'Online' && i.InstanceId) online.add(i.InstanceId);
    NextToken = r.NextToken;
  } while (NextToken);
  return online;
}

async function send(api: SsmApi, ids: string[], script: string, timeoutMs: number | undefined, fleet?: Fleet): Promise<string> {
  const Parameters: Record<string, string[]> = { commands: [script] };
  if (timeoutMs) Parameters.executionTimeout = [String(Math.min(172800, Math.max(1, Math.ceil(timeoutMs / 1000))))];
  const where = fleet
    ? { Targets: fleet.targets, MaxConcurrency: fleet.maxConcurrency ?? '100%', MaxErrors: fleet.maxErrors ?? '100%' }
    : { InstanceIds: ids };
  const r = await api.call('SendCommand', { DocumentName: 'AWS-RunShellScript', Parameters, ...where });
  const id = r.Command?.CommandId;
  if (!id) throw new Error('SSM SendCommand returned no CommandId');
  return id;
}

async function listAll(api: SsmApi, CommandId: string): Promise<CommandInvocation[]> {
  const out: CommandInvocation[] = [];
  let NextToken: string | undefined;
  do {
    const r = await api.call('ListCommandInvocations', { CommandId, Details: true, MaxResults: 50, NextToken });
    out.push(...(r.CommandInvocations ?? []));
    NextToken = r.NextToken;
  } while (NextToken);
  return out;
}

type Done = Map<string, InstanceResult | { ok: true; full: CommandInvocation; ms: number }>;

/** Send once, then poll until every id (or, in fleet mode, every listed invocation) is terminal. */
async function runCommand(s: RunSettings, ids: string[], script: string, o: RunOpts, fleet?: Fleet): Promise<Map<string, InstanceResult>> {
  const started = performance.now();
  const commandId = await send(s.api, ids, script, o.timeoutMs, fleet);
  const deadline = o.timeoutMs ? started + o.timeoutMs : Infinity;
  const done: Done = new Map();
  let settledPolls = 0;
  for (let attempt = 0; ; attempt++) {
    await sleep(Math.max(0, Math.min(backoff(attempt, s.pollMinMs, s.pollMaxMs), deadline - performance.now())), o.signal);
    const stop = o.signal.aborted ? 'the run was stopped' : performance.now() >= deadline ? `command did not finish within ${o.timeoutMs} ms` : undefined;
    if (stop) {
      await cancel(s.api, commandId, ids.filter((id) => !done.has(id)), fleet !== undefined, stop, done);
      break;
    }
    const invocations = await listAll(s.api, commandId);
    for (const inv of invocations) record(inv, done, started);
    const missing = ids.filter((id) => !done.has(id));
    if (!missing.length) break;
    // An id still unlisted a few polls after every listed invocation ended never got the command (fleet mode:
    // it was not among the resolved targets); fail it instead of polling forever.
    if (invocations.length && invocations.every((i) => done.has(i.InstanceId ?? '')) && ++settledPolls >= 3) {
      for (const id of missing) done.set(id, { ok: false, kind: 'unreachable', why: fleet ? 'instance was not among the fleet targets' : 'SSM listed no invocation for this instance' });
      break;
    }
  }
  return fullOutputs(s, commandId, done);
}

function record(inv: CommandInvocation, done: Done, started: number): void {
  const id = inv.InstanceId;
  if (!id || done.has(id)) return;
  const plugin = inv.CommandPlugins?.[0];
  const m = mapStatus(inv.Status, inv.StatusDetails ?? plugin?.StatusDetails, plugin?.ResponseCode);
  if (m.state === 'pending') return;
  if (m.state === 'failed') done.set(id, { ok: false, kind: m.kind, why: m.why });
  else done.set(id, { ok: true, full: inv, ms: Math.round(performance.now() - started) });
}

async function cancel(api: SsmApi, CommandId: string, pending: string[], fleet: boolean, why: string, done: Done): Promise<void> {
  if (!pending.length && !fleet) return;
  await api.call('CancelCommand', fleet ? { CommandId } : { CommandId, InstanceIds: pending }).catch(() => undefined);
  for (const id of pending) done.set(id, { ok: false, kind: 'timeout', why: `${why}; SSM command ${CommandId} cancelled` });
}

/** Split the list Output into stdout/stderr; where it reached the list limit, ask GetCommandInvocation. */
async function fullOutputs(s: RunSettings, CommandId: string, done: Done): Promise<Map<string, InstanceResult>> {
  const out = new Map<string, InstanceResult>();
  const long: [string, number, number][] = [];
  for (const [id, r] of done) {
    if (!('full' in r)) { out.set(id, r); continue; }
    const code = r.full.CommandPlugins?.[0]?.ResponseCode ?? 0;
    const text = r.full.CommandPlugins?.[0]?.Output ?? '';
    if (text.length >= LIST_OUTPUT_LIMIT) { long.push([id, code, r.ms]); continue; }
    const cut = text.lastIndexOf(ERROR_MARK);
    const [stdout, stderr] = cut < 0 ? [text, ''] : [text.slice(0, cut), text.slice(cut + ERROR_MARK.length)];
    out.set(id, { ok: true, code, stdout, stderr, truncated: false, ms: r.ms });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < long.length) {
      const [InstanceId, code, ms] = long[next++]!;
      const g = await s.api.call('GetCommandInvocation', { CommandId, InstanceId });
      const stdout = g.StandardOutputContent ?? '';
      const stderr = g.StandardErrorContent ?? '';
      out.set(InstanceId, { ok: true, code: g.ResponseCode ?? code, stdout, stderr, ms, truncated: stdout.length >= STDOUT_LIMIT || stderr.length >= STDERR_LIMIT });
    }
  };
  await Promise.all(Array.from({ length: Math.min(long.length, Math.max(1, s.forks)) }, worker));
  return out;
}
