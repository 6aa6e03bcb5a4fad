// Wiring: an environment file naming the test sshd loads (schema included), and the transport it selects
// runs commands on its hosts.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sh } from '../../src/engine/script.ts';
import { loadEnvironment } from '../../src/engine/environment.ts';
import { createTransport } from '../../src/transports/index.ts';
import { startSshd, type Sshd } from '../helpers/sshd.ts';

let sshd: Sshd;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'runbook-sshenv-'));
});
afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('an environment from environmentYaml() reaches every host over ssh', async () => {
  await mkdir(join(dir, 'environments'));
  await writeFile(join(dir, 'environments', 'staging.yml'), sshd.environmentYaml(3));
  const env = await loadEnvironment(join(dir, 'environments'), 'staging');
  expect(env.transport).toBe('ssh');
  const t = await createTransport(env, { forks: 50 });
  try {
    expect(t.kind).toBe('ssh');
    const r = await t.exec(env.hosts, { script: sh`id -un` }, { signal: new AbortController().signal });
    expect([...r.values()].map((o) => (o.ok ? o.value.stdout : o.error.message))).toEqual([`${sshd.user}\n`, `${sshd.user}\n`, `${sshd.user}\n`]);
  } finally {
    await t.close();
  }
});
