// The ssm transport's scripts and file semantics on the SSM emulator (real SDK, SigV4 with dummy keys): stdin
// with quotes, Secret env, cwd, become as sudo -u, mode kept on rewrite, read errors, scripts staged as files. (Batching, 1 MB transfers
// and failures: ssm.test.ts and ssm-failures.test.ts.)
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.ts';
import { sh } from '../../src/engine/script.ts';
import { Secret } from '../../src/engine/secret.ts';
import { createSsmTransport, ssmScript } from '../../src/transports/ssm.ts';
import type { ExecResult, Host, HostOutcome, Transport } from '../../src/transports/types.ts';
import { DUMMY_CREDENTIALS, startSsmEmulator, type SsmEmulator } from '../fakes/ssm/emulator.ts';

let emu: SsmEmulator;
let t: Transport;
let hosts: Host[];
const signal = new AbortController().signal;

const value = (r: HostOutcome<ExecResult> | undefined): ExecResult => {
  if (!r?.ok) throw new Error(`expected a result, got ${r ? r.error.message : 'nothing'}`);
  return r.value;
};
const failure = (r: HostOutcome<unknown> | undefined): TransportError => {
  if (!r || r.ok) throw new Error('expected a failure');
  return r.error;
};
const sandbox = (i: number): string => emu.instances[i]!.sandbox;

beforeAll(async () => {
  emu = await startSsmEmulator({
    latencyMs: 5, instances: 5,
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey, AWS_REGION: 'eu-west-1',
  });
  t = createSsmTransport({ pollMinMs: 10, pollMaxMs: 100 });
  hosts = emu.instances.slice(0, 5).map((i, n) => ({ name: `h${n + 1}`, address: i.id, vars: {} }));
});

afterAll(async () => {
  await t?.close();
  await emu?.stop();
});

describe('ssm transport on the emulator: scripts and files', () => {
  it('passes stdin (base64 heredoc), env (a Secret revealed only in the command) and cwd', async () => {
    for (let i = 0; i < 5; i++) mkdirSync(join(sandbox(i), 'sub'), { recursive: true });
    const r = await t.exec(hosts, { script: sh`cat; echo "[$TOKEN]"; basename "$(pwd)"`, stdin: Buffer.from('line1\nline \'2\'\n'), env: { TOKEN: new Secret("it's s3cret", 'token') }, cwd: 'sub' }, { signal });
    for (const h of hosts) expect(value(r.get(h.name)).stdout).toBe("line1\nline '2'\n[it's s3cret]\nsub\n");
    const shown = ssmScript({ script: sh`id`, become: true, becomeUser: 'deploy' });
    expect(shown.text).toContain("sudo -n -H -u deploy -- sh -c");
    expect(ssmScript({ script: sh`id`, become: true }).text).not.toContain('sudo');
  });
  it('puts a file with mode, keeps its mode on rewrite, and gets it back', async () => {
    await t.exec(hosts, { script: sh`mkdir -p conf` }, { signal });
    const put = await t.put(hosts, { path: 'conf/app.conf', content: 'port=8080\n', mode: 0o640 }, { signal });
    for (const h of hosts) expect(put.get(h.name)!.ok).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(readFileSync(join(sandbox(i), 'conf/app.conf'), 'utf8')).toBe('port=8080\n');
      expect(statSync(join(sandbox(i), 'conf/app.conf')).mode & 0o777).toBe(0o640);
    }
    await t.put(hosts, { path: 'conf/app.conf', content: new Secret('port=9090\n', 'conf') }, { signal });
    expect(statSync(join(sandbox(2), 'conf/app.conf')).mode & 0o777).toBe(0o640);
    const got = await t.get(hosts, 'conf/app.conf', { signal });
    for (const h of hosts) expect(Buffer.from((got.get(h.name) as { value: Uint8Array }).value).toString()).toBe('port=9090\n');
    expect(failure((await t.get(hosts.slice(0, 1), 'conf/missing', { signal })).get('h1')).message).toMatch(/cannot read conf\/missing/);
    expect(failure((await t.put(hosts.slice(0, 1), { path: 'nodir/x', content: 'x' }, { signal })).get('h1')).kind).toBe('auth');
  });

  it('stages a script too big for one command document as a file, runs it, and removes it', async () => {
    const filler = 'x'.repeat(100 * 1024);
    const before = emu.calls.SendCommand ?? 0;
    const r = await t.exec(hosts, { script: sh`f=${filler}; echo "\${#f}"; ls -a | grep -c runbook-stage`, stdin: Buffer.from('in') }, { signal });
    for (const h of hosts) expect(value(r.get(h.name))).toMatchObject({ code: 0, stdout: '102400\n1\n' });
    expect(emu.calls.SendCommand! - before).toBe(Math.ceil(100 * 1024 / (36 * 1024)) + 1);
    for (let i = 0; i < 5; i++) expect(readdirSync(sandbox(i)).filter((f) => f.includes('runbook-stage'))).toEqual([]);
  });
});
