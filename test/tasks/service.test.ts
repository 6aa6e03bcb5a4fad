// service: table tests from recorded systemctl output; this machine has no systemd, so the real host
// check must fail with the clear message.
import { describe, expect, it } from 'vitest';
import service from '../../src/tasks/service.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { fakeSystemd } from '../fakes/systemd.ts';
import { localHost } from '../helpers/local-host.ts';

const unit = (active: string, enabled: string, load = 'loaded') => ({ 'systemd_unit:nginx': { code: active === 'active' ? 0 : 3, stdout: `load=${load}\nactive=${active}\nenabled=${enabled}\n` } });

describeTask(service, {
  ok: [
    { name: 'started and enabled', args: { name: 'nginx', state: 'started', enabled: true }, facts: unit('active', 'enabled'), why: 'nginx is active and enabled', result: { state: 'active' } },
    { name: 'stopped', args: { name: 'nginx', state: 'stopped' }, facts: unit('inactive', 'disabled'), why: 'nginx is inactive' },
    { name: 'failed counts as stopped', args: { name: 'nginx', state: 'stopped' }, facts: unit('failed', 'enabled') },
    { name: 'static units count as enabled', args: { name: 'nginx', enabled: true }, facts: unit('active', 'static') },
  ],
  change: [
    { name: 'start', args: { name: 'nginx', state: 'started' }, facts: unit('inactive', 'enabled'), changes: [{ kind: 'exec', why: 'will start nginx (inactive)', script: 'systemctl start -- nginx' }] },
    { name: 'stop and disable', args: { name: 'nginx', state: 'stopped', enabled: false }, facts: unit('active', 'enabled'),
      changes: [{ kind: 'exec', script: 'systemctl stop -- nginx' }, { kind: 'exec', script: 'systemctl disable -- nginx' }] },
    { name: 'restarted always restarts', args: { name: 'nginx', state: 'restarted' }, facts: unit('active', 'enabled'), changes: [{ kind: 'exec', why: 'will restart nginx', script: 'systemctl restart -- nginx' }] },
    { name: 'reloaded when running', args: { name: 'nginx', state: 'reloaded' }, facts: unit('active', 'enabled'), changes: [{ kind: 'exec', script: 'systemctl reload -- nginx' }] },
    { name: 'reloaded when stopped starts it', args: { name: 'nginx', state: 'reloaded' }, facts: unit('inactive', 'enabled'), changes: [{ kind: 'exec', script: 'systemctl start -- nginx' }] },
    { name: 'enable with daemon-reload first', args: { name: 'nginx', enabled: true, daemon_reload: true }, facts: unit('active', 'disabled'),
      changes: [{ kind: 'exec', script: 'systemctl daemon-reload' }, { kind: 'exec', script: 'systemctl enable -- nginx' }] },
  ],
  fail: [
    { name: 'no systemd', args: { name: 'nginx', state: 'started' }, host: { service_mgr: 'none' }, why: 'no systemd on web1: service module needs systemd' },
    { name: 'unknown unit', args: { name: 'nginx', state: 'started' }, facts: unit('inactive', '', 'not-found'), why: 'unit nginx not found on web1' },
  ],
  invalid: [
    { args: { name: 'nginx' }, error: 'must match a schema in anyOf' },
    { args: { name: 'nginx; reboot', state: 'started' }, error: 'name: must match pattern "^[A-Za-z0-9][A-Za-z0-9:_.@\\\\-]*$"' },
    { args: { name: 'nginx', state: 'running' }, error: 'state: must be equal to one of the allowed values' },
  ],
  valid: [{ name: 'app@1.service', state: 'restarted' }, { name: 'nginx', enabled: false }],
});

describe('service on this host', async () => {
  const h = await localHost();
  it('fails clearly: no systemd here (or, on a systemd machine, an unknown unit)', async () => {
    const r = await h.check(service, { name: 'runbook-no-such-unit', state: 'started' });
    if (h.info.facts.service_mgr === 'systemd') expect(r).toEqual({ status: 'fail', why: 'unit runbook-no-such-unit not found on local' });
    else expect(r).toEqual({ status: 'fail', why: 'no systemd on local: service module needs systemd' });
  });
});

describe('service on a host with a fake systemctl (test/fakes/systemd.ts)', async () => {
  const systemd = fakeSystemd(['app', 'worker']);
  const h = await localHost({ facts: { service_mgr: 'systemd' }, wrap: systemd.wrap });
  it('starts and enables, then a second run is ok; stops and disables, then ok', async () => {
    let r = await h.apply(service, { name: 'app', state: 'started', enabled: true });
    expect(r.before).toMatchObject({ status: 'change', changes: [{ why: 'will start app (inactive)' }, { why: 'will enable app' }] });
    expect(r.after).toMatchObject({ status: 'ok', why: 'app is active and enabled' });
    expect(systemd.state('app')).toEqual({ active: true, enabled: true });
    r = await h.apply(service, { name: 'app', state: 'stopped', enabled: false });
    expect(r.after.status).toBe('ok');
    expect(systemd.state('app')).toEqual({ active: false, enabled: false });
    expect(systemd.log()).toEqual(['start -- app', 'enable -- app', 'stop -- app', 'disable -- app']);
  });
  it('restarted always restarts; reloaded reloads a running unit and starts a stopped one; daemon_reload comes first', async () => {
    await h.apply(service, { name: 'worker', state: 'started' });
    const before = systemd.log().length;
    expect((await h.apply(service, { name: 'worker', state: 'restarted', daemon_reload: true })).after.status).toBe('change');
    await h.apply(service, { name: 'worker', state: 'reloaded' });
    await h.apply(service, { name: 'worker', state: 'stopped' });
    await h.apply(service, { name: 'worker', state: 'reloaded' });
    expect(systemd.log().slice(before)).toEqual(['daemon-reload', 'restart -- worker', 'reload -- worker', 'stop -- worker', 'start -- worker']);
    expect(systemd.state('worker').active).toBe(true);
  });
  it('an unknown unit fails clearly', async () => {
    expect(await h.check(service, { name: 'ghost', state: 'started' })).toEqual({ status: 'fail', why: 'unit ghost not found on local' });
  });
});

