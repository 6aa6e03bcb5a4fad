// A real host for module round trips: the local transport, real facts, a temp dir, and the engine's own
// makeCheckCtx + applyChange. apply = check -> applyChange each change -> check again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { applyChange, type ChangeOutcome } from '../../src/engine/apply-change.ts';
import { Batcher } from '../../src/engine/batcher.ts';
import { makeCheckCtx } from '../../src/engine/check-ctx.ts';
import { factsScript, parseFacts } from '../../src/engine/facts.ts';
import type { Check, CheckCtx, Facts, HostInfo, TaskModule } from '../../src/tasks/types.ts';
import { createLocalTransport } from '../../src/transports/local.ts';
import type { Host, Transport } from '../../src/transports/types.ts';
import { simpleRender } from './describe-task.ts';

export type Applied = { before: Check; outcomes: ChangeOutcome[]; after: Check };

export type LocalHost = {
  /** Scratch directory on the "host" (removed after the test file). */
  readonly dir: string;
  /** Controller-side folder ctx.readLocal resolves relative paths from (the "runbook folder"). */
  readonly runbookDir: string;
  readonly info: HostInfo;
  /** A fresh CheckCtx (its own probe cache), as the executor builds one per evaluation. */
  ctx(): CheckCtx;
  check<A>(m: TaskModule<A>, args: A): Promise<Check>;
  /** check, then every change through applyChange (throws if one fails), then check again. */
  apply<A>(m: TaskModule<A>, args: A): Promise<Applied>;
};

export type LocalHostOpts = { vars?: Record<string, string>; render?: (text: string, file: string) => string;
  /** Facts to use instead of the gathered ones (e.g. service_mgr: systemd with test/fakes/systemd.ts). */
  facts?: Partial<Facts>;
  /** Wraps the local transport (e.g. fake tools first on PATH). */
  wrap?: (t: Transport) => Transport };

export async function localHost(opts: LocalHostOpts = {}): Promise<LocalHost> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-task-'));
  const runbookDir = mkdtempSync(join(tmpdir(), 'rb-book-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(runbookDir, { recursive: true, force: true });
  });
  const local = createLocalTransport();
  const transport = opts.wrap ? opts.wrap(local) : local;
  const batcher = new Batcher(transport);
  const host: Host = { name: 'local', address: '127.0.0.1', vars: {} };
  const signal = new AbortController().signal;
  const factsRun = (await transport.exec([host], { script: factsScript }, { signal })).get('local')!;
  if (!factsRun.ok) throw factsRun.error;
  const info: HostInfo = { name: 'local', facts: { ...parseFacts(factsRun.value), ...opts.facts } };
  const render = opts.render ?? simpleRender(opts.vars ?? {});
  const ctx = (): CheckCtx => makeCheckCtx({ batcher, host, info, signal, dir: runbookDir, render });
  const check = <A>(m: TaskModule<A>, args: A): Promise<Check> => m.check(ctx(), args);
  return {
    dir, runbookDir, info, ctx, check,
    async apply(m, args) {
      const before = await check(m, args);
      const outcomes: ChangeOutcome[] = [];
      if (before.status === 'change') {
        for (const c of before.changes) {
          const r = await applyChange(batcher, host, c, { signal });
          outcomes.push(r);
          if (!r.ok) throw new Error(`${c.why}: ${r.message} ${r.exec?.stderr ?? ''}`);
        }
      }
      return { before, outcomes, after: await check(m, args) };
    },
  };
}
