// Resolves `{{ secrets.NAME }}` before anything runs: RUNBOOK_SECRET_NAME, else key NAME of the
// YAML file named by RUNBOOK_SECRETS_FILE (which must live outside the repo). Missing = exit 2.
import { readFileSync, realpathSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, relative, isAbsolute } from 'node:path';
import { parse } from 'yaml';
import { InputError, type Diagnostic } from '../errors.ts';
import type { Runbook, TaskSpec } from './model.ts';
import { Secret } from './secret.ts';
import { flatten } from './semantic.ts';

const REF = /secrets\.([A-Za-z_][A-Za-z0-9_]*)|secrets\[['"]([A-Za-z_][A-Za-z0-9_]*)['"]\]/g;

function texts(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(texts);
  if (v && typeof v === 'object') return Object.values(v).flatMap(texts);
  return [];
}

/** Every secret name the runbook (and the environment's vars) mention, with where. */
export function secretRefs(rb: Runbook, envVars: Readonly<Record<string, unknown>>): Map<string, string> {
  const refs = new Map<string, string>();
  const add = (text: string, where: string): void => { for (const m of text.matchAll(REF)) if (!refs.has(m[1] ?? m[2]!)) refs.set(m[1] ?? m[2]!, where); };
  const tasks: TaskSpec[] = [...flatten(rb.tasks), ...flatten(rb.handlers), ...flatten(rb.rollback)];
  for (const t of tasks) texts([t.args, t.when, t.vars, t.loop]).forEach((s) => add(s, `${rb.file}:${t.at.line}:${t.at.col}`));
  texts([rb.vars, rb.health]).forEach((s) => add(s, rb.file));
  texts(envVars).forEach((s) => add(s, 'environment vars'));
  return refs;
}

function repoRoot(dir: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

function loadSecretsFile(path: string, runbookDir: string): Record<string, unknown> {
  const real = realpathSync(path);
  const root = repoRoot(runbookDir);
  if (root) {
    const rel = relative(realpathSync(root), real);
    if (!rel.startsWith('..') && !isAbsolute(rel)) throw new InputError(`RUNBOOK_SECRETS_FILE ${path} is inside the repository ${root}; keep secrets outside the repo`);
  }
  const doc = parse(readFileSync(real, 'utf8')) as unknown;
  if (!doc || typeof doc !== 'object') throw new InputError(`RUNBOOK_SECRETS_FILE ${path} must be a YAML mapping of NAME: value`);
  return doc as Record<string, unknown>;
}

/** Resolve every referenced secret now (so a missing one stops the run before any change). */
export function resolveSecrets(rb: Runbook, envVars: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv = process.env): Record<string, Secret> {
  const refs = secretRefs(rb, envVars);
  const file = env.RUNBOOK_SECRETS_FILE ? loadSecretsFile(env.RUNBOOK_SECRETS_FILE, dirname(rb.file)) : {};
  const out: Record<string, Secret> = {};
  const missing: Diagnostic[] = [];
  for (const [name, where] of refs) {
    const value = env[`RUNBOOK_SECRET_${name.toUpperCase()}`] ?? file[name];
    if (value === undefined || value === null) {
      const m = /^(.*):(\d+):(\d+)$/.exec(where);
      missing.push({ loc: m ? { file: m[1]!, line: Number(m[2]), col: Number(m[3]) } : { file: where, line: 1, col: 1 },
        message: `secret '${name}' is not set: export RUNBOOK_SECRET_${name.toUpperCase()} or add it to the file named by RUNBOOK_SECRETS_FILE` });
      continue;
    }
    out[name] = new Secret(String(value), name);
  }
  if (missing.length) throw new InputError(missing);
  return out;
}
