// A second Ctrl-C over SSM (issue 9, req 2), through the real CLI against the SSM emulator: the run
// stops promptly with exit 130 and a complete journal, and the command still running on the
// instances is cancelled with CancelCommand instead of being left to run on.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DUMMY_CREDENTIALS, startSsmEmulator, type SsmEmulator } from '../fakes/ssm/emulator.ts';
import { lastRun } from '../helpers/cli-project.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
let emu: SsmEmulator;

beforeAll(async () => { emu = await startSsmEmulator({ latencyMs: 5, instances: [{ name: 'web-1', tags: { Role: 'web' } }, { name: 'web-2', tags: { Role: 'web' } }] }); });
afterAll(async () => emu?.stop());

it('a second SIGINT cancels the running SSM command, exits 130 at once and leaves a complete journal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-ssm-sig-'));
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'prod.yml'), 'transport: ssm\nssm: { region: eu-west-1, targets: [{ key: "tag:Role", values: [web] }] }\n');
  writeFileSync(join(dir, 'rb.yml'), 'name: s\nhosts: web\nenvironments: [prod]\ntasks:\n  - name: long\n    shell: sleep 30\n  - name: never\n    shell: "true"\n');
  const env = { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', GITHUB_TOKEN: '', AWS_PROFILE: '', AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey };
  const child = spawn(process.execPath, [BIN, 'apply', 'rb.yml', '-e', 'prod', '--json'], { cwd: dir, env });
  let out = '';
  let sent = false;
  const started = Date.now();
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (!sent && out.includes('"task":"long"')) {
      sent = true;
      // once SendCommand reached SSM, twice: stop now
      const wait = setInterval(() => {
        if (!emu.calls.SendCommand) return;
        clearInterval(wait);
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 300);
      }, 50);
    }
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  expect(code).toBe(130);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(emu.calls.CancelCommand ?? 0).toBeGreaterThan(0);
  const long = [...emu.fleet.commands.values()].filter((c) => JSON.stringify(c.parameters).includes('sleep 30'));
  const statuses = long.flatMap((c) => [...c.invocations.values()].map((i) => i.status));
  expect(statuses).toHaveLength(2); // one invocation per instance
  expect(statuses, JSON.stringify(statuses)).toEqual(statuses.map(() => "Cancelled"));
  const lines = lastRun<{ type: string; exitCode?: number }>(dir).events;
  expect(lines.filter((l) => l.type === 'run_end')).toHaveLength(1);
  expect(lines.at(-1)).toMatchObject({ type: 'run_end', exitCode: 130 });
  expect(readdirSync(join(dir, '.runbook', 'locks'))).toEqual([]);
}, 30_000);
