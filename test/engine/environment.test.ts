// Environments and host selection: groups, host and group vars, `hosts:` patterns (all, groups, names,
// globs, `:`/`,` unions, `!` exclusions, `&` intersections), --limit, and the input errors (exit 2)
// for unknown environments, groups and hosts; then --limit through the spawned CLI.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadEnvironment, selectHosts } from '../../src/engine/environment.ts';
import { cliProject, runbookCli } from '../helpers/cli-project.ts';

const ENV = `protected: true
transport: ssh
vars: { public_url: "https://app.example.com" }
groups:
  web:
    vars: { role: web, port: 80 }
    hosts:
      web1: { address: 10.0.1.5, user: deploy }
      web2: { address: 10.0.1.6, vars: { port: 8080 } }
      web3: {}
  db:
    vars: { role: db }
    hosts:
      db1: { address: 10.0.2.5 }
      web3: {}
`;

function inventory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-env-'));
  writeFileSync(join(dir, 'prod.yml'), ENV);
  writeFileSync(join(dir, 'staging.yml'), 'transport: local\ngroups: {}\n');
  return dir;
}

describe('loadEnvironment', () => {
  it('reads groups, addresses, users and host vars over group vars', async () => {
    const env = await loadEnvironment(inventory(), 'prod');
    expect(env).toMatchObject({ name: 'prod', protected: true, transport: 'ssh', vars: { public_url: 'https://app.example.com' },
      groups: { web: ['web1', 'web2', 'web3'], db: ['db1', 'web3'] } });
    const by = Object.fromEntries(env.hosts.map((h) => [h.name, h]));
    expect(by.web1).toMatchObject({ address: '10.0.1.5', user: 'deploy', groups: ['web'], vars: { role: 'web', port: 80 } });
    expect(by.web2!.vars).toEqual({ role: 'web', port: 8080 });
    expect(by.web3).toMatchObject({ address: 'web3', groups: ['web', 'db'], vars: { role: 'db', port: 80 } });
    expect(by.web1!.at).toMatchObject({ line: 8, col: 7 });
  });

  it('an unknown environment is an input error naming the known ones and a guess', async () => {
    const err = await loadEnvironment(inventory(), 'prd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/unknown environment 'prd': no .*prd\.yml \(known: prod, staging; did you mean 'prod'\?\)/);
    await expect(loadEnvironment(inventory(), '../prod')).rejects.toThrow("invalid environment name '../prod'");
  });
});

describe('selectHosts', () => {
  const names = async (pattern: string, limit?: string): Promise<string[]> =>
    selectHosts(await loadEnvironment(inventory(), 'prod'), pattern, limit).map((h) => h.name);

  it('matches all, groups, names, globs, unions, exclusions and intersections, in inventory order', async () => {
    expect(await names('all')).toEqual(['web1', 'web2', 'web3', 'db1']);
    expect(await names('web')).toEqual(['web1', 'web2', 'web3']);
    expect(await names('db1')).toEqual(['db1']);
    expect(await names('web*')).toEqual(['web1', 'web2', 'web3']);
    expect(await names('web2:db')).toEqual(['web2', 'web3', 'db1']);
    expect(await names('web,!web3')).toEqual(['web1', 'web2']);
    expect(await names('web:&db')).toEqual(['web3']);
  });

  it('--limit narrows the runbook\'s hosts and never widens them', async () => {
    expect(await names('web', 'web1')).toEqual(['web1']);
    expect(await names('web', 'db')).toEqual(['web3']);
    expect(await names('web', 'web1:db1')).toEqual(['web1']);
    expect(await names('web', '!web2')).toEqual(['web1', 'web3']); // a leading exclusion starts from all hosts
    expect(await names('!db')).toEqual(['web1', 'web2']);
    expect(await names('&db')).toEqual(['web3', 'db1']);
  });

  it('unknown names and empty selections are input errors with the pattern', async () => {
    const env = await loadEnvironment(inventory(), 'prod');
    expect(() => selectHosts(env, 'wbe')).toThrow("hosts: no group or host named 'wbe' in environment prod; did you mean 'web'?");
    expect(() => selectHosts(env, 'web', 'web9')).toThrow("--limit: no group or host named 'web9' in environment prod");
    expect(() => selectHosts(env, 'db', 'web1')).toThrow("no hosts match 'db' with --limit web1 in environment prod");
    try {
      selectHosts(env, 'nope');
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).exitCode).toBe(2);
    }
  });
});

describe('--limit through the CLI', () => {
  it('plans only the limited hosts; an unknown one exits 2', async () => {
    const dir = cliProject({ dev: 'transport: local\ngroups:\n  web:\n    hosts:\n      h1: {}\n      h2: {}\n      h3: {}\n' },
      { 'rb.yml': 'name: t\nhosts: web\nenvironments: [dev]\ntasks:\n  - command: "true"\n' });
    const r = await runbookCli(dir, ['plan', 'rb.yml', '-e', 'dev', '--limit', 'h1:h3', '--json']);
    expect(r.code).toBe(0);
    const start = JSON.parse(r.stdout.split('\n')[0]!) as { type: string; hosts: string[] };
    expect(start).toMatchObject({ type: 'run_start', hosts: ['h1', 'h3'] });
    const bad = await runbookCli(dir, ['plan', 'rb.yml', '-e', 'dev', '--limit', 'h9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--limit: no group or host named 'h9' in environment dev");
  });
});
