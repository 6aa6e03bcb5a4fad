// Running one command on one SSH connection: builds the `sh -c '<script>'` line (cwd, env, sudo),
// streams stdin/stdout/stderr over one channel, and turns drops and time limits into TransportErrors.
import { StringDecoder } from 'node:string_decoder';
import { InputError, TransportError } from '../errors.ts';
import { quote, sh, type Script } from '../engine/script.ts';
import { Secret } from '../engine/secret.ts';
import type { Ssh2Channel, Ssh2Client } from './ssh-connect.ts';
import type { Cmd, ExecOpts, HostOutcome } from './types.ts';

export type RawResult = { readonly code: number; readonly stdout: Buffer; readonly stderr: Buffer; readonly ms: number; readonly truncated: boolean };

/** What a channel needs besides the command: the host's name and a way to learn the link is gone. */
export type Link = {
  readonly host: string;
  readonly client: Ssh2Client;
  /** Set once the connection closed; checked before and while a command runs. */
  dropped(): TransportError | undefined;
  onDrop(f: (e: TransportError) => void): () => void;
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_OUTPUT = 64 * 1024 * 1024;
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, ALRM: 14, TERM: 15 };

function prelude(cmd: Pick<Cmd, 'cwd' | 'env'>): string {
  let out = '';
  if (cmd.cwd) out += `cd ${quote(cmd.cwd)} || exit 1\n`;
  for (const [name, value] of Object.entries(cmd.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new InputError(`environment variable name "${name}" is not a valid shell name`);
    out += `export ${name}=${quote(value instanceof Secret ? value.reveal() : value)}\n`;
  }
  return out;
}

// With a password, sudo asks an askpass helper that prints it from the environment; the password is the
// first line of stdin, read by the outer shell. (`sudo -S` would leave that line in the command's stdin
// whenever sudo does not need to ask, e.g. NOPASSWD rules or a cached timestamp.)
const ASKPASS = [
  'IFS= read -r RUNBOOK_SUDO_PW || exit 1',
  'export RUNBOOK_SUDO_PW',
  'a=$(mktemp) || exit 1',
  `printf '%s\\n' '#!/bin/sh' 'printf "%s\\n" "$RUNBOOK_SUDO_PW"' > "$a" && chmod 700 "$a" || exit 1`,
].join('\n');

// Each command carries a job token in its command line so a timed-out or aborted one can be killed with
// its whole process group: the SSH `signal` request reaches only the session's first process, if at all.
const JOB_PREFIX = 'runbook-job-';

/** Kill every process group that holds a process whose command line names `job` (not this script itself:
 *  the bracket keeps the awk pattern from matching its own command line). */
export function reapScript(job: string): Script {
  return sh`for g in $(ps -eo pgid=,args= | awk ${`/[${JOB_PREFIX[0]}]${JOB_PREFIX.slice(1)}${job}/ { print $1 }`} | sort -u); do kill -KILL "-$g" 2>/dev/null; done; true`;
}

/** The command line sent to the server (its login shell runs `sh -c`, optionally under sudo) and its stdin. */
export function commandFor(cmd: Cmd, loginUser: string, becomePassword?: Secret, job?: string): { command: string; stdin?: Uint8Array } {
  const inner = (job ? `# ${JOB_PREFIX}${job}\n` : '') + prelude(cmd) + cmd.script.text;
  const user = cmd.becomeUser ?? 'root';
  if (!cmd.become || user === loginUser) return { command: `sh -c ${quote(inner)}`, stdin: cmd.stdin };
  const run = `-H -u ${quote(user)} -- sh -c ${quote(inner)}`;
  if (!becomePassword) return { command: `sudo -n ${run}`, stdin: cmd.stdin };
  const outer = `${ASKPASS}\nSUDO_ASKPASS="$a" sudo -A ${run}\ns=$?\nrm -f "$a"\nexit $s`;
  const stdin = Buffer.concat([Buffer.from(becomePassword.reveal() + '\n'), cmd.stdin ?? new Uint8Array()]);
  return { command: `sh -c ${quote(outer)}`, stdin };
}

type Exit = { code: number | null; signal?: string };
type Opened = { readonly channel: Ssh2Channel; readonly exit: () => Exit | undefined };

type Attempt = HostOutcome<Opened> & { readonly retry?: boolean };

/** Open an exec channel; the exit listener is attached inside ssh2's callback because a fast command's
 *  exit-status can arrive in the same packet batch as the channel confirmation. */
function openOnce(link: Link, command: string): Promise<Attempt> {
  return new Promise((resolve) => {
    const dropped = link.dropped();
    if (dropped) return resolve({ ok: false, error: dropped });
    try {
      link.client.exec(command, (err, channel) => {
        if (err) {
          const lost = link.dropped();
          return resolve({ ok: false, retry: !lost, error: lost ?? new TransportError('unreachable', link.host, `cannot open a channel: ${err.message}`, { cause: err }) });
        }
        let exit: Exit | undefined;
        channel.on('exit', (code: number | null, signal?: string) => { exit = { code, signal }; });
        resolve({ ok: true, value: { channel, exit: () => exit } });
      });
    } catch (err) {
      resolve({ ok: false, error: new TransportError('unreachable', link.host, `connection is not usable: ${(err as Error).message}`, { cause: err }) });
    }
  });
}

/** A refused channel (the server briefly still counting a just-closed session against MaxSessions) ran
 *  nothing, so opening it again is safe. */
async function openChannel(link: Link, command: string): Promise<HostOutcome<Opened>> {
  for (let attempt = 1; ; attempt++) {
    const r = await openOnce(link, command);
    if (r.ok || !r.retry || attempt >= 6) return r;
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
  }
}

type Collected = { chunks: Buffer[]; size: number; truncated: boolean; decoder: StringDecoder };

function collector(host: string, name: 'stdout' | 'stderr', opts: ExecOpts): { c: Collected; on: (b: Buffer) => void } {
  const c: Collected = { chunks: [], size: 0, truncated: false, decoder: new StringDecoder('utf8') };
  return {
    c,
    on: (b: Buffer) => {
      if (c.size + b.length <= MAX_OUTPUT) c.chunks.push(b);
      else c.truncated = true;
      c.size += b.length;
      if (opts.onOutput) opts.onOutput(host, name, c.decoder.write(b));
    },
  };
}

/** Run `command` with `stdin`; resolves with the exit code, or a TransportError on drop/timeout. On a
 *  timeout or abort, `reap` (kill the remote process group) finishes before the call returns. */
export async function runChannel(
  link: Link, command: string, stdin: Uint8Array | undefined, opts: ExecOpts, reap?: () => Promise<void>,
): Promise<HostOutcome<RawResult>> {
  opts.signal.throwIfAborted();
  const started = performance.now();
  const opened = await openChannel(link, command);
  if (!opened.ok) return opened;
  const ch = opened.value.channel;
  const exitOf = opened.value.exit;
  const out = collector(link.host, 'stdout', opts);
  const err = collector(link.host, 'stderr', opts);
  ch.on('data', out.on);
  ch.stderr.on('data', err.on);
  return new Promise((resolve, reject) => {
    let failure: TransportError | undefined;
    let reaping: Promise<void> | undefined;
    const stop = (kill: boolean): void => {
      if (kill && reap) reaping ??= reap().catch(() => undefined);
      try { ch.signal('KILL'); ch.close(); } catch { /* channel already gone */ }
    };
    const fail = (e: TransportError): void => { failure ??= e; stop(e.kind === 'timeout'); finish(); };
    const timer = opts.timeoutMs
      ? setTimeout(() => fail(new TransportError('timeout', link.host, `command did not finish within ${opts.timeoutMs} ms`)), opts.timeoutMs)
      : undefined;
    const onAbort = (): void => { stop(true); finish(); };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const offDrop = link.onDrop(fail);
    let done = false;
    function finish(): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      offDrop();
      opts.signal.removeEventListener('abort', onAbort);
      void (reaping ?? Promise.resolve()).then(settle);
    }
    function settle(): void {
      if (opts.signal.aborted) return reject(opts.signal.reason);
      const exit = exitOf();
      const lost = failure ?? (exit ? undefined : link.dropped() ?? new TransportError('unreachable', link.host, 'connection dropped before the command reported an exit status'));
      if (lost) return resolve({ ok: false, error: lost });
      const code = exit!.code ?? 128 + (SIGNALS[exit!.signal ?? ''] ?? 127);
      resolve({ ok: true, value: { code, stdout: Buffer.concat(out.c.chunks), stderr: Buffer.concat(err.c.chunks), ms: Math.round(performance.now() - started), truncated: out.c.truncated || err.c.truncated } });
    }
    ch.on('close', finish);
    ch.on('error', () => undefined);
    ch.end(stdin && stdin.length > 0 ? Buffer.from(stdin) : undefined);
  });
}
