// Shared front half of plan / apply / gate: load and check the runbook and environment, select
// hosts, parse --extra-vars, resolve secrets. Everything here is input checking (exit 2).
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { InputError } from '../errors.ts';
import { loadEnvironment, selectHosts } from '../engine/environment.ts';
import { loadRunbook } from '../engine/loader.ts';
import type { Environment, HostSpec, Runbook } from '../engine/model.ts';
import { resolveSecrets } from '../engine/secrets.ts';
import type { Secret } from '../engine/secret.ts';
import { environmentDiagnostics, rollbackPolicy } from '../engine/semantic.ts';
import { scanSecrets } from '../engine/secret-scan.ts';
import { undefinedVarDiagnostics } from '../engine/undefined-vars.ts';
import type { Host } from '../transports/types.ts';

export type CommonOpts = {
  env: string; inventory: string; limit?: string; tags?: string; skipTags?: string; forks: string; json?: boolean;
  extraVars: string[]; yes?: boolean; color?: boolean; verbose?: boolean;
};

export type Prepared = {
  runbook: Runbook; env: Environment; hosts: Host[]; secrets: Record<string, Secret>;
  extraVars: Record<string, unknown>; warnings: string[]; discoveredOffline: string[];
};

export function parseExtraVars(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    if (item.startsWith('@')) {
      const file = item.slice(1);
      let text: string;
      try { text = readFileSync(file, 'utf8'); } catch { throw new InputError(`--extra-vars ${item}: cannot read ${file}`); }
      const found = scanSecrets(file, text);
      if (found.length) throw new InputError(found);
      const doc = parse(text) as unknown;
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new InputError(`--extra-vars ${item}: must be a YAML mapping`);
      Object.assign(out, doc);
      continue;
    }
    const i = item.indexOf('=');
    if (i <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(item.slice(0, i))) throw new InputError(`--extra-vars '${item.split('=')[0]}': use name=value or @file.yml`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function toHost(h: HostSpec): Host {
  return { name: h.name, address: h.address, user: h.user, port: h.port, vars: h.vars };
}

export function parseForks(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InputError(`--forks ${text}: must be a whole number from 1 to 10000`);
  return n;
}

/** Hosts found by SSM tags join the group the runbook targets (offline ones are reported). */
async function discover(env: Environment, pattern: string): Promise<{ env: Environment; offline: string[] }> {
  if (env.transport !== 'ssm' || !env.ssm.targets?.length || env.hosts.length) return { env, offline: [] };
  const { discoverSsmHosts } = await import('../transports/ssm.ts');
  const found = await discoverSsmHosts({ region: env.ssm.region, targets: env.ssm.targets.map((t) => ({ key: t.key, values: [...t.values] })) });
  const group = /^[A-Za-z0-9_-]+$/.test(pattern) && pattern !== 'all' ? pattern : 'ssm';
  const hosts: HostSpec[] = found.hosts.map((h) => ({ name: h.name, address: h.address, groups: [group], vars: {}, at: env.at }));
  return { env: { ...env, hosts, groups: { ...env.groups, [group]: hosts.map((h) => h.name) } },
    offline: found.offline.map((o) => `${o.name ?? o.id} (${o.id}): ${o.status}`) };
}

export async function prepare(runbookPath: string, o: CommonOpts): Promise<Prepared> {
  const runbook = await loadRunbook(runbookPath);
  const envDiags = environmentDiagnostics(runbook, o.env);
  if (envDiags.length) throw new InputError(envDiags);
  const loaded = await loadEnvironment(resolve(o.inventory), o.env);
  const { env, offline } = await discover(loaded, runbook.hosts);
  const hosts = selectHosts(env, runbook.hosts, o.limit).map(toHost);
  const extraVars = parseExtraVars(o.extraVars);
  const undefinedVars = undefinedVarDiagnostics(runbook, env, extraVars);
  if (undefinedVars.length) throw new InputError(undefinedVars);
  const secrets = resolveSecrets(runbook, env.vars);
  const warnings: string[] = [];
  const policy = rollbackPolicy(runbook, env, relative(process.cwd(), runbook.file));
  if (policy.error) throw new InputError([policy.error]);
  if (policy.warning) warnings.push(policy.warning);
  return { runbook, env, hosts, secrets, extraVars, warnings, discoveredOffline: offline };
}

export function splitList(v: string | undefined): string[] {
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}
