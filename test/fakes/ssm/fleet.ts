// The emulated fleet behind the SSM emulator: instances (tags, ping status, per-instance sandbox) and
// commands whose invocations really run `sh` in the sandbox, asynchronously, with SSM's statuses and limits.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive';
export type InstanceSpec = { id?: string; name?: string; tags?: Record<string, string>; ping?: PingStatus; undeliverable?: boolean };
export type Instance = { id: string; name?: string; tags: Record<string, string>; ping: PingStatus; undeliverable: boolean; sandbox: string };

export type FleetLimits = {
  /** Delay before an invocation starts (Pending -> InProgress) and before a failure is reported. */
  latencyMs: number;
  /** How long an offline instance stays Pending before DeliveryTimedOut. */
  deliveryTimeoutMs: number;
  /** StandardOutputContent limit of GetCommandInvocation (SSM: 24,000 chars). */
  outputLimit: number;
  /** StandardErrorContent limit (SSM: 8,000 chars). */
  errorLimit: number;
  /** CommandPlugins[].Output limit of ListCommandInvocations (SSM: 2,500 chars). */
  detailLimit: number;
  /** Commands running at once across the whole fleet (keeps 1,000 instances cheap). */
  concurrency: number;
};

export type InvocationStatus = 'Pending' | 'InProgress' | 'Delayed' | 'Success' | 'Cancelled' | 'TimedOut' | 'Failed' | 'Cancelling';

export type Invocation = {
  readonly commandId: string; readonly instanceId: string; readonly requestedAt: number;
  status: InvocationStatus; details: string; code: number; stdout: string; stderr: string;
  child?: ChildProcess; timer?: NodeJS.Timeout;
};

export type Command = {
  readonly id: string; readonly script: string; readonly executionTimeoutS: number; readonly requestedAt: number;
  readonly targetIds: readonly string[]; readonly invocations: Map<string, Invocation>;
  readonly maxConcurrency: number; readonly maxErrors: number; readonly parameters: Record<string, string[]>;
  queue: string[]; errors: number; cancelled: boolean;
};

const TERMINAL = new Set<InvocationStatus>(['Success', 'Cancelled', 'TimedOut', 'Failed']);
const KEEP = 1 << 20;

export const isTerminal = (s: InvocationStatus): boolean => TERMINAL.has(s);

/** "10", "25%" -> a count out of `total` (SSM's MaxConcurrency / MaxErrors syntax). */
export function parseLimit(v: string | undefined, total: number, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  return v.endsWith('%') ? Math.floor((Number(v.slice(0, -1)) / 100) * total) : Number(v);
}

export class Fleet {
  readonly instances = new Map<string, Instance>();
  readonly commands = new Map<string, Command>();
  private running = 0;
  private stopped = false;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly root: string, specs: readonly InstanceSpec[], readonly limits: FleetLimits) {
    specs.forEach((s, i) => {
      const id = s.id ?? `i-${(0x1000000 + i).toString(16).padStart(17, '0')}`;
      const sandbox = join(root, id);
      mkdirSync(sandbox, { recursive: true });
      const tags = { ...(s.name ? { Name: s.name } : {}), ...s.tags };
      this.instances.set(id, { id, name: s.name ?? tags.Name, tags, ping: s.ping ?? 'Online', undeliverable: !!s.undeliverable, sandbox });
    });
  }

  /** Instances matching SSM Targets ([{Key: 'tag:Role', Values}] or [{Key: 'InstanceIds', Values}]). */
  resolveTargets(targets: readonly { Key: string; Values: string[] }[]): string[] {
    return [...this.instances.values()].filter((inst) => targets.every((t) => {
      if (t.Key === 'InstanceIds') return t.Values.includes(inst.id);
      if (t.Key.startsWith('tag:')) return t.Values.includes(inst.tags[t.Key.slice(4)] ?? '\0');
      if (t.Key === 'tag-key') return t.Values.some((k) => k in inst.tags);
      return false;
    })).map((i) => i.id);
  }

  send(script: string, ids: readonly string[], opts: { executionTimeoutS: number; maxConcurrency?: string; maxErrors?: string; parameters: Record<string, string[]> }): Command {
    const cmd: Command = {
      id: randomUUID(), script, executionTimeoutS: opts.executionTimeoutS, requestedAt: Date.now() / 1000, targetIds: [...ids],
      invocations: new Map(), queue: [...ids], errors: 0, cancelled: false, parameters: opts.parameters,
      maxConcurrency: Math.max(1, parseLimit(opts.maxConcurrency, ids.length, 50)),
      maxErrors: parseLimit(opts.maxErrors, ids.length, ids.length),
    };
    this.commands.set(cmd.id, cmd);
    this.pump(cmd);
    return cmd;
  }

  /** Dispatch queued targets up to MaxConcurrency; stop dispatching once errors exceed MaxErrors. */
  private pump(cmd: Command): void {
    const active = [...cmd.invocations.values()].filter((i) => !isTerminal(i.status)).length;
    let room = cmd.maxConcurrency - active;
    while (room-- > 0 && cmd.queue.length && !cmd.cancelled && cmd.errors <= cmd.maxErrors) {
      const id = cmd.queue.shift()!;
      const inv: Invocation = { commandId: cmd.id, instanceId: id, requestedAt: Date.now() / 1000, status: 'Pending', details: 'Pending', code: -1, stdout: '', stderr: '' };
      cmd.invocations.set(id, inv);
      this.deliver(cmd, inv);
    }
    if (cmd.errors > cmd.maxErrors) cmd.queue = [];
  }

  private deliver(cmd: Command, inv: Invocation): void {
    const inst = this.instances.get(inv.instanceId)!;
    if (inst.ping !== 'Online') {
      inv.timer = setTimeout(() => this.finish(cmd, inv, 'TimedOut', 'DeliveryTimedOut', -1), this.limits.deliveryTimeoutMs);
      return;
    }
    inv.timer = setTimeout(() => {
      if (inst.undeliverable) return this.finish(cmd, inv, 'Failed', 'Undeliverable', -1);
      inv.status = 'InProgress';
      inv.details = 'InProgress';
      void this.slot().then(() => this.run(cmd, inv, inst));
    }, this.limits.latencyMs);
  }

  private slot(): Promise<void> {
    if (this.running < this.limits.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private run(cmd: Command, inv: Invocation, inst: Instance): void {
    if (isTerminal(inv.status) || this.stopped) return this.release();
    // `sh -c` like the agent's script file; the emulator caps documents at 64 KB, far below the argument limit.
    const child = spawn('sh', ['-c', cmd.script], {
      cwd: inst.sandbox, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SSM_SANDBOX: inst.sandbox, SSM_INSTANCE_ID: inst.id },
    });
    inv.child = child;
    child.stdout!.on('data', (b: Buffer) => { if (inv.stdout.length < KEEP) inv.stdout += b.toString(); });
    child.stderr!.on('data', (b: Buffer) => { if (inv.stderr.length < KEEP) inv.stderr += b.toString(); });
    inv.timer = setTimeout(() => { this.kill(inv); this.finish(cmd, inv, 'TimedOut', 'ExecutionTimedOut', -1); }, cmd.executionTimeoutS * 1000);
    let settled = false;
    const done = (code: number | null): void => {
      if (settled) return;
      settled = true;
      inv.child = undefined;
      this.release();
      if (code === 0) this.finish(cmd, inv, 'Success', 'Success', 0);
      else this.finish(cmd, inv, 'Failed', 'Failed', code ?? 1);
    };
    child.once('error', () => done(127));
    child.once('close', done);
  }

  private kill(inv: Invocation): void {
    const pid = inv.child?.pid;
    if (pid) try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
  }

  private finish(cmd: Command, inv: Invocation, status: InvocationStatus, details: string, code: number): void {
    if (isTerminal(inv.status) || this.stopped) return;
    clearTimeout(inv.timer);
    Object.assign(inv, { status, details, code });
    // Undeliverable and DeliveryTimedOut do not count against MaxErrors (the real service's rule).
    if ((status === 'Failed' || status === 'TimedOut') && details !== 'Undeliverable' && details !== 'DeliveryTimedOut') cmd.errors++;
    this.pump(cmd);
  }

  cancel(cmd: Command, ids?: readonly string[]): void {
    if (!ids) {
      cmd.cancelled = true;
      cmd.queue = [];
    }
    for (const inv of cmd.invocations.values()) {
      if (ids && !ids.includes(inv.instanceId)) continue;
      this.kill(inv);
      this.finish(cmd, inv, 'Cancelled', 'Cancelled', -1);
    }
  }

  /** The command's overall status, as ListCommands reports it. */
  commandStatus(cmd: Command): string {
    const all = [...cmd.invocations.values()];
    if (cmd.queue.length || all.some((i) => !isTerminal(i.status))) return all.some((i) => i.status !== 'Pending') ? 'InProgress' : 'Pending';
    if (all.some((i) => i.status === 'Cancelled')) return 'Cancelled';
    if (all.every((i) => i.status === 'Success')) return 'Success';
    return all.some((i) => i.status === 'TimedOut') ? 'TimedOut' : 'Failed';
  }

  /** Kill whatever still runs; the emulator is stopping. */
  stop(): void {
    this.stopped = true;
    for (const cmd of this.commands.values()) {
      for (const inv of cmd.invocations.values()) {
        clearTimeout(inv.timer);
        this.kill(inv);
      }
    }
  }
}
