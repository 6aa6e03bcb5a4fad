// `runbook validate <file>...`: schema, semantic checks and secret scan of runbooks (and of
// environment files, recognised by their `transport:` key). No host is contacted.
import { basename, dirname, resolve } from 'node:path';
import { InputError, type Diagnostic } from '../errors.ts';
import { loadEnvironment } from '../engine/environment.ts';
import { loadRunbook, readSource } from '../engine/loader.ts';
import { environmentDiagnostics } from '../engine/semantic.ts';
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

async function validateOne(file: string, env?: string): Promise<string> {
  if (await looksLikeEnvironment(file)) {
    await loadEnvironment(dirname(resolve(file)), basename(file).replace(/\.ya?ml$/, ''));
    return `${file}: ok (environment)`;
  }
  const rb = await loadRunbook(file);
  if (env) {
    const d = environmentDiagnostics(rb, env);
    if (d.length) throw new InputError(d);
  }
  return `${file}: ok (${rb.tasks.length} tasks, ${rb.handlers.length} handlers${rb.health ? ', health' : ''}${rb.hasRollback ? ', rollback' : ''})`;
}

export async function validateCommand(files: string[], o: { json?: boolean; env?: string }, io: Io): Promise<number> {
  const diagnostics: Diagnostic[] = [];
  const messages: string[] = [];
  for (const file of files) {
    try {
      const line = await validateOne(file, o.env);
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
