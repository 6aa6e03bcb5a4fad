// `runbook plan --format markdown`: a pull-request-ready summary of one plan, rendered purely from
// its event stream plus the loaded runbook (health, rollback) and the gate status. No I/O here.
import type { RunEvent, TaskStatus } from '../engine/events.ts';
import type { Environment, HealthCheckSpec, Runbook } from '../engine/model.ts';

export type GateRule = { name: string; ok: boolean; detail?: string };
export type GateStatus =
  | { state: 'not_required'; why: string }
  | { state: 'not_evaluated'; why: string }
  | { state: 'passed' | 'refused'; rules: GateRule[]; reasons?: string[] };

export type PlanMarkdownInput = {
  events: readonly RunEvent[];
  runbook: Pick<Runbook, 'name' | 'health' | 'rollback' | 'hasRollback' | 'newrelic'>;
  env: Pick<Environment, 'name' | 'protected' | 'transport'>;
  gate: GateStatus;
  /** Lines of one diff shown before "… N more lines" (default 60). */
  maxDiffLines?: number;
  /** Whole body cap; GitHub refuses comments over 65,536 characters (default 60,000). */
  maxChars?: number;
};

type TaskResult = Extract<RunEvent, { type: 'task_result' }>;
type TaskRow = { key: string; task: string; module: string; phase: string; hosts: Map<string, TaskResult> };

export const planMarker = (runbook: string, env: string): string => `<!-- runbook-plan:${runbook}:${env} -->`;

const LABEL: Record<TaskStatus, string> = {
  would_change: 'will change', would_run: 'will run', ok: 'ok', skipped: 'skipped', failed: 'failed',
  unknown: 'unknown', changed: 'changed', unreachable: 'unreachable',
};
const COLUMNS: TaskStatus[] = ['would_change', 'would_run', 'ok', 'skipped', 'unknown', 'failed', 'unreachable'];

/** Text safe inside a table cell or summary line: no pipes, newlines or raw HTML. */
export function inline(text: string, max = 200): string {
  const one = text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

const secs = (d: string | number): string => (typeof d === 'number' ? `${d}s` : d);

const code = (text: string): string => {
  const t = text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
  return t.includes('`') ? `\`\` ${t} \`\`` : `\`${t}\``;
};

/** A fenced block whose fence is longer than any backtick run inside (so a diff cannot end it). */
export function fenced(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text.replace(/\n$/, '')}\n${fence}`;
}

export function truncateLines(text: string, max: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length <= max) return lines.join('\n');
  return [...lines.slice(0, max), `… ${lines.length - max} more lines`].join('\n');
}

function names(hosts: readonly string[], max = 6): string {
  const shown = hosts.slice(0, max).map(code).join(', ');
  return hosts.length > max ? `${shown} +${hosts.length - max} more` : shown;
}

function collectRows(events: readonly RunEvent[]): TaskRow[] {
  const rows = new Map<string, TaskRow>();
  const modules = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'task_start') modules.set(`${e.phase}:${e.pointer}`, e.module);
    if (e.type !== 'task_result') continue;
    const key = `${e.phase}:${e.pointer}`;
    const row = rows.get(key) ?? { key, task: e.task, module: modules.get(key) ?? '', phase: e.phase, hosts: new Map() };
    row.hosts.set(e.host, e);
    rows.set(key, row);
  }
  // results arrive in completion order; show hosts in inventory order so the output is stable
  const start = events.find((e) => e.type === 'run_start');
  const order = new Map((start?.type === 'run_start' ? start.hosts : []).map((h, n) => [h, n]));
  const rank = (h: string): number => order.get(h) ?? order.size;
  for (const row of rows.values()) row.hosts = new Map([...row.hosts].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b)));
  return [...rows.values()];
}

function header(i: PlanMarkdownInput, start: Extract<RunEvent, { type: 'run_start' }> | undefined): string[] {
  const rb = start?.runbook ?? '?';
  const hosts = start?.hosts ?? [];
  const prot = i.env.protected ? '**protected** (apply needs the review gate)' : 'not protected';
  return [
    planMarker(rb, i.env.name),
    `## runbook plan: ${code(rb)} on ${code(i.env.name)}`,
    '',
    `**${inline(i.runbook.name)}**`,
    '',
    `- Environment: ${code(i.env.name)}, ${prot}, transport ${code(i.env.transport)}`,
    `- Hosts (${hosts.length}): ${hosts.length ? names(hosts, 20) : '_none selected_'}`,
    ...(i.runbook.newrelic ? [`- New Relic deployment marker on ${code(i.runbook.newrelic.entity ?? i.runbook.newrelic.guid ?? '?')}`] : []),
  ];
}

function outcome(rows: TaskRow[], end: Extract<RunEvent, { type: 'run_end' }> | undefined): string[] {
  const count = (s: TaskStatus): number => rows.reduce((n, r) => n + [...r.hosts.values()].filter((x) => x.status === s).length, 0);
  const some = (r: TaskRow, s: TaskStatus): boolean => [...r.hosts.values()].some((x) => x.status === s);
  const changing = rows.filter((r) => some(r, 'would_change')).length;
  const running = rows.filter((r) => some(r, 'would_run') && !some(r, 'would_change')).length;
  const totals = COLUMNS.map((s) => [s, count(s)] as const).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${LABEL[s]}`);
  const plural = (n: number): string => `${n} task${n === 1 ? '' : 's'}`;
  const summary = [changing && `${plural(changing)} would change something`,
    running && `${plural(running)} would run a command whose effect a plan cannot know`].filter(Boolean).join('; ');
  const verdict = !end ? ':warning: **The plan did not finish.**'
    : end.exitCode === 0 ? (summary ? `**${summary}** (of ${rows.length}).` : '**No changes.** Applying now would change nothing.')
      : `:x: **The plan failed (exit ${end.exitCode})${end.message ? `: ${inline(end.message, 300)}` : ''}**`;
  return ['', verdict, ...(totals.length ? ['', `Task results over all hosts: ${totals.join(', ')}.`] : [])];
}

function cell(row: TaskRow, status: TaskStatus): string {
  const hosts = [...row.hosts.values()].filter((r) => r.status === status).map((r) => r.host);
  if (!hosts.length) return '';
  return hosts.length === row.hosts.size && row.hosts.size > 3 ? `all ${hosts.length}` : names(hosts, 3);
}

function taskTable(rows: TaskRow[]): string[] {
  if (!rows.length) return ['', '_No task results._'];
  const cols = COLUMNS.filter((s) => rows.some((r) => [...r.hosts.values()].some((x) => x.status === s)));
  const out = ['', '### Tasks', '', `| # | task | module | ${cols.map((c) => LABEL[c]).join(' | ')} |`, `|---|---|---|${cols.map(() => '---').join('|')}|`];
  rows.forEach((r, n) => {
    const name = r.phase === 'tasks' ? inline(r.task) : `${inline(r.task)} _(${r.phase === 'handlers' ? 'handler' : r.phase})_`;
    out.push(`| ${n + 1} | ${name} | ${r.module ? code(r.module) : ''} | ${cols.map((c) => cell(r, c)).join(' | ')} |`);
  });
  return out;
}

const planned = (x: TaskResult): boolean => x.status === 'would_change' || x.status === 'would_run';

/** One entry per task: its change lines on the first host, and how many hosts differ from that. */
function changeList(rows: TaskRow[], maxLines: number): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const hosts = [...r.hosts.values()].filter((x) => planned(x) && x.changes?.length);
    if (!hosts.length) continue;
    const first = hosts[0]!.changes!.join('\n');
    const differ = hosts.filter((x) => x.changes!.join('\n') !== first).length;
    out.push(`- **${inline(r.task)}**${r.module ? ` (${code(r.module)})` : ''} on ${names(hosts.map((x) => x.host))}:`, '',
      fenced(truncateLines(first, maxLines)).replace(/^/gm, '  '));
    if (differ) out.push('', `  _Shown for ${code(hosts[0]!.host)}; ${differ} other host${differ === 1 ? '' : 's'} differ${differ === 1 ? 's' : ''} (see the per-host details)._`);
    out.push('');
  }
  return out.length ? ['', '### Expected changes', '', ...out] : [];
}

function problems(rows: TaskRow[], events: readonly RunEvent[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    for (const x of r.hosts.values()) {
      if (x.status === 'failed' || x.status === 'unknown' || x.status === 'unreachable') {
        out.push(`- ${LABEL[x.status]}: **${inline(r.task)}** on ${code(x.host)}${x.msg ? `: ${inline(x.msg, 300)}` : ''}${x.ignored ? ' _(ignored)_' : ''}`);
      }
    }
  }
  for (const e of events) {
    if (e.type === 'facts' && e.error) out.push(`- unreachable: ${code(e.host)}: ${inline(e.error, 300)}`);
    if (e.type === 'warning') out.push(`- warning: ${inline(e.message, 300)}`);
  }
  return out.length ? ['', '### Problems and warnings', '', ...out] : [];
}

/** The unified diff without the `Index:` and `====` lines the diff library puts first. */
const cleanDiff = (diff: string): string => diff.replace(/^(Index: .*\n)?=+\n/, '');

function hostPart(r: TaskRow, x: TaskResult, maxLines: number): string {
  const parts = [`**${inline(r.task)}** (${LABEL[x.status]})`];
  if (x.changes?.length) parts.push(fenced(truncateLines(x.changes.join('\n'), maxLines)));
  if (x.diff) parts.push(fenced(truncateLines(cleanDiff(x.diff), maxLines), 'diff'));
  return parts.join('\n\n');
}

/** Per host, folded: every planned change and file diff; hosts with identical details share one block. */
function perHostDetails(rows: TaskRow[], maxLines: number): string[] {
  const perHost = new Map<string, { parts: string[]; diffs: number }>();
  for (const r of rows) {
    for (const x of r.hosts.values()) {
      if (!planned(x) || (!x.diff && !x.changes?.length)) continue;
      const h = perHost.get(x.host) ?? { parts: [], diffs: 0 };
      h.parts.push(hostPart(r, x, maxLines));
      if (x.diff) h.diffs++;
      perHost.set(x.host, h);
    }
  }
  const groups = new Map<string, { hosts: string[]; n: number; diffs: number }>();
  for (const [host, { parts, diffs }] of perHost) {
    const body = parts.join('\n\n');
    groups.set(body, { hosts: [...(groups.get(body)?.hosts ?? []), host], n: parts.length, diffs });
  }
  const out: string[] = [];
  for (const [body, { hosts, n, diffs }] of groups) {
    const who = hosts.length > 1 ? `${hosts.slice(0, 6).join(', ')}${hosts.length > 6 ? ` +${hosts.length - 6} more` : ''} (identical)` : hosts[0]!;
    const what = `${n} task${n === 1 ? '' : 's'} to change${diffs ? `, ${diffs} file diff${diffs === 1 ? '' : 's'}` : ''}`;
    out.push(`<details><summary>${inline(who)}: ${what}</summary>`, '', body, '', '</details>', '');
  }
  return out.length ? ['', '### Per-host details', '', ...out] : [];
}

function gateSection(g: GateStatus): string[] {
  const out = ['', '### Review gate', ''];
  if (g.state === 'not_required') return [...out, `Not required: ${inline(g.why)}.`];
  if (g.state === 'not_evaluated') return [...out, `gate: not evaluated (${inline(g.why)}).`];
  out.push(g.state === 'passed' ? ':white_check_mark: **passed**: apply would be allowed now.' : ':no_entry: **would refuse** an apply right now.', '');
  for (const r of g.rules) out.push(`- ${r.ok ? ':white_check_mark:' : ':x:'} ${inline(r.name)}${r.detail ? `: ${inline(r.detail, 300)}` : ''}`);
  for (const r of g.reasons ?? []) if (!g.rules.some((x) => !x.ok && x.detail === r)) out.push(`- ${inline(r, 300)}`);
  return out;
}

function describeCheck(c: HealthCheckSpec): string {
  if (c.http) {
    const expect = [c.http.status !== undefined ? `status ${[c.http.status].flat().join(' or ')}` : 'a 2xx status',
      c.http.contains !== undefined ? `body contains ${code(c.http.contains)}` : '',
      c.http.max_latency !== undefined ? `within ${c.http.max_latency}` : ''].filter(Boolean).join(', ');
    return `HTTP ${c.http.method ?? 'GET'} ${code(c.http.url)}, expects ${expect}`;
  }
  if (c.nrql) return `NRQL ${code(c.nrql.query)}${c.nrql.fail_if ? `, fails if ${code(c.nrql.fail_if)}` : ''}${c.nrql.pass_if ? `, passes if ${code(c.nrql.pass_if)}` : ''}`;
  if (c.preset) return `New Relic ${c.preset.kind.replace(/_/g, ' ')} ${c.preset.threshold}${c.preset.window ? ` over ${c.preset.window}` : ''}`;
  return 'check';
}

function healthSection(rb: PlanMarkdownInput['runbook']): string[] {
  const out = ['', '### After apply', ''];
  const h = rb.health;
  if (!h) out.push('- :warning: No health checks: an apply is not verified.');
  else {
    out.push(`- Health: ${h.count} measurement${h.count === 1 ? '' : 's'} every ${secs(h.interval)}, the first after ${secs(h.initialDelay)}; unhealthy when more than ${h.failureLimit} fail:`);
    for (const c of h.checks) out.push(`  - ${inline(c.name)}: ${describeCheck(c)}`);
  }
  out.push(rb.hasRollback ? `- Rollback: ${rb.rollback.length} task${rb.rollback.length === 1 ? '' : 's'} on changed hosts when tasks or health fail.`
    : '- :warning: No rollback: a failed apply needs a human.');
  return out;
}

export function renderPlanMarkdown(i: PlanMarkdownInput): string {
  const maxLines = i.maxDiffLines ?? 60;
  const start = i.events.find((e): e is Extract<RunEvent, { type: 'run_start' }> => e.type === 'run_start');
  const end = i.events.find((e): e is Extract<RunEvent, { type: 'run_end' }> => e.type === 'run_end');
  const rows = collectRows(i.events);
  const head = [...header(i, start), ...outcome(rows, end), ...taskTable(rows), ...problems(rows, i.events)];
  const tail = [...gateSection(i.gate), ...healthSection(i.runbook), '', '<sub>Generated by `runbook plan`. Nothing was changed on any host.</sub>'];
  const detail = [...changeList(rows, maxLines), ...perHostDetails(rows, maxLines)];
  const full = [...head, ...detail, ...tail].join('\n').replace(/\n{3,}(?=### |<sub>)/g, '\n\n') + '\n';
  const max = i.maxChars ?? 60_000;
  if (full.length <= max) return full;
  const note = ['', `_Expected changes and diffs left out: the full summary is ${full.length} characters, over the ${max} limit. Run \`runbook plan\` locally to see them._`];
  return [...head, ...note, ...tail].join('\n').slice(0, max) + '\n';
}
