// The `ssm` transport: EC2 instances reached through AWS Systems Manager (no SSH keys, no S3). One
// SendCommand per call per 50 instances (or one fleet send with Targets), results polled in bulk.
import { randomBytes } from 'node:crypto';
import { SSMClient } from '@aws-sdk/client-ssm';
import { TransportError } from '../errors.ts';
import { Script } from '../engine/script.ts';
import { commandFor } from './ssh-exec.ts';
import { SsmApi } from './ssm-api.ts';
import { BATCH, onlineIds, runOnInstances, type Fleet, type InstanceResult, type RunSettings } from './ssm-command.ts';
import { getFile, putFile } from './ssm-files.ts';
import type { Cmd, ExecOpts, ExecResult, Host, HostOutcome, HostResults, Transport } from './types.ts';

/** Scripts longer than this (bytes) are staged as a file first: SSM caps the size of a command document. */
const INLINE_LIMIT = 56 * 1024;

export type SsmTargets = { key: string; values: string[] }[];

export type SsmOpts = {
  region?: string;
  forks?: number;
  /** Poll interval bounds for ListCommandInvocations (exponential backoff with jitter between them). */
  pollMinMs?: number;
  pollMaxMs?: number;
  fleet?: { targets: SsmTargets; maxConcurrency?: string; maxErrors?: string | number };
  /** A ready client (tests, bench); otherwise one is made with the default credential provider chain. */
  client?: SSMClient;
  /** Called once per SSM API request actually sent (retries included). */
  onApiCall?: (op: string) => void;
};

/** `Role` means the tag Role; `tag:Role`, `InstanceIds` and `resource-groups:*` keys pass as they are. */
export function targetKey(key: string): string {
  return /^(tag:|tag-key$|InstanceIds$|resource-groups:)/.test(key) ? key : `tag:${key}`;
}

function makeClient(region: string | undefined): SSMClient {
  // maxAttempts 1: SsmApi retries (bounded, with jitter) so every request is counted once.
  return new SSMClient({ region: region ?? process.env.AWS_REGION, maxAttempts: 1 });
}

/** The script SSM runs (as root): stdin as a base64 heredoc piped into `sh -c`, sudo only for another user. */
export function ssmScript(cmd: Cmd): Script {
  const { command } = commandFor({ ...cmd, stdin: undefined }, 'root');
  if (!cmd.stdin?.length) return new Script(`${command} < /dev/null`, cmd.script.shown);
  const b64 = Buffer.from(cmd.stdin).toString('base64').replace(/.{1,76}/g, '$&\n');
  return new Script(`base64 -d <<'RUNBOOK_STDIN' | ${command}\n${b64}RUNBOOK_STDIN\n`, cmd.script.shown);
}

function toOutcome(host: Host, r: InstanceResult | undefined): HostOutcome<ExecResult> {
  if (!r) return { ok: false, error: new TransportError('unreachable', host.name, `no SSM result for ${host.address}`) };
  if (!r.ok) return { ok: false, error: new TransportError(r.kind, host.name, r.why) };
  return { ok: true, value: { code: r.code, stdout: r.stdout, stderr: r.stderr, ms: r.ms, ...(r.truncated ? { truncated: true } : {}) } };
}

/** A host opens when SSM reports its instance Online (DescribeInstanceInformation, 50 ids per call). */
async function openHosts(api: SsmApi, hosts: readonly Host[]): Promise<HostResults<void>> {
  const ids = [...new Set(hosts.map((h) => h.address))];
  const online = new Set<string>();
  const errors = new Map<string, string>();
  const batches = Array.from({ length: Math.ceil(ids.length / BATCH) }, (_, i) => ids.slice(i * BATCH, (i + 1) * BATCH));
  await Promise.all(batches.map((b) => onlineIds(api, b).then(
    (s) => s.forEach((id) => online.add(id)),
    (e: Error) => b.forEach((id) => errors.set(id, `SSM API: ${e.name}: ${e.message}`)),
  )));
  return new Map(hosts.map((h): [string, HostOutcome<void>] => [h.name, online.has(h.address)
    ? { ok: true, value: undefined }
    : { ok: false, error: new TransportError('unreachable', h.name, errors.get(h.address) ?? `${h.address} is not an online SSM managed instance`) }]));
}

export function createSsmTransport(opts: SsmOpts): Transport {
  const client = opts.client ?? makeClient(opts.region);
  const api = new SsmApi({ client, onApiCall: opts.onApiCall });
  const settings: RunSettings = { api, pollMinMs: opts.pollMinMs ?? 250, pollMaxMs: opts.pollMaxMs ?? 4000, forks: opts.forks ?? 50 };
  let fleetIds: Set<string> | undefined;
  const fleet: Fleet | undefined = opts.fleet && {
    targets: opts.fleet.targets.map((t) => ({ Key: targetKey(t.key), Values: t.values })),
    maxConcurrency: opts.fleet.maxConcurrency, maxErrors: opts.fleet.maxErrors === undefined ? undefined : String(opts.fleet.maxErrors),
  };
  let closed = false;

  const exec = async (hosts: readonly Host[], cmd: Cmd, eo: ExecOpts): Promise<HostResults<ExecResult>> => {
    if (closed) return new Map(hosts.map((h) => [h.name, { ok: false, error: new TransportError('unreachable', h.name, 'transport is closed') }]));
    const out = new Map<string, HostOutcome<ExecResult>>();
    let script = ssmScript(cmd).text;
    let live = hosts;
    if (Buffer.byteLength(script) > INLINE_LIMIT) {
      // Too big for one command document: stage the script as a file (chunked put), then run and remove it.
      const stage = `.runbook-stage-${randomBytes(6).toString('hex')}.sh`;
      const put = await putFile(exec, hosts, { path: stage, content: script, mode: 0o700 }, eo);
      for (const [name, r] of put) if (!r.ok) out.set(name, r);
      live = hosts.filter((h) => put.get(h.name)!.ok);
      script = `sh ${stage}; s=$?; rm -f ${stage}; exit $s`;
    }
    // Fleet mode only when the hosts are exactly the online instances the targets name (never one outside --limit).
    const ids = new Set(live.map((h) => h.address));
    const all = fleet !== undefined && fleetIds !== undefined && ids.size > 1 && ids.size === fleetIds.size && [...fleetIds].every((id) => ids.has(id));
    const results = live.length ? await runOnInstances(settings, live.map((h) => h.address), script, eo, all ? fleet : undefined) : new Map();
    for (const h of live) {
      const o = toOutcome(h, results.get(h.address));
      if (o.ok && eo.onOutput) {
        if (o.value.stdout) eo.onOutput(h.name, 'stdout', o.value.stdout);
        if (o.value.stderr) eo.onOutput(h.name, 'stderr', o.value.stderr);
      }
      out.set(h.name, o);
    }
    return new Map(hosts.map((h) => [h.name, out.get(h.name)!]));
  };

  return {
    kind: 'ssm',
    async open(hosts) {
      // Fleet mode needs the set the targets resolve to; if that cannot be read, plain batches are used.
      if (opts.fleet) fleetIds = await describeTargets(api, opts.fleet.targets).then((l) => new Set(l.filter((i) => i.ping === 'Online').map((i) => i.id)), () => undefined);
      return openHosts(api, hosts);
    },
    exec,
    put: (hosts, file, eo) => putFile(exec, hosts, file, eo),
    get: (hosts, path, eo) => getFile(exec, hosts, path, eo),
    async close() {
      if (closed) return;
      closed = true;
      if (!opts.client) client.destroy();
    },
  };
}

type Described = { id: string; name?: string; ping: string };

/** Every managed instance matching the target filters (paginated DescribeInstanceInformation). */
async function describeTargets(api: SsmApi, targets: SsmTargets): Promise<Described[]> {
  const out: Described[] = [];
  let NextToken: string | undefined;
  do {
    const r = await api.call('DescribeInstanceInformation', {
      Filters: targets.map((t) => ({ Key: targetKey(t.key), Values: t.values })), MaxResults: 50, NextToken,
    });
    for (const i of r.InstanceInformationList ?? []) {
      if (i.InstanceId) out.push({ id: i.InstanceId, ...(i.Name ? { name: i.Name } : {}), ping: i.PingStatus ?? 'Unknown' });
    }
    NextToken = r.NextToken;
  } while (NextToken);
  return out;
}

/** Instances matching the tag filters: online ones become hosts (named by their Name, else the id). */
export async function discoverSsmHosts(opts: { region?: string; targets: SsmTargets; client?: SSMClient }): Promise<{ hosts: Host[]; offline: { id: string; name?: string; status: string }[] }> {
  const client = opts.client ?? makeClient(opts.region);
  try {
    const found = await describeTargets(new SsmApi({ client }), opts.targets);
    return {
      hosts: found.filter((i) => i.ping === 'Online').map((i) => ({ name: i.name ?? i.id, address: i.id, vars: {} })),
      offline: found.filter((i) => i.ping !== 'Online').map((i) => ({ id: i.id, ...(i.name ? { name: i.name } : {}), status: i.ping })),
    };
  } finally {
    if (!opts.client) client.destroy();
  }
}
