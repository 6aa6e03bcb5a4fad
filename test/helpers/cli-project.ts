// A scratch project for CLI tests (environments/<env>.yml plus runbook files) and the built CLI run in it
// with a clean environment: no GitHub or New Relic credentials, no colour unless a test asks for it.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Stamped } from '../../src/engine/events.ts';
import { listRuns, runsDir } from '../../src/engine/journal.ts';
import { spawnNode } from './spawn-async.ts';

export const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');

/** A temp folder with environments/<name>.yml and the given files; `@DIR@` in any text is the folder's path. */
export function cliProject(envs: Record<string, string>, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cli-'));
  mkdirSync(join(dir, 'environments'));
  const fill = (text: string): string => text.replaceAll('@DIR@', dir);
  for (const [name, text] of Object.entries(envs)) writeFileSync(join(dir, 'environments', `${name}.yml`), fill(text));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), fill(text));
  return dir;
}

export const cleanEnv = (env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  ({ ...process.env, NO_COLOR: '1', FORCE_COLOR: '', GITHUB_TOKEN: '', GH_TOKEN: '', NEW_RELIC_API_KEY: '', ...env });

export async function runbookCli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await spawnNode(BIN, args, { cwd: dir, env: cleanEnv(env) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The newest run's journal under `dir` (in listRuns' order), each line parsed strictly: a torn line throws. */
export function lastRun<T = Stamped>(dir: string): { text: string; events: T[] } {
  const run = listRuns(dir).at(-1);
  if (!run) throw new Error(`no journal under ${runsDir(dir)}`);
  const text = readFileSync(run.path, 'utf8');
  return { text, events: text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T) };
}
