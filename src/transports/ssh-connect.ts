// Opening one SSH connection (node-ssh over ssh2): identity, verified host key, optional jump host,
// connect timeout, keepalive, and a bounded retry of the set-up only. Errors become TransportErrors.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import type { Duplex, Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { TransportError, type TransportErrorKind } from '../errors.ts';
import { hostKeyName, KnownHosts } from './ssh-known-hosts.ts';
import type { Host } from './types.ts';

/** The parts of ssh2's (untyped) Client, channel and SFTP objects this transport uses. */
export interface Ssh2Channel extends Duplex {
  readonly stderr: Readable;
  signal(name: string): void;
  close(): void;
}
export interface Ssh2Sftp {
  open(path: string, flags: string, attrs: { mode?: number }, cb: (err: Error | undefined, handle: Buffer) => void): void;
  write(handle: Buffer, buf: Buffer, off: number, len: number, pos: number, cb: (err: Error | undefined) => void): void;
  fchmod(handle: Buffer, mode: number, cb: (err: Error | undefined) => void): void;
  close(handle: Buffer, cb: (err: Error | undefined) => void): void;
  unlink(path: string, cb: (err: Error | undefined) => void): void;
  ext_openssh_rename(from: string, to: string, cb: (err: Error | undefined) => void): void;
  readFile(path: string, cb: (err: Error | undefined, data: Buffer) => void): void;
  end(): void;
}
export interface Ssh2Client {
  on(event: 'error', f: (err: Error) => void): this;
  on(event: 'close' | 'end', f: () => void): this;
  exec(command: string, cb: (err: Error | undefined, channel: Ssh2Channel) => void): boolean;
  sftp(cb: (err: Error | undefined, sftp: Ssh2Sftp) => void): boolean;
  forwardOut(srcIP: string, srcPort: number, dstIP: string, dstPort: number, cb: (err: Error | undefined, ch: Duplex) => void): boolean;
  setNoDelay(on: boolean): void;
  end(): void;
  destroy(): void;
}

export type ConnectSettings = {
  readonly knownHosts: KnownHosts;
  readonly identity?: string;
  /** ssh-agent socket (SSH_AUTH_SOCK), used when no identity file is given. */
  readonly agent?: string;
  readonly proxyJump?: string;
  readonly connectTimeoutMs: number;
  readonly keepaliveMs: number;
  readonly connectRetries: number;
};

/** A live connection; `jump` is the first hop when a proxy jump is configured. */
export type Connection = { readonly ssh: NodeSSH; readonly client: Ssh2Client; readonly user: string; readonly jump?: NodeSSH };

type Target = { readonly name: string; readonly address: string; readonly port: number; readonly user: string };

const RSA_ALGOS = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', ...RSA_ALGOS];

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
}

export function defaultKnownHosts(path?: string): string {
  return expandHome(path ?? '~/.ssh/known_hosts');
}

/** Credentials: the identity file if given, else the agent, else the default key files. */
async function credentials(identity: string | undefined, agentSocket: string | undefined): Promise<{ privateKey?: string; agent?: string }> {
  if (identity) return { privateKey: await readFile(expandHome(identity), 'utf8') };
  const agent = agentSocket || undefined;
  const file = ['~/.ssh/id_ed25519', '~/.ssh/id_rsa'].map(expandHome).find((f) => existsSync(f));
  return { agent, ...(file ? { privateKey: await readFile(file, 'utf8') } : {}) };
}

/** Parse `user@host:port` (user and port optional). */
export function parseJump(spec: string, fallbackUser: string): Target {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(spec.trim());
  if (!m) throw new TransportError('unreachable', spec, `cannot parse proxy_jump "${spec}" (want user@host:port)`);
  const address = m[2]!.replace(/^\[|\]$/g, '');
  return { name: spec, address, port: m[3] ? Number(m[3]) : 22, user: m[1] ?? fallbackUser };
}

function classify(err: unknown, target: Target, hostKeyFailure: string | undefined, timeoutMs: number): TransportError {
  if (err instanceof TransportError) return err;
  if (hostKeyFailure) return new TransportError('host_key', target.name, hostKeyFailure);
  const e = err as { code?: string; level?: string; message?: string };
  const msg = e?.message ?? String(err);
  let kind: TransportErrorKind = 'unreachable';
  let text = `cannot connect to ${target.address}:${target.port}: ${msg}`;
  if (e?.level === 'client-timeout' || e?.code === 'ETIMEDOUT') {
    kind = 'timeout';
    text = `no SSH handshake from ${target.address}:${target.port} within ${timeoutMs} ms`;
  } else if (e?.level === 'client-authentication' || e?.level === 'agent' || /private key|passphrase/i.test(msg)) {
    kind = 'auth';
    text = `${target.user}@${target.address}:${target.port} refused every key offered (${msg})`;
  }
  return new TransportError(kind, target.name, text, { cause: err });
}

async function algorithmsFor(knownHosts: KnownHosts, t: Target): Promise<{ serverHostKey?: string[] }> {
  const types = await knownHosts.typesFor(t.address, t.port);
  const algos = HOST_KEY_ALGOS.filter((a) => types.includes(a) || (a.startsWith('rsa-') && types.includes('ssh-rsa')));
  return algos.length > 0 ? { serverHostKey: algos } : {};
}

async function connectOnce(t: Target, s: ConnectSettings, signal: AbortSignal, sock?: Duplex): Promise<NodeSSH> {
  let hostKeyFailure: string | undefined;
  const ssh = new NodeSSH();
  const config = {
    ...(sock ? { sock } : { host: t.address }),
    port: t.port,
    username: t.user,
    ...(await credentials(s.identity, s.agent).catch((e: Error) => {
      throw new TransportError('auth', t.name, `cannot read the SSH identity: ${e.message}`);
    })),
    readyTimeout: s.connectTimeoutMs,
    keepaliveInterval: s.keepaliveMs,
    keepaliveCountMax: 3,
    algorithms: await algorithmsFor(s.knownHosts, t),
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      s.knownHosts.verify(t.address, t.port, key).then(
        (v) => { if (!v.ok) hostKeyFailure = v.message; verify(v.ok); },
        (e: Error) => { hostKeyFailure = `cannot check ${s.knownHosts.path}: ${e.message}`; verify(false); },
      );
    },
  };
  const known = config.algorithms.serverHostKey;
  // Cancelling (close() or the run's signal) ends a handshake in progress instead of waiting it out.
  const cancel = (): void => (ssh.connection as unknown as Ssh2Client | null)?.destroy();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    if (signal.aborted) throw new TransportError('unreachable', t.name, 'connection attempt cancelled');
    await ssh.connect(config as Parameters<NodeSSH['connect']>[0]);
    // node-ssh drops its error listener once ready; without one a later socket error would crash the process.
    const client = ssh.connection as unknown as Ssh2Client;
    client.on('error', () => undefined);
    // Small request packets must not wait for the server's delayed ACK (Nagle): 40 ms per command otherwise.
    client.setNoDelay(true);
    return ssh;
  } catch (err) {
    ssh.dispose();
    if (known && /no matching host key/i.test((err as Error).message ?? '')) {
      hostKeyFailure = `${s.knownHosts.path} lists only ${[...new Set(known.map((a) => a.replace(/^rsa-sha2-\d+$/, 'ssh-rsa')))].join(', ')} ` +
        `keys for ${hostKeyName(t.address, t.port)}, and the server offers none of those types`;
    }
    throw classify(err, t, hostKeyFailure, s.connectTimeoutMs);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

function forward(jump: NodeSSH, t: Target, timeoutMs: number): Promise<Duplex> {
  const client = jump.connection as unknown as Ssh2Client;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TransportError('timeout', t.name, `jump host did not open a channel to ${t.address}:${t.port} within ${timeoutMs} ms`)), timeoutMs);
    client.forwardOut('127.0.0.1', 0, t.address, t.port, (err, ch) => {
      clearTimeout(timer);
      if (err) reject(new TransportError('unreachable', t.name, `jump host cannot reach ${t.address}:${t.port}: ${err.message}`, { cause: err }));
      else resolve(ch);
    });
  });
}

async function connectVia(t: Target, s: ConnectSettings, signal: AbortSignal): Promise<Connection> {
  if (!s.proxyJump) {
    const ssh = await connectOnce(t, s, signal);
    return { ssh, client: ssh.connection as unknown as Ssh2Client, user: t.user };
  }
  const hop = parseJump(s.proxyJump, t.user);
  const jump = await connectOnce({ ...hop, name: t.name }, s, signal);
  try {
    const ssh = await connectOnce(t, s, signal, await forward(jump, t, s.connectTimeoutMs));
    return { ssh, client: ssh.connection as unknown as Ssh2Client, user: t.user, jump };
  } catch (err) {
    jump.dispose();
    throw err;
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

/** Connect with retries for transient set-up failures only (never for auth or host key problems). */
export async function connect(host: Host, s: ConnectSettings, signal: AbortSignal): Promise<Connection> {
  const t: Target = { name: host.name, address: host.address, port: host.port ?? 22, user: host.user ?? userInfo().username };
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectVia(t, s, signal);
    } catch (err) {
      if (signal.aborted) throw new TransportError('unreachable', t.name, 'connection attempt cancelled', { cause: err });
      const e = err instanceof TransportError ? err : classify(err, t, undefined, s.connectTimeoutMs);
      const transient = e.kind === 'unreachable' || e.kind === 'timeout';
      if (!transient || attempt >= s.connectRetries || signal.aborted) throw e;
      await sleep(150 * 2 ** attempt, signal);
    }
  }
}
