// OpenSSH known_hosts: parse (plain, wildcard, negated, hashed |1| and [host]:port entries), verify a
// server's host key against it, and record unknown keys for the explicit `accept-new` policy.
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type KnownHostEntry = {
  readonly marker?: 'revoked' | 'cert-authority';
  readonly patterns: string;
  readonly type: string;
  readonly key: Buffer;
  readonly line: number;
};

export type HostKeyVerdict =
  | { readonly ok: true; readonly added?: boolean }
  | { readonly ok: false; readonly reason: 'unknown' | 'changed' | 'revoked'; readonly message: string };

/** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The key type named at the start of an SSH public key blob (e.g. `ssh-ed25519`). */
export function keyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  return n > 0 && n < 64 && key.length >= 4 + n ? key.subarray(4, 4 + n).toString('latin1') : 'unknown';
}

/** The name OpenSSH looks up: `host` on port 22, else `[host]:port`. */
export function hostKeyName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0]!.startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift()!.slice(1) as KnownHostEntry['marker'];
    const [patterns, type, b64] = fields;
    if (!patterns || !type || !b64) return;
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0) return;
    out.push({ marker, patterns, type, key, line: i + 1 });
  });
  return out;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split('|');
  if (!salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/** True when the comma-separated pattern list names `name` (a negated match wins). */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!');
    if (globToRegExp(negated ? p.slice(1) : p).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** One known_hosts file, read once, shared by every connection of a transport. */
export class KnownHosts {
  private entries: KnownHostEntry[] | undefined;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string, readonly policy: 'strict' | 'accept-new') {}

  private async load(): Promise<KnownHostEntry[]> {
    if (!this.entries) {
      const text = await readFile(this.path, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return '';
        throw e;
      });
      this.entries = parseKnownHosts(text);
    }
    return this.entries;
  }

  /** Key types known for this host, so the handshake can ask the server for one of them. */
  async typesFor(address: string, port: number): Promise<string[]> {
    const name = hostKeyName(address, port);
    const entries = await this.load();
    return [...new Set(entries.filter((e) => !e.marker && patternsMatch(e.patterns, name)).map((e) => e.type))];
  }

  async verify(address: string, port: number, key: Buffer): Promise<HostKeyVerdict> {
    // Serialised so that many connections to one unknown host record its key once.
    const result = this.writing.then(() => this.decide(address, port, key));
    this.writing = result.catch(() => undefined);
    return result;
  }

  private async decide(address: string, port: number, key: Buffer): Promise<HostKeyVerdict> {
    const name = hostKeyName(address, port);
    const type = keyType(key);
    const fp = fingerprint(key);
    const entries = (await this.load()).filter((e) => e.marker !== 'cert-authority' && patternsMatch(e.patterns, name));
    if (entries.some((e) => e.marker === 'revoked' && e.key.equals(key))) {
      return { ok: false, reason: 'revoked', message: `host key ${type} ${fp} for ${name} is marked @revoked in ${this.path}` };
    }
    if (entries.some((e) => !e.marker && e.key.equals(key))) return { ok: true };
    const sameType = entries.find((e) => !e.marker && e.type === type);
    if (sameType) {
      return {
        ok: false, reason: 'changed',
        message: `HOST KEY CHANGED for ${name}: server offered ${type} ${fp}, but ${this.path}:${sameType.line} has ` +
          `${fingerprint(sameType.key)}; someone may be intercepting the connection (or the host was rebuilt: remove that line)`,
      };
    }
    if (this.policy === 'accept-new') {
      await this.record(name, type, key);
      return { ok: true, added: true };
    }
    return {
      ok: false, reason: 'unknown',
      message: `unknown host key for ${name}: ${type} ${fp} is not in ${this.path}; verify the fingerprint and add it ` +
        `(ssh-keyscan -p ${port} ${address} >> ${this.path}) or set ssh.host_key_policy: accept-new`,
    };
  }

  private async record(name: string, type: string, key: Buffer): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const text = await readFile(this.path, 'utf8').catch(() => '');
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    await appendFile(this.path, `${sep}${name} ${type} ${key.toString('base64')}\n`, { mode: 0o600 });
    this.entries!.push({ patterns: name, type, key, line: text.split('\n').length });
  }
}
