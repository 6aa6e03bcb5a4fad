// Fleet mode of the ssm transport on the emulator: one SendCommand with Targets for the whole target set,
// the same result view as batches, and never a command on an instance the run did not select (--limit).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../../src/engine/script.ts';
import { createSsmTransport, type SsmOpts } from '../../src/transports/ssm.ts';
import type { ExecResult, HostResults } from '../../src/transports/types.ts';
import { emulatedFleet } from '../fakes/ssm/env.ts';

type Emu = Awaited<ReturnType<typeof emulatedFleet>>;
const signal = new AbortController().signal;
const fleet: SsmOpts['fleet'] = { targets: [{ key: 'tag:Role', values: ['web'] }], maxConcurrency: '50%', maxErrors: '100%' };

const view = (r: HostResults<ExecResult>): [string, number | string, string][] =>
  [...r].map(([name, o]) => [name, o.ok ? o.value.code : o.error.kind, o.ok ? o.value.stdout : '']);

describe('ssm fleet mode', () => {
  let emu: Emu;
  beforeAll(async () => {
    emu = await emulatedFleet({
      latencyMs: 5,
      instances: [
        ...Array.from({ length: 60 }, (_, i) => ({ name: `web-${i}`, tags: { Role: 'web' } })),
        { name: 'db-1', tags: { Role: 'db' } },
      ],
    });
  });
  afterAll(async () => {
    await emu.stop();
    emu.restoreEnv();
  });

  const web = (): Emu['hosts'] => emu.hosts.filter((h) => h.name.startsWith('web-'));

  it('sends once with Targets for 60 instances, and the results equal the batched ones', async () => {
    const script = sh`echo "$SSM_INSTANCE_ID"; [ "\${SSM_INSTANCE_ID#*3}" = "$SSM_INSTANCE_ID" ] || exit 5`;
    const batched = createSsmTransport({ pollMinMs: 10, pollMaxMs: 100 });
    await batched.open(web(), signal);
    emu.resetCalls();
    const a = await batched.exec(web(), { script }, { signal });
    expect(emu.calls.SendCommand).toBe(2);
    const fan = createSsmTransport({ pollMinMs: 10, pollMaxMs: 100, fleet });
    await fan.open(web(), signal);
    emu.resetCalls();
    const b = await fan.exec(web(), { script }, { signal });
    expect(emu.calls.SendCommand).toBe(1);
    const sent = [...emu.fleet.commands.values()].at(-1)!;
    expect(sent.maxConcurrency).toBe(30);
    expect(view(b)).toEqual(view(a));
    expect(view(b).filter(([, code]) => code === 5).length).toBeGreaterThan(0);
    await batched.close();
    await fan.close();
  });

  it('never runs on a tagged instance outside the selected hosts (e.g. --limit)', async () => {
    const chosen = web().slice(0, 10);
    const t = createSsmTransport({ pollMinMs: 10, pollMaxMs: 100, fleet });
    await t.open(chosen, signal);
    const r = await t.exec(chosen, { script: sh`touch touched` }, { signal });
    expect([...r.values()].every((o) => o.ok && o.value.code === 0)).toBe(true);
    const touched = emu.instances.filter((i) => existsSync(join(i.sandbox, 'touched'))).map((i) => i.name);
    expect(touched).toEqual(chosen.map((h) => h.name));
    await t.close();
  });
});
