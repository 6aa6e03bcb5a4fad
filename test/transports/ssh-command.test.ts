// The exact command line the ssh transport sends (pure): `sh -c` quoting, cwd/env prelude, sudo forms,
// the become password kept out of the command line, and the remote put probe's parser.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { sh } from '../../src/engine/script.ts';
import { Secret } from '../../src/engine/secret.ts';
import { commandFor, reapScript } from '../../src/transports/ssh-exec.ts';
import { parseCurrent } from '../../src/transports/ssh-files.ts';

/** Run a generated command line through a local POSIX shell, as the remote login shell would. */
const runLocally = (command: string, stdin = ''): string => execFileSync('sh', ['-c', command], { input: stdin }).toString();

describe('commandFor', () => {
  it('wraps the script in one quoted sh -c, with cwd and env exported first', () => {
    const { command } = commandFor({ script: sh`printf '%s|%s|' "$A" "$B"; pwd`, cwd: '/tmp', env: { A: "it's", B: new Secret('x y') } }, 'deploy');
    expect(command.startsWith("sh -c '")).toBe(true);
    expect(runLocally(command)).toBe("it's|x y|/tmp\n");
  });

  it('refuses environment names that are not shell names', () => {
    expect(() => commandFor({ script: sh`true`, env: { 'A;rm': 'x' } }, 'deploy')).toThrow(InputError);
  });

  it('uses sudo -n for become, -u for become_user, and no sudo when already that user', () => {
    expect(commandFor({ script: sh`id`, become: true }, 'deploy').command).toMatch(/^sudo -n -H -u root -- sh -c /);
    expect(commandFor({ script: sh`id`, become: true, becomeUser: 'app user' }, 'deploy').command).toMatch(/^sudo -n -H -u 'app user' -- sh -c /);
    expect(commandFor({ script: sh`id`, become: true }, 'root').command).toMatch(/^sh -c /);
  });

  it('sends a become password as the first stdin line, never in the command line', () => {
    const { command, stdin } = commandFor({ script: sh`cat`, become: true, stdin: Buffer.from('data') }, 'deploy', new Secret('pw-9z'));
    expect(command).not.toContain('pw-9z');
    expect(command).toContain('sudo -A');
    expect(Buffer.from(stdin!).toString()).toBe('pw-9z\ndata');
  });

  it('tags the command with its job token, and the reaper pattern does not match itself', () => {
    const { command } = commandFor({ script: sh`true` }, 'deploy', undefined, 'abc123');
    expect(command).toContain('# runbook-job-abc123');
    const reaper = reapScript('abc123').text;
    expect(reaper).not.toContain('runbook-job-abc123');
    expect(reaper).toContain("'/[r]unbook-job-abc123/ { print $1 }'");
  });
});

describe('parseCurrent (put probe output)', () => {
  it('reads mode, owner, group and checksum, or nothing for an absent file', () => {
    const sum = 'a'.repeat(64);
    expect(parseCurrent(`640 app www-data\n${sum}  -\n`)).toEqual({ mode: 0o640, owner: 'app', group: 'www-data', sha256: sum });
    expect(parseCurrent('absent\n')).toBeUndefined();
  });
});
