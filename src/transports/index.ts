// Picks the transport an environment names. SSH and SSM load lazily so a local run never pays for them.
import { InputError } from '../errors.ts';
import type { Environment } from '../engine/model.ts';
import { Secret } from '../engine/secret.ts';
import { parseDuration } from '../engine/duration.ts';
import { createLocalTransport } from './local.ts';
import type { Transport } from './types.ts';

/** `limited`: a --limit narrowed the hosts, so SSM's tag fan-out (which would reach every tagged
 * instance) must not be used; commands go to the selected instance ids only. */
export async function createTransport(env: Environment, opts: { forks: number; processEnv?: NodeJS.ProcessEnv; limited?: boolean }): Promise<Transport> {
  const penv = opts.processEnv ?? process.env;
  switch (env.transport) {
    case 'local':
      return createLocalTransport({ forks: opts.forks });
    case 'ssh': {
      const { createSshTransport } = await import('./ssh.ts');
      const pwName = env.ssh.becomePasswordEnv;
      if (pwName && penv[pwName] === undefined) throw new InputError(`ssh.become_password_env names ${pwName}, which is not set`);
      return createSshTransport({
        forks: opts.forks, knownHosts: env.ssh.knownHosts, identity: env.ssh.identity, hostKeyPolicy: env.ssh.hostKeyPolicy,
        proxyJump: env.ssh.proxyJump, becomePassword: pwName ? new Secret(penv[pwName]!, pwName) : undefined,
        connectTimeoutMs: env.ssh.connectTimeout !== undefined ? parseDuration(env.ssh.connectTimeout) : undefined,
      });
    }
    case 'ssm': {
      const { createSsmTransport } = await import('./ssm.ts');
      return createSsmTransport({
        region: env.ssm.region, forks: opts.forks,
        fleet: env.ssm.fleet && env.ssm.targets && !opts.limited ? { targets: env.ssm.targets.map((t) => ({ key: t.key, values: [...t.values] })), maxConcurrency: env.ssm.maxConcurrency, maxErrors: env.ssm.maxErrors } : undefined,
      });
    }
  }
}
