// The journal: .runbook/runs/<run-id>.jsonl, one complete JSON line per event, fsync'd each time.
// A failed write (disk full) is rolled back to the last complete line and reported, never half-written.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RunbookError } from '../errors.ts';
import type { EventSink, RunEvent, Stamped } from './events.ts';

export class JournalError extends RunbookError {
  constructor(message: string, opts?: { cause?: unknown }) { super(message, 1, opts); }
}

export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

export function runsDir(base: string): string {
  return join(base, '.runbook', 'runs');
}

export class Journal implements EventSink {
  private fd: number | undefined;
  private broken: JournalError | undefined;
  private closed = false;
  readonly path: string;
  /** `onBroken` hears the first write error once: the run must start nothing the journal cannot record. */
  constructor(base: string, readonly runId: string, private readonly onStamped?: (e: Stamped) => void, private readonly onBroken?: (e: JournalError) => void) {
    const dir = runsDir(base);
    this.path = join(dir, `${runId}.jsonl`);
    try {
      mkdirSync(dir, { recursive: true });
      this.fd = openSync(this.path, 'a', 0o600);
    } catch (e) {
      throw new JournalError(`cannot open the journal ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The first write error, if any; the run must stop and report it. */
  get error(): JournalError | undefined {
    return this.broken;
  }

  emit(event: RunEvent): void {
    if (this.closed) return; // after close (a second Ctrl-C ended the run) nothing more is shown or written
    const stamped = { run: this.runId, time: new Date().toISOString(), ...event } as Stamped;
    this.onStamped?.(stamped);
    if (this.fd === undefined || this.broken) return;
    const line = Buffer.from(JSON.stringify(stamped) + '\n');
    const size = fstatSync(this.fd).size;
    try {
      let off = 0;
      while (off < line.length) off += writeSync(this.fd, line, off, line.length - off);
      fsyncSync(this.fd);
    } catch (e) {
      try { ftruncateSync(this.fd, size); } catch { /* keep the first error */ }
      this.broken = new JournalError(`cannot write the journal ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      this.onBroken?.(this.broken);
    }
  }

  close(): void {
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export function readJournal(path: string): Stamped[] {
  const out: Stamped[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try { out.push(JSON.parse(line) as Stamped); } catch { /* an incomplete last line from a crash is skipped */ }
  }
  return out;
}

/** The millisecond time of a journal's first event ('' when unreadable): run ids only resolve seconds. */
function firstTime(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    return /"time":"([^"]+)"/.exec(head.split('\n')[0] ?? '')?.[1] ?? '';
  } finally {
    closeSync(fd);
  }
}

/** Runs oldest first: by id (its second), then by the first event's time, so two runs in one second keep their order. */
export function listRuns(base: string): { id: string; path: string }[] {
  const dir = runsDir(base);
  if (!existsSync(dir)) return [];
  const runs = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => ({ id: f.replace(/\.jsonl$/, ''), path: join(dir, f) }));
  const key = new Map(runs.map((r) => [r.id, `${r.id.slice(0, 15)} ${firstTime(r.path)} ${r.id}`]));
  return runs.sort((a, b) => key.get(a.id)!.localeCompare(key.get(b.id)!));
}
