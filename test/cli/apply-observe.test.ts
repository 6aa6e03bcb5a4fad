// New Relic through the real CLI (issue #7): the marker carries the gate's evidence (commit, PR link,
// approvers as changelog, GitHub operator, run id as groupId); no key is one line; `newrelic.required`
// and `require_rollback` refuse before any change; a rollback that fails exits 6 with a failed marker;
// every health measurement is an event in --json and in the journal; `validate` warns on protected environments.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';
import { git, makeWorld, RUNBOOK } from '../fakes/github/scenario.ts';
import { spawnNode } from '../helpers/spawn-async.ts';
import { startVersionApp } from '../helpers/version-app.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
const KEY = 'NRAK-OBSERVE000000000000000000';
const GUID = 'MXxBUE18QVBQTElDQVRJT058NDI';
let nr: NewRelicFake;
let app: Awaited<ReturnType<typeof startVersionApp>>;
let appUrl = '';

beforeAll(async () => {
  nr = await startNewRelicFake({ apiKey: KEY, entities: [{ name: 'webapp-prod', guid: GUID, accountId: 1 }] });
  app = await startVersionApp(); // fails while the file named by ?f= holds v2
  appUrl = app.url;
});
afterAll(async () => { app.stop(); await nr.stop(); });

const nrEnv = (): NodeJS.ProcessEnv => ({ NEW_RELIC_API_KEY: KEY, NEW_RELIC_API_URL: nr.url, NEW_RELIC_ACCOUNT_ID: '1' });
const cli = async (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> => {
  const r = await spawnNode(BIN, args, { cwd, env: { ...process.env, NO_COLOR: '1', NEW_RELIC_API_KEY: '', NEW_RELIC_LICENSE_KEY: '', GITHUB_TOKEN: '', GH_TOKEN: '', GITHUB_ACTOR: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A runbook writing `version` to out/<host>, checked by the app, with an optional rollback. */
const runbook = (o: { version: string; rollback?: string; health?: boolean; newrelic?: boolean; guid?: string }): string =>
  `name: deploy\nhosts: web\nenvironments: [dev, prod]\nvars: { version: "${o.version}" }\n` +
  (o.newrelic === false ? '' : o.guid ? `newrelic: { guid: ${o.guid} }\n` : 'newrelic: { entity: webapp-prod, deployment_type: ROLLING }\n') +
  'tasks:\n  - name: write\n    copy: { content: "{{ version }}", dest: "{{ out }}/{{ inventory_hostname }}" }\n' +
  (o.health === false ? '' : `health:\n  interval: 10ms\n  count: 2\n  failure_limit: 0\n  checks:\n    - name: login\n      http: { url: "${appUrl}/?f={{ out }}/web1", status: 200, contains: Welcome }\n`) +
  (o.rollback ? `rollback:\n  - ${o.rollback}\n` : '');

function project(env: string, files: Record<string, string>, hosts = ['web1']): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rb-observe-'));
  const out = join(dir, 'out');
  mkdirSync(out);
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { out: "${out}" }\ngroups: { web: { hosts: { ${hosts.map((h) => `${h}: {}`).join(', ')} } } }\n${env}`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, out };
}

const lines = (text: string): { type: string; [k: string]: unknown }[] => text.trim().split('\n').map((l) => JSON.parse(l) as { type: string });

describe('markers from a gated apply', { timeout: 90_000 }, () => {
  it('carry the gate evidence: commit, PR link, approvers as changelog, the GitHub operator, the run id as groupId', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rb-observe-out-'));
    const w = await makeWorld({ envPolicy: `protected: true\ntransport: local\nvars: { out: "${out}" }\ngroups: { web: { hosts: { web1: {} } } }\ngate: { approvals: 1 }\n` });
    try {
      git(w.work, ['checkout', '-q', '-b', 'feature']);
      w.commit({ [RUNBOOK]: runbook({ version: '2.1', rollback: 'file: { path: "{{ out }}/{{ inventory_hostname }}", state: absent }' }) }, 'bob', 'deploy 2.1');
      const pr = w.openPr(1, 'bob', 'feature');
      w.review(pr, 'alice', 'APPROVED');
      w.merge(pr);
      const started = Date.now();
      const r = await cli(w.work, ['apply', RUNBOOK, '-e', 'prod', '--yes', '--json'], { ...w.env, ...nrEnv() });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const events = lines(r.stdout);
      const run = events[0]!.run as string;
      const mine = nr.markers.filter((m) => m.groupId === run);
      expect(mine.map((m) => m.description)).toEqual(['[start] runbook apply deploy on prod (PR #1)', '[success] runbook apply deploy on prod (PR #1): success (healthy)']);
      const head = git(w.work, ['rev-parse', 'HEAD']);
      expect(mine[0]).toMatchObject({ entityGuid: GUID, version: '2.1', commit: head, deepLink: 'https://github.com/acme/app/pull/1', user: 'carol', deploymentType: 'ROLLING' });
      expect(mine[0]!.changelog).toMatch(/^PR #1 Change 1 \(https:\/\/github\.com\/acme\/app\/pull\/1\)\napproved by @alice at [0-9a-f]{12}/);
      expect(mine[0]!.changelog).toContain(`${RUNBOOK} ${git(w.work, ['rev-parse', `HEAD:${RUNBOOK}`]).slice(0, 12)}`);
      expect(mine[0]!.timestamp).toBeGreaterThanOrEqual(started);
      expect(mine[1]!.timestamp).toBeGreaterThanOrEqual(mine[0]!.timestamp!);
      // each measurement of each check is one event, on stdout and in the journal alike
      const measurements = events.filter((e) => e.type === 'health_measurement');
      expect(measurements.map((e) => [e.check, e.measurement, e.of, e.ok])).toEqual([['login', 1, 2, true], ['login', 2, 2, true]]);
      const journal = readFileSync(join(w.work, '.runbook', 'runs', `${run}.jsonl`), 'utf8');
      expect(lines(journal).filter((e) => e.type === 'health_measurement')).toEqual(measurements);
    } finally {
      await w.close();
    }
  });
});

describe('New Relic configuration', () => {
  it('no key: one clear line, and the apply goes on', async () => {
    const { dir, out } = project('', { 'rb.yml': runbook({ version: 'v1', rollback: 'command: "true"' }) });
    const r = await cli(dir, ['apply', 'rb.yml', '-e', 'dev']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => /New Relic/.test(l))).toEqual(['New Relic marker skipped: New Relic is not configured (NEW_RELIC_API_KEY unset)']);
    expect(readFileSync(join(out, 'web1'), 'utf8')).toBe('v1');
  });

  it('newrelic.required: true without a key: exit 2 before any change, nothing recorded as run', async () => {
    const { dir, out } = project('newrelic: { required: true }\n', { 'rb.yml': runbook({ version: 'v1', rollback: 'command: "true"' }) });
    const r = await cli(dir, ['apply', 'rb.yml', '-e', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/environment dev sets newrelic.required, but NEW_RELIC_API_KEY is not set/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(dir, '.runbook', 'runs'))).toBe(false);
  });

  it('a start marker New Relic refuses: a warning and the apply goes on, unless newrelic.required stops it before the first task', async () => {
    const files = { 'rb.yml': runbook({ version: 'v1', rollback: 'command: "true"', guid: 'NO-SUCH-ENTITY' }) };
    const loose = project('', files);
    const r = await cli(loose.dir, ['apply', 'rb.yml', '-e', 'dev'], nrEnv());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/warning: could not record the start marker \(continuing\): .*Entity NO-SUCH-ENTITY not found/);
    expect(readFileSync(join(loose.out, 'web1'), 'utf8')).toBe('v1');
    const strict = project('newrelic: { required: true }\n', files);
    const s = await cli(strict.dir, ['apply', 'rb.yml', '-e', 'dev'], nrEnv());
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/Entity NO-SUCH-ENTITY not found/);
    expect(readdirSync(strict.out)).toEqual([]);
  });
});

describe('rollback outcomes through the CLI', () => {
  it('unhealthy, and the rollback itself fails: exit 6, a human must act, the outcome marker says failed', async () => {
    const { dir, out } = project('', { 'rb.yml': runbook({ version: 'v2', rollback: 'command: "false"' }) });
    const r = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--json'], nrEnv());
    expect(r.code).toBe(6);
    const events = lines(r.stdout);
    expect(events.find((e) => e.type === 'rollback' && e.state === 'end')).toMatchObject({ ok: false, hosts: ['web1'] });
    expect(events.at(-1)).toMatchObject({ type: 'run_end', exitCode: 6, message: expect.stringMatching(/rollback failed; a human must act/) });
    expect(nr.markers.filter((m) => m.groupId === events[0]!.run).map((m) => m.description?.split(']')[0])).toEqual(['[start', '[failed']);
    expect(readFileSync(join(out, 'web1'), 'utf8')).toBe('v2');
  });

  it('unhealthy, rollback restores health: exit 5 and the outcome marker says rolled_back', async () => {
    const { dir, out } = project('', { 'rb.yml': runbook({ version: 'v2', rollback: 'copy: { content: v1, dest: "{{ out }}/{{ inventory_hostname }}" }' }) });
    const r = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--json'], nrEnv());
    expect(r.code).toBe(5);
    const events = lines(r.stdout);
    expect(events.filter((e) => e.type === 'health_result').map((e) => [e.phase, e.healthy])).toEqual([['after_tasks', false], ['after_rollback', true]]);
    expect(nr.markers.filter((m) => m.groupId === events[0]!.run).map((m) => m.description?.split(']')[0])).toEqual(['[start', '[rolled_back']);
    expect(readFileSync(join(out, 'web1'), 'utf8')).toBe('v1');
  });
});

describe('a task that fails in a rolling apply', () => {
  it('stops the rollout at its batch and rolls back only the hosts that changed: exit 1, marker rolled_back', async () => {
    const rb = 'name: roll\nhosts: web\nenvironments: [dev]\nserial: 2\nnewrelic: { entity: webapp-prod }\ntasks:\n' +
      '  - name: precheck\n    command: test "{{ inventory_hostname }}" != web2\n' +
      '  - name: write\n    copy: { content: v3, dest: "{{ out }}/{{ inventory_hostname }}" }\n' +
      'rollback:\n  - copy: { content: rolled-back, dest: "{{ out }}/{{ inventory_hostname }}" }\n';
    const { dir, out } = project('', { 'rb.yml': rb }, ['web1', 'web2', 'web3', 'web4']);
    const r = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--json'], nrEnv());
    expect(r.code, r.stderr).toBe(1);
    const events = lines(r.stdout);
    expect(events.filter((e) => e.type === 'batch_start').map((e) => e.hosts)).toEqual([['web1', 'web2']]);
    expect(events.find((e) => e.type === 'rollback' && e.state === 'start')).toMatchObject({ hosts: ['web1'], reason: expect.stringMatching(/1 of 2 hosts failed in batch 1/) });
    expect(readdirSync(out).sort()).toEqual(['web1']);
    expect(readFileSync(join(out, 'web1'), 'utf8')).toBe('rolled-back');
    expect(nr.markers.filter((m) => m.groupId === events[0]!.run).map((m) => m.description?.split(']')[0])).toEqual(['[start', '[rolled_back']);
  });
});

describe('a protected environment expects rollback: and health:', () => {
  const protectedEnv = (extra = ''): string => `protected: true\n${extra}`;

  it('validate and plan warn; apply with require_rollback: true exits 2 before the gate or any change', async () => {
    const { dir, out } = project(protectedEnv(), { 'rb.yml': runbook({ version: 'v1', health: false, newrelic: false }) });
    const v = await cli(dir, ['validate', 'rb.yml']);
    expect(v.code).toBe(0);
    expect(v.stderr).toBe('warning: rb.yml: runs on protected environment dev without rollback: and health:\n');
    const json = await cli(dir, ['validate', 'rb.yml', '--json']);
    expect(lines(json.stdout)).toEqual([{ type: 'warning', file: 'rb.yml', message: 'rb.yml: runs on protected environment dev without rollback: and health:' },
      { type: 'validate', file: 'rb.yml', ok: true }]);
    const plan = await cli(dir, ['plan', 'rb.yml', '-e', 'dev']);
    expect(plan.stdout).toContain('warning: rb.yml: runs on protected environment dev without rollback: and health:');

    writeFileSync(join(dir, 'environments', 'dev.yml'), readFileSync(join(dir, 'environments', 'dev.yml'), 'utf8') + 'require_rollback: true\n');
    const strict = await cli(dir, ['validate', 'rb.yml']);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain('rb.yml:1:1: environment dev requires rollback: and health:, and this runbook has no rollback: and health:');
    const apply = await cli(dir, ['apply', 'rb.yml', '-e', 'dev', '--yes']);
    expect(apply.code).toBe(2);
    expect(apply.stderr).toMatch(/requires rollback: and health:/);
    expect(apply.stderr).not.toMatch(/review gate/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('validate is quiet about a runbook with both, and about environments that are not protected', async () => {
    const { dir } = project(protectedEnv(), { 'full.yml': runbook({ version: 'v1', rollback: 'command: "true"', newrelic: false }) });
    const full = await cli(dir, ['validate', 'full.yml']);
    expect([full.code, full.stderr]).toEqual([0, '']);
    const open = project('', { 'bare.yml': runbook({ version: 'v1', health: false, newrelic: false }) });
    const bare = await cli(open.dir, ['validate', 'bare.yml']);
    expect([bare.code, bare.stderr]).toEqual([0, '']);
  });
});
