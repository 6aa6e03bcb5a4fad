// The ssm transport against the SSM emulator through the real AWS SDK (AWS_ENDPOINT_URL_SSM, SigV4 with dummy
// keys): exec/put/get on 5 instances, exit codes, env/stdin/cwd, statuses, timeouts, truncation, throttling.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
const api: Record<string, number> = {};
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
    latencyMs: 5, deliveryTimeoutMs: 200,
    instances: [{ name: 'web-1' }, { name: 'web-2' }, {}, {}, {}, { undeliverable: true }, { ping: 'ConnectionLost' }],
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey, AWS_REGION: 'eu-west-1',
  });
  t = createSsmTransport({ pollMinMs: 10, pollMaxMs: 100, onApiCall: (op) => { api[op] = (api[op] ?? 0) + 1; } });
  hosts = emu.instances.slice(0, 5).map((i, n) => ({ name: `h${n + 1}`, address: i.id, vars: {} }));
});

afterAll(async () => {
  await t?.close();
  await emu?.stop();
});

describe('ssm transport on the emulator', () => {
  it('opens online instances and refuses offline or unknown ones', async () => {
    const odd: Host[] = [{ name: 'gone', address: 'i-00000000000000bad', vars: {} }, { name: 'off', address: emu.instances[6]!.id, vars: {} }];
    const r = await t.open([...hosts, ...odd], signal);
    for (const h of hosts) expect(r.get(h.name)!.ok).toBe(true);
    expect(failure(r.get('gone')).kind).toBe('unreachable');
    expect(failure(r.get('off')).message).toMatch(/not an online SSM managed instance/);
  });

  it('runs one SendCommand for 5 hosts; a non-zero exit is a value with stdout and stderr apart', async () => {
    writeFileSync(join(sandbox(1), 'code'), '3');
    writeFileSync(join(sandbox(3), 'code'), '42');
    const before = api.SendCommand ?? 0;
    const r = await t.exec(hosts, { script: sh`echo "out-$SSM_INSTANCE_ID"; echo warn >&2; exit $(cat code 2>/dev/null || echo 0)` }, { signal });
    expect(api.SendCommand! - before).toBe(1);
    expect(hosts.map((h) => value(r.get(h.name)).code)).toEqual([0, 3, 0, 42, 0]);
    hosts.forEach((h) => expect(value(r.get(h.name)).stdout).toBe(`out-${h.address}\n`));
    expect(value(r.get('h2')).stderr).toBe('warn\n');
  });

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

  it('transfers 1 MB in checksummed chunks both ways', async () => {
    const data = randomBytes(1024 * 1024);
    const sum = createHash('sha256').update(data).digest('hex');
    const sends = api.SendCommand ?? 0;
    const put = await t.put(hosts, { path: 'big.bin', content: data }, { signal });
    expect([...put.values()].every((r) => r.ok)).toBe(true);
    expect(api.SendCommand! - sends).toBe(Math.ceil(data.length / (36 * 1024)));
    for (let i = 0; i < 5; i++) expect(createHash('sha256').update(readFileSync(join(sandbox(i), 'big.bin'))).digest('hex')).toBe(sum);
    const got = await t.get(hosts.slice(0, 2), 'big.bin', { signal });
    for (const h of hosts.slice(0, 2)) expect(createHash('sha256').update((got.get(h.name) as { value: Uint8Array }).value).digest('hex')).toBe(sum);
  }, 60_000);

  it('maps Undeliverable and DeliveryTimedOut to unreachable, for those hosts only', async () => {
    const odd: Host[] = [{ name: 'undeliverable', address: emu.instances[5]!.id, vars: {} }, { name: 'offline', address: emu.instances[6]!.id, vars: {} }];
    const r = await t.exec([...hosts, ...odd], { script: sh`echo ok` }, { signal });
    for (const h of hosts) expect(value(r.get(h.name)).stdout).toBe('ok\n');
    expect(failure(r.get('undeliverable')).message).toMatch(/unreachable: SSM status Undeliverable/);
    expect(failure(r.get('offline')).message).toMatch(/DeliveryTimedOut/);
  });

  it('an unregistered id in the batch fails alone (InvalidInstanceId, then a resend to the rest)', async () => {
    const r = await t.exec([...hosts.slice(0, 2), { name: 'ghost', address: 'i-0000000000000dead', vars: {} }], { script: sh`echo ok` }, { signal });
    expect(value(r.get('h1')).stdout).toBe('ok\n');
    expect(failure(r.get('ghost')).message).toMatch(/InvalidInstanceId/);
  });

  it('cancels a command past its time limit (CancelCommand) and fails the hosts with timeout', async () => {
    const cancels = emu.calls.CancelCommand ?? 0;
    const started = Date.now();
    const r = await t.exec(hosts, { script: sh`touch started; sleep 5; touch finished` }, { signal, timeoutMs: 700 });
    expect(Date.now() - started).toBeLessThan(3000);
    for (const h of hosts) expect(failure(r.get(h.name)).kind).toBe('timeout');
    expect(emu.calls.CancelCommand! - cancels).toBe(1);
    const cmd = [...emu.fleet.commands.values()].at(-1)!;
    expect([...cmd.invocations.values()].map((i) => i.status)).toEqual(Array(5).fill('Cancelled'));
    await new Promise((ok) => setTimeout(ok, 300));
    expect(existsSync(join(sandbox(0), 'finished'))).toBe(false);
  });

  it('an abort signal cancels the command too', async () => {
    const ac = new AbortController();
    const cancels = emu.calls.CancelCommand ?? 0;
    setTimeout(() => ac.abort(), 300);
    const r = await t.exec(hosts.slice(0, 2), { script: sh`sleep 5` }, { signal: ac.signal });
    expect(failure(r.get('h1')).kind).toBe('timeout');
    expect(emu.calls.CancelCommand! - cancels).toBe(1);
  });

  it('marks output cut at 24,000 chars as truncated, and small output not', async () => {
    const r = await t.exec(hosts.slice(0, 2), { script: sh`head -c 30000 /dev/zero | tr '\\0' a; echo oops >&2` }, { signal });
    const v = value(r.get('h1'));
    expect(v.stdout.length).toBe(24000);
    expect(v.truncated).toBe(true);
    expect(v.stderr).toBe('oops\n');
    const small = value((await t.exec(hosts.slice(0, 1), { script: sh`head -c 3000 /dev/zero | tr '\\0' b` }, { signal })).get('h1'));
    expect(small.stdout).toBe('b'.repeat(3000));
    expect(small.truncated).toBeUndefined();
  });

  it('recovers from throttling (every 3rd call), a throttling storm and 500s', async () => {
    for (const fault of [{ every: 3 }, { forMs: 600 }, { every: 2, status: 500 as const }]) {
      const throttled = emu.calls.throttled ?? 0;
      emu.setThrottle(fault);
      const r = await t.exec(hosts, { script: sh`echo fine` }, { signal });
      emu.setThrottle(undefined);
      for (const h of hosts) expect(value(r.get(h.name)).stdout).toBe('fine\n');
      expect(emu.calls.throttled! - throttled).toBeGreaterThan(0);
    }
  });
});
