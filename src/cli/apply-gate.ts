// Wires the review gate into apply: protected environments need it (fail closed, exit 3);
// the pins are re-checked right before the first task. Unprotected environments skip it.
import { execFileSync } from 'node:child_process';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { GateRefusedError } from '../errors.ts';
import type { EventSink } from '../engine/events.ts';
import type { GateEvidence, GateInput } from '../gate/index.ts';
import { flatten } from '../engine/semantic.ts';
import { renderValue } from '../engine/template.ts';
import { buildScope } from '../engine/scope.ts';
import type { Prepared } from './prepare.ts';
import type { Io } from './session.ts';

/** recheck: right before the first task, the pins must still hold; the outcome is journaled as a `pins` event. */
export type GateResult = { evidence?: GateEvidence; recheck(sink: EventSink): Promise<void> };

/** Every controller-side file the run reads: runbook, environment file, template and copy sources. */
export function gateFiles(p: Prepared): string[] {
  const files = new Set<string>([p.runbook.file, p.env.file]);
  const scope = buildScope(p.runbook.vars, p.env.vars, p.extraVars);
  const all = [...flatten(p.runbook.tasks), ...flatten(p.runbook.handlers), ...flatten(p.runbook.rollback)];
  for (const t of all) {
    if ((t.module !== 'template' && t.module !== 'copy') || !t.args || typeof t.args !== 'object') continue;
    const src = (t.args as Record<string, unknown>).src;
    if (typeof src !== 'string') continue;
    let path: unknown;
    try { path = renderValue(src, scope); } catch { throw new GateRefusedError([`${relative(process.cwd(), p.runbook.file)}:${t.at.line}: src '${src}' depends on host variables, so the gate cannot pin the file; use a fixed path`]); }
    files.add(isAbsolute(String(path)) ? String(path) : resolve(p.runbook.dir, String(path)));
  }
  return [...files];
}

function repoRoot(dir: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    throw new GateRefusedError([`${dir} is not inside a git repository: a protected environment runs only reviewed files from git`]);
  }
}

export function gateInput(p: Prepared, io: Io, breakGlass?: string): GateInput {
  const repoDir = repoRoot(dirname(p.runbook.file));
  return {
    repoDir, files: gateFiles(p), envName: p.env.name, runbookEnvironments: p.runbook.environments,
    envFileRel: relative(repoDir, p.env.file), breakGlass, env: io.env,
  };
}

export async function runGate(p: Prepared, o: { breakGlass?: string }, io: Io): Promise<GateResult> {
  // a PR that sets `protected: false` in its own copy of the environment file does not skip the gate
  const upstream = p.env.protected ? undefined : await (await import('../gate/protected.ts')).protectedOnDefaultBranch(p.env.file);
  if (!p.env.protected && !upstream) return { recheck: async () => {} };
  if (upstream) io.err.write(`warning: ${p.env.name} is protected on ${upstream.branch}; this copy of its environment file says otherwise, so the review gate applies\n`);
  const { requireGate, recheckPins } = await import('../gate/index.ts');
  const input = { ...gateInput(p, io, o.breakGlass), warn: (m: string) => io.err.write(`${m}\n`) }; // the loud break-glass warning
  const evidence = await requireGate(input);
  return {
    evidence,
    async recheck(sink) {
      const pins = { commit: evidence.commit, blobs: evidence.blobs };
      try {
        await recheckPins(evidence, input.repoDir);
      } catch (e) {
        sink.emit({ type: 'pins', ok: false, ...pins, reasons: e instanceof GateRefusedError ? [...e.reasons] : [String(e)] });
        throw e;
      }
      sink.emit({ type: 'pins', ok: true, ...pins });
    },
  };
}
