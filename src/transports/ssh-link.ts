// One host's SSH connection as the transport uses it: commands over at most a few channels at a time,
// a cached SFTP session, and a sticky "dropped" error once the connection is gone.
import { randomBytes } from 'node:crypto';
import { TransportError } from '../errors.ts';
import type { Secret } from '../engine/secret.ts';
import type { Connection, Ssh2Sftp } from './ssh-connect.ts';
import { commandFor, reapScript, runChannel, type Link, type RawResult } from './ssh-exec.ts';
import type { Session } from './ssh-files.ts';
import type { Cmd, ExecOpts, HostOutcome } from './types.ts';

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
export class HostLink implements Link, Session {
  private readonly slots = new Slots();
  private lost: TransportError | undefined;
  private readonly listeners = new Set<(e: TransportError) => void>();
  private sftpSession: Promise<HostOutcome<Ssh2Sftp>> | undefined;
  private inFlight = 0;
  private lostIdle = false;

  constructor(readonly host: string, readonly conn: Connection, private readonly becomePassword: Secret | undefined) {
    const drop = (why: string): void => {
      if (this.lost) return;
      this.lostIdle = this.inFlight === 0;
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

  /** Dropped while no command or transfer ran on it (a reboot between tasks): nothing was cut off, so
   *  a new connection may take over. A drop mid-command leaves the host's state unknown: it stays failed. */
  droppedIdle(): boolean {
    return this.lost !== undefined && this.lostIdle;
  }

  /** Run one transport call on this link, counted as in flight. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
    }
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
