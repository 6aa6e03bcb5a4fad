// The local transport: a non-zero exit is a value, cwd/env/stdin reach the command, a timeout is always a
// TransportError of kind timeout (however the shell died), put writes atomically with mode, get reads back.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.ts';
import { Script, sh } from '../../src/engine/script.ts';
import { Secret } from '../../src/engine/secret.ts';
import { createLocalTransport } from '../../src/transports/local.ts';
import type { Host } from '../../src/transports/types.ts';

const hosts: Host[] = [{ name: 'a', address: '127.0.0.1', vars: {} }, { name: 'b', address: '127.0.0.1', vars: {} }];
const opts = { signal: new AbortController().signal };

describe('local transport', () => {
  const t = createLocalTransport();

  it('runs once per host; a non-zero exit is a value with its output', async () => {
    const r = await t.exec(hosts, { script: new Script('echo out; echo err >&2; exit 3') }, opts);
    expect([...r.keys()]).toEqual(['a', 'b']);
    for (const v of r.values()) expect(v).toMatchObject({ ok: true, value: { code: 3, stdout: 'out\n', stderr: 'err\n' } });
  });

  it('passes cwd, env (a Secret revealed only to the command) and stdin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-local-'));
    const r = (await t.exec([hosts[0]!], { script: sh`read x; echo "$x $A $(pwd)"`, cwd: dir, env: { A: new Secret('s3') }, stdin: Buffer.from('in\n') }, opts)).get('a')!;
    expect(r).toMatchObject({ ok: true, value: { code: 0, stdout: `in s3 ${dir}\n` } });
  });

  it('a command past its timeout is always a timeout TransportError, never a plain exit code', async () => {
    for (let i = 0; i < 12; i++) {
      const r = (await t.exec([hosts[0]!], { script: new Script('sleep 8') }, { ...opts, timeoutMs: 150 })).get('a')!;
      expect(r.ok, `try ${i}: ${JSON.stringify(r)}`).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ kind: 'timeout', host: 'a' });
      if (!r.ok) expect(r.error).toBeInstanceOf(TransportError);
    }
  });

  it('a command that exits 143 by itself, well within its timeout, is just exit 143', async () => {
    const r = (await t.exec([hosts[0]!], { script: new Script('exit 143') }, { ...opts, timeoutMs: 5000 })).get('a')!;
    expect(r).toMatchObject({ ok: true, value: { code: 143 } });
  });

  it('put replaces a file atomically with the mode asked, keeps the old mode otherwise; get reads it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-local-'));
    const path = join(dir, 'app.env');
    writeFileSync(path, 'old', { mode: 0o600 });
    expect((await t.put([hosts[0]!], { path, content: 'A=1\n' }, opts)).get('a')).toEqual({ ok: true, value: undefined });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await t.put([hosts[0]!], { path, content: new Secret('B=2\n'), mode: 0o640 }, opts);
    expect([readFileSync(path, 'utf8'), statSync(path).mode & 0o777]).toEqual(['B=2\n', 0o640]);
    expect(readdirSync(dir)).toEqual(['app.env']); // no temp file left behind
    const got = (await t.get([hosts[0]!], path, opts)).get('a')!;
    expect(got.ok && Buffer.from(got.value).toString()).toBe('B=2\n');
  });
});
