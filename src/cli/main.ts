// The `runbook` command line (DESIGN.md "Command line"). Parses flags, dispatches to one
// subcommand module, and maps every error to text and an exit code in one place (exit.ts).
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { reportError } from './exit.ts';
import { processIo, type Io } from './session.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function common(cmd: Command, needsEnv: boolean): Command {
  const env = new Option('-e, --env <env>', 'environment name (environments/<env>.yml)');
  return cmd
    .addOption(needsEnv ? env.makeOptionMandatory() : env)
    .option('-i, --inventory <dir>', 'folder of environment files', './environments')
    .option('--limit <pattern>', 'only hosts matching this pattern')
    .option('--tags <tags>', 'only tasks with these tags (comma separated)')
    .option('--skip-tags <tags>', 'skip tasks with these tags')
    .option('--forks <n>', 'hosts in parallel', '50')
    .option('--json', 'JSON Lines events on stdout, nothing else')
    .option('--extra-vars <k=v|@file.yml>', 'variables with the highest precedence (repeatable)', collect, [] as string[])
    .option('--yes', 'no interactive confirmation')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .option('-v, --verbose', 'show commands and their output');
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(io: Io, done: (code: number) => void): Command {
  const program = new Command('runbook')
    .description('Deploy runbooks in YAML: reviewed in GitHub, run over SSH, AWS SSM or locally, verified with New Relic.')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .showSuggestionAfterError(true);
  const run = (f: () => Promise<number> | number) => async (): Promise<void> => done(await f());
  program.command('validate').argument('<runbook...>').description('schema + semantic checks, secret scan; no host contact')
    .option('-e, --env <env>', 'also check that the runbook may run on this environment').option('--json', 'JSON Lines output')
    .option('-i, --inventory <dir>', 'folder of environment files (protected ones warn about a missing rollback:/health:)', './environments')
    .action((files: string[], o) => run(async () => (await import('./validate.ts')).validateCommand(files, o, io))());
  common(program.command('plan').argument('<runbook>').description('true dry run: per-host diff of what would change'), true)
    .option('--format <format>', 'text or markdown', 'text')
    .option('--comment', 'post or update the plan as a comment on the pull request (GITHUB_TOKEN)')
    .option('--pr <number>', 'pull request for --comment (default: from GITHUB_EVENT_PATH)')
    .action((file: string, o) => run(async () => (await import('./plan.ts')).planCommand(file, o, io))());
  common(program.command('apply').argument('<runbook>').description('gate -> lock -> marker -> tasks -> health -> (rollback) -> journal'), true)
    .option('--lock-wait <duration>', 'wait this long for another run\'s lock')
    .option('--break-glass <reason>', 'skip the review gate where the environment allows it (recorded loudly)')
    .option('--resume <run-id>', 'continue a failed or interrupted run')
    .action((file: string, o) => run(async () => (await import('./apply.ts')).applyCommand(file, o, io))());
  common(program.command('gate').argument('<runbook>').description('show the review gate evidence (PR, approvers, commit, blob SHAs, every rule); applies nothing'), true)
    .option('--break-glass <reason>', 'evaluate as apply --break-glass would')
    .action((file: string, o) => run(async () => (await import('./gate.ts')).gateCommand(file, o, io))());
  program.command('history').description('past runs from the journal').option('-n <n>', 'how many', '20').option('--json', 'JSON Lines output')
    .action((o) => run(async () => (await import('./history.ts')).historyCommand(o, io))());
  program.command('show').argument('<run-id>').description('one run\'s events and evidence').option('--json', 'raw events').option('--no-color', 'no colours')
    .action((id: string, o) => run(async () => (await import('./history.ts')).showCommand(id, o, io))());
  program.command('unlock').description('remove a stale lock held by a run that is gone')
    .requiredOption('-e, --env <env>', 'environment').requiredOption('--run <run-id>', 'the run holding the lock')
    .option('-i, --inventory <dir>', 'folder of environment files', './environments')
    .action((o: { env: string; run: string; inventory: string }) => run(async () => {
      const env = await (await import('../engine/environment.ts')).loadEnvironment(o.inventory, o.env);
      const h = env.lock.backend === 'git'
        ? await (await import('../engine/lock-git.ts')).unlockGit({ repoDir: io.cwd, env: o.env, runId: o.run })
        : (await import('../engine/lock.ts')).unlock(io.cwd, o.env, o.run);
      io.out.write(`removed the lock of run ${h.runId} (${h.user}@${h.host}, pid ${h.pid}, since ${h.startedAt})\n`);
      return 0;
    })());
  program.command('init').argument('[dir]', 'folder to scaffold', '.').description('scaffold environments/, runbooks/, schemas and GitHub workflows (never overwrites)')
    .action((dir: string) => run(async () => (await import('./init.ts')).initCommand(dir, io))());
  program.command('schema').argument('[which]', 'runbook or environment', 'runbook').description('print a JSON Schema (for editors)')
    .action((which: string) => run(() => {
      if (which !== 'runbook' && which !== 'environment') throw new InputError(`schema: unknown schema '${which}' (runbook or environment)`);
      io.out.write(readFileSync(new URL(`../../schemas/${which}.schema.json`, import.meta.url), 'utf8'));
      return 0;
    })());
  return program;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const json = argv.includes('--json');
  return new Promise<number>((resolve) => {
    const program = buildProgram(io, resolve);
    program.parseAsync(argv, { from: 'user' }).then(() => {
      if (!program.args.length) resolve(0);
    }, (e: unknown) => {
      if (e instanceof CommanderError) {
        resolve(e.exitCode === 0 ? 0 : 2);
        return;
      }
      resolve(reportError(e, { out: io.out, err: io.err, json }));
    });
  });
}
