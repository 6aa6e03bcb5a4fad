// `runbook gate <runbook> -e <env>`: shows the review gate's evidence without applying anything.
// Exit 0 when the gate passes, 3 when it refuses (GateRefusedError, mapped by exit.ts).
import type { Command } from 'commander';
import { evaluateGate, formatEvidence, GateRefused, refusalReasons, type GateInput } from '../gate/index.ts';
import { gateInput } from './apply-gate.ts';
import { prepare, type CommonOpts } from './prepare.ts';
import type { Io } from './session.ts';

/** main.ts: `runbook gate <runbook> -e <env> [-i dir] [--json] [--break-glass reason]`; 0 passed, 3 refused (thrown). */
export async function gateCommand(runbookPath: string, o: CommonOpts & { breakGlass?: string }, io: Io): Promise<number> {
  const p = await prepare(runbookPath, o);
  const evidence = await evaluateGate({ ...gateInput(p, io, o.breakGlass), warn: () => {} });
  io.out.write(o.json ? JSON.stringify({ type: 'gate', ...evidence }) + '\n' : formatEvidence(evidence));
  if (!evidence.passed) throw new GateRefused(refusalReasons(evidence), evidence);
  return 0;
}

export type GateDeps = {
  loadForGate(runbookPath: string, envName: string, inventoryDir: string): Promise<{ input: GateInput }>;
  /** stdout (default process.stdout). */
  out?: { write(s: string): unknown };
  /** Called with the exit code when the gate passes (main's `done`); a refusal throws instead. */
  done?: (code: number) => void;
};

export function registerGate(program: Command, deps: GateDeps): void {
  program.command('gate').argument('<runbook>').description('show the review gate evidence for a protected environment (no apply)')
    .requiredOption('-e, --env <env>', 'environment name (environments/<env>.yml)')
    .option('-i, --inventory <dir>', 'folder of environment files', './environments')
    .option('--break-glass <reason>', 'evaluate as apply --break-glass would')
    .option('--json', 'the evidence as one JSON object on stdout')
    .action(async (file: string, o: { env: string; inventory: string; breakGlass?: string; json?: boolean }) => {
      const out = deps.out ?? process.stdout;
      const { input } = await deps.loadForGate(file, o.env, o.inventory);
      const evidence = await evaluateGate({ ...input, ...(o.breakGlass !== undefined ? { breakGlass: o.breakGlass } : {}), warn: () => {} });
      out.write(o.json ? JSON.stringify({ type: 'gate', ...evidence }) + '\n' : formatEvidence(evidence));
      if (!evidence.passed) throw new GateRefused(refusalReasons(evidence), evidence);
      if (deps.done) deps.done(0);
      else process.exitCode = 0;
    });
}
