#!/usr/bin/env node
// Entry point named by package.json `bin`: runs the TypeScript sources through tsx, so `npm ci` alone is enough.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// a finished run must not be kept alive by a lingering socket or agent timer
setTimeout(() => process.exit(code), 3000).unref();
