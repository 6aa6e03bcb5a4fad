// Runs one task on one host: when, loop, retries/until, check -> (plan: report | apply: run the
// changes through applyChange), changed_when/failed_when, and the value `register` stores.
import { TransportError } from '../errors.ts';
import { modules } from '../tasks/index.ts';
import type { Check, Result, TaskModule } from '../tasks/types.ts';
import { createLocalTransport } from '../transports/local.ts';
import type { Host } from '../transports/types.ts';
import { applyChange } from './apply-change.ts';
import { Batcher } from './batcher.ts';
import { makeCheckCtx } from './check-ctx.ts';
import { parseDuration, sleep } from './duration.ts';
import type { TaskStatus } from './events.ts';
import { unknownFacts } from './facts.ts';
import type { TaskSpec } from './model.ts';
import { renderArgs, renderedArgErrors } from './render-args.ts';
import type { HostState, RunOpts } from './run-state.ts';
import { buildScope, hideVars } from './scope.ts';
import { evaluate, renderString, renderValue, TemplateError, toText, truthy, type Scope } from './template.ts';
import { redactText, Secret } from './secret.ts';
import { secretsIn } from './template-values.ts';

export type Outcome = {
  status: TaskStatus;
  msg?: string;
  diff?: string;
  changes?: string[];
  result: Record<string, unknown>;
  facts?: Result;
  output?: { code?: number; stdout?: string; stderr?: string };
};

/** Marker on registered values of tasks that `plan` did not run. */
export const PLANNED = '__planned';

export function hostScope(o: RunOpts, h: HostState, extra: Record<string, unknown> = {}): Scope {
  return hideVars(buildScope(o.runbook.vars, o.env.vars, h.host.vars,
    { inventory_hostname: h.host.name, facts: h.facts ?? unknownFacts, secrets: o.secrets, environment: o.env.name },
    h.vars, extra, o.extraVars), o.runbook.noLogVars);
}

/** The values to blank out of this host's remote output: secrets and the current no_log_vars values. */
export function hiddenValues(o: RunOpts, h: HostState): Secret[] {
  if (!o.runbook.noLogVars.length) return Object.values(o.secrets); // the common case: no host scope to build per result
  const scope = hostScope(o, h) as Record<string, unknown>;
  const hidden = o.runbook.noLogVars.flatMap((name) => {
    try { return secretsIn(scope[name]); } catch { return []; } // a value that needs facts not gathered yet
  });
  return [...Object.values(o.secrets), ...hidden];
}

/** `become` may be a template (e.g. an environment that never escalates sets `escalate: false`). */
function becomeOf(t: TaskSpec, scope: Scope): boolean | undefined {
  return typeof t.become === 'string' ? truthy(renderString(t.become, scope)) : t.become;
}

type Target = { readonly batcher: Batcher; readonly host: Host };

/** Where a task's probes and changes go: the host, or with `delegate_to: localhost` this machine (for that host). */
function targetOf(o: RunOpts, h: HostState, t: TaskSpec): Target {
  if (t.delegateTo !== 'localhost') return { batcher: o.batcher, host: h.host };
  return { batcher: new Batcher(createLocalTransport()), host: { name: h.host.name, address: '127.0.0.1', vars: h.host.vars } };
}

async function checkOnce(o: RunOpts, h: HostState, t: TaskSpec, scope: Scope, m: TaskModule<unknown>, signal: AbortSignal, at: Target): Promise<{ check: Check; args: unknown }> {
  let args = renderArgs(m, t.args, scope, o.runbook.dir);
  // a plan never sits out a wait: a port that the apply would open is not open yet
  if (o.mode === 'plan' && m.name === 'wait_for') args = { ...(args as object), timeout: Math.min(Number((args as { timeout?: number }).timeout ?? 300), 1) };
  const bad = renderedArgErrors(m, args);
  if (bad) return { check: { status: 'fail', why: `invalid arguments after templating: ${bad}` }, args };
  const ctx = makeCheckCtx({
    batcher: at.batcher, host: at.host, info: { name: h.host.name, facts: h.facts ?? unknownFacts }, signal,
    dir: o.runbook.dir, become: becomeOf(t, scope), becomeUser: t.becomeUser, timeoutMs: t.timeout ? parseDuration(t.timeout) : undefined,
    render: (text) => { const r = renderString(text, scope); return r instanceof Secret ? r : toText(r); }, reads: o.reads,
  });
  return { check: await m.check(ctx, args), args };
}

function describeChanges(c: Check): string[] | undefined {
  return c.status === 'change' ? c.changes.map((x) => (x.kind === 'exec' ? `${x.why}: ${x.script.shown}` : x.kind === 'write' ? `${x.why}: write ${x.path}` : x.kind === 'fetch' ? `${x.why}: fetch ${x.src} -> ${x.dest}` : x.why)) : undefined;
}

/** -v live output: none for a no_log task; no_log_vars values blanked like secrets. */
function liveOutput(o: RunOpts, h: HostState, t: TaskSpec): RunOpts['onOutput'] {
  const show = o.onOutput;
  if (!show || t.noLog) return undefined;
  if (!o.runbook.noLogVars.length) return show;
  const hidden = hiddenValues(o, h);
  return (host, stream, chunk) => show(host, stream, redactText(chunk, hidden));
}

/** One attempt: check, then (apply mode) run each change. */
async function attempt(o: RunOpts, h: HostState, t: TaskSpec, scope: Scope, signal: AbortSignal): Promise<Outcome> {
  const m = modules[t.module as keyof typeof modules] as TaskModule<unknown>;
  const at = targetOf(o, h, t);
  const { check } = await checkOnce(o, h, t, scope, m, signal, at);
  const base = { ...(check.result ?? {}) };
  if (check.status === 'ok') return { status: 'ok', msg: check.why, result: { ...base, changed: false, failed: false, msg: check.why }, facts: check.facts };
  if (check.status === 'fail') {
    // in a plan, a check can fail only because an earlier task's change has not been made yet
    if (o.mode === 'plan' && h.summary.changed > 0) return { status: 'unknown', msg: `would fail now (${check.why}); may depend on changes planned above`, result: { ...base, changed: false, failed: false, [PLANNED]: true } };
    return { status: 'failed', msg: check.why, result: { ...base, changed: false, failed: true, msg: check.why } };
  }
  const changes = describeChanges(check);
  if (o.mode === 'plan') {
    const status: TaskStatus = m.idempotent ? 'would_change' : 'would_run';
    return { status, diff: check.diff, changes, msg: changes?.join('; '), result: { ...base, changed: true, failed: false, [PLANNED]: true } };
  }
  const timeoutMs = t.timeout ? parseDuration(t.timeout) : undefined;
  let result: Record<string, unknown> = { ...base, changed: true, failed: false };
  for (const c of check.changes) {
    const r = await applyChange(at.batcher, at.host, c, { signal: o.kill, become: becomeOf(t, scope), becomeUser: t.becomeUser, timeoutMs, onOutput: liveOutput(o, h, t) });
    if (r.exec) {
      result = { ...result, rc: r.exec.code, stdout: r.exec.stdout.replace(/\n$/, ''), stderr: r.exec.stderr.replace(/\n$/, ''),
        stdout_lines: r.exec.stdout.split('\n').filter((l, i, a) => i < a.length - 1 || l !== ''), truncated: r.exec.truncated ?? false };
    }
    if (r.ok && r.result) result = { ...result, ...r.result };
    if (!r.ok) {
      // the task's own `timeout:` ran out on a reachable host: the task failed (ignore_errors applies), the host is not unreachable
      const timedOut = r.unreachable?.kind === 'timeout' && timeoutMs !== undefined;
      if (r.unreachable && !timedOut) throw r.unreachable;
      const why = timedOut ? `timed out after ${t.timeout}` : r.message;
      return { status: 'failed', msg: `${c.why}: ${why}${r.exec?.stderr ? `: ${r.exec.stderr.trim().slice(0, 500)}` : ''}`, diff: check.diff, changes,
        result: { ...result, failed: true, msg: why, ...(timedOut ? { timed_out: true } : {}) }, output: r.exec && { code: r.exec.code, stdout: r.exec.stdout, stderr: r.exec.stderr } };
    }
  }
  const last = result.rc !== undefined ? { code: result.rc as number, stdout: result.stdout as string, stderr: result.stderr as string } : undefined;
  const done = changes?.map((c) => c.replace(/^will run: /, 'ran: ').replace(/^will /, ''));
  return { status: 'changed', diff: check.diff, changes: done, msg: done?.join('; '), result, output: last };
}

function cond(expr: string | boolean, scope: Scope): boolean {
  return typeof expr === 'boolean' ? expr : truthy(evaluate(expr, scope));
}

/** changed_when / failed_when / until see the result under the register name (and `result`). */
function judge(t: TaskSpec, out: Outcome, scope: Record<string, unknown>, mode: RunOpts['mode']): Outcome {
  if (mode === 'plan' || (t.changedWhen === undefined && t.failedWhen === undefined)) return out;
  const s = buildScope(scope, { result: out.result, ...(t.register ? { [t.register]: out.result } : {}) });
  let status = out.status;
  if (t.failedWhen !== undefined) {
    status = cond(t.failedWhen, s) ? 'failed' : status === 'failed' ? (out.result.changed ? 'changed' : 'ok') : status;
  }
  if (t.changedWhen !== undefined && status !== 'failed') status = cond(t.changedWhen, s) ? 'changed' : 'ok';
  return { ...out, status, result: { ...out.result, changed: status === 'changed', failed: status === 'failed' } };
}

/** One iteration (a loop item, or the task itself): retries/until around attempt(). */
async function iteration(o: RunOpts, h: HostState, t: TaskSpec, extra: Record<string, unknown>): Promise<Outcome> {
  const retries = t.retries ?? (t.until ? 3 : 0);
  const delay = t.delay !== undefined ? parseDuration(t.delay) : 1000;
  for (let i = 0; ; i++) {
    const scope = hostScope(o, h, { ...t.vars, ...extra });
    const signal = t.timeout ? AbortSignal.any([o.kill, AbortSignal.timeout(parseDuration(t.timeout))]) : o.kill;
    let out = judge(t, await attempt(o, h, t, scope, signal), scope as Record<string, unknown>, o.mode);
    let done = out.status !== 'failed';
    if (t.until && o.mode === 'apply') {
      const s = buildScope(scope, { result: out.result, ...(t.register ? { [t.register]: out.result } : {}) });
      done = out.status !== 'failed' && cond(t.until, s);
      if (!done && i >= retries) out = { ...out, status: 'failed', msg: `${out.msg ?? ''} (until '${t.until}' still false after ${i + 1} attempts)`.trim() };
    }
    if (done || i >= retries || o.mode === 'plan' || o.stop.aborted) return { ...out, result: { ...out.result, attempts: i + 1 } };
    await sleep(delay, o.kill);
  }
}

/** Run a task (with when and loop) on one host and return what happened. `timeout:` is enforced
 * here whatever the transport does, so a host that hangs fails alone and the run goes on. */
export async function runTaskOnHost(o: RunOpts, h: HostState, t: TaskSpec): Promise<Outcome> {
  if (!t.timeout) return runUnbounded(o, h, t);
  const ms = parseDuration(t.timeout);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'failed', msg: `timed out after ${t.timeout} (the command may still be running on ${h.host.name})`,
      result: { failed: true, changed: false, timed_out: true } }), ms + 250);
  });
  try {
    return await Promise.race([runUnbounded(o, h, t), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function runUnbounded(o: RunOpts, h: HostState, t: TaskSpec): Promise<Outcome> {
  try {
    const scope = hostScope(o, h, { ...t.vars });
    const whens = t.when === undefined ? [] : Array.isArray(t.when) ? t.when : [t.when];
    if (!whens.every((w) => cond(w, scope))) return { status: 'skipped', msg: 'condition false', result: { skipped: true, changed: false, failed: false } };
    if (t.loop === undefined) return await iteration(o, h, t, {});
    const items = typeof t.loop === 'string' ? renderString(t.loop, scope) : renderValue(t.loop, scope);
    if (!Array.isArray(items)) return { status: 'failed', msg: `loop: expected a list, got ${typeof items}`, result: { failed: true, changed: false } };
    const results: Outcome[] = [];
    for (const item of items) {
      const r = await iteration(o, h, t, { [t.loopVar]: item });
      results.push(r);
      if (r.status === 'failed') break;
    }
    return combine(results);
  } catch (e) {
    return errorOutcome(o, h, e);
  }
}

function combine(rs: Outcome[]): Outcome {
  const rank: TaskStatus[] = ['unreachable', 'failed', 'unknown', 'changed', 'would_run', 'would_change', 'ok', 'skipped'];
  const status = rs.length ? rank.find((s) => rs.some((r) => r.status === s))! : 'skipped';
  return {
    status, msg: rs.map((r) => r.msg).filter(Boolean).join('; '), diff: rs.map((r) => r.diff).filter(Boolean).join('\n') || undefined,
    changes: rs.flatMap((r) => r.changes ?? []),
    facts: Object.assign({}, ...rs.map((r) => r.facts ?? {})),
    result: { results: rs.map((r) => r.result), changed: rs.some((r) => r.result.changed), failed: status === 'failed', skipped: rs.length === 0 },
  };
}

function errorOutcome(o: RunOpts, h: HostState, e: unknown): Outcome {
  if (e instanceof TransportError) return { status: 'unreachable', msg: e.message, result: { unreachable: true, failed: true, changed: false, msg: e.message } };
  if (e instanceof TemplateError || (e instanceof Error && /undefined|has no attribute/.test(e.message) && o.mode === 'plan')) {
    const planned = Object.values(h.vars).some((v) => v && typeof v === 'object' && PLANNED in v);
    if (o.mode === 'plan' && planned) return { status: 'unknown', msg: `depends on the result of a task that plan does not run (${e.message})`, result: { [PLANNED]: true, changed: false, failed: false } };
    return { status: 'failed', msg: `template: ${e.message}`, result: { failed: true, changed: false, msg: e.message } };
  }
  if ((e as Error)?.name === 'AbortError' || (e as Error)?.name === 'TimeoutError') return { status: 'failed', msg: 'interrupted or timed out', result: { failed: true, changed: false } };
  const msg = e instanceof Error ? e.message : String(e);
  return { status: 'failed', msg, result: { failed: true, changed: false, msg } };
}
