// The flagship end to end over a real sshd: runbooks/upgrade-runtime.yml on 4 hosts, serial 2,
// apps behind a load balancer, markers in the New Relic fake. (b) replays the 2021 outage (the
// infrastructure step skipped): health catches it on batch 1, batch 2 is never touched, rollback
// restores login, exit 5. (a) the honest upgrade: exit 0, then a second apply changes nothing.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoadBalancer, type LoadBalancer } from '../../scripts/demo-lb.ts';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';
import { startSshd, TEST_USER, type Sshd } from '../helpers/sshd.ts';
import { git, makeWorld } from '../fakes/github/scenario.ts';
import { snapshot } from '../helpers/snapshot.ts';
import { badChangeToRestoredLogin, flagshipVars, lastJournal, login as loginAt, newRelicEnv, RUNBOOKS, runCli, runtimeOf as runtimeAt, touchedHosts, UPGRADE } from '../helpers/flagship.ts';

const HOSTS = ['web-a', 'web-b', 'web-c', 'web-d'];
const PORTS = [28181, 28182, 28183, 28184];

let sshd: Sshd;
let lb: LoadBalancer;
let nr: NewRelicFake;
let project: string;

function environment(): string {
  const hosts = HOSTS.map((h, i) => `      ${h}: ${JSON.stringify({ address: '127.0.0.1', port: sshd.port, user: TEST_USER,
    vars: { root: join(sshd.dataDir, h), app_port: PORTS[i] } })}`);
  return ['transport: ssh', ...flagshipVars(lb.url), 'groups:', '  web:', '    hosts:', ...hosts,
    `ssh: ${JSON.stringify({ known_hosts: sshd.knownHosts, identity: sshd.identity })}`, ''].join('\n');
}

const cli = (args: string[], cwd = project, extra: NodeJS.ProcessEnv = {}) => runCli(args, cwd, { ...newRelicEnv(nr.url), ...extra });
const journal = () => lastJournal(project);
const runtimeOf = (h: string): string => runtimeAt(join(sshd.dataDir, h));
const login = () => loginAt(lb.url);

beforeAll(async () => {
  sshd = await startSshd();
  lb = await startLoadBalancer(PORTS);
  nr = await startNewRelicFake({ apiKey: 'e2e-key', entities: [{ name: 'webapp-staging', guid: 'E2E-GUID', accountId: 1 }] });
  project = mkdtempSync(join(tmpdir(), 'rb-e2e-'));
  mkdirSync(join(project, 'environments'));
  writeFileSync(join(project, 'environments', 'staging.yml'), environment());
  const install = await cli(['apply', join(RUNBOOKS, 'install-app.yml'), '-e', 'staging']);
  expect(install.code, install.stdout + install.stderr).toBe(0);
  expect(await login()).toBe(200);
}, 120_000);

afterAll(async () => {
  for (const h of HOSTS) spawn('sh', [join(sshd.dataDir, h, 'opt/webapp/appctl'), 'stop']);
  await lb?.stop();
  await nr?.stop();
  await sshd?.stop();
});

describe('upgrade-runtime.yml over ssh', () => {
  it('(b) without the infrastructure step: batch 1 fails health, batch 2 untouched, rollback restores login, exit 5', async () => {
    const r = await cli(['apply', UPGRADE, '-e', 'staging', '--skip-tags', 'infra']);
    expect(r.code, r.stdout + r.stderr).toBe(5);
    const events = journal();
    expect(touchedHosts(events)).toEqual(['web-a', 'web-b']);
    expect(HOSTS.map(runtimeOf)).toEqual(['5.0.17', '5.0.17', '5.0.17', '5.0.17']);
    expect(await login()).toBe(200);
    const outcome = nr.markers.filter((m) => m.groupId === events[0]!.run);
    expect(outcome.map((m) => m.description?.split(']')[0])).toEqual(['[start', '[rolled_back']);
    const seconds = badChangeToRestoredLogin(events);
    console.log(`time from the bad change to restored login: ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(120);
  }, 180_000);

  it('(a) the honest upgrade on 4 hosts with serial 2: healthy, markers recorded, exit 0; a second apply changes nothing', async () => {
    const r = await cli(['apply', UPGRADE, '-e', 'staging']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(HOSTS.map(runtimeOf)).toEqual(['6.0.36', '6.0.36', '6.0.36', '6.0.36']);
    const events = journal();
    expect(events.filter((e) => e.type === 'batch_start').map((e) => (e as { hosts: string[] }).hosts)).toEqual([['web-a', 'web-b'], ['web-c', 'web-d']]);
    expect(nr.markers.filter((m) => m.groupId === events[0]!.run).map((m) => m.description?.split(']')[0])).toEqual(['[start', '[success']);
    expect(await login()).toBe(200);
    const again = await cli(['apply', UPGRADE, '-e', 'staging', '--json']);
    expect(again.code).toBe(0);
    const end = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { summary: Record<string, { changed: number }> };
    expect(Object.values(end.summary).map((s) => s.changed)).toEqual([0, 0, 0, 0]);
  }, 240_000);

  it('(c) the same upgrade on protected prod without an approving review: exit 3, nothing changed on any host', async () => {
    const w = await makeWorld();
    try {
      const files: Record<string, string> = { 'environments/prod.yml': `protected: true\n${environment().replace('vars:\n', 'vars:\n  newrelic_app: webapp-staging\n')}` };
      for (const f of ['upgrade-runtime.yml', 'files/server.mjs', 'files/appctl.sh.j2', 'files/dotnet-standin.sh.j2', 'files/app.env.j2', 'files/webapp.service.j2']) {
        files[`runbooks/${f}`] = readFileSync(join(RUNBOOKS, f), 'utf8');
      }
      git(w.work, ['checkout', '-q', '-b', 'upgrade']);
      w.commit(files, 'bob', 'upgrade the runtime');
      w.merge(w.openPr(1, 'bob', 'upgrade'));
      const before = snapshot(sshd.dataDir);
      const r = await cli(['apply', 'runbooks/upgrade-runtime.yml', '-e', 'prod', '--yes'], w.work, w.env);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(r.stderr).toMatch(/review gate refused/);
      expect(snapshot(sshd.dataDir)).toEqual(before);
    } finally {
      await w.close();
    }
  }, 120_000);
});
