#!/usr/bin/env node
// Entry point of the GitHub Action (action.yml): runs src/cli/action.ts through tsx, which decides
// from the inputs and GITHUB_EVENT_PATH which `runbook` commands to run, and runs them in-process.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const { runAction } = await import('../src/cli/action.ts');
const { reportError } = await import('../src/cli/exit.ts');
const { processIo } = await import('../src/cli/session.ts');
const io = processIo();
let code;
try {
  code = await runAction(io, (argv) => main(argv, io));
} catch (e) {
  code = reportError(e, { out: io.out, err: io.err, json: false });
}
process.exitCode = code;
// a finished run must not be kept alive by a lingering socket or agent timer
setTimeout(() => process.exit(code), 3000).unref();
