// The first SIGTERM / Ctrl-C (issue 9, req 2), through the real CLI: the running command finishes,
// no new task starts, `always:` still runs, the journal ends with run_end 130, the outcome marker
// says interrupted and the lock is released. Then `apply --resume` (req 3) finishes the interrupted
// run without re-running the command that had finished.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';
import { spawnNode } from '../helpers/spawn-async.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
type Ev = { type: string; run: string; task?: string; status?: string; exitCode?: number; signal?: string; count?: number; msg?: string };

let nr: NewRelicFake;
beforeAll(async () => { nr = await startNewRelicFake({ apiKey: 'k', entities: [{ name: 'app', guid: 'APP-GUID', accountId: 1 }] }); });
afterAll(() => nr.stop());

const env = (): NodeJS.ProcessEnv => ({ ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: 'k', NEW_RELIC_API_URL: nr.url, NEW_RELIC_ACCOUNT_ID: '1', GITHUB_TOKEN: '' });

function project(): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rb-sigterm-'));
  const out = join(dir, 'out');
  mkdirSync(join(dir, 'environments'));
  mkdirSync(out);
  writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { out: "${out}" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n`);
  writeFileSync(join(dir, 'rb.yml'), 'name: sig\nhosts: web\nenvironments: [dev]\nnewrelic: { entity: app }\ntasks:\n' +
    '  - block:\n' +
    '      - name: running\n        shell: sleep 1.5; echo done >> {{ out }}/running\n' +
    '      - name: next in block\n        shell: echo 1 >> {{ out }}/next\n' +
    '    always:\n      - name: cleanup\n        shell: echo 1 >> {{ out }}/always\n' +
    '  - name: after block\n    shell: echo 1 >> {{ out }}/after\n');
  return { dir, out };
}

/** apply --json, sending `signal` once the task named `at` has started. */
function applyAndSignal(dir: string, signal: NodeJS.Signals, at: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'dev', '--json'], { cwd: dir, env: env() });
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!sent && stdout.includes(`"type":"task_start","task":"${at}"`)) { sent = true; setTimeout(() => child.kill(signal), 200); }
    });
    child.on('exit', (code) => done({ code, stdout }));
  });
}

const journal = (dir: string, run: string): Ev[] =>
  readFileSync(join(dir, '.runbook', 'runs', `${run}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Ev);

describe('first SIGTERM', () => {
  it('finishes the running command, starts nothing new, runs always:, ends the journal with 130, marks and unlocks; --resume then finishes the run', async () => {
    const { dir, out } = project();
    const r = await applyAndSignal(dir, 'SIGTERM', 'running');
    expect(r.code).toBe(130);
    expect(readFileSync(join(out, 'running'), 'utf8')).toBe('done\n'); // let finish, not killed
    expect(existsSync(join(out, 'next'))).toBe(false);
    expect(existsSync(join(out, 'after'))).toBe(false);
    expect(readFileSync(join(out, 'always'), 'utf8')).toBe('1\n');
    const run = (JSON.parse(r.stdout.split('\n')[0]!) as Ev).run;
    const events = journal(dir, run);
    expect(events.filter((e) => e.type === 'interrupt')).toMatchObject([{ signal: 'SIGTERM', count: 1 }]);
    expect(events.find((e) => e.type === 'task_result' && e.task === 'running')?.status).toBe('changed');
    expect(events.at(-1)).toMatchObject({ type: 'run_end', exitCode: 130 });
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Ev).type)).toEqual(events.map((e) => e.type)); // --json = journal
    expect(nr.markers.filter((m) => m.groupId === run).map((m) => m.description?.split(']')[0])).toEqual(['[start', '[interrupted']);
    expect(readdirSync(join(dir, '.runbook', 'locks'))).toEqual([]);

    const resumed = await spawnNode(BIN, ['apply', 'rb.yml', '-e', 'dev', '--json', '--resume', run], { cwd: dir, env: env() });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(readFileSync(join(out, 'running'), 'utf8')).toBe('done\n'); // finished before the signal: not re-run
    expect(readFileSync(join(out, 'next'), 'utf8')).toBe('1\n');
    expect(readFileSync(join(out, 'after'), 'utf8')).toBe('1\n');
    const again = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Ev);
    expect(again.find((e) => e.type === 'task_result' && e.task === 'running')?.msg).toBe('finished in the resumed run');
  }, 60_000);
});
