// Human and machine output of the event stream. --json: one JSON object per line on stdout and
// nothing else there. Human: per-task lines, diffs in plan (and -v), a live progress line on a
// TTY, a summary table per host. Colours honour NO_COLOR, --no-color and non-TTY.
import type { HostSummary, Stamped, TaskStatus } from '../engine/events.ts';

export type Out = { write(text: string): void; isTTY?: boolean };
export type OutputOpts = { json: boolean; color: boolean; verbose: boolean; command: 'plan' | 'apply'; out: Out; err: Out };

export function useColor(flag: boolean | undefined, stream: Out, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false || env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR) return true;
  return stream.isTTY === true;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1 } as const;
export type Paint = (c: keyof typeof CODES, s: string) => string;
export const painter = (on: boolean): Paint => (c, s) => (on ? `\u001b[${CODES[c]}m${s}\u001b[0m` : s);

const STATUS_COLOR: Record<TaskStatus, keyof typeof CODES> = {
  ok: 'green', changed: 'yellow', failed: 'red', skipped: 'cyan', unreachable: 'red', would_change: 'yellow', would_run: 'magenta', unknown: 'gray',
};
const LABEL: Record<TaskStatus, string> = {
  ok: 'ok', changed: 'changed', failed: 'failed', skipped: 'skipped', unreachable: 'unreachable', would_change: 'will change', would_run: 'will run', unknown: 'unknown',
};

function colorDiff(diff: string, paint: Paint): string {
  return diff.split('\n').map((l) => (l.startsWith('+') && !l.startsWith('+++') ? paint('green', l) : l.startsWith('-') && !l.startsWith('---') ? paint('red', l) : l.startsWith('@@') ? paint('cyan', l) : l)).join('\n');
}

const indent = (s: string, n = 6): string => s.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
const secs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`);

type Progress = { task: string; done: number; total: number; tally: Partial<Record<TaskStatus, number>> };

/** The live line under the current task: hosts done of total and the statuses so far. */
export function progressLine(p: Progress, paint: Paint): string {
  const so = Object.entries(p.tally).map(([s, n]) => `${n} ${LABEL[s as TaskStatus]}`).join(', ');
  return paint('gray', `  … ${p.task}: ${p.done}/${p.total} hosts done${so ? ` (${so})` : ''}`);
}

type Result = Extract<Stamped, { type: 'task_result' }>;

/** The lines of one host's result: status, then (by mode and -v) its diff, its commands and their output. */
function resultLines(e: Result, o: OutputOpts, paint: Paint, module: string): string[] {
  const label = paint(STATUS_COLOR[e.status], LABEL[e.status].padEnd(11));
  const msg = e.msg && (e.status !== 'ok' || o.verbose || module === 'debug') ? paint('gray', ` ${e.msg.split('\n')[0]!.slice(0, 200)}`) : '';
  const out = [`  ${label} ${e.host}${e.ms >= 1000 ? paint('gray', ` (${secs(e.ms)})`) : ''}${msg}${e.ignored ? paint('gray', ' (ignored)') : ''}`];
  if (e.diff && (o.command === 'plan' || o.verbose)) out.push(indent(colorDiff(e.diff, paint)));
  if (o.verbose && e.changes?.length) out.push(indent(e.changes.map((c) => `$ ${c}`).join('\n')));
  const text = e.output && (o.verbose || e.status === 'failed') ? [e.output.stdout, e.output.stderr].filter(Boolean).join('\n').trim() : '';
  if (text) out.push(indent(paint('gray', text.split('\n').slice(-20).join('\n'))));
  return out;
}

/** The line of every event other than tasks and results (undefined: nothing to show). */
function eventLine(e: Stamped, o: OutputOpts, paint: Paint): string | undefined {
  switch (e.type) {
    case 'run_start': return paint('bold', `${o.command.toUpperCase()} ${e.runbook} on ${e.env}`) + paint('gray', ` · ${e.hosts.length} host(s) · run ${e.run}`);
    case 'batch_start': return e.of > 1 ? paint('bold', `\nBATCH ${e.batch}/${e.of}`) + ` [${e.hosts.join(', ')}]` : undefined;
    case 'facts': return e.error ? `  ${paint('red', 'unreachable'.padEnd(11))} ${e.host} ${paint('gray', e.error)}` : undefined;
    case 'gate': return e.passed ? paint('green', 'review gate passed') : paint('red', `review gate refused: ${(e.reasons ?? []).join('; ')}`);
    case 'pins': return e.ok ? paint('gray', `pins re-checked: HEAD ${e.commit.slice(0, 7)} and ${Object.keys(e.blobs).length} file(s) are what the gate approved`)
      : paint('red', `pins changed after the gate passed: ${(e.reasons ?? []).join('; ')}`);
    case 'marker': return paint('gray', e.skipped ? `New Relic marker skipped: ${e.skipped}` : `New Relic ${e.kind} marker ${e.id ?? ''}${e.outcome ? ` (${e.outcome})` : ''}`);
    case 'health_measurement':
      return `  ${e.ok ? paint('green', 'healthy'.padEnd(11)) : paint('red', 'unhealthy'.padEnd(11))} ${e.check} ${paint('gray', `measurement ${e.measurement}/${e.of}${e.value !== undefined ? ` value ${JSON.stringify(e.value)}` : ''}${e.error ? ` ${e.error}` : ''}`)}`;
    case 'health_result':
      return paint('bold', `\nHEALTH${e.phase === 'after_rollback' ? ' after rollback' : ''}: `) + (e.healthy ? paint('green', 'healthy') : paint('red', `unhealthy (${e.failed} failed, ${e.errors} errors)`));
    case 'rollback': return paint('magenta', e.state === 'start' ? `\nROLLBACK on ${e.hosts.join(', ') || 'no changed hosts'}: ${e.reason ?? ''}` : `rollback ${e.ok ? 'succeeded' : 'FAILED'}`);
    case 'warning': return paint('yellow', `warning: ${e.message}`);
    case 'interrupt': return paint('yellow', e.count > 1 ? 'interrupted again: stopping now' : `interrupted (${e.signal}): finishing running commands, no new tasks; press Ctrl-C again to stop at once`);
    case 'run_end': return summaryTable(e.summary, paint) + '\n' + paint(e.exitCode === 0 ? 'green' : 'red', `${o.command} finished: exit ${e.exitCode}${e.message ? ` (${e.message})` : ''} in ${secs(e.ms)}`);
    default: return undefined;
  }
}

export function createPrinter(o: OutputOpts): (e: Stamped) => void {
  if (o.json) return (e) => o.out.write(JSON.stringify(e) + '\n');
  const paint = painter(o.color);
  let progress: Progress = { task: '', done: 0, total: 0, tally: {} };
  let module = '';
  const live = o.out.isTTY === true;
  const line = (s: string): void => { o.out.write(`${live ? '\r\u001b[2K' : ''}${s}\n`); };
  return (e) => {
    if (e.type === 'task_start') {
      progress = { task: e.task, done: 0, total: e.hosts.length, tally: {} };
      module = e.module;
      line(paint('bold', `\n${e.phase === 'handlers' ? 'HANDLER' : e.phase === 'rollback' ? 'ROLLBACK' : 'TASK'} [${e.task}]`) + paint('gray', ` ${e.at.file.split('/').pop()}:${e.at.line}`));
      if (live && progress.total > 0) o.out.write(progressLine(progress, paint));
    } else if (e.type === 'task_result') {
      progress.done++;
      progress.tally[e.status] = (progress.tally[e.status] ?? 0) + 1;
      resultLines(e, o, paint, module).forEach(line);
      if (live && progress.done < progress.total) o.out.write(progressLine(progress, paint));
    } else {
      const text = eventLine(e, o, paint);
      if (text !== undefined) line(text);
    }
  };
}

export function summaryTable(summary: Record<string, HostSummary>, paint: Paint): string {
  const rows = Object.entries(summary);
  const w = Math.max(4, ...rows.map(([h]) => h.length));
  const head = `\n${'HOST'.padEnd(w)}  ${['ok', 'changed', 'failed', 'skipped', 'unreach', 'time'].map((c) => c.padStart(8)).join('')}`;
  const body = rows.map(([h, s]) => {
    const cells = [s.ok, s.changed, s.failed, s.skipped, s.unreachable].map((n) => String(n).padStart(8)).join('') + secs(s.ms).padStart(8);
    const color = s.failed || s.unreachable ? 'red' : s.changed ? 'yellow' : 'green';
    return paint(color, h.padEnd(w)) + '  ' + cells + (s.why ? paint('gray', `  ${s.why.split('\n')[0]}`) : '');
  });
  return [paint('bold', head), ...body].join('\n');
}
