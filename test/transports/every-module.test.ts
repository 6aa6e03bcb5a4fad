// Every task module through the real engine over each remote transport: the real sshd (two aliases, each
// host in its own folder) and the SSM emulator (three instances). Plan writes nothing; apply converges with
// the same statuses on every host; a second apply is all ok; service fails with a clear message (no such unit,
// or no systemd on these hosts) and is ignored.
import { chownSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import { createSshTransport } from '../../src/transports/ssh.ts';
import { createSsmTransport } from '../../src/transports/ssm.ts';
import type { Host, Transport } from '../../src/transports/types.ts';
import { DUMMY_CREDENTIALS, startSsmEmulator, type SsmEmulator } from '../fakes/ssm/emulator.ts';
import { EVERY_MODULE, everyModuleRunbook, everyModuleTree, startPong } from '../helpers/every-module.ts';
import { runYamlOn } from '../helpers/run-yaml-ssm.ts';
import { snapshot } from '../helpers/snapshot.ts';
import { startSshd, type Sshd } from '../helpers/sshd.ts';

type Result = Extract<RunEvent, { type: 'task_result' }>;
let pong: Awaited<ReturnType<typeof startPong>>;
beforeAll(async () => { pong = await startPong(); });
afterAll(async () => pong?.close());

/** Plan, apply, apply again on `hosts`; `rootOf` is where each host's files land as seen from this process. */
async function roundTrip(t: Transport, hosts: Host[], rootOf: (h: Host) => string): Promise<void> {
  const { yaml, files } = everyModuleRunbook({ httpUrl: pong.url, port: pong.port });
  const modules = new Set(yaml.match(/^ {4}([a-z_]+):/gm)!.map((m) => m.trim().slice(0, -1)));
  expect([...EVERY_MODULE].filter((m) => !modules.has(m))).toEqual([]);
  const before = hosts.map((h) => snapshot(rootOf(h)));
  const plan = await runYamlOn(yaml, { transport: t, hosts, mode: 'plan', files });
  expect(plan.exitCode, JSON.stringify(plan.events.filter((e) => e.type === 'task_result' && e.status === 'failed' && !e.ignored))).toBe(0);
  expect(hosts.map((h) => snapshot(rootOf(h)))).toEqual(before);

  const apply = await runYamlOn(yaml, { transport: t, hosts, files, dir: plan.dir });
  const results = apply.events.filter((e): e is Result => e.type === 'task_result');
  expect(apply.exitCode, JSON.stringify(results.filter((r) => r.status === 'failed' && !r.ignored))).toBe(0);
  for (const h of hosts) {
    const want = everyModuleTree(h.name);
    const got = snapshot(rootOf(h));
    expect(Object.fromEntries(Object.keys(want).map((p) => [p, got[p]]))).toEqual(want);
    expect(readFileSync(join(plan.dir, 'fetched', h.name, remoteRoot(h), 'etc/app.conf'), 'utf8')).toBe(`listen 8080\nhost ${h.name}\n`);
    const byTask = Object.fromEntries(results.filter((r) => r.host === h.name).map((r) => [r.task, r.status]));
    expect(byTask).toMatchObject({ dir: 'changed', 'env file': 'changed', config: 'changed', line: 'changed', 'greet once': 'changed',
      'read env': 'ok', remember: 'ok', 'check env': 'ok', 'listener up': 'ok', 'app answers': 'ok', 'shell is installed': 'ok', say: 'ok', unit: 'failed' });
  }
  const unit = results.find((r) => r.task === 'unit')!;
  expect(unit.ignored).toBe(true);
  expect(unit.msg).toMatch(/no systemd on|unit runbook-no-such-unit not found/);
  expect(results.find((r) => r.task === 'say')!.msg).toMatch(/^env A=1,B=2 on /);

  const again = await runYamlOn(yaml, { transport: t, hosts, files, dir: plan.dir });
  const notOk = again.events.filter((e) => e.type === 'task_result' && e.status !== 'ok' && e.task !== 'unit');
  expect(again.exitCode).toBe(0);
  expect(notOk).toEqual([]);
}

/** The host's `root` var as the host sees it (the fetch destination mirrors that path). */
const remoteRoot = (h: Host): string => String(h.vars.root).replace(/^\//, '');

describe('every module over ssh (real sshd)', () => {
  let sshd: Sshd;
  beforeAll(async () => { sshd = await startSshd(); });
  afterAll(async () => sshd?.stop());

  it('plan writes nothing, apply converges, a second apply changes nothing', async () => {
    const hosts = sshd.hosts(2).map((h) => ({ ...h, vars: { root: join(sshd.dataDir, 'every', h.name) } }));
    const owner = statSync(sshd.dataDir);
    for (const d of [join(sshd.dataDir, 'every'), ...hosts.map((h) => h.vars.root)]) {
      mkdirSync(d, { recursive: true });
      chownSync(d, owner.uid, owner.gid);
    }
    const t = createSshTransport({ knownHosts: sshd.knownHosts, identity: sshd.identity, forks: 50 });
    try {
      await roundTrip(t, hosts, (h) => String(h.vars.root));
    } finally {
      await t.close();
    }
  }, 60_000);
});

describe('every module over ssm (emulator)', () => {
  let emu: SsmEmulator;
  beforeAll(async () => {
    emu = await startSsmEmulator({ latencyMs: 5, concurrency: 16, instances: [{ name: 'i-a' }, { name: 'i-b' }, { name: 'i-c' }] });
    Object.assign(process.env, { AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey, AWS_REGION: 'eu-west-1' });
  });
  afterAll(async () => emu?.stop());

  it('plan writes nothing, apply converges, a second apply changes nothing', async () => {
    // /proc/self/cwd/...: one absolute path that each instance's shell resolves inside its own sandbox
    const sandboxes = new Map(emu.instances.map((i) => [i.id, i.sandbox]));
    for (const s of sandboxes.values()) mkdirSync(join(s, 'every', 'etc'), { recursive: true });
    const hosts = emu.instances.map((i) => ({ name: i.name ?? i.id, address: i.id, vars: { root: '/proc/self/cwd/every' } }));
    const t = createSsmTransport({ pollMinMs: 10, pollMaxMs: 100 });
    try {
      await roundTrip(t, hosts, (h) => join(sandboxes.get(h.address)!, 'every'));
    } finally {
      await t.close();
    }
  }, 60_000);
});
