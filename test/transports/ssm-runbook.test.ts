// A real runbook through the engine over the ssm transport on the emulator (file, copy, template, lineinfile,
// command with register, shell, fetch): plan, apply, idempotent re-apply; max_fail_percentage; discovery; fleet mode.
// Paths are /proc/self/cwd/...: absolute, the same text on every host (so the engine batches), and each
// emulated instance's shell resolves them inside its own sandbox (its cwd). `mkdir -p` cannot walk
// /proc/self/cwd, so each sandbox gets its top directories beforehand and the runbook only sets their mode.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../../src/engine/script.ts';
import { createSsmTransport, discoverSsmHosts } from '../../src/transports/ssm.ts';
import type { Host } from '../../src/transports/types.ts';
import { DUMMY_CREDENTIALS, startSsmEmulator, type SsmEmulator } from '../fakes/ssm/emulator.ts';
import { runYamlOn } from '../helpers/run-yaml-ssm.ts';

let emu: SsmEmulator;
const signal = new AbortController().signal;
const hostsOf = (from: number, to: number): Host[] => emu.instances.slice(from, to).map((i) => ({ name: i.name ?? i.id, address: i.id, vars: {} }));
const transport = (api?: Record<string, number>) => createSsmTransport({ pollMinMs: 10, pollMaxMs: 100, onApiCall: (op) => { if (api) api[op] = (api[op] ?? 0) + 1; } });

beforeAll(async () => {
  emu = await startSsmEmulator({
    latencyMs: 5, deliveryTimeoutMs: 200, concurrency: 32,
    instances: [
      ...Array.from({ length: 6 }, (_, i) => ({ name: `app-${i + 1}`, tags: { Role: 'app' } })),
      { name: 'app-lost', tags: { Role: 'app' }, undeliverable: true },
      { name: 'web-a', tags: { Role: 'web' } }, { tags: { Role: 'web' } }, { name: 'web-off', tags: { Role: 'web' }, ping: 'ConnectionLost' as const },
      ...Array.from({ length: 60 }, () => ({ tags: { Role: 'batch' } })),
    ],
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey, AWS_REGION: 'eu-west-1',
  });
});

afterAll(async () => emu?.stop());

const prepare = (top: string): void => emu.instances.forEach((i) => mkdirSync(join(i.sandbox, top, 'etc'), { recursive: true }));

const RUNBOOK = (extra = ''): string => `name: ssm modules
hosts: web
environments: [test]
${extra}vars:
  root: /proc/self/cwd/srv
  port: 8080
tasks:
  - name: dir
    file: { path: "{{ root }}/etc", state: directory, mode: "0750" }
  - name: env
    template: { src: files/app.env.j2, dest: "{{ root }}/etc/app.env", mode: "0640" }
  - name: extra
    copy: { content: "X=1\\n", dest: "{{ root }}/etc/extra.env", mode: "0600" }
  - name: line
    lineinfile: { path: "{{ root }}/etc/hosts", line: "127.0.0.1 app", create: true }
  - name: who
    command: cat {{ root }}/etc/app.env
    register: who
    changed_when: false
  - name: marker
    shell: { cmd: 'echo "{{ who.stdout_lines[1] }}" > {{ root }}/marker', creates: "{{ root }}/marker" }
  - name: back
    fetch: { src: "{{ root }}/etc/app.env", dest: fetched/ }
`;
const files = { 'files/app.env.j2': 'NAME=app\nPORT={{ port }}\n' };

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out[p.slice(dir.length)] = `${(s.mode & 0o777).toString(8)}:${readFileSync(p, 'utf8')}`;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe('a runbook over ssm on the emulator', () => {
  it('plan writes nothing, apply converges on 5 instances, a second apply changes nothing; sends do not grow with hosts', async () => {
    const api: Record<string, number> = {};
    const t = transport(api);
    const hosts = hostsOf(0, 5);
    prepare('srv');
    const plan = await runYamlOn(RUNBOOK(), { transport: t, hosts, mode: 'plan', files });
    expect(plan.exitCode, JSON.stringify(plan.results('env'))).toBe(0);
    expect(emu.instances.slice(0, 5).every((i) => readdirSync(join(i.sandbox, 'srv/etc')).length === 0)).toBe(true);
    const apply = await runYamlOn(RUNBOOK(), { transport: t, hosts, files, dir: plan.dir });
    expect(apply.exitCode, JSON.stringify(apply.events.filter((e) => e.type === 'task_result'))).toBe(0);
    for (const inst of emu.instances.slice(0, 5)) {
      expect(tree(join(inst.sandbox, 'srv'))).toEqual({
        '/etc/app.env': '640:NAME=app\nPORT=8080\n', '/etc/extra.env': '600:X=1\n', '/etc/hosts': '644:127.0.0.1 app\n', '/marker': '644:PORT=8080\n',
      });
    }
    for (const h of hosts) expect(readFileSync(join(plan.dir, 'fetched', h.name, 'proc/self/cwd/srv/etc/app.env'), 'utf8')).toBe('NAME=app\nPORT=8080\n');
    const sends = api.SendCommand!;
    const again = await runYamlOn(RUNBOOK(), { transport: t, hosts, files, dir: plan.dir });
    const notOk = again.events.filter((e) => e.type === 'task_result' && e.status !== 'ok');
    expect(notOk).toEqual([]);
    const perRun = api.SendCommand! - sends;
    const targeted = [...emu.fleet.commands.values()].slice(-perRun).reduce((n, c) => n + c.targetIds.length, 0);
    // The same runbook converged on one instance: each of its commands reached each of the 5 hosts once, in
    // batched sends (the engine coalesces what hosts issue in the same tick; a template render can split one).
    await runYamlOn(RUNBOOK(), { transport: t, hosts: hostsOf(5, 6), files, dir: plan.dir });
    const before = api.SendCommand!;
    expect((await runYamlOn(RUNBOOK(), { transport: t, hosts: hostsOf(5, 6), files, dir: plan.dir })).exitCode).toBe(0);
    const single = api.SendCommand! - before;
    expect(targeted).toBe(5 * single);
    expect(perRun).toBeLessThan(3 * single); // per host would be 5x
    await t.close();
  }, 60_000);

  it('an undeliverable instance fails alone and counts against max_fail_percentage', async () => {
    const t = transport();
    const hosts = [...hostsOf(6, 7), ...hostsOf(0, 3)]; // app-lost first: batch 1 = [app-lost, app-1]
    prepare('strict');
    prepare('lenient');
    const strict = await runYamlOn(RUNBOOK('serial: 2\nmax_fail_percentage: 40\n').replace('cwd/srv', 'cwd/strict'), { transport: t, hosts, files });
    expect(strict.exitCode).not.toBe(0);
    const failedIn = (r: typeof strict, b: number) => r.events.filter((e) => e.type === 'batch_end' && e.batch === b).flatMap((e) => (e as { failed: string[] }).failed);
    expect(failedIn(strict, 1)).toEqual(['app-lost']);
    expect(strict.results('dir').find((e) => e.host === 'app-1')).toMatchObject({ status: 'changed' });
    expect(existsSync(join(emu.instances[2]!.sandbox, 'strict/marker'))).toBe(false); // batch 2 never ran
    const lenient = await runYamlOn(RUNBOOK('serial: 2\nmax_fail_percentage: 60\n').replace('cwd/srv', 'cwd/lenient'), { transport: t, hosts, files });
    expect(lenient.exitCode).not.toBe(0);
    expect([failedIn(lenient, 1), failedIn(lenient, 2)]).toEqual([['app-lost'], []]);
    expect(readFileSync(join(emu.instances[2]!.sandbox, 'lenient/marker'), 'utf8')).toBe('PORT=8080\n');
    expect(lenient.results('line').filter((e) => e.status === 'changed').map((e) => e.host).sort()).toEqual(['app-1', 'app-2', 'app-3']);
    await t.close();
  }, 60_000);
});

describe('discovery and fleet mode', () => {
  it('discovers instances by tag (Name tag or id), reports offline ones, and pages past 50', async () => {
    const web = await discoverSsmHosts({ targets: [{ key: 'Role', values: ['web'] }] });
    const webIds = emu.instances.filter((i) => i.tags.Role === 'web');
    expect(web.hosts.map((h) => [h.name, h.address])).toEqual([['web-a', webIds[0]!.id], [webIds[1]!.id, webIds[1]!.id]]);
    expect(web.offline).toEqual([{ id: webIds[2]!.id, name: 'web-off', status: 'ConnectionLost' }]);
    const batch = await discoverSsmHosts({ targets: [{ key: 'tag:Role', values: ['batch'] }] });
    expect(batch.hosts).toHaveLength(60);
  });

  it('refuses requests not signed with the right secret (the emulator checks SigV4)', async () => {
    const bad = emu.calls.badSignature ?? 0;
    const client = new SSMClient({ region: 'eu-west-1', maxAttempts: 1, credentials: { accessKeyId: DUMMY_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' } });
    await expect(discoverSsmHosts({ targets: [{ key: 'Role', values: ['web'] }], client })).rejects.toThrow(/signature/i);
    expect(emu.calls.badSignature).toBe(bad + 1);
  });

  it('fleet mode sends once with Targets, MaxConcurrency and MaxErrors; results map by instance id', async () => {
    const api: Record<string, number> = {};
    const t = createSsmTransport({ pollMinMs: 10, pollMaxMs: 100, fleet: { targets: [{ key: 'Role', values: ['batch'] }], maxConcurrency: '50%', maxErrors: 3 }, onApiCall: (op) => { api[op] = (api[op] ?? 0) + 1; } });
    const hosts = emu.instances.filter((i) => i.tags.Role === 'batch').map((i, n) => ({ name: `b${n}`, address: i.id, vars: {} }));
    expect([...(await t.open(hosts, signal)).values()].every((o) => o.ok)).toBe(true);
    const r = await t.exec(hosts, { script: sh`echo "$SSM_INSTANCE_ID"` }, { signal });
    expect(api.SendCommand).toBe(1);
    const cmd = [...emu.fleet.commands.values()].at(-1)!;
    expect([cmd.targetIds.length, cmd.maxConcurrency, cmd.maxErrors]).toEqual([60, 30, 3]);
    for (const h of hosts) expect(r.get(h.name)).toMatchObject({ ok: true, value: { code: 0, stdout: `${h.address}\n` } });
    await t.exec(hosts.slice(0, 55), { script: sh`true` }, { signal });
    expect(api.SendCommand).toBe(3); // not all hosts: plain batches of 50
    await t.close();
  }, 30_000);
});
