// The ssm transport against the SSM emulator (real SDK, SigV4, AWS JSON 1.1 over 127.0.0.1): a runbook-shaped
// sequence on 5 instances (exec, stdin, env, put, get, exit codes), 1 MB transfers and SendCommand batching.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../../src/engine/script.ts';
import { Secret } from '../../src/engine/secret.ts';
import { createSsmTransport } from '../../src/transports/ssm.ts';
import type { ExecResult, HostResults, Transport } from '../../src/transports/types.ts';
import { emulatedFleet } from '../fakes/ssm/env.ts';

type Emu = Awaited<ReturnType<typeof emulatedFleet>>;
const signal = new AbortController().signal;

function values<T>(r: HostResults<T>): T[] {
  return [...r.values()].map((o) => {
    if (!o.ok) throw o.error;
    return o.value;
  });
}

describe('ssm transport on 5 emulated instances', () => {
  let emu: Emu;
  let t: Transport;
  const ops: string[] = [];
  beforeAll(async () => {
    emu = await emulatedFleet({ instances: 5, latencyMs: 10 });
    t = createSsmTransport({ pollMinMs: 20, pollMaxMs: 200, onApiCall: (op) => ops.push(op) });
  });
  afterAll(async () => {
    await t.close();
    await emu.stop();
    emu.restoreEnv();
  });

  it('opens every online instance', async () => {
    const opened = await t.open(emu.hosts, signal);
    expect([...opened.values()].every((o) => o.ok)).toBe(true);
    expect(emu.calls.badSignature ?? 0).toBe(0);
  });

  it('runs one command per host with exit codes as values, in each instance sandbox', async () => {
    const r = await t.exec(emu.hosts, { script: sh`echo "$SSM_INSTANCE_ID"; echo warn >&2; exit 7` }, { signal });
    const got = values(r);
    expect(got.map((v) => v.code)).toEqual([7, 7, 7, 7, 7]);
    expect(got.map((v) => v.stdout.trim())).toEqual(emu.instances.map((i) => i.id));
    expect(got.every((v) => v.stderr === 'warn\n')).toBe(true);
    expect(emu.calls.SendCommand).toBe(1);
  });

  it('passes stdin, env (Secret values revealed only on the host) and cwd', async () => {
    const cmd = { script: sh`pwd; cat; printf ' %s' "$TOKEN" "$MODE"`, stdin: Buffer.from('line1\nline2'),
      env: { TOKEN: new Secret('s3cr3t'), MODE: 'blue green' }, cwd: '/' };
    const [first] = values(await t.exec(emu.hosts.slice(0, 1), cmd, { signal }));
    expect(first!.stdout).toBe('/\nline1\nline2 s3cr3t blue green');
    expect(first!.code).toBe(0);
  });

  it('writes a file with its mode on every host and reads it back', async () => {
    const content = 'listen 8080\nworkers 4\n';
    const put = await t.put(emu.hosts, { path: 'app.conf', content, mode: 0o640 }, { signal });
    expect([...put.values()].every((o) => o.ok)).toBe(true);
    for (const inst of emu.instances) {
      expect(await readFile(join(inst.sandbox, 'app.conf'), 'utf8')).toBe(content);
      expect((await stat(join(inst.sandbox, 'app.conf'))).mode & 0o777).toBe(0o640);
    }
    const got = values(await t.get(emu.hosts, 'app.conf', { signal }));
    expect(got.map((b) => Buffer.from(b).toString())).toEqual(Array(5).fill(content));
  });

  it('reports a failed write per host (missing directory) without touching the others', async () => {
    const put = await t.put(emu.hosts, { path: 'no/such/dir/x', content: 'x' }, { signal });
    expect([...put.values()].every((o) => !o.ok && o.error.kind === 'auth')).toBe(true);
  });

  it('transfers 1 MB both ways, checksum intact', async () => {
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 10)) & 0xff;
    const hash = createHash('sha256').update(big).digest('hex');
    const put = await t.put(emu.hosts, { path: 'payload.bin', content: big }, { signal });
    expect([...put.values()].every((o) => o.ok)).toBe(true);
    for (const inst of emu.instances) {
      expect(createHash('sha256').update(await readFile(join(inst.sandbox, 'payload.bin'))).digest('hex')).toBe(hash);
    }
    const got = values(await t.get(emu.hosts, 'payload.bin', { signal }));
    expect(got.map((b) => createHash('sha256').update(b).digest('hex'))).toEqual(Array(5).fill(hash));
  });

  it('fails a get of a missing file as a host failure, not a crash', async () => {
    const r = await t.get(emu.hosts.slice(0, 2), 'missing.txt', { signal });
    expect([...r.values()].map((o) => o.ok)).toEqual([false, false]);
  });

  it('counted every API request it made (retries included) like the emulator did', () => {
    const mine: Record<string, number> = {};
    for (const op of ops) mine[op] = (mine[op] ?? 0) + 1;
    for (const [op, n] of Object.entries(mine)) expect(emu.calls[op]).toBe(n);
  });
});

describe('SendCommand batching', () => {
  let emu: Emu;
  beforeAll(async () => { emu = await emulatedFleet({ instances: 120, latencyMs: 5, concurrency: 32 }); });
  afterAll(async () => {
    await emu.stop();
    emu.restoreEnv();
  });

  it.each([1, 50, 51, 120])('sends ceil(n/50) SendCommand for %i hosts and polls per batch, not per host', async (n) => {
    const t = createSsmTransport({ pollMinMs: 20, pollMaxMs: 100 });
    emu.resetCalls();
    const r: HostResults<ExecResult> = await t.exec(emu.hosts.slice(0, n), { script: sh`echo ok` }, { signal });
    expect(values(r).every((v) => v.code === 0 && v.stdout === 'ok\n')).toBe(true);
    const batches = Math.ceil(n / 50);
    expect(emu.calls.SendCommand).toBe(batches);
    expect(emu.calls.ListCommandInvocations ?? 0).toBeLessThanOrEqual(batches * 12);
    expect(emu.calls.GetCommandInvocation ?? 0).toBe(0);
    await t.close();
  });
});
