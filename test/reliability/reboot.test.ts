// A host that reboots between tasks (issue 9, req 4), over a real sshd through the CLI: every
// connection drops while no command runs, and the same host (same key) answers again. The next task
// connects afresh and the run finishes; a host that stays down fails that host alone, reported.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../helpers/sshd.ts';
import { lastRun } from '../helpers/cli-project.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
type Ev = { type: string; task?: string; host?: string; status?: string; exitCode?: number; msg?: string; summary?: Record<string, { why?: string }> };

let sshd: Sshd;
beforeAll(async () => { sshd = await startSshd(); });
afterAll(async () => { await sshd.stop(); });

/** tasks: a change, a controller-side wait (the "reboot" happens while it waits), a change after. */
function project(flag: string, tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-reboot-'));
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'test.yml'), sshd.environmentYaml(2, { extra: { vars: { data: sshd.dataDir } } }));
  writeFileSync(join(dir, 'rb.yml'), 'name: reboot\nhosts: web\nenvironments: [test]\nmax_fail_percentage: 100\ntasks:\n' +
    `  - name: before\n    shell: echo before > {{ data }}/{{ inventory_hostname }}-${tag}-before\n` +
    `  - name: wait for the reboot\n    wait_for: { path: "${flag}", timeout: 30 }\n    delegate_to: localhost\n` +
    `  - name: after\n    shell: echo after > {{ data }}/{{ inventory_hostname }}-${tag}-after\n`);
  return dir;
}

/** apply --json; `onWait` runs when the controller-side wait starts (no command is running on any host). */
function apply(dir: string, onWait: () => Promise<void>): Promise<{ code: number; events: Ev[]; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'test', '--json'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '' } });
    let out = '';
    let stderr = '';
    let fired = false;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!fired && out.includes('"task":"wait for the reboot"')) { fired = true; void onWait(); }
    });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => {
      done({ code: code ?? -1, stderr, events: lastRun<Ev>(dir).events });
    });
  });
}

const results = (events: Ev[], task: string): Record<string, string | undefined> =>
  Object.fromEntries(events.filter((e) => e.type === 'task_result' && e.task === task).map((e) => [e.host, e.status]));

describe('a host that reboots between tasks', () => {
  it('comes back: the next task reconnects, the run finishes (exit 0) and every change is journaled', async () => {
    const flag = join(mkdtempSync(join(tmpdir(), 'rb-flag-')), 'up');
    const dir = project(flag, 'back');
    const r = await apply(dir, async () => { await sshd.reboot(1000); writeFileSync(flag, ''); });
    expect(r.code, r.stderr + JSON.stringify(r.events.at(-1))).toBe(0);
    expect(results(r.events, 'before')).toEqual({ 'ssh-a': 'changed', 'ssh-b': 'changed' });
    expect(results(r.events, 'after')).toEqual({ 'ssh-a': 'changed', 'ssh-b': 'changed' });
    expect(readFileSync(join(sshd.dataDir, 'ssh-a-back-after'), 'utf8')).toBe('after\n');
    expect(r.events.at(-1)).toMatchObject({ type: 'run_end', exitCode: 0 });
  }, 60_000);

  it('stays down: the next task fails as unreachable with the reason, exit 1, and the earlier change is on record', async () => {
    const flag = join(mkdtempSync(join(tmpdir(), 'rb-flag-')), 'up');
    const dir = project(flag, 'down');
    const r = await apply(dir, async () => { sshd.kill(); writeFileSync(flag, ''); });
    await sshd.reboot(0); // up again for the other tests
    expect(r.code, r.stderr).toBe(1);
    expect(results(r.events, 'before')).toEqual({ 'ssh-a': 'changed', 'ssh-b': 'changed' });
    expect(results(r.events, 'after')).toEqual({ 'ssh-a': 'unreachable', 'ssh-b': 'unreachable' });
    expect(r.events.at(-1)!.summary!['ssh-a']!.why).toMatch(/refused|unreachable|closed/i);
    expect(existsSync(join(sshd.dataDir, 'ssh-a-down-before'))).toBe(true);
    expect(existsSync(join(sshd.dataDir, 'ssh-a-down-after'))).toBe(false);
  }, 60_000);
});
