// Runs task lists over hosts, linear strategy: each task runs on every active host of the batch
// (in parallel, up to --forks) before the next, so identical commands batch into one transport
// call. Owns block/rescue/always, tags, run_once, notify + handlers, facts, serial batches.
import type { Phase, TaskStatus } from './events.ts';
import { factsScript, parseFacts } from './facts.ts';
import type { TaskSpec } from './model.ts';
import { redactText } from './secret.ts';
import { count, parallel, type HostState, type RunOpts } from './run-state.ts';
import { hiddenValues, hostScope, runTaskOnHost, type Outcome } from './task-runner.ts';
import { evaluate, truthy } from './template.ts';

/** Gather facts on every host in one round trip; unreachable hosts fail. */
export async function gatherFacts(o: RunOpts, hosts: HostState[]): Promise<void> {
  const todo = hosts.filter((h) => !h.facts && !h.failed);
  if (!todo.length) return;
  const res = await o.transport.exec(todo.map((h) => h.host), { script: factsScript }, { signal: o.kill, timeoutMs: 60_000 });
  for (const h of todo) {
    const r = res.get(h.host.name);
    if (r?.ok && r.value.code === 0) {
      h.facts = parseFacts(r.value);
      o.sink.emit({ type: 'facts', host: h.host.name, facts: { ...h.facts } });
    } else {
      h.failed = h.unreachable = true;
      h.why = r && !r.ok ? r.error.message : `facts failed: ${r?.ok ? r.value.stderr.trim() : 'no result'}`;
      h.summary.unreachable++;
      o.sink.emit({ type: 'facts', host: h.host.name, error: h.why });
    }
  }
}

function tagged(o: RunOpts, t: TaskSpec, inherited: readonly string[]): boolean {
  const tags = [...inherited, ...t.tags];
  if (tags.includes('always') && !o.skipTags.includes('always')) return true;
  if (o.skipTags.some((s) => tags.includes(s))) return false;
  return o.tags.length === 0 || o.tags.includes('all') || o.tags.some((s) => tags.includes(s)) || t.module === 'block';
}

function record(o: RunOpts, h: HostState, t: TaskSpec, out: Outcome, ms: number, phase: Phase, index: number): void {
  count(h, out.status, ms);
  const ignored = out.status === 'failed' && t.ignoreErrors === true;
  const hidden = hiddenValues(o, h);
  // a message may itself be a Secret (assert's fail_msg built from one): String() gives ***
  const redact = (s: string | undefined): string | undefined => (s === undefined ? undefined : t.noLog ? '(output hidden: no_log)' : redactText(String(s), hidden));
  o.sink.emit({
    type: 'task_result', task: t.name, host: h.host.name, status: out.status, ms, phase, index, pointer: t.pointer,
    ...(ignored ? { ignored } : {}), ...(out.msg ? { msg: redact(out.msg) } : {}), ...(out.diff ? { diff: redact(out.diff) } : {}),
    ...(out.changes?.length ? { changes: out.changes.map((c) => redact(c)!) } : {}),
    ...(out.output && (o.verbose || out.status === 'failed') ? { output: { code: out.output.code, stdout: redact(out.output.stdout), stderr: redact(out.output.stderr) } } : {}),
  });
  if (out.status === 'changed') {
    h.changed = true;
    t.notify.forEach((n) => h.notified.add(n));
  }
  if (t.register) h.vars[t.register] = out.result;
  if (out.facts) Object.assign(h.vars, out.facts);
  if (out.status === 'unreachable') { h.failed = h.unreachable = true; h.why = out.msg; }
  else if (out.status === 'failed' && !ignored) { h.failed = true; h.why = `${t.name}: ${redact(out.msg) ?? 'failed'}`; }
  else if (['ok', 'changed', 'skipped'].includes(out.status)) h.done.add(t.pointer);
}

async function runTask(o: RunOpts, hosts: HostState[], t: TaskSpec, phase: Phase, index: number): Promise<void> {
  const resumed = hosts.filter((h) => o.resume?.get(h.host.name)?.has(t.pointer));
  const active = hosts.filter((h) => !resumed.includes(h));
  o.sink.emit({ type: 'task_start', task: t.name, at: t.at, hosts: hosts.map((h) => h.host.name), phase, index, pointer: t.pointer, module: t.module });
  for (const h of resumed) record(o, h, t, { status: 'skipped', msg: 'finished in the resumed run', result: { skipped: true } }, 0, phase, index);
  if (t.runOnce && active.length) {
    const first = active[0]!;
    const started = performance.now();
    const out = await runTaskOnHost(o, first, t);
    const ms = Math.round(performance.now() - started);
    for (const h of active) record(o, h, t, h === first ? out : { ...out, msg: `run_once on ${first.host.name}: ${out.msg ?? ''}`, diff: undefined }, h === first ? ms : 0, phase, index);
    return;
  }
  await parallel(active, o.forks, async (h) => {
    const started = performance.now();
    const out = await runTaskOnHost(o, h, t);
    record(o, h, t, out, Math.round(performance.now() - started), phase, index);
  });
}

export type ListCtx = { phase: Phase; index: { n: number }; tags: readonly string[] };

/** Run a task list on the hosts that are still active; blocks recurse with rescue/always. */
export async function runList(o: RunOpts, hosts: HostState[], tasks: readonly TaskSpec[], ctx: ListCtx): Promise<void> {
  for (const t of tasks) {
    if (o.stop.aborted) return;
    if (!tagged(o, t, ctx.tags)) continue;
    const active = hosts.filter((h) => !h.failed);
    if (!active.length) return;
    if (t.module === 'block') await runBlock(o, active, t, ctx);
    else await runTask(o, active, t, ctx.phase, ctx.index.n++);
  }
}

/** A block's `when` applies to the whole block (per host); hosts where it is false skip it. */
function blockHosts(o: RunOpts, hosts: HostState[], t: TaskSpec): HostState[] {
  if (t.when === undefined) return hosts;
  const whens = Array.isArray(t.when) ? t.when : [t.when];
  return hosts.filter((h) => whens.every((w) => truthy(evaluate(w, hostScope(o, h, { ...t.vars })))));
}

async function runBlock(o: RunOpts, all: HostState[], t: TaskSpec, ctx: ListCtx): Promise<void> {
  const entered = blockHosts(o, all, t);
  if (!entered.length) return;
  const inner: ListCtx = { ...ctx, tags: [...ctx.tags, ...t.tags] };
  await runList(o, entered, t.block ?? [], inner);
  const failed = entered.filter((h) => h.failed && !h.unreachable);
  if (t.rescue && failed.length && !o.stop.aborted) {
    failed.forEach((h) => { h.failed = false; });
    await runList(o, failed, t.rescue, inner);
  }
  if (t.always) {
    // always: runs even on hosts that failed in the block, and even after a first Ctrl-C
    const wasFailed = new Map(entered.map((h) => [h, h.failed]));
    entered.filter((h) => !h.unreachable).forEach((h) => { h.failed = false; });
    const soft: RunOpts = o.stop.aborted ? { ...o, stop: new AbortController().signal } : o;
    await runList(soft, entered.filter((h) => !h.unreachable), t.always, inner);
    entered.forEach((h) => { h.failed = h.failed || wasFailed.get(h)!; });
  }
}

/** Notified handlers, once per host, in handler order (a handler may notify later ones). */
export async function runHandlers(o: RunOpts, hosts: HostState[], index: { n: number }): Promise<void> {
  for (const handler of o.runbook.handlers) {
    const targets = hosts.filter((h) => !h.failed && h.notified.has(handler.name));
    if (!targets.length || o.stop.aborted) continue;
    targets.forEach((h) => h.notified.delete(handler.name));
    await runList(o, targets, [handler], { phase: 'handlers', index, tags: ['always'] });
  }
}

/** Split hosts into serial batches: [] = one batch; numbers and "N%" sizes, the last repeating. */
export function batchesOf<T>(hosts: readonly T[], serial: readonly (number | string)[]): T[][] {
  if (!serial.length) return [hosts.slice()];
  const sizes = serial.map((s) => typeof s === 'number' ? s : Math.max(1, Math.floor((hosts.length * Number(s.replace('%', ''))) / 100)));
  const out: T[][] = [];
  for (let i = 0, b = 0; i < hosts.length; b++) {
    const size = Math.max(1, sizes[Math.min(b, sizes.length - 1)]!);
    out.push(hosts.slice(i, i + size));
    i += size;
  }
  return out;
}

export function failedPercent(batch: readonly HostState[]): number {
  return batch.length ? (batch.filter((h) => h.failed).length * 100) / batch.length : 0;
}

export const terminal: ReadonlySet<TaskStatus> = new Set(['failed', 'unreachable']);
