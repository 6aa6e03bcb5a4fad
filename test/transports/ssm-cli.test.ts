// End to end: the real CLI (bin/runbook.js) with an environment file saying `transport: ssm` and tag targets,
// against the SSM emulator in this process: discovery, offline instances reported, fleet sends, files written.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DUMMY_CREDENTIALS, startSsmEmulator, type SsmEmulator } from '../fakes/ssm/emulator.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
let emu: SsmEmulator;

beforeAll(async () => {
  emu = await startSsmEmulator({
    latencyMs: 5, deliveryTimeoutMs: 200,
    instances: [
      { name: 'web-1', tags: { Role: 'web' } }, { name: 'web-2', tags: { Role: 'web' } }, { name: 'web-3', tags: { Role: 'web' } },
      { name: 'web-old', tags: { Role: 'web' }, ping: 'ConnectionLost' }, { name: 'db-1', tags: { Role: 'db' } },
    ],
  });
  for (const i of emu.instances) mkdirSync(join(i.sandbox, 'out'));
});
afterAll(async () => emu?.stop());

/** Async: the emulator lives in this process and must keep answering while the CLI runs. */
function cli(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', GITHUB_TOKEN: '', GH_TOKEN: '', AWS_PROFILE: '',
    AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  };
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

it('discovers tagged instances, reports the offline one, and applies in fleet mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-ssm-cli-'));
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'prod.yml'),
    'transport: ssm\nssm: { region: eu-west-1, targets: [{ key: "tag:Role", values: [web] }], max_concurrency: "50%", max_errors: 0, fleet: true }\n');
  writeFileSync(join(dir, 'rb.yml'), 'name: t\nhosts: web\nenvironments: [prod]\ntasks:\n' +
    '  - name: conf\n    copy: { content: "v=1\\n", dest: /proc/self/cwd/out/app.conf, mode: "0640" }\n' +
    '  - name: id\n    command: echo "{{ inventory_hostname }}"\n');
  const r = await cli(dir, ['apply', 'rb.yml', '-e', 'prod']);
  const out = r.stdout + r.stderr;
  expect(out).toMatch(/SSM instance not online, counted as failed: web-old \(i-[0-9a-f]+\): ConnectionLost/);
  expect(out).toMatch(/changed +web-2 create \/proc\/self\/cwd\/out\/app\.conf/);
  for (const i of emu.instances) {
    const web = i.tags.Role === 'web' && i.ping === 'Online';
    expect(web ? readFileSync(join(i.sandbox, 'out/app.conf'), 'utf8') : 'absent', i.name).toBe(web ? 'v=1\n' : 'absent');
  }
  const fleetSends = [...emu.fleet.commands.values()].filter((c) => c.targetIds.length === 4);
  expect(fleetSends.length, out).toBeGreaterThan(0);
  expect(r.code, out).toBe(1); // the offline instance counts as a failed host
  const again = await cli(dir, ['apply', 'rb.yml', '-e', 'prod']);
  expect(again.stdout).toMatch(/ok +web-1/);
  expect(again.stdout).not.toMatch(/changed +web-\d create/);
}, 60_000);
