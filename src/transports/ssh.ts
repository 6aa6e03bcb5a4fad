// The `ssh` transport: one connection per host, opened once and reused for every exec/put/get, with
// hosts worked on in parallel up to `forks`. A host whose connection fails or drops fails alone.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { TransportError } from '../errors.ts';
import type { Secret } from '../engine/secret.ts';
import { connect, defaultKnownHosts, type ConnectSettings, type Connection, type Ssh2Sftp } from './ssh-connect.ts';
import { commandFor, reapScript, runChannel, type Link, type RawResult } from './ssh-exec.ts';
import { getFile, putFile, type Session } from './ssh-files.ts';
import { KnownHosts } from './ssh-known-hosts.ts';
import { eachHost, type Cmd, type ExecOpts, type Host, type HostOutcome, type Transport } from './types.ts';

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
};

// sshd's MaxSessions (default 10) caps open channels per connection, SFTP included; past it a channel
// open fails. Commands beyond this many wait for a free channel (room is left for SFTP and a reaper).
const CHANNELS_PER_HOST = 7;

class Slots {
  private free = CHANNELS_PER_HOST;
  private readonly waiting: (() => void)[] = [];
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** One host's live connection plus what it learned: a drop, its SFTP session. */
class HostLink implements Link, Session {
  private readonly slots = new Slots();
  private lost: TransportError | undefined;
  private readonly listeners = new Set<(e: TransportError) => void>();
  private sftpSession: Promise<HostOutcome<Ssh2Sftp>> | undefined;

  constructor(readonly host: string, readonly conn: Connection, private readonly becomePassword: Secret | undefined) {
    const drop = (why: string): void => {
      if (this.lost) return;
      this.lost = new TransportError('unreachable', host, `connection dropped: ${why}`);
      for (const f of this.listeners) f(this.lost);
    };
    conn.client.on('error', (e) => drop(e.message));
    conn.client.on('close', () => drop('closed by the server or the network'));
    const jump = conn.jump?.connection as unknown as Connection['client'] | undefined;
    jump?.on('close', () => drop('the jump host connection closed'));
  }

  get client(): Connection['client'] {
    return this.conn.client;
  }

  dropped(): TransportError | undefined {
    return this.lost;
  }

  onDrop(f: (e: TransportError) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  async run(cmd: Cmd, opts: ExecOpts): Promise<HostOutcome<RawResult>> {
    const job = randomBytes(6).toString('hex');
    const { command, stdin } = commandFor(cmd, this.conn.user, this.becomePassword, job);
    await this.slots.acquire();
    try {
      return await runChannel(this, command, stdin, opts, () => this.reap(cmd, job));
    } finally {
      this.slots.release();
    }
  }

  /** Kill what is left of a timed-out or aborted command (outside the channel slots: it must not queue). */
  private async reap(cmd: Cmd, job: string): Promise<void> {
    const { command, stdin } = commandFor({ script: reapScript(job), become: cmd.become, becomeUser: cmd.becomeUser }, this.conn.user, this.becomePassword);
    await runChannel(this, command, stdin, { signal: new AbortController().signal, timeoutMs: 5000 });
  }

  sftp(): Promise<HostOutcome<Ssh2Sftp>> {
    this.sftpSession ??= new Promise((resolve) => {
      const fail = (why: string): void => {
        this.sftpSession = undefined;
        resolve({ ok: false, error: this.lost ?? new TransportError('unreachable', this.host, `cannot start SFTP: ${why}`) });
      };
      if (this.lost) return fail(this.lost.message);
      try {
        this.conn.client.sftp((err, sftp) => (err ? fail(err.message) : resolve({ ok: true, value: sftp })));
      } catch (err) {
        fail((err as Error).message);
      }
    });
    return this.sftpSession;
  }

  close(): void {
    this.lost ??= new TransportError('unreachable', this.host, 'connection closed by runbook');
    this.conn.ssh.dispose();
    this.conn.jump?.dispose();
  }
}

export function createSshTransport(opts: SshOpts): Transport {
  const forks = opts.forks ?? 50;
  const settings: ConnectSettings = {
    knownHosts: new KnownHosts(defaultKnownHosts(opts.knownHosts), opts.hostKeyPolicy ?? 'strict'),
    identity: opts.identity,
    proxyJump: opts.proxyJump,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    keepaliveMs: opts.keepaliveMs ?? 15_000,
    connectRetries: opts.connectRetries ?? 2,
  };
  // Per host name: the connection, or the error that stopped it (a failed host stays failed for the run).
  const links = new Map<string, Promise<HostOutcome<HostLink>>>();
  let closed = false;
  const closing = new AbortController();
  setMaxListeners(0, closing.signal);

  /** Connect, cancelled by the caller's signal or by close(). */
  const connectHost = (host: Host, signal: AbortSignal): Promise<Connection> => {
    const both = new AbortController();
    const cancel = (): void => both.abort();
    if (signal.aborted) cancel();
    signal.addEventListener('abort', cancel, { once: true });
    closing.signal.addEventListener('abort', cancel, { once: true });
    return connect(host, settings, both.signal).finally(() => {
      signal.removeEventListener('abort', cancel);
      closing.signal.removeEventListener('abort', cancel);
    });
  };

  const linkFor = (host: Host, signal: AbortSignal): Promise<HostOutcome<HostLink>> => {
    let link = links.get(host.name);
    if (!link) {
      link = closed
        ? Promise.resolve({ ok: false, error: new TransportError('unreachable', host.name, 'transport is closed') })
        : connectHost(host, signal).then(
            (conn) => ({ ok: true as const, value: new HostLink(host.name, conn, opts.becomePassword) }),
            (error: TransportError) => ({ ok: false as const, error }),
          );
      links.set(host.name, link);
    }
    return link;
  };

  // Every channel listens for abort: relay each caller signal once (shared by all calls that pass it) to a
  // child signal without a listener limit, so 50 hosts do not trip Node's listener-leak warning.
  const relays = new WeakMap<AbortSignal, AbortSignal>();
  const relayed = (signal: AbortSignal): AbortSignal => {
    let child = relays.get(signal);
    if (!child) {
      const c = new AbortController();
      setMaxListeners(0, c.signal);
      if (signal.aborted) c.abort(signal.reason);
      else signal.addEventListener('abort', () => c.abort(signal.reason), { once: true });
      child = c.signal;
      relays.set(signal, child);
    }
    return child;
  };

  const perHost = <T>(hosts: readonly Host[], signal: AbortSignal, f: (l: HostLink, s: AbortSignal) => Promise<HostOutcome<T>>) => {
    const child = relayed(signal);
    return eachHost(hosts, forks, async (h) => {
      const l = await linkFor(h, child);
      return l.ok ? f(l.value, child) : l;
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
    put: (hosts, file, execOpts) => perHost(hosts, execOpts.signal, (l, signal) => putFile(l, file, { ...execOpts, signal })),
    get: (hosts, path, execOpts) => perHost(hosts, execOpts.signal, (l, signal) => getFile(l, path, { ...execOpts, signal })),
    async close() {
      closed = true;
      closing.abort();
      const all = [...links.values()];
      links.clear();
      for (const l of await Promise.all(all)) if (l.ok) l.value.close();
    },
  };
}
