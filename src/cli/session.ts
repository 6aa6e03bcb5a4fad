// What plan and apply share once inputs are checked: the event sinks (printer, journal), the
// Ctrl-C / SIGTERM handling (first: stop starting tasks; second: cancel and exit at once), and
// the RunOpts handed to the engine.
import { Batcher } from '../engine/batcher.ts';
import type { EventSink, RunEvent, Stamped } from '../engine/events.ts';
import { Journal } from '../engine/journal.ts';
import { redactText } from '../engine/secret.ts';
import type { RunOpts } from '../engine/run-state.ts';
import type { Transport } from '../transports/types.ts';
import { createPrinter, useColor, type Out } from './output.ts';
import { parseForks, splitList, type CommonOpts, type Prepared } from './prepare.ts';

export type Io = { out: Out; err: Out; env: NodeJS.ProcessEnv; cwd: string };

export const processIo = (): Io => ({
  out: { write: (s) => process.stdout.write(s), isTTY: process.stdout.isTTY },
  err: { write: (s) => process.stderr.write(s), isTTY: process.stderr.isTTY },
  env: process.env, cwd: process.cwd(),
});

export type Session = {
  sink: EventSink;
  journal?: Journal;
  stop: AbortController;
  kill: AbortController;
  started: number;
  /** Called on the second signal after the journal got its run_end; exits the process. */
  onHardStop?: () => void;
  dispose(): void;
};

export function createSession(io: Io, o: CommonOpts, command: 'plan' | 'apply', runId: string, journalBase?: string, listen?: (e: Stamped) => void): Session {
  const printer = createPrinter({ json: o.json === true, color: useColor(o.color, io.out, io.env), verbose: o.verbose === true, command, out: io.out, err: io.err });
  const print = listen ? (e: Stamped): void => { printer(e); listen(e); } : printer;
  const stamp = (e: RunEvent): Stamped => ({ run: runId, time: new Date().toISOString(), ...e }) as Stamped;
  const stop = new AbortController();
  const kill = new AbortController();
  // a journal that cannot be written stops the run like a first Ctrl-C: no change it cannot record
  const journal = journalBase !== undefined ? new Journal(journalBase, runId, print, (e) => stop.abort(e)) : undefined;
  const sink: EventSink = journal ?? { emit: (e) => print(stamp(e)) };
  const session: Session = { sink, journal, stop, kill, started: Date.now(), dispose: () => {} };
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count++;
    sink.emit({ type: 'interrupt', signal, count });
    if (count === 1) { stop.abort(new Error(signal)); return; }
    kill.abort(new Error(signal));
    session.onHardStop?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  session.dispose = () => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); };
  return session;
}

export function runOpts(p: Prepared, o: CommonOpts, s: Session, transport: Transport, mode: 'plan' | 'apply', io: Io): RunOpts {
  return {
    mode, runbook: p.runbook, env: p.env, transport, batcher: new Batcher(transport), forks: parseForks(o.forks),
    tags: splitList(o.tags), skipTags: splitList(o.skipTags), extraVars: p.extraVars, secrets: p.secrets,
    sink: s.sink, stop: s.stop.signal, kill: s.kill.signal, verbose: o.verbose === true, reads: new Set(),
    onOutput: o.verbose && !o.json
      ? (host, _stream, chunk) => io.err.write(`    ${host}| ${redactText(chunk, Object.values(p.secrets)).replace(/\n(?=.)/g, `\n    ${host}| `)}`)
      : undefined,
  };
}
