// Output of the event stream: the live progress view on a TTY (and none elsewhere), the per-host summary
// table, --json as JSON Lines only, -v with commands and their output, diffs in plan, and colours that
// honour NO_COLOR, --no-color and non-TTY; then the real CLI, spawned, with the same flags.
import { describe, expect, it } from 'vitest';
import type { RunEvent, Stamped } from '../../src/engine/events.ts';
import { cliProject, runbookCli } from '../helpers/cli-project.ts';
import { createPrinter, painter, summaryTable, useColor, type OutputOpts } from '../../src/cli/output.ts';

const ev = (e: RunEvent): Stamped => ({ run: 'r1', time: '2026-01-01T00:00:00.000Z', ...e }) as Stamped;
const at = { file: '/x/rb.yml', line: 7, col: 5 };

const RUN: RunEvent[] = [
  { type: 'run_start', command: 'apply', runbook: 'rb.yml', env: 'dev', hosts: ['web1', 'web2'], operator: 'alice' },
  { type: 'task_start', task: 'conf', at, hosts: ['web1', 'web2'], phase: 'tasks', index: 0, pointer: '/tasks/0', module: 'copy' },
  { type: 'task_result', task: 'conf', host: 'web1', status: 'changed', ms: 12, phase: 'tasks', index: 0, pointer: '/tasks/0',
    msg: 'update /etc/app.conf', diff: '--- /etc/app.conf\n+++ /etc/app.conf\n-port=1\n+port=2', changes: ['update /etc/app.conf: write /etc/app.conf'] },
  { type: 'task_result', task: 'conf', host: 'web2', status: 'ok', ms: 1500, phase: 'tasks', index: 0, pointer: '/tasks/0', msg: 'up to date' },
  { type: 'task_start', task: 'migrate', at: { ...at, line: 9 }, hosts: ['web1', 'web2'], phase: 'tasks', index: 1, pointer: '/tasks/1', module: 'command' },
  { type: 'task_result', task: 'migrate', host: 'web1', status: 'changed', ms: 5, phase: 'tasks', index: 1, pointer: '/tasks/1',
    msg: 'ran: ./migrate --to 42', changes: ['ran: ./migrate --to 42'], output: { code: 0, stdout: 'migrated 3 tables', stderr: '' } },
  { type: 'task_result', task: 'migrate', host: 'web2', status: 'failed', ms: 5, phase: 'tasks', index: 1, pointer: '/tasks/1',
    msg: 'will run: non-zero return code 2', output: { code: 2, stdout: '', stderr: 'lock timeout' } },
  { type: 'run_end', exitCode: 1, ms: 2100, summary: {
    web1: { ok: 0, changed: 2, failed: 0, skipped: 0, unreachable: 0, ms: 17 },
    web2: { ok: 1, changed: 0, failed: 1, skipped: 0, unreachable: 0, ms: 1505, why: 'migrate: non-zero return code 2' } } },
];

function render(opts: Partial<OutputOpts> & { tty?: boolean } = {}, events: RunEvent[] = RUN): { out: string; err: string } {
  let out = '';
  let err = '';
  const print = createPrinter({ json: false, color: false, verbose: false, command: 'apply', ...opts,
    out: { write: (s) => { out += s; }, isTTY: opts.tty ?? false }, err: { write: (s) => { err += s; } } });
  events.forEach((e) => print(ev(e)));
  return { out, err };
}
const ESC = '\u001b[';

describe('colour decision', () => {
  const tty = { write: () => {}, isTTY: true };
  const pipe = { write: () => {}, isTTY: false };
  it('is on for a TTY only, off with --no-color or NO_COLOR, on with FORCE_COLOR', () => {
    expect(useColor(undefined, tty, {})).toBe(true);
    expect(useColor(true, tty, {})).toBe(true);
    expect(useColor(undefined, pipe, {})).toBe(false);
    expect(useColor(false, tty, {})).toBe(false);
    expect(useColor(undefined, tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(undefined, tty, { NO_COLOR: '' })).toBe(true); // no-color.org: only a non-empty NO_COLOR counts
    expect(useColor(undefined, pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(false, pipe, { FORCE_COLOR: '1' })).toBe(false);
  });
  it('paints only when on', () => {
    expect(painter(true)('red', 'x')).toBe(`${ESC}31mx${ESC}0m`);
    expect(painter(false)('red', 'x')).toBe('x');
  });
});

describe('human output', () => {
  it('prints each task with its location and one line per host; no escape codes off a TTY', () => {
    const { out } = render();
    expect(out).toContain('APPLY rb.yml on dev · 2 host(s) · run r1');
    expect(out).toContain('TASK [conf] rb.yml:7');
    expect(out).toMatch(/\n {2}changed {5}web1 update \/etc\/app\.conf\n/);
    expect(out).toMatch(/\n {2}ok {10}web2 \(1\.5s\)\n/); // ok hides its message unless -v
    expect(out).not.toContain(ESC);
    expect(out).not.toContain('\r');
    expect(out).not.toContain('hosts done');
  });

  it('shows the message of a debug task whatever its name, and hides ok messages of other modules', () => {
    const { out } = render({}, [
      { type: 'task_start', task: 'say', at, hosts: ['web1'], phase: 'tasks', index: 0, pointer: '/tasks/0', module: 'debug' },
      { type: 'task_result', task: 'say', host: 'web1', status: 'ok', ms: 1, phase: 'tasks', index: 0, pointer: '/tasks/0', msg: 'port 8080' },
      { type: 'task_start', task: 'debug check', at, hosts: ['web1'], phase: 'tasks', index: 1, pointer: '/tasks/1', module: 'command' },
      { type: 'task_result', task: 'debug check', host: 'web1', status: 'ok', ms: 1, phase: 'tasks', index: 1, pointer: '/tasks/1', msg: 'skipped, /x exists' },
    ]);
    expect(out).toContain('  ok          web1 port 8080\n');
    expect(out).toContain('  ok          web1\n');
    expect(out).not.toContain('skipped, /x exists');
  });

  it('shows a live progress line per task on a TTY: hosts done of total and the statuses so far', () => {
    const { out } = render({ tty: true });
    expect(out).toContain('  … conf: 0/2 hosts done');
    expect(out).toContain('  … conf: 1/2 hosts done (1 changed)');
    expect(out).toContain('  … migrate: 1/2 hosts done (1 changed)');
    expect(out).not.toContain('2/2 hosts done');
    // each progress line is erased before the next line is printed
    expect(out).toContain('  … conf: 1/2 hosts done (1 changed)\r\u001b[2K  ok');
  });

  it('ends with a summary table per host: ok, changed, failed, skipped, unreachable, time, and why', () => {
    const lines = render().out.trimEnd().split('\n');
    const head = lines.findIndex((l) => l.startsWith('HOST'));
    expect(lines[head]).toMatch(/^HOST\s+ok\s+changed\s+failed\s+skipped\s+unreach\s+time$/);
    expect(lines[head + 1]).toMatch(/^web1\s+0\s+2\s+0\s+0\s+0\s+17ms$/);
    expect(lines[head + 2]).toMatch(/^web2\s+1\s+0\s+1\s+0\s+0\s+1\.5s\s+migrate: non-zero return code 2$/);
    expect(lines.at(-1)).toBe('apply finished: exit 1 in 2.1s');
    const col = (l: string, word: string): number => l.indexOf(word);
    expect(col(lines[head]!, 'time') + 'time'.length).toBe(col(lines[head + 1]!, '17ms') + '17ms'.length);
  });

  it('summaryTable paints failed hosts red, changed yellow, clean green', () => {
    const t = summaryTable({ a: { ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: 0, ms: 1 }, b: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0, ms: 1 },
      c: { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 1, ms: 1 } }, painter(true));
    for (const [host, code] of [['a', 32], ['b', 33], ['c', 31]] as const) expect(t).toContain(`${ESC}${code}m${host.padEnd(4)}${ESC}0m`);
  });

  it('a failed task shows its output without -v; commands, diffs and other output only with -v', () => {
    const quiet = render().out;
    expect(quiet).toContain('lock timeout');
    expect(quiet).not.toContain('migrated 3 tables');
    expect(quiet).not.toContain('$ ran: ./migrate --to 42');
    expect(quiet).not.toContain('+port=2');
    const loud = render({ verbose: true }).out;
    expect(loud).toContain('      $ ran: ./migrate --to 42');
    expect(loud).toContain('      migrated 3 tables');
    expect(loud).toContain('      +port=2');
    expect(loud).toMatch(/ok {10}web2 \(1\.5s\) up to date/);
  });

  it('plan prints every file diff per host, coloured when colour is on', () => {
    const plan = render({ command: 'plan' }).out;
    expect(plan).toContain('      -port=1\n      +port=2');
    const coloured = render({ command: 'plan', color: true }).out;
    expect(coloured).toContain(`${ESC}32m+port=2${ESC}0m`);
    expect(coloured).toContain(`${ESC}31m-port=1${ESC}0m`);
    expect(coloured).toContain(`${ESC}33mchanged`);
  });
});

describe('--json', () => {
  it('prints exactly one JSON object per event on stdout and nothing on stderr', () => {
    const { out, err } = render({ json: true, tty: true, color: true, verbose: true });
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(RUN.length);
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(RUN.map((e) => e.type));
    expect(JSON.parse(lines[0]!)).toMatchObject({ run: 'r1', time: '2026-01-01T00:00:00.000Z', type: 'run_start' });
    expect(out).not.toContain(ESC);
    expect(err).toBe('');
  });
});

describe('the CLI output flags', () => {
  const dir = cliProject({ dev: 'transport: local\nvars: { root: "@DIR@" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n      h2: {}\n' }, {
    'rb.yml': 'name: t\nhosts: web\nenvironments: [dev]\ntasks:\n  - name: conf\n    copy: { content: "port=2\\n", dest: "{{ root }}/{{ inventory_hostname }}.conf" }\n' +
      '  - name: say\n    shell: echo "hello from {{ inventory_hostname }}"\n' });
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runbookCli(dir, args, { NO_COLOR: '', ...env });

  it('plan prints each host\'s diff; -v apply shows the commands and their output; colour follows the flags', async () => {
    const plan = await cli(['plan', 'rb.yml', '-e', 'dev']);
    expect(plan.code).toBe(0);
    for (const h of ['h1', 'h2']) expect(plan.stdout).toMatch(new RegExp(`will change ${h} create \\S+/${h}\\.conf.*\\n(.*\\n){2}.*\\+\\+\\+ \\S+/${h}\\.conf\\n.*\\n {6}\\+port=2\\n`));
    expect(plan.stdout).not.toContain(ESC); // stdout is a pipe here
    const loud = await cli(['apply', 'rb.yml', '-e', 'dev', '-v']);
    expect(loud.code).toBe(0);
    expect(loud.stdout).toContain('$ ran: echo "hello from h1"');
    expect(loud.stdout).toContain('      hello from h2');
    expect(loud.stderr).toContain('h1| hello from h1'); // streamed live as it runs
    const forced = await cli(['apply', 'rb.yml', '-e', 'dev'], { FORCE_COLOR: '1' });
    expect(forced.stdout).toContain(ESC);
    expect((await cli(['apply', 'rb.yml', '-e', 'dev', '--no-color'], { FORCE_COLOR: '1' })).stdout).not.toContain(ESC);
    expect((await cli(['apply', 'rb.yml', '-e', 'dev'], { FORCE_COLOR: '1', NO_COLOR: '1' })).stdout).not.toContain(ESC);
  });

  it('--json keeps stdout to JSON Lines even with -v', async () => {
    const r = await cli(['apply', 'rb.yml', '-e', 'dev', '--json', '-v'], { FORCE_COLOR: '1' });
    expect(r.code).toBe(0);
    for (const l of r.stdout.trimEnd().split('\n')) expect(() => JSON.parse(l), l).not.toThrow();
    expect(r.stdout).not.toContain(ESC);
  });
});
