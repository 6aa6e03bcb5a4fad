// package: table tests from recorded dpkg-query/apt-cache, rpm/dnf and apk output; on this Debian host a
// real query (coreutils present -> ok; a missing package -> the apt-get install change). Never installs.
import { describe, expect, it } from 'vitest';
import pkg from '../../src/tasks/package.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { fakeApt } from '../fakes/apt.ts';
import { localHost } from '../helpers/local-host.ts';
import { runYaml } from '../helpers/run-yaml.ts';

const DPKG = '@installed\ncurl\tinstall ok installed\t7.88.1-10\njq\tdeinstall ok config-files\t1.6-2.1\n';
const POLICY = `${DPKG}@upgradable\ncurl:\n  Installed: 7.88.1-10\n  Candidate: 7.88.1-10+deb12u8\njq:\n  Installed: (none)\n  Candidate: 1.6-2.1\n`;
const RPM = '@installed\nnginx\t1.20.1-14.el9\npackage jq is not installed\n';

describeTask(pkg, {
  ok: [
    { name: 'apt: installed', args: { name: 'curl' }, facts: { 'pkg_apt:curl': DPKG }, why: 'curl installed', result: { packages: { curl: '7.88.1-10' } } },
    { name: 'apt: absent (config-files only counts as absent)', args: { name: ['jq'], state: 'absent' }, facts: { 'pkg_apt:jq': DPKG }, why: 'jq not installed' },
    { name: 'dnf: installed', args: { name: 'nginx' }, host: { pkg_mgr: 'dnf' }, facts: { 'pkg_dnf:nginx': RPM } },
    { name: 'apk: latest and nothing upgradable', args: { name: 'curl', state: 'latest' }, host: { pkg_mgr: 'apk' }, facts: { 'pkg_apk_latest:curl': '@installed\ncurl\n@upgradable\nInstalled: Available:\n' }, why: 'at the latest version' },
  ],
  change: [
    { name: 'apt: install the missing one, update cache first', args: { name: ['curl', 'jq'], update_cache: true }, facts: { 'pkg_apt:curl,jq': DPKG },
      changes: [{ kind: 'exec', why: 'install jq', script: 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq' }] },
    { name: 'apt: latest upgrades and installs', args: { name: ['curl', 'jq'], state: 'latest' }, facts: { 'pkg_apt_latest:curl,jq': POLICY },
      changes: [{ kind: 'exec', why: 'install jq, upgrade curl', script: 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --only-upgrade curl' }] },
    { name: 'apt: remove', args: { name: 'curl', state: 'absent' }, facts: { 'pkg_apt:curl': DPKG }, changes: [{ kind: 'exec', script: 'DEBIAN_FRONTEND=noninteractive apt-get remove -y -q curl' }] },
    { name: 'dnf: install', args: { name: ['nginx', 'jq'] }, host: { pkg_mgr: 'dnf' }, facts: { 'pkg_dnf:nginx,jq': RPM }, changes: [{ kind: 'exec', script: 'dnf install -y -q jq' }] },
    { name: 'yum: latest', args: { name: 'nginx', state: 'latest' }, host: { pkg_mgr: 'yum' }, facts: { 'pkg_yum_latest:nginx': `${RPM}@upgradable\nnginx.x86_64  1:1.20.1-16.el9  appstream\n` },
      changes: [{ kind: 'exec', script: 'yum update -y -q nginx' }] },
    { name: 'apk: add', args: { name: 'jq' }, host: { pkg_mgr: 'apk' }, facts: { 'pkg_apk:jq': '@installed\n' }, changes: [{ kind: 'exec', script: 'apk add -q jq' }] },
  ],
  fail: [
    { name: 'unknown manager', args: { name: 'curl' }, host: { pkg_mgr: 'unknown' }, why: "no supported package manager on web1 (found 'unknown'); package supports apt, dnf, yum and apk" },
    { name: 'pacman is not supported', args: { name: 'curl' }, host: { pkg_mgr: 'pacman' }, why: "found 'pacman'" },
  ],
  throws: [{ name: 'query did not run', args: { name: 'curl' }, facts: { 'pkg_apt:curl': { code: 127, stderr: 'dpkg-query: not found' } }, error: 'package query failed (exit 127): dpkg-query: not found' }],
  invalid: [
    { args: { name: '-o Dpkg::x' }, error: 'name: must match pattern "^[A-Za-z0-9][A-Za-z0-9+._:-]*$"' },
    { args: { name: 'curl', state: 'installed' }, error: 'state: must be equal to one of the allowed values' },
    { args: { name: [] }, error: 'name: must NOT have fewer than 1 items' },
  ],
  valid: [{ name: 'libstdc++6' }, { name: ['python3.11', 'g++'], state: 'latest', update_cache: true }],
});

describe('package on this Debian host (query only)', async () => {
  const h = await localHost();
  it('this host uses apt', () => expect(h.info.facts.pkg_mgr).toBe('apt'));
  it('coreutils is present: ok with its version', async () => {
    const r = await h.check(pkg, { name: 'coreutils' });
    expect(r).toMatchObject({ status: 'ok', why: 'coreutils installed' });
    expect(r.status === 'ok' && (r.result?.packages as Record<string, string>).coreutils).toMatch(/^\d/);
  });
  it('a package that is not installed: plan shows the apt-get install', async () => {
    const r = await h.check(pkg, { name: ['coreutils', 'runbook-no-such-package'] });
    expect(r).toMatchObject({ status: 'change', changes: [{ kind: 'exec', why: 'install runbook-no-such-package' }] });
    expect(r.status === 'change' && r.changes[0]!.kind === 'exec' && r.changes[0]!.script.text).toBe('DEBIAN_FRONTEND=noninteractive apt-get install -y -q runbook-no-such-package');
  });
  it('latest reads the candidate version without changing anything', async () => {
    const r = await h.check(pkg, { name: 'coreutils', state: 'latest' });
    if (r.status === 'change') expect(r.changes).toMatchObject([{ why: 'upgrade coreutils' }]);
    else expect(r).toMatchObject({ status: 'ok', why: 'coreutils installed at the latest version' });
  });
});

describe('package through the engine on a host with a fake apt (test/fakes/apt.ts)', () => {
  const book = (state: string, names = '[fake-tool, fake-lib]'): string =>
    `name: t\nhosts: web\nenvironments: [test]\ntasks:\n  - name: pkgs\n    package: { name: ${names}, state: ${state} }\n`;
  const status = (r: Awaited<ReturnType<typeof runYaml>>): string => r.results('pkgs').map((e) => e.status).join();

  it('plan only queries; apply installs; a second apply is ok; latest upgrades; absent removes', async () => {
    const apt = fakeApt({ 'fake-tool': '1.0-1', 'fake-lib': '2.1-3' });
    const run = (state: string, mode: 'plan' | 'apply' = 'apply', names?: string) => runYaml(book(state, names), { mode, wrap: apt.wrap });
    expect(status(await run('present', 'plan'))).toBe('would_change');
    expect([apt.installed(), apt.log()]).toEqual([{}, []]);
    const first = await run('present');
    expect([status(first), first.exitCode]).toEqual(['changed', 0]);
    expect(apt.installed()).toEqual({ 'fake-tool': '1.0-1', 'fake-lib': '2.1-3' });
    expect(status(await run('present'))).toBe('ok');
    expect(status(await run('latest'))).toBe('ok');
    apt.publish('fake-tool', '1.1-1');
    expect(status(await run('latest', 'plan'))).toBe('would_change');
    expect(status(await run('latest'))).toBe('changed');
    expect(apt.installed()['fake-tool']).toBe('1.1-1');
    expect(status(await run('latest'))).toBe('ok');
    expect(status(await run('absent', 'apply', 'fake-lib'))).toBe('changed');
    expect(apt.installed()).toEqual({ 'fake-tool': '1.1-1' });
    expect(status(await run('absent', 'apply', 'fake-lib'))).toBe('ok');
    expect(apt.log()).toEqual(['install -y -q fake-tool fake-lib', 'install -y -q --only-upgrade fake-tool', 'remove -y -q fake-lib']);
  });

  it('a package the repository does not have fails the task with apt\'s message', async () => {
    const apt = fakeApt({});
    const r = await runYaml(book('present', 'nope-pkg'), { wrap: apt.wrap });
    expect(r.exitCode).toBe(1);
    expect(r.results('pkgs')[0]).toMatchObject({ status: 'failed', msg: expect.stringContaining('Unable to locate package nope-pkg') });
  });
});

