// Local transport: every "host" is this machine, reached through zx (`sh -c`), once per host.
// Files are written to a temp file beside the target and renamed into place.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { userInfo } from 'node:os';
import { $ } from 'zx';
import { TransportError } from '../errors.ts';
import { sh } from '../engine/script.ts';
import { Secret } from '../engine/secret.ts';
import { eachHost, type Cmd, type ExecOpts, type ExecResult, type Host, type HostOutcome, type PutFile, type Transport } from './types.ts';

export type LocalOpts = { readonly forks?: number };

const isRoot = (): boolean => process.getuid?.() === 0;

function wrapBecome(cmd: Cmd): string[] {
  const user = cmd.becomeUser ?? 'root';
  if (!cmd.become || (isRoot() && user === 'root') || user === userInfo().username) return ['sh', '-c', cmd.script.text];
  return ['sudo', '-n', '-H', '-u', user, '--', 'sh', '-c', cmd.script.text];
}

async function run(host: Host, cmd: Cmd, opts: ExecOpts): Promise<HostOutcome<ExecResult>> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(cmd.env ?? {})) env[k] = v instanceof Secret ? v.reveal() : v;
  const started = performance.now();
  const argv = wrapBecome(cmd);
  const p = $({
    quiet: true, nothrow: true, signal: opts.signal, cwd: cmd.cwd, env: { ...process.env, ...env },
    input: cmd.stdin ? Buffer.from(cmd.stdin) : undefined,
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
  })`${argv}`;
  if (opts.onOutput) {
    p.stdout.on('data', (c: Buffer) => opts.onOutput!(host.name, 'stdout', c.toString()));
    p.stderr.on('data', (c: Buffer) => opts.onOutput!(host.name, 'stderr', c.toString()));
  }
  const out = await p;
  const ms = Math.round(performance.now() - started);
  // zx kills on timeout; the shell may die of the signal or exit 128+n after its child did (143 for SIGTERM)
  const killed = out.signal !== null || (out.exitCode ?? 0) > 128;
  if (killed && opts.timeoutMs && ms >= opts.timeoutMs - 5) {
    return { ok: false, error: new TransportError('timeout', host.name, `command did not finish within ${opts.timeoutMs} ms`) };
  }
  return { ok: true, value: { code: out.exitCode ?? 128, stdout: out.stdout, stderr: out.stderr, ms } };
}

function bytesOf(content: PutFile['content']): Uint8Array {
  if (content instanceof Secret) return Buffer.from(content.reveal());
  return typeof content === 'string' ? Buffer.from(content) : content;
}

async function putOne(host: Host, file: PutFile, opts: ExecOpts): Promise<HostOutcome<void>> {
  const needsSudo = file.become && !isRoot();
  if (needsSudo) {
    const tmp = join(dirname(file.path), `.${basename(file.path)}.runbook-${randomBytes(4).toString('hex')}`);
    const mode = file.mode !== undefined ? file.mode.toString(8) : '644';
    const owner = file.owner ? sh` && chown ${file.owner + (file.group ? ':' + file.group : '')} ${tmp}` : sh``;
    const script = sh`cat > ${tmp} && chmod ${mode} ${tmp}${owner} && mv -f ${tmp} ${file.path}`;
    const r = await run(host, { script, become: true, becomeUser: file.becomeUser, stdin: bytesOf(file.content) }, opts);
    if (!r.ok) return r;
    if (r.value.code !== 0) return { ok: false, error: new TransportError('auth', host.name, `cannot write ${file.path}: ${r.value.stderr.trim()}`) };
    return { ok: true, value: undefined };
  }
  const tmp = join(dirname(file.path), `.${basename(file.path)}.runbook-${randomBytes(4).toString('hex')}`);
  try {
    const previous = await stat(file.path).catch(() => undefined);
    await writeFile(tmp, bytesOf(file.content), { mode: 0o600 });
    await chmod(tmp, file.mode ?? (previous ? previous.mode & 0o7777 : 0o644));
    if (file.owner || file.group) {
      const uid = file.owner ? Number(execFileSync('id', ['-u', file.owner]).toString().trim()) : -1;
      const gid = file.group ? Number(execFileSync('getent', ['group', file.group]).toString().split(':')[2]) : -1;
      await chown(tmp, uid, gid);
    }
    await rename(tmp, file.path);
    return { ok: true, value: undefined };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function createLocalTransport(opts: LocalOpts = {}): Transport {
  const forks = opts.forks ?? 50;
  return {
    kind: 'local',
    async open(hosts) {
      return new Map(hosts.map((h) => [h.name, { ok: true as const, value: undefined }]));
    },
    exec: (hosts, cmd, execOpts) => eachHost(hosts, forks, (h) => run(h, cmd, execOpts)),
    put: (hosts, file, execOpts) => eachHost(hosts, forks, (h) => putOne(h, file, execOpts)),
    get: (hosts, path, execOpts) =>
      eachHost(hosts, forks, async (h) => {
        if (execOpts.become && !isRoot()) {
          const r = await run(h, { script: sh`cat ${path}`, become: true }, execOpts);
          if (!r.ok) return r;
          return { ok: true, value: Buffer.from(r.value.stdout) };
        }
        return { ok: true, value: new Uint8Array(await readFile(path)) };
      }),
    async close() {},
  };
}
