// The GitHub Action's entry point (action.yml): reads the inputs and GITHUB_EVENT_PATH, decides which
// `runbook` commands to run (validate + plan --comment on a PR, apply after merge or approval), runs them.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { InputError } from '../errors.ts';
import type { Io } from './session.ts';

export type ActionInputs = {
  command: 'auto' | 'validate' | 'plan' | 'apply';
  runbooks: string[];
  environments: string[];
  args: string[];
  runbooksDir: string;
  inventory: string;
};

type Payload = {
  pull_request?: { number?: number; base?: { sha?: string }; head?: { sha?: string } };
  review?: { state?: string };
  before?: string; after?: string;
  inputs?: Record<string, unknown>;
};

export type ActionContext = { event: string; payload: Payload; cwd: string };

/** Split an `args` input like a shell would for words and quotes (no expansion). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2] ?? m[3]!);
  return out;
}

const list = (v: string | undefined): string[] => (v ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

export function readInputs(env: NodeJS.ProcessEnv): ActionInputs {
  const command = (env.INPUT_COMMAND || 'auto').trim();
  if (!['auto', 'validate', 'plan', 'apply'].includes(command)) throw new InputError(`action input command '${command}': use auto, validate, plan or apply`);
  return {
    command: command as ActionInputs['command'], runbooks: list(env.INPUT_RUNBOOK), environments: list(env.INPUT_ENVIRONMENT),
    args: splitArgs(env.INPUT_ARGS ?? ''), runbooksDir: env.INPUT_RUNBOOKS_DIR || 'runbooks', inventory: env.INPUT_INVENTORY || 'environments',
  };
}

/** Runbooks are the YAML files directly in the runbooks folder (templates and files live below it). */
export function allRunbooks(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile() && /\.ya?ml$/.test(d.name)).map((d) => join(dir, d.name)).sort();
}

function gitChanged(cwd: string, from: string | undefined, to: string | undefined, three: boolean): string[] | undefined {
  if (!from || !to || /^0+$/.test(from)) return undefined;
  try {
    const out = execFileSync('git', ['diff', '--name-only', three ? `${from}...${to}` : `${from}..${to}`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    return out.toString().split('\n').filter(Boolean);
  } catch {
    return undefined; // a shallow clone without the base commit: the caller falls back to every runbook
  }
}

/** Runbooks touched by the event's changes; a changed template, file or environment touches them all. */
export function changedRunbooks(i: ActionInputs, ctx: ActionContext, warn: (s: string) => void): string[] {
  const pr = ctx.payload.pull_request;
  const files = pr ? gitChanged(ctx.cwd, pr.base?.sha, pr.head?.sha, true) : gitChanged(ctx.cwd, ctx.payload.before, ctx.payload.after, false);
  const every = allRunbooks(join(ctx.cwd, i.runbooksDir)).map((f) => relative(ctx.cwd, f));
  if (!files) {
    warn('cannot list the changed files (use actions/checkout with fetch-depth: 0); taking every runbook');
    return every;
  }
  const dir = i.runbooksDir.replace(/\/+$/, '') + '/';
  const inv = i.inventory.replace(/\/+$/, '') + '/';
  if (files.some((f) => (f.startsWith(dir) && !every.includes(f)) || f.startsWith(inv))) return every;
  return every.filter((f) => files.includes(f));
}

/** The environments to plan a runbook on: the input's, else every one it declares that has a file. */
export function environmentsFor(runbook: string, i: ActionInputs, cwd: string): string[] {
  if (i.environments.length) return i.environments;
  let declared: unknown;
  try { declared = (parse(readFileSync(resolve(cwd, runbook), 'utf8')) as { environments?: unknown } | null)?.environments; } catch { declared = undefined; }
  if (!Array.isArray(declared)) return [];
  return declared.filter((e): e is string => typeof e === 'string' && ['yml', 'yaml'].some((x) => existsSync(resolve(cwd, i.inventory, `${e}.${x}`))));
}

function mode(i: ActionInputs, ctx: ActionContext): 'validate' | 'plan' | 'apply' {
  if (i.command !== 'auto') return i.command;
  if (ctx.event === 'pull_request' || ctx.event === 'pull_request_target') return 'plan';
  if (ctx.event === 'pull_request_review') {
    if (ctx.payload.review?.state?.toLowerCase() !== 'approved') return 'validate';
    return 'apply';
  }
  if (ctx.event === 'push' || ctx.event === 'workflow_dispatch') return 'apply';
  throw new InputError(`the runbook action does not know what to do on a '${ctx.event}' event; set the command input`);
}

/** The `runbook` command lines to run for this event, in order. */
export function planSteps(i: ActionInputs, ctx: ActionContext, warn: (s: string) => void): string[][] {
  const what = mode(i, ctx);
  const dispatched = ctx.event === 'workflow_dispatch' ? list(String(ctx.payload.inputs?.runbook ?? '')) : [];
  const runbooks = i.runbooks.length ? i.runbooks : dispatched.length ? dispatched : changedRunbooks(i, ctx, warn);
  if (!runbooks.length) return [];
  const inv = i.inventory === 'environments' ? [] : ['-i', i.inventory];
  const steps: string[][] = [['validate', ...runbooks]];
  if (what === 'validate') return steps;
  const onPr = ctx.payload.pull_request?.number !== undefined;
  for (const rb of runbooks) {
    const envs = what === 'apply' && !i.environments.length ? list(String(ctx.payload.inputs?.environment ?? '')) : environmentsFor(rb, i, ctx.cwd);
    if (what === 'apply' && !envs.length) throw new InputError(`apply ${rb}: set the environment input (apply never guesses the environment)`);
    for (const env of envs) {
      steps.push(what === 'plan'
        ? ['plan', rb, '-e', env, ...inv, ...(onPr ? ['--comment', '--pr', String(ctx.payload.pull_request!.number)] : []), ...i.args]
        : ['apply', rb, '-e', env, ...inv, '--yes', ...i.args]);
    }
  }
  return steps;
}

export type RunCli = (argv: string[]) => Promise<number>;

/** Runs every step (a failed plan does not hide the others); the exit code is the first non-zero one. */
export async function runAction(io: Io, run: RunCli): Promise<number> {
  const payloadPath = io.env.GITHUB_EVENT_PATH;
  const payload = payloadPath && existsSync(payloadPath) ? (JSON.parse(readFileSync(payloadPath, 'utf8')) as Payload) : {};
  const ctx: ActionContext = { event: io.env.GITHUB_EVENT_NAME ?? '', payload, cwd: io.cwd };
  const steps = planSteps(readInputs(io.env), ctx, (s) => io.err.write(`::warning::${s}\n`));
  if (!steps.length) {
    io.out.write('runbook: no runbook changed; nothing to do\n');
    return 0;
  }
  let code = 0;
  for (const argv of steps) {
    io.out.write(`::group::runbook ${argv.join(' ')}\n`);
    const c = await run(argv);
    io.out.write('::endgroup::\n');
    if (c !== 0) io.err.write(`::error::runbook ${argv.slice(0, 4).join(' ')} exited ${c}\n`);
    if (code === 0) code = c;
  }
  return code;
}
