// The one interface every transport (local, ssh, ssm) implements. One call covers many hosts;
// a non-zero exit is a value (ExecResult.code), only failures to reach a host are TransportErrors.
import type { TransportError } from '../errors.ts';
import type { Script } from '../engine/script.ts';
import type { Secret } from '../engine/secret.ts';

export interface Host {
  /** Inventory name (what --limit, output and the journal use). */
  readonly name: string;
  /** Where to connect: IP or DNS name (ssh), instance id (ssm), ignored (local). */
  readonly address: string;
  readonly user?: string;
  readonly port?: number;
  /** Host variables from the environment file (lowest precedence after runbook defaults). */
  readonly vars: Readonly<Record<string, unknown>>;
}

export type Cmd = {
  readonly script: Script;
  readonly become?: boolean;
  readonly becomeUser?: string;
  readonly stdin?: Uint8Array;
  readonly env?: Readonly<Record<string, string | Secret>>;
  readonly cwd?: string;
};

export type ExecOpts = {
  readonly signal: AbortSignal;
  /** Per-command limit; past it the host gets a TransportError of kind `timeout`. */
  readonly timeoutMs?: number;
  /** Streams output for -v; called with chunks as they arrive. */
  readonly onOutput?: (host: string, stream: 'stdout' | 'stderr', chunk: string) => void;
};

export type ExecResult = { readonly code: number; readonly stdout: string; readonly stderr: string; readonly ms: number; readonly truncated?: boolean };

export type PutFile = {
  readonly path: string;
  readonly content: Uint8Array | string | Secret;
  /** Octal permission bits, e.g. 0o640. Unset: keep the existing file's mode, or 0644 for a new file. */
  readonly mode?: number;
  readonly owner?: string;
  readonly group?: string;
  readonly become?: boolean;
  readonly becomeUser?: string;
};

export type HostOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: TransportError };
export type HostResults<T> = ReadonlyMap<string, HostOutcome<T>>;

export interface Transport {
  readonly kind: 'local' | 'ssh' | 'ssm';
  /** Connect to every host (a host that fails here fails for the whole run). */
  open(hosts: readonly Host[], signal: AbortSignal): Promise<HostResults<void>>;
  exec(hosts: readonly Host[], cmd: Cmd, opts: ExecOpts): Promise<HostResults<ExecResult>>;
  /** Write a file atomically (temp file + rename), setting mode/owner/group. */
  put(hosts: readonly Host[], file: PutFile, opts: ExecOpts): Promise<HostResults<void>>;
  /** Read a whole file from each host (the `fetch` module). */
  get(hosts: readonly Host[], path: string, opts: ExecOpts & { become?: boolean }): Promise<HostResults<Uint8Array>>;
  /** Idempotent; runs in finally and on SIGINT. */
  close(): Promise<void>;
}

/** Run `f` for every host with at most `forks` in flight; used by transports that work per host. */
export async function eachHost<T>(
  hosts: readonly Host[],
  forks: number,
  f: (host: Host) => Promise<HostOutcome<T>>,
): Promise<Map<string, HostOutcome<T>>> {
  const out = new Map<string, HostOutcome<T>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const host = hosts[next++]!;
      out.set(host.name, await f(host));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(forks, hosts.length)) }, worker));
  return new Map(hosts.map((h) => [h.name, out.get(h.name)!]));
}
