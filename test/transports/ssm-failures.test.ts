// The ssm transport when things go wrong, against the SSM emulator: throttling and 5xx recovered, undeliverable,
// offline and unknown instances failing only themselves, timeouts and aborts cancelled, output truncation marked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../../src/engine/script.ts';
import { createSsmTransport } from '../../src/transports/ssm.ts';
import type { ExecResult, HostOutcome, Transport } from '../../src/transports/types.ts';
import { emulatedFleet } from '../fakes/ssm/env.ts';

type Emu = Awaited<ReturnType<typeof emulatedFleet>>;
const signal = new AbortController().signal;
const fast = { pollMinMs: 20, pollMaxMs: 150 };

const kinds = (r: ReadonlyMap<string, HostOutcome<unknown>>): (string | 'ok')[] => [...r.values()].map((o) => (o.ok ? 'ok' : o.error.kind));

describe('ssm transport failures', () => {
  let emu: Emu;
  let t: Transport;
  beforeAll(async () => {
    emu = await emulatedFleet({
      latencyMs: 10, deliveryTimeoutMs: 200,
      instances: [{ name: 'web-1' }, { name: 'web-2' }, { name: 'web-3', undeliverable: true }, { name: 'web-4' }, { name: 'web-5', ping: 'ConnectionLost' }],
    });
    t = createSsmTransport(fast);
  });
  afterEach(() => emu.setThrottle(undefined));
  afterAll(async () => {
    await t.close();
    await emu.stop();
    emu.restoreEnv();
  });

  const healthy = (): typeof emu.hosts => emu.hosts.filter((h) => h.name !== 'web-3' && h.name !== 'web-5');

  it('open fails an offline instance and keeps the rest', async () => {
    expect(kinds(await t.open(emu.hosts, signal))).toEqual(['ok', 'ok', 'ok', 'ok', 'unreachable']);
  });

  it('an undeliverable instance fails only that host (unreachable); offline ones time out as unreachable too', async () => {
    const r = await t.exec(emu.hosts, { script: sh`echo hi` }, { signal });
    expect(kinds(r)).toEqual(['ok', 'ok', 'unreachable', 'ok', 'unreachable']);
    expect(emu.calls.SendCommand).toBe(1);
  });

  it('an unknown instance id (InvalidInstanceId) fails alone; the rest of its batch still runs', async () => {
    const ghost = { name: 'ghost', address: 'i-0ffffffffffffffff', vars: {} };
    const r = await t.exec([...healthy(), ghost], { script: sh`echo hi` }, { signal });
    expect(kinds(r)).toEqual(['ok', 'ok', 'ok', 'unreachable']);
  });

  it('recovers from throttling on every other call', async () => {
    emu.setThrottle({ every: 2 });
    const before = emu.calls.throttled ?? 0;
    const r = await t.exec(healthy(), { script: sh`echo throttled-but-fine` }, { signal });
    expect(kinds(r)).toEqual(['ok', 'ok', 'ok']);
    expect((emu.calls.throttled ?? 0) - before).toBeGreaterThan(0);
  });

  it('recovers from a throttling storm and from 5xx answers', async () => {
    emu.setThrottle({ forMs: 700 });
    expect(kinds(await t.exec(healthy(), { script: sh`true` }, { signal }))).toEqual(['ok', 'ok', 'ok']);
    emu.setThrottle({ every: 2, status: 503 });
    expect(kinds(await t.exec(healthy(), { script: sh`true` }, { signal }))).toEqual(['ok', 'ok', 'ok']);
  });

  it('cancels a command past its time limit (CancelCommand reaches SSM) and fails those hosts with timeout', async () => {
    const before = emu.calls.CancelCommand ?? 0;
    const started = Date.now();
    const r = await t.exec(healthy(), { script: sh`sleep 4; touch late` }, { signal, timeoutMs: 600 });
    expect(kinds(r)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((emu.calls.CancelCommand ?? 0) - before).toBeGreaterThanOrEqual(1);
    const last = [...emu.fleet.commands.values()].at(-1)!;
    expect([...last.invocations.values()].map((i) => i.status)).toEqual(['Cancelled', 'Cancelled', 'Cancelled']);
    await new Promise((resolve) => setTimeout(resolve, 4200));
    expect(emu.instances.some((i) => existsSync(join(i.sandbox, 'late')))).toBe(false);
  });

  it('cancels on abort', async () => {
    const ac = new AbortController();
    const before = emu.calls.CancelCommand ?? 0;
    setTimeout(() => ac.abort(new Error('stop')), 300);
    const r = await t.exec(healthy(), { script: sh`sleep 3` }, { signal: ac.signal }).catch((e: unknown) => e);
    if (r instanceof Map) expect(kinds(r).every((k) => k !== 'ok')).toBe(true);
    expect((emu.calls.CancelCommand ?? 0) - before).toBeGreaterThanOrEqual(1);
  });

  it('marks output cut at 24,000 chars as truncated, never silently', async () => {
    const r = await t.exec(healthy().slice(0, 1), { script: sh`head -c 30000 /dev/zero | tr '\\0' a` }, { signal });
    const [o] = [...r.values()] as HostOutcome<ExecResult>[];
    expect(o!.ok && o!.value.truncated).toBe(true);
    expect(o!.ok && o!.value.stdout.length).toBeLessThanOrEqual(24_000);
    const small = [...(await t.exec(healthy().slice(0, 1), { script: sh`head -c 3000 /dev/zero | tr '\\0' b` }, { signal })).values()][0]!;
    expect(small.ok && small.value.stdout).toBe('b'.repeat(3000));
    expect(small.ok && small.value.truncated).toBeFalsy();
  });
});
