// runbooks/upgrade-runtime.yml and the example environments as a team would adopt them (issue #8, item 1):
// they validate through the real CLI with no warning; the runbook has the pre-checks, a pinned and
// checksum-verified install, the three documented infrastructure steps, handlers, serial, health with the
// login and New Relic checks, and a rollback; staging is ssh, prod is ssm and protected.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../src/engine/environment.ts';
import { loadRunbook } from '../../src/engine/loader.ts';
import { flatten } from '../../src/engine/semantic.ts';
import { BIN, REPO, UPGRADE } from '../helpers/flagship.ts';

const validate = (...args: string[]) => spawnSync(process.execPath, [BIN, 'validate', ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

describe('the flagship runbook and its example environments', () => {
  it('validate (as the README says) with exit 0 and no warning, for each environment the runbook names', () => {
    const all = validate('runbooks/upgrade-runtime.yml', 'runbooks/install-app.yml', 'environments/staging.yml', 'environments/prod.yml', 'environments/demo.yml');
    expect([all.status, all.stderr]).toEqual([0, '']);
    expect(all.stdout).toContain('runbooks/upgrade-runtime.yml: ok (');
    for (const env of ['demo', 'staging', 'prod']) expect(validate('-e', env, 'runbooks/upgrade-runtime.yml').status, env).toBe(0);
  });

  it('staging is reached over ssh; prod over ssm, protected, markers required, rollback required', async () => {
    const staging = await loadEnvironment(join(REPO, 'environments'), 'staging');
    expect([staging.transport, staging.protected]).toEqual(['ssh', false]);
    const prod = await loadEnvironment(join(REPO, 'environments'), 'prod');
    expect([prod.transport, prod.protected, prod.requireRollback, prod.newrelic.required]).toEqual(['ssm', true, true, true]);
    expect(prod.ssm.targets?.length).toBeGreaterThan(0);
  });

  it('has the pre-checks, the pinned install, the infrastructure steps, handlers, serial, health and rollback', async () => {
    const rb = await loadRunbook(UPGRADE);
    const tasks = flatten(rb.tasks);
    const tagged = (tag: string): string[] => tasks.filter((t) => t.tags.includes(tag)).map((t) => t.name);
    expect(tagged('precheck')).toEqual(expect.arrayContaining(['Current runtime', 'Free disk space (KB) where the runtime goes',
      'Enough disk space for the new runtime', 'The app is healthy before the change']));
    expect(rb.vars).toMatchObject({ dotnet_full_version: expect.stringMatching(/^\d+\.\d+\.\d+$/), dotnet_install_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(rb.source).toMatch(/sha256sum -c/);
    expect(rb.source).toMatch(/--version \{\{ dotnet_full_version \}\}/);
    expect(tasks.some((t) => t.module === 'package')).toBe(true);
    // each infrastructure step says which failure it prevents, right above its tasks
    for (const n of [1, 2, 3]) expect(rb.source, `step ${n}`).toMatch(new RegExp(`# Infrastructure step ${n}: .*\\n  # Prevents: \\S`));
    expect(tagged('infra').length).toBeGreaterThanOrEqual(3);
    expect(rb.handlers.map((h) => h.name)).toEqual(['restart app', 'reload proxy']);
    expect(rb.serial).toEqual([2]);
    const checks = rb.health!.checks;
    expect(checks.find((c) => c.http)?.http).toMatchObject({ method: 'POST', status: 200, contains: 'Welcome' });
    expect(checks.map((c) => c.preset?.kind).filter(Boolean)).toEqual(['apdex_below', 'error_rate_above']);
    expect(rb.hasRollback).toBe(true);
    expect(rb.rollback[0]!.name).toBe('Point the runtime back to the previous version');
  });
});
