// `runbook history`: journals written by the real Journal class, read back as a table and as JSON Lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import { Journal, runsDir } from '../../src/engine/journal.ts';
import { historyCommand, type RunRow } from '../../src/cli/history.ts';
import type { Io } from '../../src/cli/session.ts';

function capture(cwd: string): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: { write: (s) => { out += s; } }, err: { write: (s) => { err += s; } }, env: {}, cwd }, out: () => out, err: () => err };
}

function journal(base: string, id: string, events: RunEvent[]): void {
  const j = new Journal(base, id);
  events.forEach((e) => j.emit(e));
  j.close();
}

const start = (runbook: string, env: string, operator: string, commit?: string): RunEvent =>
  ({ type: 'run_start', command: 'apply', runbook, env, hosts: ['web1', 'web2'], operator, ...(commit ? { commit } : {}) });

function project(): string {
  const base = mkdtempSync(join(tmpdir(), 'rb-history-'));
  journal(base, '20261101-100000-aaaaaa', [
    start('runbooks/upgrade.yml', 'prod', 'alice', '0123456789abcdef0123456789abcdef01234567'),
    { type: 'gate', passed: true, evidence: { pr: { number: 42 }, commit: '0123456' } },
    { type: 'marker', kind: 'start', id: 'dep-1234' },
    { type: 'run_end', exitCode: 0, ms: 12_345, summary: {} },
  ]);
  journal(base, '20261102-100000-bbbbbb', [
    start('runbooks/upgrade.yml', 'staging', 'bob'),
    { type: 'marker', kind: 'start', skipped: 'NEW_RELIC_API_KEY is not set' },
    { type: 'run_end', exitCode: 5, ms: 61_000, summary: {} },
  ]);
  journal(base, '20261103-100000-cccccc', [start('runbooks/install.yml', 'staging', 'carol')]);
  journal(base, '20261031-100000-eeeeee', [start('runbooks/upgrade.yml', 'prod', 'erin'),
    { type: 'gate', passed: true, evidence: { breakGlass: { operator: 'erin', reason: 'site down' } } },
    { type: 'run_end', exitCode: 6, ms: 500, summary: {} }]);
  return base;
}

describe('runbook history', () => {
  it('--json prints one row per run, newest first, with PR, commit, marker, result and duration', () => {
    const base = project();
    const c = capture(base);
    expect(historyCommand({ n: '20', json: true }, c.io)).toBe(0);
    const rows = c.out().trim().split('\n').map((l) => JSON.parse(l) as RunRow);
    expect(rows.map((r) => r.id)).toEqual(['20261103-100000-cccccc', '20261102-100000-bbbbbb', '20261101-100000-aaaaaa', '20261031-100000-eeeeee']);
    expect(rows[3]).toMatchObject({ pr: 'BREAK-GLASS', result: 'ROLLBACK FAILED', exitCode: 6, operator: 'erin' });
    expect(rows[2]).toMatchObject({ runbook: 'runbooks/upgrade.yml', env: 'prod', commit: '0123456', pr: '#42', operator: 'alice',
      result: 'success', exitCode: 0, durationMs: 12_345, marker: 'dep-1234' });
    expect(rows[1]).toMatchObject({ env: 'staging', operator: 'bob', result: 'rolled back', exitCode: 5, pr: '', marker: '', commit: '' });
    expect(rows[0]).toMatchObject({ runbook: 'runbooks/install.yml', result: 'unfinished', exitCode: null, durationMs: null });
    expect(Date.parse(rows[0]!.time)).not.toBeNaN();
  });

  it('prints an aligned table with every column and honours -n', () => {
    const base = project();
    const c = capture(base);
    expect(historyCommand({ n: '2' }, c.io)).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const head = lines[0]!;
    for (const col of ['TIME', 'RUNBOOK', 'ENV', 'COMMIT', 'PR', 'OPERATOR', 'RESULT', 'DURATION', 'MARKER']) expect(head).toContain(col);
    expect(lines[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+runbooks\/install\.yml\s+staging\s+.*carol\s+unfinished/);
    expect(lines[2]).toMatch(/runbooks\/upgrade\.yml\s+staging\s+.*bob\s+rolled back\s+61\.0s/);
    // columns line up: RESULT starts at the same offset on every line
    const at = head.indexOf('RESULT');
    expect(lines[1]!.slice(at)).toMatch(/^unfinished/);
    expect(lines[2]!.slice(at)).toMatch(/^rolled back/);
    expect(c.out()).not.toContain('alice'); // -n 2 leaves the oldest run out
  });

  it('shows the PR, commit and marker of a gated run, and skips a half-written last line', () => {
    const base = project();
    writeFileSync(join(runsDir(base), '20261104-100000-dddddd.jsonl'), JSON.stringify({ ...start('runbooks/x.yml', 'prod', 'dave'), run: 'd', time: '2026-11-04T10:00:00.000Z' }) + '\n{"type":"run_e');
    const c = capture(base);
    expect(historyCommand({ n: '5' }, c.io)).toBe(0);
    const text = c.out();
    expect(text).toMatch(/runbooks\/upgrade\.yml\s+prod\s+0123456\s+#42\s+alice\s+success\s+12\.3s\s+dep-1234/);
    expect(text).toMatch(/2026-11-04 10:00:00\s+runbooks\/x\.yml\s+prod\s+.*dave\s+unfinished/);
  });

  it('says so when there are no runs, and rejects a bad -n with exit 2', () => {
    const base = mkdtempSync(join(tmpdir(), 'rb-history-'));
    const c = capture(base);
    expect(historyCommand({ n: '20' }, c.io)).toBe(0);
    expect(c.out()).toMatch(/no runs in .*\.runbook\/runs/);
    expect(() => historyCommand({ n: '0' }, c.io)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});
