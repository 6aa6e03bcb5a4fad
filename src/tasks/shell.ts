// shell: run a line through the shell (pipes, redirections, `&&`) on the host, or through `executable`.
// Not idempotent: always runs ("will run") unless `creates` exists or `removes` is missing.
import { checkRun, freeFormRun, runSchema, type RunArgs } from './run-command.ts';
import { defineTask } from './types.ts';

export type ShellArgs = RunArgs;

export default defineTask<ShellArgs>({
  name: 'shell',
  idempotent: false,
  schema: runSchema('Run a shell line on the host (sh -c: pipes and redirections work). Free form: `shell: df -h | tail -1`.', {
    executable: { type: 'string', pattern: '^/', description: 'Shell to run the line with instead of sh, e.g. /bin/bash.', examples: ['/bin/bash'] },
  }),
  freeForm: freeFormRun,
  check: (ctx, args) => checkRun(ctx, args),
});
