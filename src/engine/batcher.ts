// Coalesces identical commands and file writes issued for many hosts in the same tick into ONE
// transport call, so SSM sends one SendCommand per task per 50 hosts instead of one per host.
import { createHash } from 'node:crypto';
import { Secret } from './secret.ts';
import type { Cmd, ExecOpts, ExecResult, Host, HostOutcome, PutFile, Transport } from '../transports/types.ts';

type Pending<T> = { hosts: Host[]; waiters: Map<string, (r: HostOutcome<T>) => void>; rejects: ((e: unknown) => void)[] };

function digest(parts: readonly unknown[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    if (p instanceof Uint8Array) h.update(p);
    else if (p instanceof Secret) h.update(`S:${p.reveal()}`);
    else h.update(JSON.stringify(p ?? null, (_k, v) => (v instanceof Secret ? `S:${v.reveal()}` : v)));
    h.update('\0');
  }
  return h.digest('hex');
}

export class Batcher {
  private readonly execs = new Map<string, Pending<ExecResult> & { cmd: Cmd; opts: ExecOpts }>();
  private readonly puts = new Map<string, Pending<void> & { file: PutFile; opts: ExecOpts }>();
  constructor(readonly transport: Transport) {}

  exec(host: Host, cmd: Cmd, opts: ExecOpts): Promise<HostOutcome<ExecResult>> {
    const key = digest([cmd.script.text, cmd.become, cmd.becomeUser, cmd.cwd, cmd.env, cmd.stdin, opts.timeoutMs]);
    return this.enqueue(this.execs, key, host, () => ({ cmd, opts }), (p) => this.transport.exec(p.hosts, p.cmd, p.opts));
  }

  put(host: Host, file: PutFile, opts: ExecOpts): Promise<HostOutcome<void>> {
    const content = file.content instanceof Secret ? file.content.reveal() : file.content;
    const key = digest([file.path, content, file.mode, file.owner, file.group, file.become, file.becomeUser]);
    return this.enqueue(this.puts, key, host, () => ({ file, opts }), (p) => this.transport.put(p.hosts, p.file, p.opts));
  }

  private enqueue<T, P extends Pending<T>>(
    table: Map<string, P>, key: string, host: Host, init: () => Omit<P, keyof Pending<T>>,
    send: (p: P) => Promise<ReadonlyMap<string, HostOutcome<T>>>,
  ): Promise<HostOutcome<T>> {
    let p = table.get(key);
    if (!p || p.waiters.has(host.name)) {
      p = { hosts: [], waiters: new Map(), rejects: [], ...init() } as unknown as P;
      table.set(key, p);
      const batch = p;
      setImmediate(() => {
        if (table.get(key) === batch) table.delete(key);
        send(batch).then(
          (res) => batch.waiters.forEach((resolve, name) => resolve(res.get(name)!)),
          (e) => batch.rejects.forEach((r) => r(e)),
        );
      });
    }
    const batch = p;
    batch.hosts.push(host);
    return new Promise((resolve, reject) => {
      batch.waiters.set(host.name, resolve);
      batch.rejects.push(reject);
    });
  }
}
