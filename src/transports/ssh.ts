// The `ssh` transport: one connection per host, opened once and reused for every exec/put/get, with
// hosts worked on in parallel up to `forks`. A host whose connection fails or drops fails alone.
import { setMaxListeners } from 'node:events';
import { TransportError } from '../errors.ts';
import type { Secret } from '../engine/secret.ts';
import { connect, defaultKnownHosts, type ConnectSettings, type Connection } from './ssh-connect.ts';
import { getFile, putFile } from './ssh-files.ts';
import { KnownHosts } from './ssh-known-hosts.ts';
import { HostLink } from './ssh-link.ts';
import { eachHost, type ExecOpts, type Host, type HostOutcome, type Transport } from './types.ts';

export type SshOpts = {
  forks?: number;
  knownHosts?: string;
  identity?: string;
  hostKeyPolicy?: 'strict' | 'accept-new';
  proxyJump?: string;
  becomePassword?: Secret;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
  connectRetries?: number;
  /** ssh-agent socket; default $SSH_AUTH_SOCK. Used when `identity` is unset. */
  agent?: string;
};

/** The connections of one run: opened on first use, cancelled and closed by close(). */
class Pool {
  // Per host name: the connection, or the error that stopped it (a host that cannot connect stays failed for the run).
  private readonly links = new Map<string, Promise<HostOutcome<HostLink>>>();
  private readonly closing = new AbortController();
  // Every channel listens for abort: each caller signal is relayed once (shared by all calls that pass it)
  // to a child signal without a listener limit, so 50 hosts do not trip Node's listener-leak warning.
  private readonly relays = new WeakMap<AbortSignal, AbortSignal>();

  constructor(private readonly settings: ConnectSettings, private readonly becomePassword: Secret | undefined) {
    setMaxListeners(0, this.closing.signal);
  }

  relayed(signal: AbortSignal): AbortSignal {
    let child = this.relays.get(signal);
    if (!child) {
      const c = new AbortController();
      setMaxListeners(0, c.signal);
      if (signal.aborted) c.abort(signal.reason);
      else signal.addEventListener('abort', () => c.abort(signal.reason), { once: true });
      child = c.signal;
      this.relays.set(signal, child);
    }
    return child;
  }

  linkFor(host: Host, signal: AbortSignal): Promise<HostOutcome<HostLink>> {
    const known = this.links.get(host.name);
    return known ? known.then((l) => (l.ok && l.value.droppedIdle() ? this.replace(host, signal, known, l.value) : l)) : this.open(host, signal);
  }

  /** A connection that dropped while idle (the host rebooted between tasks) is opened afresh, once per drop. */
  private replace(host: Host, signal: AbortSignal, known: Promise<HostOutcome<HostLink>>, old: HostLink): Promise<HostOutcome<HostLink>> {
    const current = this.links.get(host.name);
    if (current && current !== known) return current; // another caller is already reconnecting
    old.close();
    this.links.delete(host.name);
    return this.open(host, signal);
  }

  private open(host: Host, signal: AbortSignal): Promise<HostOutcome<HostLink>> {
    let link = this.links.get(host.name);
    if (!link) {
      link = this.closing.signal.aborted
        ? Promise.resolve({ ok: false, error: new TransportError('unreachable', host.name, 'transport is closed') })
        : this.connect(host, signal).then(
            (conn) => ({ ok: true as const, value: new HostLink(host.name, conn, this.becomePassword) }),
            (error: TransportError) => ({ ok: false as const, error }),
          );
      this.links.set(host.name, link);
    }
    return link;
  }

  /** Connect, cancelled by the caller's signal or by close(). */
  private connect(host: Host, signal: AbortSignal): Promise<Connection> {
    const both = new AbortController();
    const cancel = (): void => both.abort();
    if (signal.aborted) cancel();
    signal.addEventListener('abort', cancel, { once: true });
    this.closing.signal.addEventListener('abort', cancel, { once: true });
    return connect(host, this.settings, both.signal).finally(() => {
      signal.removeEventListener('abort', cancel);
      this.closing.signal.removeEventListener('abort', cancel);
    });
  }

  async close(): Promise<void> {
    this.closing.abort();
    const all = [...this.links.values()];
    this.links.clear();
    for (const l of await Promise.all(all)) if (l.ok) l.value.close();
  }
}

/** SFTP requests have no time limit or abort of their own: hold a whole put/get to the call's limit, and
 *  cut it there (the work sees its signal aborted, stops sending and never renames a late file into place). */
function bounded<T>(host: string, work: (signal: AbortSignal) => Promise<HostOutcome<T>>, opts: ExecOpts, signal: AbortSignal): Promise<HostOutcome<T>> {
  const cut = new AbortController();
  setMaxListeners(0, cut.signal);
  return new Promise((resolve, reject) => {
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          const error = new TransportError('timeout', host, `file transfer did not finish within ${opts.timeoutMs} ms`);
          resolve({ ok: false, error });
          cut.abort(error);
        }, opts.timeoutMs)
      : undefined;
    const onAbort = (): void => {
      reject(signal.reason);
      cut.abort(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work(cut.signal).then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}

export function createSshTransport(opts: SshOpts): Transport {
  const forks = opts.forks ?? 50;
  const pool = new Pool({
    knownHosts: new KnownHosts(defaultKnownHosts(opts.knownHosts), opts.hostKeyPolicy ?? 'strict'),
    identity: opts.identity,
    agent: opts.agent ?? process.env['SSH_AUTH_SOCK'],
    proxyJump: opts.proxyJump,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    keepaliveMs: opts.keepaliveMs ?? 15_000,
    connectRetries: opts.connectRetries ?? 2,
  }, opts.becomePassword);

  const perHost = <T>(hosts: readonly Host[], signal: AbortSignal, f: (l: HostLink, s: AbortSignal) => Promise<HostOutcome<T>>) => {
    const child = pool.relayed(signal);
    return eachHost(hosts, forks, async (h) => {
      const l = await pool.linkFor(h, child);
      return l.ok ? l.value.busy(() => f(l.value, child)) : l;
    });
  };

  return {
    kind: 'ssh',
    open: (hosts, signal) => perHost(hosts, signal, async () => ({ ok: true, value: undefined })),
    exec: (hosts, cmd, execOpts) =>
      perHost(hosts, execOpts.signal, async (l, signal) => {
        const r = await l.run(cmd, { ...execOpts, signal });
        if (!r.ok) return r;
        const { code, stdout, stderr, ms, truncated } = r.value;
        return { ok: true, value: { code, stdout: stdout.toString(), stderr: stderr.toString(), ms, ...(truncated ? { truncated } : {}) } };
      }),
    put: (hosts, file, execOpts) =>
      perHost(hosts, execOpts.signal, (l, signal) => bounded(l.host, (cut) => putFile(l, file, { ...execOpts, signal: cut }), execOpts, signal)),
    get: (hosts, path, execOpts) =>
      perHost(hosts, execOpts.signal, (l, signal) => bounded(l.host, (cut) => getFile(l, path, { ...execOpts, signal: cut }), execOpts, signal)),
    close: () => pool.close(),
  };
}
