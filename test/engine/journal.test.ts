// The journal: .runbook/runs/<run-id>.jsonl gets one complete, stamped JSON line per event as it happens
// (not at the end), owner-only, and holds exactly the events `--json` prints; checked on a real run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, newRunId, readJournal, runsDir } from '../../src/engine/journal.ts';
import { BIN, cleanEnv, cliProject } from '../helpers/cli-project.ts';

describe('Journal', () => {
  it('appends one stamped line per event at once, owner-only, and reads back', () => {
    const base = mkdtempSync(join(tmpdir(), 'rb-journal-'));
    const id = newRunId(new Date('2026-11-01T10:00:00Z'));
    expect(id).toMatch(/^20261101-100000-[0-9a-f]{6}$/);
    const j = new Journal(base, id);
    const lines = (): string[] => readFileSync(j.path, 'utf8').split('\n').filter(Boolean);
    j.emit({ type: 'run_start', command: 'apply', runbook: 'rb.yml', env: 'dev', hosts: ['h1'], operator: 'alice' });
    expect(lines()).toHaveLength(1);
    j.emit({ type: 'warning', message: 'two' });
    expect(lines()).toHaveLength(2);
    expect(j.path).toBe(join(runsDir(base), `${id}.jsonl`));
    expect(statSync(j.path).mode & 0o777).toBe(0o600);
    j.close();
    const events = readJournal(j.path);
    expect(events.map((e) => e.type)).toEqual(['run_start', 'warning']);
    expect(events[0]).toMatchObject({ run: id, operator: 'alice' });
    expect(Date.parse(events[1]!.time)).not.toBeNaN();
  });
});

describe('the journal of a real apply', () => {
  it('is written event by event while the run goes on, and equals the --json stream', async () => {
    const dir = cliProject({ dev: 'transport: local\ngroups:\n  web:\n    hosts:\n      h1: {}\n' },
      { 'rb.yml': 'name: t\nhosts: web\nenvironments: [dev]\ntasks:\n  - name: slow\n    shell: sleep 1.5\n  - name: quick\n    command: "true"\n' });
    const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'dev', '--json'], { cwd: dir, env: cleanEnv() });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    let seenMidRun: string[] = [];
    let running = true;
    void exited.then(() => { running = false; });
    while (running && !seenMidRun.includes('task_start')) {
      await new Promise((r) => setTimeout(r, 50));
      const runs = existsSync(runsDir(dir)) ? readdirSync(runsDir(dir)) : [];
      if (running && runs.length) seenMidRun = readJournal(join(runsDir(dir), runs[0]!)).map((e) => e.type);
    }
    expect(await exited).toBe(0);
    expect(seenMidRun).toContain('run_start');
    expect(seenMidRun).not.toContain('run_end');
    const [file] = readdirSync(runsDir(dir));
    const journal = readFileSync(join(runsDir(dir), file!), 'utf8').trimEnd().split('\n');
    expect(journal).toEqual(stdout.trimEnd().split('\n'));
    const types = journal.map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types[0]).toBe('run_start');
    expect(types.at(-1)).toBe('run_end');
    expect(types.filter((t) => t === 'task_result')).toHaveLength(2);
  });
});
