// One apply at a time per (environment, runbook hosts): a lock file created with O_EXCL holding
// run id, user, host, pid, start and a lease that the holder renews. Stale locks are reported
// with how to clear them, never broken silently.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { InputError, LockHeldError, type LockHolder } from '../errors.ts';
import { sleep } from './duration.ts';

export interface Lock {
  readonly holder: LockHolder;
  release(): void | Promise<void>;
}

const LEASE_MS = 2 * 60 * 60 * 1000;

/** The lock key of (environment, host set): `<env>-<12 hex>`. */
export function lockKey(env: string, hosts: string): string {
  return `${env}-${createHash('sha256').update(hosts).digest('hex').slice(0, 12)}`;
}

export function lockPath(base: string, env: string, hosts: string): string {
  return join(base, '.runbook', 'locks', `${lockKey(env, hosts)}.json`);
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export function staleness(h: LockHolder, now = Date.now()): string | undefined {
  if (h.host === hostname() && !pidAlive(h.pid)) return `process ${h.pid} on ${h.host} is gone`;
  if (Date.parse(h.leaseUntil) < now) return `its lease expired at ${h.leaseUntil}`;
  return undefined;
}

function readHolder(path: string): LockHolder | undefined {
  try { return JSON.parse(readFileSync(path, 'utf8')) as LockHolder; } catch { return undefined; }
}

function tryCreate(path: string, holder: LockHolder): boolean {
  try {
    writeFileSync(path, JSON.stringify(holder, null, 2) + '\n', { flag: 'wx', mode: 0o644 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

export async function acquireLock(o: { base: string; env: string; hosts: string; runId: string; waitMs?: number; leaseMs?: number }): Promise<Lock> {
  const path = lockPath(o.base, o.env, o.hosts);
  mkdirSync(join(o.base, '.runbook', 'locks'), { recursive: true });
  const lease = o.leaseMs ?? LEASE_MS;
  const holder = (): LockHolder => ({ runId: o.runId, user: userInfo().username, host: hostname(), pid: process.pid,
    startedAt: new Date().toISOString(), leaseUntil: new Date(Date.now() + lease).toISOString() });
  const deadline = Date.now() + (o.waitMs ?? 0);
  for (;;) {
    const mine = holder();
    if (tryCreate(path, mine)) return held(path, mine, lease);
    const other = readHolder(path);
    if (other && Date.now() >= deadline) throw new LockHeldError(other, staleness(other), o.env);
    if (!other && Date.now() >= deadline) throw new InputError(`lock file ${path} is unreadable; inspect and remove it by hand`);
    await sleep(Math.min(1000, Math.max(50, deadline - Date.now())));
  }
}

function held(path: string, holder: LockHolder, lease: number): Lock {
  let current = holder;
  const timer = setInterval(() => {
    current = { ...current, leaseUntil: new Date(Date.now() + lease).toISOString() };
    try { writeFileSync(path, JSON.stringify(current, null, 2) + '\n'); } catch { /* best effort renewal */ }
  }, Math.max(1000, lease / 4));
  timer.unref();
  let released = false;
  return {
    holder,
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      if (readHolder(path)?.runId === holder.runId) unlinkSync(path);
    },
  };
}

/** `runbook unlock -e env --run id`: remove a lock of that environment only if the named run holds it. */
export function unlock(base: string, env: string, runId: string): LockHolder {
  const dir = join(base, '.runbook', 'locks');
  const files = (() => { try { return readdirSync(dir); } catch { return []; } })().filter((f) => f.startsWith(`${env}-`) && f.endsWith('.json'));
  const holders = files.map((f) => ({ path: join(dir, f), h: readHolder(join(dir, f)) }));
  const hit = holders.find((x) => x.h?.runId === runId);
  if (!hit) {
    const others = holders.map((x) => x.h?.runId).filter(Boolean);
    throw new InputError(`no lock of environment ${env} is held by run ${runId}${others.length ? ` (held by: ${others.join(', ')})` : ' (no locks held)'}`);
  }
  unlinkSync(hit.path);
  return hit.h!;
}
