// The one generic way a Change is applied (STYLE.md: modules describe, the engine applies).
// exec -> transport.exec, write -> transport.put (with optional backup), fetch -> transport.get, call -> run.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TransportError } from '../errors.ts';
import type { Change, Result } from '../tasks/types.ts';
import type { ExecResult, Host } from '../transports/types.ts';
import type { Batcher } from './batcher.ts';
import { sh } from './script.ts';

export type ApplyOpts = { readonly signal: AbortSignal; readonly become?: boolean; readonly becomeUser?: string; readonly timeoutMs?: number;
  readonly onOutput?: (host: string, stream: 'stdout' | 'stderr', chunk: string) => void };

export type ChangeOutcome =
  | { readonly ok: true; readonly exec?: ExecResult; readonly result?: Result }
  | { readonly ok: false; readonly exec?: ExecResult; readonly unreachable?: TransportError; readonly message: string };

export async function applyChange(batcher: Batcher, host: Host, c: Change, o: ApplyOpts): Promise<ChangeOutcome> {
  const execOpts = { signal: o.signal, timeoutMs: o.timeoutMs, onOutput: o.onOutput };
  const become = ('become' in c && c.become) || o.become;
  switch (c.kind) {
    case 'exec': {
      const r = await batcher.exec(host, { script: c.script, become, becomeUser: o.becomeUser, cwd: c.cwd, env: c.env, stdin: c.stdin }, execOpts);
      if (!r.ok) return { ok: false, unreachable: r.error, message: r.error.message };
      if (r.value.code !== 0) return { ok: false, exec: r.value, message: `non-zero return code ${r.value.code}` };
      return { ok: true, exec: r.value };
    }
    case 'write': {
      if (c.backup) {
        const b = await batcher.exec(host, { script: sh`if [ -e ${c.path} ]; then cp -p ${c.path} ${c.path}.$(date +%Y%m%d%H%M%S)~; fi`, become, becomeUser: o.becomeUser }, execOpts);
        if (!b.ok) return { ok: false, unreachable: b.error, message: b.error.message };
        if (b.value.code !== 0) return { ok: false, exec: b.value, message: `backup of ${c.path} failed: ${b.value.stderr.trim()}` };
      }
      const r = await batcher.put(host, { path: c.path, content: c.content, mode: c.mode, owner: c.owner, group: c.group, become, becomeUser: o.becomeUser }, execOpts);
      if (!r.ok) return { ok: false, unreachable: r.error, message: r.error.message };
      return { ok: true };
    }
    case 'fetch': {
      const r = await batcher.transport.get([host], c.src, { ...execOpts, become });
      const got = r.get(host.name)!;
      if (!got.ok) return { ok: false, unreachable: got.error, message: got.error.message };
      await mkdir(dirname(c.dest), { recursive: true });
      await writeFile(c.dest, got.value);
      return { ok: true, result: { dest: c.dest, size: got.value.length } };
    }
    case 'call': {
      const result = await c.run({ signal: o.signal, host: host.name });
      return { ok: true, ...(result ? { result } : {}) };
    }
  }
}
