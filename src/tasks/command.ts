// command: run a command line (or an argv list, each word quoted) on the host.
// Not idempotent: always runs ("will run") unless `creates` exists or `removes` is missing.
import { checkRun, freeFormRun, runSchema, type RunArgs } from './run-command.ts';
import { defineTask } from './types.ts';

export type CommandArgs = Omit<RunArgs, 'executable'>;

export default defineTask<CommandArgs>({
  name: 'command',
  idempotent: false,
  schema: runSchema('Run a command on the host. Free form: `command: ls -l {{ dir }}` (values are quoted).'),
  freeForm: freeFormRun,
  check: (ctx, args) => checkRun(ctx, args),
});
