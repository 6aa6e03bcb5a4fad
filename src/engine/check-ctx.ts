// Builds the read-only CheckCtx a task module sees: probes go through the batcher (cached per
// evaluation), local reads resolve from the runbook's folder and are remembered for the gate.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { CheckCtx, HostInfo, Probe } from '../tasks/types.ts';
import type { Host } from '../transports/types.ts';
import type { Batcher } from './batcher.ts';
import type { Secret } from './secret.ts';

export type CheckCtxOpts = {
  readonly batcher: Batcher;
  readonly host: Host;
  readonly info: HostInfo;
  readonly signal: AbortSignal;
  readonly dir: string;
  readonly become?: boolean;
  readonly becomeUser?: string;
  readonly timeoutMs?: number;
  readonly render: (text: string, file: string) => string | Secret;
  /** Every controller-side file read (absolute path), for the review gate and the journal. */
  readonly reads?: Set<string>;
};

export function makeCheckCtx(o: CheckCtxOpts): CheckCtx {
  const cache = new Map<string, Promise<unknown>>();
  return {
    host: o.info,
    signal: o.signal,
    probe<T>(p: Probe<T>): Promise<T> {
      const hit = cache.get(p.key);
      if (hit) return hit as Promise<T>;
      const run = async (): Promise<T> => {
        if ('local' in p) return p.local(o.signal);
        const become = p.become ?? o.become;
        const r = await o.batcher.exec(o.host, { script: p.script, become, becomeUser: o.becomeUser },
          { signal: o.signal, timeoutMs: o.timeoutMs });
        if (!r.ok) throw r.error;
        return p.parse(r.value);
      };
      const promise = run();
      cache.set(p.key, promise);
      return promise;
    },
    async readLocal(path: string): Promise<Uint8Array> {
      const abs = isAbsolute(path) ? path : resolve(o.dir, path);
      o.reads?.add(abs);
      return new Uint8Array(await readFile(abs));
    },
    render: o.render,
  };
}
