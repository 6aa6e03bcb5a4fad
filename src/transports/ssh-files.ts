// File transfer over one SSH connection: put() compares sha256/mode/owner first (one remote command), then
// writes over SFTP to a temp file beside the target and renames it; get() reads over SFTP (or `sudo cat`).
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, posix } from 'node:path';
import { TransportError } from '../errors.ts';
import { sh, type Script } from '../engine/script.ts';
import { Secret } from '../engine/secret.ts';
import type { Ssh2Sftp } from './ssh-connect.ts';
import type { RawResult } from './ssh-exec.ts';
import type { Cmd, ExecOpts, HostOutcome, PutFile } from './types.ts';

/** One host's connection as the file functions see it. */
export type Session = {
  readonly host: string;
  run(cmd: Cmd, opts: ExecOpts): Promise<HostOutcome<RawResult>>;
  sftp(): Promise<HostOutcome<Ssh2Sftp>>;
  dropped(): TransportError | undefined;
};

type Current = { readonly mode: number; readonly owner: string; readonly group: string; readonly sha256: string } | undefined;

const CHUNK = 64 * 1024;
const IN_FLIGHT = 32;
const okVoid: HostOutcome<void> = { ok: true, value: undefined };

function bytesOf(content: PutFile['content']): Buffer {
  if (content instanceof Secret) return Buffer.from(content.reveal());
  return typeof content === 'string' ? Buffer.from(content) : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}

function failed(s: Session, verb: string, path: string, detail: string): HostOutcome<never> {
  return { ok: false, error: s.dropped() ?? new TransportError('auth', s.host, `cannot ${verb} ${path}: ${detail.trim() || 'failed'}`) };
}

/** Parse `<octal mode> <owner> <group>\n<sha256>  -` (or `absent`) from the probe below. */
export function parseCurrent(stdout: string): Current {
  const [meta, sum] = stdout.split('\n');
  const m = /^([0-7]+) (\S+) (\S+)$/.exec(meta ?? '');
  if (!m) return undefined;
  return { mode: parseInt(m[1]!, 8), owner: m[2]!, group: m[3]!, sha256: (sum ?? '').slice(0, 64) };
}

const probeScript = (path: string): Script =>
  sh`p=${path}; if [ -f "$p" ]; then stat -L -c '%a %U %G' -- "$p" && { sha256sum < "$p" || echo unreadable; }; else echo absent; fi`;

function chownSpec(file: PutFile, current: Current, become: boolean): string | undefined {
  const owner = file.owner ?? (become ? current?.owner : undefined);
  const group = file.group ?? (become ? current?.group : undefined);
  if (!owner && !group) return undefined;
  return `${owner ?? ''}${group ? ':' + group : ''}`;
}

function tempBeside(path: string): string {
  return posix.join(dirname(path), `.${basename(path)}.runbook-${randomBytes(6).toString('hex')}`);
}

const call = <T>(f: (cb: (err: Error | undefined, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

async function writeChunks(sftp: Ssh2Sftp, handle: Buffer, data: Buffer, signal: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < data.length) {
      signal.throwIfAborted();
      const at = next;
      next += CHUNK;
      await call<void>((cb) => sftp.write(handle, data, at, Math.min(CHUNK, data.length - at), at, cb));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

async function sftpWrite(s: Session, file: PutFile, data: Buffer, mode: number, chown: string | undefined, opts: ExecOpts): Promise<HostOutcome<void>> {
  const sftp = await s.sftp();
  if (!sftp.ok) return sftp;
  const tmp = tempBeside(file.path);
  try {
    const handle = await call<Buffer>((cb) => sftp.value.open(tmp, 'w', { mode: 0o600 }, cb));
    try {
      await writeChunks(sftp.value, handle, data, opts.signal);
      await call<void>((cb) => sftp.value.fchmod(handle, mode, cb));
    } finally {
      await call<void>((cb) => sftp.value.close(handle, cb)).catch(() => undefined);
    }
    opts.signal.throwIfAborted(); // cut by a time limit: never rename a late file into place
    if (!chown) {
      await call<void>((cb) => sftp.value.ext_openssh_rename(tmp, file.path, cb));
      return okVoid;
    }
  } catch (err) {
    await call<void>((cb) => sftp.value.unlink(tmp, cb)).catch(() => undefined);
    return failed(s, 'write', file.path, (err as Error).message);
  }
  const r = await s.run({ script: sh`chown ${chown} ${tmp} && mv -f ${tmp} ${file.path} || { rm -f ${tmp}; exit 1; }` }, opts);
  if (!r.ok) return r;
  return r.value.code === 0 ? okVoid : failed(s, 'write', file.path, r.value.stderr.toString());
}

/** Under sudo the bytes go through the command's stdin into a temp file beside the target, then `mv`. */
async function sudoWrite(s: Session, file: PutFile, data: Buffer, mode: number, chown: string | undefined, opts: ExecOpts): Promise<HostOutcome<void>> {
  const tmp = tempBeside(file.path);
  const owner = chown ? sh` && chown ${chown} "$t"` : sh``;
  const script = sh`t=${tmp}; umask 077; cat > "$t" && chmod ${mode.toString(8)} "$t"${owner} && mv -f "$t" ${file.path} || { rm -f "$t"; exit 1; }`;
  const r = await s.run({ script, become: true, becomeUser: file.becomeUser, stdin: data }, opts);
  if (!r.ok) return r;
  return r.value.code === 0 ? okVoid : failed(s, 'write', file.path, r.value.stderr.toString());
}

async function fixMetadata(s: Session, file: PutFile, mode: number, chown: string | undefined, opts: ExecOpts): Promise<HostOutcome<void>> {
  const owner = chown ? sh` && chown ${chown} ${file.path}` : sh``;
  const r = await s.run({ script: sh`chmod ${mode.toString(8)} ${file.path}${owner}`, become: file.become, becomeUser: file.becomeUser }, opts);
  if (!r.ok) return r;
  return r.value.code === 0 ? okVoid : failed(s, 'set mode/owner of', file.path, r.value.stderr.toString());
}

/** Make `file.path` hold exactly `file.content`, sending the bytes only when the checksum differs. */
export async function putFile(s: Session, file: PutFile, opts: ExecOpts): Promise<HostOutcome<void>> {
  const data = bytesOf(file.content);
  const become = file.become === true;
  const probe = await s.run({ script: probeScript(file.path), become, becomeUser: file.becomeUser }, opts);
  if (!probe.ok) return probe;
  const current = parseCurrent(probe.value.stdout.toString());
  const mode = file.mode ?? current?.mode ?? 0o644;
  const chown = chownSpec(file, current, become);
  const sameBytes = current?.sha256 === createHash('sha256').update(data).digest('hex');
  if (sameBytes) {
    const sameMeta = current!.mode === mode && (!file.owner || file.owner === current!.owner) && (!file.group || file.group === current!.group);
    return sameMeta ? okVoid : fixMetadata(s, file, mode, file.owner || file.group ? chown : undefined, opts);
  }
  return become ? sudoWrite(s, file, data, mode, chown, opts) : sftpWrite(s, file, data, mode, chown, opts);
}

export async function getFile(s: Session, path: string, opts: ExecOpts & { become?: boolean }): Promise<HostOutcome<Uint8Array>> {
  if (opts.become) {
    const r = await s.run({ script: sh`cat -- ${path}`, become: true }, opts);
    if (!r.ok) return r;
    if (r.value.truncated) return failed(s, 'read', path, 'file too large to read through sudo cat (64 MiB)');
    return r.value.code === 0 ? { ok: true, value: new Uint8Array(r.value.stdout) } : failed(s, 'read', path, r.value.stderr.toString());
  }
  const sftp = await s.sftp();
  if (!sftp.ok) return sftp;
  try {
    return { ok: true, value: new Uint8Array(await call<Buffer>((cb) => sftp.value.readFile(path, cb))) };
  } catch (err) {
    return failed(s, 'read', path, (err as Error).message);
  }
}
