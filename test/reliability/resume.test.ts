// apply --resume <run-id>: finished tasks are not re-run, the run continues from the first
// unfinished task per host, and changed files (different bytes than the run pinned) are refused.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');

function cli(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

describe('apply --resume', () => {
  it('continues from the first unfinished task per host and never re-runs finished ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-resume-'));
    mkdirSync(join(dir, 'environments'));
    mkdirSync(join(dir, 'out'));
    writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { out: "${dir}/out" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n      h2: {}\n`);
    writeFileSync(join(dir, 'rb.yml'), 'name: r\nhosts: web\nenvironments: [dev]\nmax_fail_percentage: 50\ntasks:\n' +
      '  - name: first\n    shell: echo once >> {{ out }}/{{ inventory_hostname }}.log\n' +
      '  - name: needs the flag on h2\n    shell: test {{ inventory_hostname }} = h1 || test -e {{ out }}/flag\n' +
      '  - name: last\n    shell: echo last >> {{ out }}/{{ inventory_hostname }}.log\n');
    const first = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--json']);
    expect(first.code).toBe(1);
    const runId = (JSON.parse(first.stdout.split('\n')[0]!) as { run: string }).run;
    appendFileSync(join(dir, 'out', 'flag'), 'x');
    const resumed = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--resume', runId, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out', 'h1.log'), 'utf8')).toBe('once\nlast\n');
    expect(readFileSync(join(dir, 'out', 'h2.log'), 'utf8')).toBe('once\nlast\n');
    const events = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; task?: string; host?: string; msg?: string; resumeOf?: string });
    expect(events[0]!.resumeOf).toBe(runId);
    expect(events.filter((e) => e.type === 'task_result' && e.task === 'first').map((e) => e.msg)).toEqual(['finished in the resumed run', 'finished in the resumed run']);

    writeFileSync(join(dir, 'rb.yml'), readFileSync(join(dir, 'rb.yml'), 'utf8') + '  - name: extra\n    shell: "true"\n');
    const changed = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--resume', runId]);
    expect(changed.code).toBe(3);
    expect(changed.stderr).toMatch(/rb\.yml changed since run/);
    expect(readdirSync(join(dir, '.runbook', 'runs'))).toHaveLength(2);
  }, 60_000);
});
