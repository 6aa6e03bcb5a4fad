// Ctrl-C twice: the second signal exits at once (130) without waiting for the running command,
// and the journal is still consistent: every line complete JSON, ending with run_end 130.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { lastRun } from '../helpers/cli-project.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');

it('a second SIGINT stops at once and leaves a complete journal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-sig-'));
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'dev.yml'), 'transport: local\ngroups:\n  web:\n    hosts:\n      h1: {}\n');
  writeFileSync(join(dir, 'rb.yml'), 'name: s\nhosts: web\nenvironments: [dev]\ntasks:\n  - shell: sleep 20\n');
  const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'dev', '--json'], { cwd: dir, env: { ...process.env, NEW_RELIC_API_KEY: '' } });
  let out = '';
  let sent = 0;
  const started = Date.now();
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('"task_start"') && sent === 0) {
      sent = 1;
      child.kill('SIGINT');
      setTimeout(() => { sent = 2; child.kill('SIGINT'); }, 300);
    }
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  expect(code).toBe(130);
  expect(Date.now() - started).toBeLessThan(10_000);
  const lines = lastRun<{ type: string; exitCode?: number; count?: number }>(dir).events;
  expect(lines.filter((l) => l.type === 'interrupt').map((l) => l.count)).toEqual([1, 2]);
  expect(lines.at(-1)).toMatchObject({ type: 'run_end', exitCode: 130 });
  expect(readdirSync(join(dir, '.runbook', 'locks'))).toEqual([]);
}, 30_000);
