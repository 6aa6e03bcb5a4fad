// `runbook history`: journals written by the real Journal class, read back as a table and as JSON Lines.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import { Journal, runsDir } from '../../src/engine/journal.ts';
import { historyCommand, showCommand, type RunRow } from '../../src/cli/history.ts';
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

  it('orders two runs started in the same second by their first event, not by the random part of the id', () => {
    const base = mkdtempSync(join(tmpdir(), 'rb-history-'));
    mkdirSync(runsDir(base), { recursive: true });
    const line = (run: string, time: string, operator: string) => JSON.stringify({ ...start('runbooks/x.yml', 'dev', operator), run, time }) + '\n';
    writeFileSync(join(runsDir(base), '20261105-100000-ffffff.jsonl'), line('f', '2026-11-05T10:00:00.100Z', 'first'));
    writeFileSync(join(runsDir(base), '20261105-100000-000000.jsonl'), line('0', '2026-11-05T10:00:00.900Z', 'second'));
    writeFileSync(join(runsDir(base), '20261105-100001-000000.jsonl'), line('1', '2026-11-05T10:00:01.000Z', 'third'));
    const c = capture(base);
    historyCommand({ n: '5', json: true }, c.io);
    expect(c.out().trim().split('\n').map((l) => (JSON.parse(l) as RunRow).operator)).toEqual(['third', 'second', 'first']);
  });

  it('says so when there are no runs, and rejects a bad -n with exit 2', () => {
    const base = mkdtempSync(join(tmpdir(), 'rb-history-'));
    const c = capture(base);
    expect(historyCommand({ n: '20' }, c.io)).toBe(0);
    expect(c.out()).toMatch(/no runs in .*\.runbook\/runs/);
    expect(() => historyCommand({ n: '0' }, c.io)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe('runbook show', () => {
  const evidence = {
    passed: true, repo: 'acme/ops', commit: '0123456789abcdef0123456789abcdef01234567', approvers: [{ login: 'bob', id: 7, at: '2026-11-01T09:00:00Z' }],
    pr: { number: 42, url: 'https://github.com/acme/ops/pull/42', title: 'Upgrade runtime', author: 'alice', mergedAt: '2026-11-01T09:30:00Z' },
    blobs: { 'runbooks/upgrade.yml': 'b10b' }, rules: [{ rule: 'approvals', ok: true, detail: '1 of 1 approvals by people with write access' }], operator: 'alice',
  };
  function shown(): { base: string; id: string } {
    const base = mkdtempSync(join(tmpdir(), 'rb-show-'));
    const id = '20261101-100000-aaaaaa';
    journal(base, id, [
      { type: 'run_start', command: 'apply', runbook: 'runbooks/upgrade.yml', env: 'prod', hosts: ['web1'], operator: 'alice',
        commit: evidence.commit, blobs: { 'runbooks/upgrade.yml': 'b10b', 'runbooks/files/app.env.j2': 'f11e' } },
      { type: 'gate', passed: true, evidence },
      { type: 'marker', kind: 'start', id: 'dep-1234' },
      { type: 'task_start', task: 'conf', at: { file: 'runbooks/upgrade.yml', line: 9, col: 5 }, hosts: ['web1'], phase: 'tasks', index: 0, pointer: '/tasks/0', module: 'copy' },
      { type: 'task_result', task: 'conf', host: 'web1', status: 'changed', ms: 30, phase: 'tasks', index: 0, pointer: '/tasks/0', msg: 'update /etc/app.env', diff: '-A=1\n+A=2' },
      { type: 'health_measurement', measurement: 1, of: 1, check: 'users can log in', ok: true },
      { type: 'run_end', exitCode: 0, ms: 900, summary: { web1: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0, ms: 30 } } },
    ]);
    return { base, id };
  }

  it('prints the run\'s events with its pins and the gate evidence: PR, approvers, rules, blob SHAs', () => {
    const { base, id } = shown();
    const c = capture(base);
    expect(showCommand(id, {}, c.io)).toBe(0);
    const text = c.out();
    expect(text).toContain('APPLY runbooks/upgrade.yml on prod');
    expect(text).toContain('  commit    0123456789abcdef0123456789abcdef01234567');
    expect(text).toMatch(/files\n {4}f11e {2}runbooks\/files\/app\.env\.j2\n {4}b10b {2}runbooks\/upgrade\.yml/);
    expect(text).toContain('pull request #42 Upgrade runtime by @alice, merged 2026-11-01T09:30:00Z');
    expect(text).toContain('approvers   @bob (id 7, 2026-11-01T09:00:00Z)');
    expect(text).toContain('ok   approvals: 1 of 1 approvals by people with write access');
    expect(text).toContain('New Relic start marker dep-1234');
    expect(text).toMatch(/changed {5}web1 update \/etc\/app\.env\n {6}-A=1\n {6}\+A=2/);
    expect(text).toMatch(/healthy {5}users can log in/);
    expect(text).toMatch(/apply finished: exit 0/);
    expect(text).not.toContain('did not finish');
  });

  it('--json prints the journal\'s events as they are, one per line', () => {
    const { base, id } = shown();
    const c = capture(base);
    expect(showCommand(id, { json: true }, c.io)).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines).toEqual(readFileSync(join(runsDir(base), `${id}.jsonl`), 'utf8').trimEnd().split('\n'));
    expect(c.out()).not.toContain('approvers   ');
  });

  it('says when a run did not finish; a bad or unknown id is an input error (exit 2)', () => {
    const base = project();
    const c = capture(base);
    expect(showCommand('20261103-100000-cccccc', {}, c.io)).toBe(0);
    expect(c.out()).toContain('(run did not finish: no run_end event)');
    expect(() => showCommand('../../etc/passwd', {}, c.io)).toThrow(expect.objectContaining({ exitCode: 2, message: "invalid run id '../../etc/passwd'" }));
    expect(() => showCommand('20990101-000000-ffffff', {}, c.io)).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/no run 20990101-000000-ffffff in .* \(see runbook history\)/) }));
  });
});

