// Glue between `runbook plan` and its PR-facing outputs: with `--format markdown` the progress goes
// to stderr and the markdown summary to stdout; with `--comment` the summary is posted to the PR
// (and, in GitHub Actions, added to the run's step summary).
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { GateRefusedError, InputError } from '../errors.ts';
import type { EventSink, RunEvent } from '../engine/events.ts';
import { githubClient, resolveTarget, upsertComment, type CommentTarget } from './comment.ts';
import { gateInput } from './apply-gate.ts';
import { planMarker, renderPlanMarkdown, type GateStatus } from './plan-markdown.ts';
import type { Out } from './output.ts';
import type { Prepared } from './prepare.ts';
import type { Io } from './session.ts';

export type PlanReportOpts = { format?: string; comment?: boolean; pr?: string; json?: boolean };

export type PlanReport = {
  /** The Io the plan's own progress output should use (stderr when stdout carries markdown). */
  io: Io;
  /** Collects the events; fan the session's sink out to it. */
  sink: EventSink;
  /** After run_end: print and/or post the summary. Returns the plan's exit code. */
  finish(p: Prepared, exitCode: number): Promise<number>;
};

/** Checks the flags before anything runs (a missing token or PR is an input error, exit 2). */
export function startPlanReport(o: PlanReportOpts, io: Io): PlanReport | undefined {
  const format = o.format ?? 'text';
  if (format !== 'text' && format !== 'markdown') throw new InputError(`--format ${format}: use text or markdown`);
  const markdown = format === 'markdown';
  if (markdown && o.json) throw new InputError('--format markdown and --json both write stdout; pick one');
  if (!markdown && !o.comment) return undefined;
  const target = o.comment ? resolveTarget(o, io.env, io.cwd) : undefined;
  const gh = o.comment ? githubClient(io.env) : undefined;
  const events: RunEvent[] = [];
  return {
    io: markdown ? { ...io, out: io.err } : io,
    sink: { emit: (e) => events.push(e) },
    async finish(p, exitCode) {
      const body = renderPlanMarkdown({ events, runbook: p.runbook, env: p.env, gate: await planGateStatus(p, io) });
      if (markdown) io.out.write(body);
      // in GitHub Actions the summary also goes on the run's page (GITHUB_STEP_SUMMARY)
      if (io.env.GITHUB_STEP_SUMMARY) appendFileSync(io.env.GITHUB_STEP_SUMMARY, body + '\n');
      if (gh && target) await postComment(gh, target, p, body, io, markdown || o.json === true ? io.err : io.out);
      return exitCode;
    },
  };
}

async function postComment(gh: ReturnType<typeof githubClient>, t: CommentTarget, p: Prepared, body: string, io: Io, notice: Out): Promise<void> {
  const marker = planMarker(relative(io.cwd, p.runbook.file), p.env.name);
  const r = await upsertComment(gh, t, marker, body);
  const line = `plan comment ${r.action} on ${t.owner}/${t.repo}#${t.pr}: ${r.url}\n`;
  notice.write(line);
}

/** What the review gate would say about an apply right now (protected environments only); never throws. */
export async function planGateStatus(p: Prepared, io: Io): Promise<GateStatus> {
  if (!p.env.protected) return { state: 'not_required', why: `${p.env.name} is not a protected environment` };
  if (!io.env.GITHUB_TOKEN && !io.env.GH_TOKEN) return { state: 'not_evaluated', why: 'no GITHUB_TOKEN or GH_TOKEN' };
  try {
    const { evaluateGate } = await import('../gate/index.ts');
    const ev = await evaluateGate({ ...gateInput(p, io), warn: () => {} });
    return { state: ev.passed ? 'passed' : 'refused', rules: ev.rules.map((r) => ({ name: r.rule.replace(/_/g, ' '), ok: r.ok, detail: r.detail })) };
  } catch (e) {
    if (e instanceof GateRefusedError) return { state: 'refused', rules: [], reasons: [...e.reasons] };
    return { state: 'not_evaluated', why: `the gate could not be evaluated: ${(e as Error).message.split('\n')[0]}` };
  }
}
