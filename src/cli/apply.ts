// `runbook apply`: gate -> lock -> marker -> tasks -> health -> (rollback) -> journal.
// Every step reports through the event stream; the exit code comes from the run's outcome.
import { userInfo } from 'node:os';
import { relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { InterruptedError, RunbookError } from '../errors.ts';
import type { HostSummary } from '../engine/events.ts';
import { gitInfo } from '../engine/git-info.ts';
import { newRunId } from '../engine/journal.ts';
import { acquireLock, lockKey, type Lock } from '../engine/lock.ts';
import { parseDuration } from '../engine/duration.ts';
import { executeRun } from '../engine/run.ts';
import { createTransport } from '../transports/index.ts';
import type { Transport } from '../transports/types.ts';
import { gateFiles, runGate, type GateResult } from './apply-gate.ts';
import { startAgent, type AgentReporter } from '../observe/agent.ts';
import { setupObserve, type MarkerEvidence, type Observe } from './apply-observe.ts';
import { parseForks, prepare, type CommonOpts, type Prepared } from './prepare.ts';
import { planResume } from './resume.ts';
import { createSession, runOpts, type Io, type Session } from './session.ts';

/** After a second Ctrl-C: how long cancellations may take before the process exits regardless. */
const HARD_STOP_GRACE_MS = 2000;

export type ApplyOpts = CommonOpts & { lockWait?: string; breakGlass?: string; resume?: string };

function operatorOf(io: Io): string {
  return io.env.GITHUB_ACTOR || userInfo().username; // an empty GITHUB_ACTOR is no name
}

/** The gate's evidence in the marker's changelog: PR and URL, approvers, approved and run commits, every blob SHA. */
export function evidenceForMarker(e: GateResult['evidence'], commit: string | undefined): MarkerEvidence {
  if (!e) return { commit };
  const approvers = e.approvers.map((a) => `@${a.login}`).join(', ');
  const review = e.breakGlass ? `BREAK-GLASS by ${e.breakGlass.operator}: ${e.breakGlass.reason} (unreviewed)`
    : `approved by ${approvers || 'nobody'} at ${e.approvedCommit ?? e.commit}`;
  const changelog = [e.pr ? `PR #${e.pr.number} ${e.pr.title} (${e.pr.url})` : undefined, review, `commit ${e.commit}`,
    ...Object.entries(e.blobs).map(([f, sha]) => `${f} ${sha}`)].filter(Boolean).join('\n');
  // the GitHub account the gate authenticated is a better "user" for the marker than a local login name
  return { commit: e.commit, deepLink: e.pr?.url, changelog, ...(e.operator ? { user: e.operator } : {}) };
}

/** On a terminal, ask before changing anything unless --yes (CI and --json never prompt). */
async function confirm(p: Prepared, o: ApplyOpts): Promise<void> {
  if (o.yes || o.json || !process.stdin.isTTY || !process.stdout.isTTY) return;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`apply ${p.runbook.name} to ${p.env.name} (${p.hosts.length} host(s): ${p.hosts.slice(0, 5).map((h) => h.name).join(', ')}${p.hosts.length > 5 ? ', …' : ''})? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new InterruptedError('not confirmed: nothing was changed');
}

async function startRun(p: Prepared, o: ApplyOpts, io: Io, runId: string, agent: AgentReporter | undefined): Promise<{ s: Session; gate: GateResult; lock: Lock; observe: Observe }> {
  let gate: GateResult | undefined;
  const evidence = (): MarkerEvidence => evidenceForMarker(gate?.evidence, gitInfo(gateFiles(p), io.cwd).commit);
  const observe = await setupObserve(p, io.env, runId, operatorOf(io), evidence); // may refuse (newrelic.required) before anything
  gate = await runGate(p, o, io);                                                  // exit 3 when refused, before the lock
  await confirm(p, o);
  const hosts = `${p.runbook.hosts}|${o.limit ?? ''}`;
  const waitMs = o.lockWait ? parseDuration(o.lockWait) : 0;
  const leaseMs = p.env.lock.lease !== undefined ? parseDuration(p.env.lock.lease) : undefined;
  const lock = p.env.lock.backend === 'git'
    ? await (await import('../engine/lock-git.ts')).acquireGitLock({ repoDir: p.runbook.dir, key: lockKey(p.env.name, hosts), runId, env: p.env.name, waitMs, leaseMs })
    : await acquireLock({ base: io.cwd, env: p.env.name, hosts, runId, waitMs, leaseMs });
  let s: Session;
  try {
    s = createSession(io, o, 'apply', runId, io.cwd, agent?.onEvent);
  } catch (e) {
    await lock.release();
    throw e;
  }
  return { s, gate: gate!, lock, observe };
}

export async function applyCommand(runbookPath: string, o: ApplyOpts, io: Io): Promise<number> {
  const p = await prepare(runbookPath, o);
  const runId = newRunId();
  const pinned = gitInfo(gateFiles(p), io.cwd);
  const resume = o.resume ? planResume(o.resume, p, pinned.blobs, io.cwd) : undefined;
  const agent = await startAgent(io.env);
  const { s, gate, lock, observe } = await startRun(p, o, io, runId, agent);
  let transport: Transport | undefined;
  const info = gate.evidence ? { commit: gate.evidence.commit, blobs: gate.evidence.blobs } : pinned;
  let ended = false;
  const end = (exitCode: number, message: string, summary: Record<string, HostSummary> = {}): void => {
    if (ended) return; // one run_end: a second Ctrl-C may already have written it
    ended = true;
    s.sink.emit({ type: 'run_end', exitCode, ms: Date.now() - s.started, summary, message });
  };
  s.onHardStop = () => {
    end(130, 'interrupted twice: stopped at once; hosts may be mid-task (see the events above)');
    s.journal?.close(); // the journal ends here, complete
    // the kill signal makes transports cancel what still runs (SSM CancelCommand): the run winds down
    // and returns 130 through the normal path; if it cannot within the grace, exit anyway
    setTimeout(() => { void lock.release(); process.exit(130); }, HARD_STOP_GRACE_MS).unref();
  };
  try {
    s.sink.emit({ type: 'run_start', command: 'apply', runbook: relative(io.cwd, p.runbook.file), env: p.env.name,
      hosts: p.hosts.map((h) => h.name), operator: operatorOf(io), commit: info.commit, blobs: info.blobs, ...(resume ? { resumeOf: resume.runId } : {}) });
    p.warnings.forEach((message) => s.sink.emit({ type: 'warning', message }));
    p.discoveredOffline.forEach((h) => s.sink.emit({ type: 'warning', message: `SSM instance not online, counted as failed: ${h}` }));
    if (gate.evidence) s.sink.emit({ type: 'gate', passed: true, evidence: gate.evidence });
    transport = await createTransport(p.env, { forks: parseForks(o.forks), limited: o.limit !== undefined });
    const ro = { ...runOpts(p, o, s, transport, 'apply', io), resume: resume?.done };
    const r = await executeRun(ro, p.hosts, {
      beforeTasks: async () => { await gate.recheck(s.sink); await observe.start(s.sink); },
      health: (phase) => observe.health(p, ro, phase),
    });
    const journalError = s.journal?.error;
    const stoppedByJournal = journalError !== undefined && s.stop.signal.reason === journalError && r.outcome === 'interrupted';
    const exitCode = stoppedByJournal ? 1 : journalError ? Math.max(r.exitCode, 1) : p.discoveredOffline.length && r.exitCode === 0 ? 1 : r.exitCode;
    const message = stoppedByJournal ? `stopped before the next task: ${journalError.message}` : journalError ? `${r.message}; ${journalError.message}` : r.message;
    await observe.outcome(s.sink, r.outcome === 'planned' ? 'success' : stoppedByJournal ? 'failed' : r.outcome, message);
    end(exitCode, message, r.summary);
    if (journalError) io.err.write(`error: ${journalError.message}\n`);
    return exitCode;
  } catch (e) {
    const code = e instanceof RunbookError ? e.exitCode : 1;
    end(code, e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    await transport?.close();
    await lock.release();
    s.journal?.close();
    s.dispose();
    await agent?.shutdown();
  }
}
