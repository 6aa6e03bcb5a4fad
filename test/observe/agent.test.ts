// The engine's own New Relic agent: not loaded without a key; with a key (collector unreachable)
// it records events, never writes a log file into the working folder, and shuts down within bounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgent } from '../../src/observe/agent.ts';

describe('engine agent', () => {
  it('is not even imported without NEW_RELIC_LICENSE_KEY', async () => {
    let imported = false;
    const r = await startAgent({}, async () => { imported = true; return {}; });
    expect(r).toBeUndefined();
    expect(imported).toBe(false);
  });

  it('with a key and an unreachable collector: records, writes no log file here, exits within a few seconds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-agent-'));
    const script = join(dir, 'run.mts');
    writeFileSync(script, `import { startAgent } from ${JSON.stringify(resolve(import.meta.dirname, '../../src/observe/agent.ts'))};
const a = await startAgent(process.env);
if (!a) { console.log('no agent'); process.exit(3); }
a.onEvent({ type: 'run_end', run: 'r1', time: new Date().toISOString(), exitCode: 0, ms: 5, summary: {} });
const t = Date.now();
await a.shutdown();
console.log('shutdown ms', Date.now() - t);
`);
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', resolve(import.meta.dirname, '../../node_modules/tsx/dist/esm/index.mjs'), script], { cwd: dir, encoding: 'utf8', timeout: 20_000,
      env: { ...process.env, NEW_RELIC_LICENSE_KEY: '0123456789abcdef0123456789abcdef0123NRAL', NEW_RELIC_HOST: '127.0.0.1', NEW_RELIC_PORT: '9', NEW_RELIC_APP_NAME: 'runbook-test' } });
    expect(r.stdout, r.stderr).toMatch(/shutdown ms \d+/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readdirSync(dir).filter((f) => f.includes('newrelic'))).toEqual([]);
  }, 30_000);
});
