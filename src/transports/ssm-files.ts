// Files over SSM without S3: put sends base64 chunks inside commands (48 KB of base64 each) appended to a
// temp file beside the target, then checks its sha256 and renames it into place; get reads back with dd.
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TransportError } from '../errors.ts';
import { quote, Script } from '../engine/script.ts';
import { Secret } from '../engine/secret.ts';
import type { Cmd, ExecOpts, ExecResult, Host, HostOutcome, HostResults, PutFile } from './types.ts';

type ExecFn = (hosts: readonly Host[], cmd: Cmd, opts: ExecOpts) => Promise<HostResults<ExecResult>>;

/** Raw bytes per put chunk: 36 KB -> 48 KB of base64, well under SSM's document size limit. */
export const PUT_CHUNK = 36 * 1024;
/** Raw bytes per get chunk: its base64 (23,212 chars) stays under the 24,000-char output limit. */
export const GET_CHUNK = 17 * 1024;

function bytesOf(content: PutFile['content']): Buffer {
  if (content instanceof Secret) return Buffer.from(content.reveal());
  return typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function heredoc(chunk: Buffer): string {
  return `<<'RUNBOOK_B64'\n${chunk.toString('base64').replace(/.{1,76}/g, '$&\n')}RUNBOOK_B64\n`;
}

/** Checks the temp file's sha256, sets mode/owner/group (mode kept from an existing target), renames. */
function finish(tmp: string, file: PutFile, hash: string): string {
  const t = quote(tmp);
  const f = quote(file.path);
  const mode = file.mode !== undefined
    ? `chmod ${file.mode.toString(8)} ${t}`
    : `if [ -e ${f} ]; then chmod "$(stat -c %a ${f})" ${t}; else chmod 644 ${t}; fi`;
  const who = file.owner ? `${file.owner}${file.group ? ':' + file.group : ''}` : undefined;
  const own = who ? `chown ${quote(who)} ${t}` : file.group ? `chgrp ${quote(file.group)} ${t}` : 'true';
  return [
    `if [ "$(sha256sum ${t} | cut -d' ' -f1)" != ${hash} ]; then rm -f ${t}; echo 'checksum mismatch after transfer' >&2; exit 3; fi`,
    `{ ${mode} && ${own} && mv -f ${t} ${f}; } || { rm -f ${t}; exit 1; }`,
  ].join('\n');
}

function putScripts(file: PutFile, bytes: Buffer): Script[] {
  const tmp = join(dirname(file.path), `.${basename(file.path)}.runbook-${randomBytes(4).toString('hex')}`);
  const t = quote(tmp);
  const scripts: Script[] = [];
  const n = Math.max(1, Math.ceil(bytes.length / PUT_CHUNK));
  for (let i = 0; i < n; i++) {
    const chunk = bytes.subarray(i * PUT_CHUNK, (i + 1) * PUT_CHUNK);
    let text = i === 0 ? `umask 077\n` : '';
    text += chunk.length ? `base64 -d ${i === 0 ? '>' : '>>'} ${t} ${heredoc(chunk)}` : `: > ${t}\n`;
    text += `[ $? -eq 0 ] || { rm -f ${t}; exit 1; }\n`;
    if (i === n - 1) text += finish(tmp, file, sha256(bytes));
    scripts.push(new Script(text, `# write ${file.path} (part ${i + 1}/${n})`));
  }
  return scripts;
}

const fail = (host: string, kind: 'auth' | 'unreachable' | 'timeout', msg: string): HostOutcome<never> => ({ ok: false, error: new TransportError(kind, host, msg) });

export async function putFile(exec: ExecFn, hosts: readonly Host[], file: PutFile, opts: ExecOpts): Promise<Map<string, HostOutcome<void>>> {
  const bytes = bytesOf(file.content);
  const scripts = putScripts(file, bytes);
  const out = new Map<string, HostOutcome<void>>();
  let live = [...hosts];
  for (const script of scripts) {
    if (!live.length) break;
    if (opts.signal.aborted) {
      for (const h of live) out.set(h.name, fail(h.name, 'timeout', `transfer of ${file.path} was stopped`));
      live = [];
      break;
    }
    const res = await exec(live, { script, become: file.become, becomeUser: file.becomeUser }, opts);
    live = live.filter((h) => {
      const r = res.get(h.name)!;
      if (!r.ok) out.set(h.name, r);
      else if (r.value.code !== 0) out.set(h.name, fail(h.name, 'auth', `cannot write ${file.path}: ${r.value.stderr.trim() || `exit ${r.value.code}`}`));
      return r.ok && r.value.code === 0;
    });
  }
  for (const h of live) out.set(h.name, { ok: true, value: undefined });
  return new Map(hosts.map((h) => [h.name, out.get(h.name)!]));
}

type Meta = { size: number; hash: string; parts: Buffer[] };

/** Size and sha256 of `path` on every host (one command). */
async function stats(exec: ExecFn, hosts: readonly Host[], path: string, opts: ExecOpts & { become?: boolean }, out: Map<string, HostOutcome<Uint8Array>>): Promise<Map<string, Meta>> {
  const p = quote(path);
  const script = new Script(`[ -f ${p} ] && [ -r ${p} ] || { echo 'no such readable file' >&2; exit 2; }\nstat -c %s ${p} && sha256sum ${p} | cut -d' ' -f1`, `# read ${path}`);
  const res = await exec(hosts, { script, become: opts.become }, opts);
  const meta = new Map<string, Meta>();
  for (const h of hosts) {
    const r = res.get(h.name)!;
    if (!r.ok) { out.set(h.name, r); continue; }
    const [size, hash] = r.value.stdout.trim().split('\n');
    if (r.value.code !== 0 || !hash) out.set(h.name, fail(h.name, 'auth', `cannot read ${path}: ${r.value.stderr.trim() || `exit ${r.value.code}`}`));
    else meta.set(h.name, { size: Number(size), hash, parts: [] });
  }
  return meta;
}

export async function getFile(exec: ExecFn, hosts: readonly Host[], path: string, opts: ExecOpts & { become?: boolean }): Promise<Map<string, HostOutcome<Uint8Array>>> {
  const out = new Map<string, HostOutcome<Uint8Array>>();
  const meta = await stats(exec, hosts, path, opts, out);
  const max = Math.max(0, ...[...meta.values()].map((m) => m.size));
  for (let i = 0; i * GET_CHUNK < max; i++) {
    const live = hosts.filter((h) => meta.has(h.name) && meta.get(h.name)!.size > i * GET_CHUNK);
    if (!live.length) break;
    const script = new Script(`dd if=${quote(path)} bs=${GET_CHUNK} skip=${i} count=1 2>/dev/null | base64 | tr -d '\\n'`, `# read ${path} (part ${i + 1})`);
    const res = await exec(live, { script, become: opts.become }, opts);
    for (const h of live) {
      const r = res.get(h.name)!;
      if (!r.ok || r.value.code !== 0 || r.value.truncated) {
        out.set(h.name, r.ok ? fail(h.name, 'auth', `cannot read ${path}: ${r.value.stderr.trim() || 'output cut'}`) : r);
        meta.delete(h.name);
      } else meta.get(h.name)!.parts.push(Buffer.from(r.value.stdout, 'base64'));
    }
  }
  for (const [name, m] of meta) {
    const data = Buffer.concat(m.parts);
    out.set(name, data.length === m.size && sha256(data) === m.hash
      ? { ok: true, value: new Uint8Array(data) }
      : fail(name, 'unreachable', `checksum mismatch reading ${path} (${data.length} of ${m.size} bytes)`));
  }
  return new Map(hosts.map((h) => [h.name, out.get(h.name)!]));
}
