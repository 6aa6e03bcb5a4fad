// The flagship over AWS SSM: runbooks/upgrade-runtime.yml on 4 emulated instances (the real SDK against
// the SSM emulator, files through chunked base64, each instance in its own sandbox), serial 2, apps
// behind the load balancer, markers in the New Relic fake. (b) the infrastructure step skipped, with a
// stale previous_version: batch 1 fails login, batch 2 is never touched, rollback returns each host to
// the runtime it ran before (read by the pre-checks), exit 5. (a) the honest upgrade, then a no-op.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoadBalancer, type LoadBalancer } from '../../scripts/demo-lb.ts';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';
import { DUMMY_CREDENTIALS, startSsmEmulator, type SsmEmulator } from '../fakes/ssm/emulator.ts';
import { badChangeToRestoredLogin, flagshipVars, lastJournal, login, newRelicEnv, RUNBOOKS, runCli, runtimeOf, touchedHosts, UPGRADE } from '../helpers/flagship.ts';

const HOSTS = ['web-a', 'web-b', 'web-c', 'web-d'];
const PORTS = [28281, 28282, 28283, 28284];

let emu: SsmEmulator;
let lb: LoadBalancer;
let nr: NewRelicFake;
let project: string;
const sandbox = (h: string): string => emu.instances.find((i) => i.name === h)!.sandbox;

function environment(): string {
  const hosts = emu.instances.map((inst, i) => `      ${inst.name}: ${JSON.stringify({ address: inst.id, vars: { root: inst.sandbox, app_port: PORTS[i] } })}`);
  return ['transport: ssm', ...flagshipVars(lb.url), 'groups:', '  web:', '    hosts:', ...hosts, 'ssm: { region: eu-west-1 }', ''].join('\n');
}

const cli = (args: string[]) => runCli(args, project, { ...newRelicEnv(nr.url), AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_REGION: 'eu-west-1', AWS_PROFILE: '',
  AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey, AWS_SESSION_TOKEN: '' });

beforeAll(async () => {
  emu = await startSsmEmulator({ latencyMs: 5, deliveryTimeoutMs: 500, instances: HOSTS.map((name) => ({ name, tags: { Role: 'web' } })) });
  lb = await startLoadBalancer(PORTS);
  nr = await startNewRelicFake({ apiKey: 'e2e-key', entities: [{ name: 'webapp-staging', guid: 'E2E-SSM-GUID', accountId: 1 }] });
  project = mkdtempSync(join(tmpdir(), 'rb-e2e-ssm-'));
  mkdirSync(join(project, 'environments'));
  writeFileSync(join(project, 'environments', 'staging.yml'), environment());
  const install = await cli(['apply', join(RUNBOOKS, 'install-app.yml'), '-e', 'staging']);
  expect(install.code, install.stdout + install.stderr).toBe(0);
  expect(await login(lb.url)).toBe(200);
}, 120_000);

afterAll(async () => {
  for (const h of HOSTS) if (emu) spawn('sh', [join(sandbox(h), 'opt/webapp/appctl'), 'stop']);
  await lb?.stop();
  await nr?.stop();
  await emu?.stop();
});

describe('upgrade-runtime.yml over ssm', () => {
  it('(b) without the infrastructure step: batch 1 fails health, batch 2 untouched, rollback restores login (even with a stale previous_version), exit 5', async () => {
    const r = await cli(['apply', UPGRADE, '-e', 'staging', '--skip-tags', 'infra', '--extra-vars', 'previous_version=4.9.9']);
    expect(r.code, r.stdout + r.stderr).toBe(5);
    const events = lastJournal(project);
    expect(touchedHosts(events)).toEqual(['web-a', 'web-b']);
    expect(HOSTS.map((h) => runtimeOf(sandbox(h)))).toEqual(['5.0.17', '5.0.17', '5.0.17', '5.0.17']);
    expect(await login(lb.url)).toBe(200);
    expect(nr.markers.filter((m) => m.groupId === events[0]!.run).map((m) => m.description?.split(']')[0])).toEqual(['[start', '[rolled_back']);
    const seconds = badChangeToRestoredLogin(events);
    console.log(`ssm: time from the bad change to restored login: ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(120);
  }, 180_000);

  it('(a) the honest upgrade on 4 instances with serial 2: healthy, markers recorded, exit 0; a second apply changes nothing', async () => {
    const r = await cli(['apply', UPGRADE, '-e', 'staging']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(HOSTS.map((h) => runtimeOf(sandbox(h)))).toEqual(['6.0.36', '6.0.36', '6.0.36', '6.0.36']);
    const events = lastJournal(project);
    expect(events.filter((e) => e.type === 'batch_start').map((e) => (e as { hosts: string[] }).hosts)).toEqual([['web-a', 'web-b'], ['web-c', 'web-d']]);
    expect(nr.markers.filter((m) => m.groupId === events[0]!.run).map((m) => m.description?.split(']')[0])).toEqual(['[start', '[success']);
    expect(await login(lb.url)).toBe(200);
    const again = await cli(['apply', UPGRADE, '-e', 'staging', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const end = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { summary: Record<string, { changed: number }> };
    expect(Object.values(end.summary).map((s) => s.changed)).toEqual([0, 0, 0, 0]);
  }, 240_000);
});
