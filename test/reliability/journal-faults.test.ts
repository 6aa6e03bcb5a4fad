// Faults on the engine side (issue 9, req 4), through the real CLI: the journal's disk fills up
// mid-run (a file-size limit makes every write past it fail, as ENOSPC would), and a template that
// renders 50 MB. Each: the right exit code, a message saying what happened, a journal whose every
// line is complete JSON, and no host changed without that being reported.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnNode, spawnProgram, type Spawned } from '../helpers/spawn-async.ts';
import { lastRun } from '../helpers/cli-project.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
type Ev = { type: string; task?: string; status?: string; exitCode?: number; message?: string; msg?: string };

function project(runbook: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-jfault-'));
  mkdirSync(join(dir, 'environments'));
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { out: "${dir}/out" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n`);
  writeFileSync(join(dir, 'rb.yml'), runbook);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const env = { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', GITHUB_TOKEN: '', GH_TOKEN: '' };

/** The CLI under `ulimit -f` (512-byte blocks): any write that would grow a file past it fails with EFBIG. */
function cliWithFileLimit(dir: string, blocks: number, args: string[]): Promise<Spawned> {
  return spawnProgram('/bin/sh', ['-c', `ulimit -f ${blocks} && exec "$0" "$@"`, process.execPath, BIN, ...args], { cwd: dir, env });
}

/** Every line complete JSON (a torn line would throw here). */
function journalOf(dir: string): { text: string; events: Ev[] } {
  return lastRun<Ev>(dir);
}

describe('the journal cannot be written (disk full)', () => {
  it('stops starting tasks, exits 1 naming the journal, leaves only complete lines, and reports every change it made', async () => {
    const filler = Array.from({ length: 40 }, (_, i) => `  - name: note ${i}\n    debug: { msg: "${'n'.repeat(300)}" }\n`).join('');
    const dir = project(`name: j\nhosts: web\nenvironments: [dev]\ntasks:\n  - name: first change\n    shell: echo 1 > {{ out }}/first\n${filler}` +
      '  - name: late change\n    shell: echo 1 > {{ out }}/late\n');
    const r = await cliWithFileLimit(dir, 24, ['apply', 'rb.yml', '-e', 'dev', '--yes']); // 12 KB for the journal
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot write the journal .*\.runbook\/runs\/.*\.jsonl: EFBIG/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
    const { text, events } = journalOf(dir);
    expect(text.endsWith('\n')).toBe(true);
    expect(statSync(join(dir, '.runbook', 'runs', readdirSync(join(dir, '.runbook', 'runs'))[0]!)).size).toBeLessThanOrEqual(12 * 1024);
    expect(events[0]!.type).toBe('run_start');
    expect(events.some((e) => e.type === 'task_result' && e.task === 'first change' && e.status === 'changed')).toBe(true);
    // the run stopped: no change the journal could not record was made
    expect(existsSync(join(dir, 'out', 'first'))).toBe(true);
    expect(existsSync(join(dir, 'out', 'late'))).toBe(false);
    expect(r.stdout).toMatch(/TASK \[first change\][\s\S]*changed\s+h1/); // the change is reported on the terminal
    expect(r.stdout).not.toContain('TASK [late change]');
    expect(readdirSync(join(dir, '.runbook', 'locks'))).toEqual([]); // the lock was released
    const history = await spawnNode(BIN, ['history'], { cwd: dir, env }); // readable afterwards, shown as unfinished
    expect(history.status).toBe(0);
    expect(history.stdout).toMatch(/rb\.yml\s+dev\s+.*unfinished/);
  });

  it('the journal cannot even be opened: exit 1 before any change', async () => {
    const dir = project('name: j\nhosts: web\nenvironments: [dev]\ntasks:\n  - shell: echo 1 > {{ out }}/first\n');
    mkdirSync(join(dir, '.runbook'));
    writeFileSync(join(dir, '.runbook', 'runs'), 'a file where the runs folder should be');
    const r = await spawnNode(BIN, ['apply', 'rb.yml', '-e', 'dev', '--yes'], { cwd: dir, env });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot open the journal/);
    expect(existsSync(join(dir, 'out', 'first'))).toBe(false);
  });
});

describe('a template that renders 50 MB', () => {
  it('fails that task with a clear message (exit 1), writes nothing, and the journal stays small and readable', async () => {
    const dir = project('name: big\nhosts: web\nenvironments: [dev]\nvars:\n  kb: "' + 'x'.repeat(1024) + '"\ntasks:\n' +
      '  - name: render\n    template: { src: big.j2, dest: "{{ out }}/big.conf" }\n  - name: after\n    shell: echo 1 > {{ out }}/after\n',
    { 'big.j2': `${'{{ kb }}'.repeat(26 * 1024)}${'{{ kb }}'.repeat(26 * 1024)}\n` });
    const started = Date.now();
    const r = await spawnNode(BIN, ['apply', 'rb.yml', '-e', 'dev', '--yes', '--json'], { cwd: dir, env });
    expect(r.status, r.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const { events, text } = journalOf(dir);
    const failed = events.find((e) => e.type === 'task_result' && e.task === 'render')!;
    expect(failed.status).toBe('failed');
    expect(failed.msg).toMatch(/rendered value too large \(over 50 MB\)/);
    expect(text.length).toBeLessThan(100_000); // the journal carries the message, not the 50 MB
    expect(existsSync(join(dir, 'out', 'big.conf'))).toBe(false);
    expect(existsSync(join(dir, 'out', 'after'))).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'run_end', exitCode: 1 });
  }, 60_000);
});
