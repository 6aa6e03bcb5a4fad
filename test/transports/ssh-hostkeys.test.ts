// Host key checking: the known_hosts parser (hashed, [host]:port, wildcards, negation, @revoked) and the
// transport against a real sshd: wrong key refused with its fingerprint, unknown refused or accept-new.
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.ts';
import { sh } from '../../src/engine/script.ts';
import { createSshTransport, type SshOpts } from '../../src/transports/ssh.ts';
import { fingerprint, hostKeyName, KnownHosts, keyType, patternsMatch } from '../../src/transports/ssh-known-hosts.ts';
import type { HostOutcome } from '../../src/transports/types.ts';
import { startSshd, type Sshd } from '../helpers/sshd.ts';

let sshd: Sshd;
let dir: string;
let serverFp: string;
const signal = new AbortController().signal;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'runbook-kh-'));
  serverFp = execFileSync('ssh-keygen', ['-lf', join(sshd.dir, 'host_ed25519.pub')]).toString().split(' ')[1]!;
});
afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function otherKey(): string {
  const f = join(dir, `other-${randomBytes(4).toString('hex')}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
  return execFileSync('cat', [f + '.pub']).toString().split(' ').slice(0, 2).join(' ');
}

async function knownHostsFile(text: string): Promise<string> {
  const f = join(dir, `kh-${randomBytes(4).toString('hex')}`);
  await writeFile(f, text);
  return f;
}

async function connectWith(opts: SshOpts, n = 1): Promise<HostOutcome<unknown>[]> {
  const t = createSshTransport({ identity: sshd.identity, connectRetries: 0, ...opts });
  try {
    const hosts = sshd.hosts(n);
    const r = await t.exec(hosts, { script: sh`echo ok` }, { signal });
    return hosts.map((h) => r.get(h.name)!);
  } finally {
    await t.close();
  }
}

function hostKeyError(o: HostOutcome<unknown> | undefined): TransportError {
  expect(o?.ok).toBe(false);
  if (!o || o.ok) throw new Error('expected a failure');
  expect(o.error).toBeInstanceOf(TransportError);
  expect(o.error.kind).toBe('host_key');
  return o.error;
}

describe('known_hosts parsing', () => {
  const blob = Buffer.from(sshd_key_blob());
  function sshd_key_blob(): Buffer {
    const type = Buffer.from('ssh-ed25519');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(type.length);
    return Buffer.concat([len, type, Buffer.alloc(40, 7)]);
  }

  it('reads the key type and prints OpenSSH-style fingerprints', () => {
    expect(keyType(blob)).toBe('ssh-ed25519');
    expect(fingerprint(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('names non-22 ports as [host]:port', () => {
    expect(hostKeyName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(hostKeyName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('matches plain, wildcard, negated and hashed patterns', () => {
    expect(patternsMatch('web1,web2', 'web2')).toBe(true);
    expect(patternsMatch('web*,!web3', 'web3')).toBe(false);
    expect(patternsMatch('web?', 'web12')).toBe(false);
    expect(patternsMatch('[10.0.0.1]:2222', '[10.0.0.1]:2222')).toBe(true);
    expect(patternsMatch('[10.0.0.1]:2222', '10.0.0.1')).toBe(false);
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.1]:2222').digest('base64');
    const hashed = `|1|${salt.toString('base64')}|${hash}`;
    expect(patternsMatch(hashed, '[10.0.0.1]:2222')).toBe(true);
    expect(patternsMatch(hashed, '10.0.0.1')).toBe(false);
  });

  it('verifies: known key ok, same type different key changed, @revoked refused, other host unknown', async () => {
    const other = Buffer.from(blob);
    other[other.length - 1] = 9;
    const f = await knownHostsFile([
      '# comment', '', `web1 ssh-ed25519 ${blob.toString('base64')}`, `web2 ssh-ed25519 ${other.toString('base64')}`,
      `@revoked web3 ssh-ed25519 ${blob.toString('base64')}`, `web3 ssh-ed25519 ${blob.toString('base64')}`,
    ].join('\n'));
    const kh = new KnownHosts(f, 'strict');
    expect(await kh.verify('web1', 22, blob)).toEqual({ ok: true });
    const changed = await kh.verify('web2', 22, blob);
    expect(changed).toMatchObject({ ok: false, reason: 'changed' });
    if (!changed.ok) expect(changed.message).toContain(`${f}:4`);
    expect(await kh.verify('web3', 22, blob)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(await kh.verify('web4', 22, blob)).toMatchObject({ ok: false, reason: 'unknown' });
  });
});

describe('host keys against a real sshd', () => {
  it('accepts the right key, also from a hashed (ssh-keygen -H) file', async () => {
    const f = await knownHostsFile(await readFile(sshd.knownHosts, 'utf8'));
    execFileSync('ssh-keygen', ['-q', '-H', '-f', f], { stdio: 'ignore' });
    expect((await readFile(f, 'utf8')).startsWith('|1|')).toBe(true);
    const [o] = await connectWith({ knownHosts: f });
    expect(o).toMatchObject({ ok: true, value: { code: 0, stdout: 'ok\n' } });
  });

  it('refuses a changed key with both fingerprints, even under accept-new', async () => {
    const f = await knownHostsFile(`[127.0.0.1]:${sshd.port} ${otherKey()}\n`);
    for (const hostKeyPolicy of ['strict', 'accept-new'] as const) {
      const [o] = await connectWith({ knownHosts: f, hostKeyPolicy });
      const e = hostKeyError(o);
      expect(e.message).toContain('HOST KEY CHANGED');
      expect(e.message).toContain(serverFp);
    }
    expect((await readFile(f, 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('refuses a server whose key type known_hosts does not list for it', async () => {
    const f = join(dir, `rsa-${randomBytes(4).toString('hex')}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', f]);
    const rsa = execFileSync('cat', [f + '.pub']).toString().split(' ').slice(0, 2).join(' ');
    const [o] = await connectWith({ knownHosts: await knownHostsFile(`[127.0.0.1]:${sshd.port} ${rsa}\n`) });
    expect(hostKeyError(o).message).toContain('lists only ssh-rsa keys');
  });

  it('refuses an unknown key by default, naming its fingerprint', async () => {
    const f = await knownHostsFile(`[127.0.0.1]:${sshd.port + 1} ${(await readFile(sshd.knownHosts, 'utf8')).split(' ').slice(1).join(' ')}`);
    const [o] = await connectWith({ knownHosts: f });
    const e = hostKeyError(o);
    expect(e.message).toContain('unknown host key');
    expect(e.message).toContain(serverFp);
    const [missing] = await connectWith({ knownHosts: join(dir, 'does-not-exist') });
    expect(hostKeyError(missing).message).toContain(serverFp);
  });

  it('accept-new records an unknown key once (many hosts at once), then strict accepts it', async () => {
    const f = join(dir, 'fresh', 'known_hosts');
    const outcomes = await connectWith({ knownHosts: f, hostKeyPolicy: 'accept-new' }, 5);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const lines = (await readFile(f, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toEqual([`[127.0.0.1]:${sshd.port} ${sshd.hostKey}`]);
    const [again] = await connectWith({ knownHosts: f });
    expect(again!.ok).toBe(true);
  });
});
