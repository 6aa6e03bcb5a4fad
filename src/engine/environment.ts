// Loads environments/<env>.yml (schema-checked, secret-scanned) and selects hosts by the runbook's
// `hosts:` pattern and --limit. Unknown environments, groups and hosts are input errors (exit 2).
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError, type Diagnostic } from '../errors.ts';
import type { Environment, HostSpec } from './model.ts';
import { parseChecked, readSource } from './loader.ts';
import { didYouMean } from './schema.ts';
import { joinPointer, type YamlSource } from './yaml-source.ts';

type Raw = Record<string, unknown>;

export async function knownEnvironments(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => /\.ya?ml$/.test(n)).map((n) => n.replace(/\.ya?ml$/, '')).sort();
}

export async function loadEnvironment(dir: string, name: string): Promise<Environment> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.')) throw new InputError(`invalid environment name '${name}'`);
  const file = [join(dir, `${name}.yml`), join(dir, `${name}.yaml`)].find((f) => existsSync(f));
  if (!file) {
    const known = await knownEnvironments(dir);
    const guess = didYouMean(name, known);
    throw new InputError(`unknown environment '${name}': no ${join(dir, name)}.yml` +
      (known.length ? ` (known: ${known.join(', ')}${guess ? `; did you mean '${guess}'?` : ''})` : ` (no environments in ${dir})`));
  }
  const shown = relative(process.cwd(), file) || file;
  const { text } = await readSource(shown);
  const src = parseChecked(shown, text, 'environment');
  const doc = src.value as Raw;
  const hosts = new Map<string, HostSpec>();
  const groups: Record<string, string[]> = {};
  for (const [group, g] of Object.entries((doc.groups as Raw | undefined) ?? {})) {
    const gv = (g ?? {}) as Raw;
    groups[group] = [];
    for (const [hostName, h] of Object.entries((gv.hosts as Raw | undefined) ?? {})) {
      const hv = (h ?? {}) as Raw;
      groups[group]!.push(hostName);
      const prev = hosts.get(hostName);
      hosts.set(hostName, {
        name: hostName, address: String(hv.address ?? prev?.address ?? hostName),
        user: (hv.user as string | undefined) ?? prev?.user, port: (hv.port as number | undefined) ?? prev?.port,
        groups: [...(prev?.groups ?? []), group],
        vars: { ...(prev?.vars ?? {}), ...((gv.vars as Raw | undefined) ?? {}), ...((hv.vars as Raw | undefined) ?? {}) },
        at: src.keyLocOf(joinPointer('/groups', group, 'hosts', hostName)),
      });
    }
  }
  const bad: Diagnostic[] = [...hosts.values()].flatMap((h) => hostDiagnostics(src, h));
  if (bad.length) throw new InputError(bad);
  const ssh = (doc.ssh as Raw | undefined) ?? {};
  const ssm = (doc.ssm as Raw | undefined) ?? {};
  const gate = (doc.gate as Raw | undefined) ?? {};
  const nr = (doc.newrelic as Raw | undefined) ?? {};
  const lock = (doc.lock as Raw | undefined) ?? {};
  return {
    name, file, source: text, at: src.locOf(''),
    protected: doc.protected === true, transport: doc.transport as Environment['transport'],
    vars: (doc.vars as Raw | undefined) ?? {}, hosts: [...hosts.values()], groups,
    ssh: { knownHosts: ssh.known_hosts as string | undefined, identity: ssh.identity as string | undefined,
      hostKeyPolicy: (ssh.host_key_policy as 'strict' | 'accept-new' | undefined) ?? 'strict', proxyJump: ssh.proxy_jump as string | undefined,
      becomePasswordEnv: ssh.become_password_env as string | undefined, connectTimeout: ssh.connect_timeout as string | undefined },
    ssm: { region: ssm.region as string | undefined, targets: ssm.targets as Environment['ssm']['targets'],
      maxConcurrency: ssm.max_concurrency as string | undefined, maxErrors: ssm.max_errors as string | number | undefined, fleet: ssm.fleet as boolean | undefined },
    gate: { approvals: (gate.approvals as number | undefined) ?? 1, require: (gate.require as 'merged' | 'approved' | undefined) ?? 'merged',
      breakGlass: gate.break_glass === true },
    newrelic: { required: nr.required === true, accountId: nr.account_id as number | undefined },
    requireRollback: doc.require_rollback === true,
    lock: { backend: (lock.backend as 'file' | 'git' | undefined) ?? 'file', lease: lock.lease as string | undefined },
  };
}

/** Host names become file names (fetch) and command arguments; addresses go into known_hosts lines. */
function hostDiagnostics(src: YamlSource, h: HostSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!/^[A-Za-z0-9_.:@-]+$/.test(h.name)) out.push({ loc: h.at, message: `invalid host name '${h.name}' (letters, digits, . _ - : @ only)` });
  else if (/^[.-]/.test(h.name)) out.push({ loc: h.at, message: `invalid host name '${h.name}': must not start with '.' or '-'` });
  if (/[\s\u0000-\u001f\u007f]/.test(h.address) || h.address.startsWith('-')) {
    const loc = src.locOf(joinPointer('/groups', h.groups.at(-1)!, 'hosts', h.name, 'address'));
    out.push({ loc, message: `invalid address for host '${h.name}': no spaces, control characters or leading '-'` });
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

/** Hosts matched by one pattern term: `all`, a group, a host name, or a glob over host names. */
function matchTerm(env: Environment, term: string): HostSpec[] | undefined {
  if (term === 'all' || term === '*') return [...env.hosts];
  if (env.groups[term]) return env.hosts.filter((h) => h.groups.includes(term));
  const exact = env.hosts.filter((h) => h.name === term);
  if (exact.length) return exact;
  if (/[*?]/.test(term)) {
    const re = globToRegExp(term);
    return env.hosts.filter((h) => re.test(h.name) || h.groups.some((g) => re.test(g)));
  }
  return undefined;
}

/** Apply a pattern like `web:db,!web3` (union of terms, `!` excludes, `&` intersects; a leading `!`/`&` starts from all). */
export function matchPattern(env: Environment, pattern: string, what: string): HostSpec[] {
  const terms = pattern.split(/[,:]/).map((t) => t.trim()).filter(Boolean);
  // as in Ansible, a pattern that opens with `!x` or `&x` starts from all hosts (`--limit '!web3'`)
  let selected = new Set<string>(/^[!&]/.test(terms[0] ?? '') ? env.hosts.map((h) => h.name) : []);
  const errors: string[] = [];
  for (const raw of terms) {
    const op = raw[0] === '!' || raw[0] === '&' ? raw[0] : '';
    const term = op ? raw.slice(1) : raw;
    const hit = matchTerm(env, term);
    if (!hit) {
      const guess = didYouMean(term, [...Object.keys(env.groups), ...env.hosts.map((h) => h.name)]);
      errors.push(`${what}: no group or host named '${term}' in environment ${env.name}${guess ? `; did you mean '${guess}'?` : ''}`);
      continue;
    }
    const names = new Set(hit.map((h) => h.name));
    if (op === '!') selected = new Set([...selected].filter((n) => !names.has(n)));
    else if (op === '&') selected = new Set([...selected].filter((n) => names.has(n)));
    else names.forEach((n) => selected.add(n));
  }
  if (errors.length) throw new InputError(errors.join('\n'));
  return env.hosts.filter((h) => selected.has(h.name));
}

export function selectHosts(env: Environment, pattern: string, limit?: string): HostSpec[] {
  let hosts = matchPattern(env, pattern, 'hosts');
  if (limit) {
    const allowed = new Set(matchPattern(env, limit, '--limit').map((h) => h.name));
    hosts = hosts.filter((h) => allowed.has(h.name));
  }
  if (hosts.length === 0) throw new InputError(`no hosts match '${pattern}'${limit ? ` with --limit ${limit}` : ''} in environment ${env.name}`);
  return hosts;
}
