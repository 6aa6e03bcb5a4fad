// `runbook validate <file>...`: schema, semantic checks and secret scan of runbooks (and of
// environment files, recognised by their `transport:` key). No host is contacted.
import { basename, dirname, resolve } from 'node:path';
import { InputError, type Diagnostic } from '../errors.ts';
import { loadEnvironment } from '../engine/environment.ts';
import { loadRunbook, readSource } from '../engine/loader.ts';
import type { Environment, Runbook } from '../engine/model.ts';
import { environmentDiagnostics, rollbackPolicy } from '../engine/semantic.ts';
import type { Io } from './session.ts';

const RUNBOOK_KEY = /^(name|hosts|environments|tasks|handlers|rollback|health)\s*:/m;
const ENVIRONMENT_KEY = /^(transport|groups|ssh|ssm|gate|protected|lock|require_rollback)\s*:/m;

/** An environment has a top-level `transport:`; one that lacks it is still recognised by its
 *  other keys, or by living in an `environments/` folder, as long as it has no runbook keys. */
async function looksLikeEnvironment(file: string): Promise<boolean> {
  const { text } = await readSource(file); // bounded read; size and encoding problems are reported here
  if (/^transport\s*:/m.test(text)) return true;
  return !RUNBOOK_KEY.test(text) && (ENVIRONMENT_KEY.test(text) || basename(dirname(resolve(file))) === 'environments');
}

type ValidateOpts = { json?: boolean; env?: string; inventory?: string };

/**
 * The protected-environment rule (#7) for each environment the runbook may run on whose file is in
 * the inventory: warnings returned, `require_rollback: true` thrown. An environment file that does
 * not load is skipped here: validating that file (or plan/apply) reports its own problems.
 */
async function policyWarnings(rb: Runbook, file: string, o: ValidateOpts): Promise<string[]> {
  const warnings: string[] = [];
  for (const name of o.env ? [o.env] : rb.environments) {
    let env: Environment;
    try { env = await loadEnvironment(resolve(o.inventory ?? 'environments'), name); } catch (e) {
      if (e instanceof InputError) continue;
      throw e;
    }
    const p = rollbackPolicy(rb, env, file);
    if (p.error) throw new InputError([p.error]);
    if (p.warning) warnings.push(p.warning);
  }
  return warnings;
}

async function validateOne(file: string, o: ValidateOpts): Promise<{ line: string; warnings: string[] }> {
  if (await looksLikeEnvironment(file)) {
    await loadEnvironment(dirname(resolve(file)), basename(file).replace(/\.ya?ml$/, ''));
    return { line: `${file}: ok (environment)`, warnings: [] };
  }
  const rb = await loadRunbook(file);
  if (o.env) {
    const d = environmentDiagnostics(rb, o.env);
    if (d.length) throw new InputError(d);
  }
  const warnings = await policyWarnings(rb, file, o);
  return { line: `${file}: ok (${rb.tasks.length} tasks, ${rb.handlers.length} handlers${rb.health ? ', health' : ''}${rb.hasRollback ? ', rollback' : ''})`, warnings };
}

export async function validateCommand(files: string[], o: ValidateOpts, io: Io): Promise<number> {
  const diagnostics: Diagnostic[] = [];
  const messages: string[] = [];
  for (const file of files) {
    try {
      const { line, warnings } = await validateOne(file, o);
      for (const message of warnings) {
        if (o.json) io.out.write(JSON.stringify({ type: 'warning', file, message }) + '\n');
        else io.err.write(`warning: ${message}\n`);
      }
      if (o.json) io.out.write(JSON.stringify({ type: 'validate', file, ok: true }) + '\n');
      else io.out.write(line + '\n');
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      if (e.diagnostics.length) diagnostics.push(...e.diagnostics);
      else messages.push(e.message);
    }
  }
  if (diagnostics.length) throw new InputError([...diagnostics, ...messages.map((m) => ({ loc: { file: m.split(':')[0] ?? '', line: 1, col: 1 }, message: m }))]);
  if (messages.length) throw new InputError(messages.join('\n'));
  return 0;
}
