// `runbook plan <runbook> -e <env>`: a true dry run. Every task runs its read-only check; the
// output shows per host what would change, with file diffs. Nothing is written on any host.
import { userInfo } from 'node:os';
import { relative } from 'node:path';
import { fanOut } from '../engine/events.ts';
import { newRunId } from '../engine/journal.ts';
import { executeRun } from '../engine/run.ts';
import { createTransport } from '../transports/index.ts';
import { startPlanReport, type PlanReportOpts } from './plan-report.ts';
import { parseForks, prepare, type CommonOpts } from './prepare.ts';
import { createSession, runOpts, type Io } from './session.ts';

export async function planCommand(runbookPath: string, o: CommonOpts & PlanReportOpts, io: Io): Promise<number> {
  const report = startPlanReport(o, io); // --format markdown / --comment: checked before anything runs
  const p = await prepare(runbookPath, o);
  const s = createSession(report?.io ?? io, o, 'plan', newRunId());
  if (report) s.sink = fanOut(s.sink, report.sink);
  const transport = await createTransport(p.env, { forks: parseForks(o.forks), limited: o.limit !== undefined });
  try {
    s.sink.emit({ type: 'run_start', command: 'plan', runbook: relative(io.cwd, p.runbook.file), env: p.env.name,
      hosts: p.hosts.map((h) => h.name), operator: io.env.GITHUB_ACTOR ?? userInfo().username });
    p.warnings.forEach((message) => s.sink.emit({ type: 'warning', message }));
    const r = await executeRun(runOpts(p, o, s, transport, 'plan', io), p.hosts);
    s.sink.emit({ type: 'run_end', exitCode: r.exitCode, ms: Date.now() - s.started, summary: r.summary, message: r.message });
    return report ? await report.finish(p, r.exitCode) : r.exitCode;
  } finally {
    await transport.close();
    s.dispose();
  }
}
