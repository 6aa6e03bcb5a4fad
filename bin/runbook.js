#!/usr/bin/env node
// Entry point named by package.json `bin`: runs the TypeScript sources through tsx, so `npm ci` alone is enough.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
