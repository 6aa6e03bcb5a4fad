// Test helper: starts the SSM emulator and points the real SDK at it the way users would configure it
// (AWS_ENDPOINT_URL_SSM, AWS_REGION, dummy keys in the environment for the default credential chain).
import { startSsmEmulator, DUMMY_CREDENTIALS, type SsmEmulator, type SsmEmulatorOpts } from './emulator.ts';
import type { Host } from '../../../src/transports/types.ts';

const KEYS = ['AWS_ENDPOINT_URL_SSM', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;

export async function emulatedFleet(opts: SsmEmulatorOpts): Promise<SsmEmulator & { hosts: Host[]; restoreEnv(): void }> {
  const emu = await startSsmEmulator(opts);
  const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
  process.env.AWS_ENDPOINT_URL_SSM = emu.endpoint;
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = DUMMY_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = DUMMY_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  const hosts = emu.instances.map((i) => ({ name: i.name ?? i.id, address: i.id, vars: {} }));
  return Object.assign(emu, {
    hosts,
    restoreEnv() {
      for (const k of KEYS) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    },
  });
}
