// A real OpenSSH sshd for tests and benches: runs in the foreground on 127.0.0.1:<free port> with its own
// config, host key and authorized key in a temp dir. Never touches the machine's sshd, /etc/ssh or ~/.ssh.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host } from '../../src/transports/types.ts';
import { freePort } from './free-port.ts';

export const SSHD = '/usr/sbin/sshd';
export const TEST_USER = process.env['RUNBOOK_SSH_TEST_USER'] ?? 'runbook-test';
/** A user the test user can become only with this password (`sudo` targetpw; scripts/sshd-test.sh). */
export const SUDO_PW_USER = `${TEST_USER}-pw`;
export const SUDO_PW_PASSWORD = 'runbook-pw-test-only';
const SETUP = fileURLToPath(new URL('../../scripts/sshd-test.sh', import.meta.url));

export type Sshd = {
  readonly port: number;
  readonly user: string;
  /** Private key file of the authorized client key. */
  readonly identity: string;
  /** A known_hosts file that lists this sshd's host key as [127.0.0.1]:port. */
  readonly knownHosts: string;
  /** The sshd's host public key line (`ssh-ed25519 AAAA...`). */
  readonly hostKey: string;
  /** A directory owned by the login user, for files the tests write. */
  readonly dataDir: string;
  readonly dir: string;
  /** `n` aliases of this sshd: ssh-a, ssh-b, ... all 127.0.0.1:port, login `user`. */
  hosts(n: number, prefix?: string): Host[];
  /** An environments/<env>.yml body for `n` aliases in group `group` (default `web`), transport ssh. */
  environmentYaml(n: number, opts?: { group?: string; prefix?: string; extra?: Record<string, unknown> }): string;
  /** Signal (default SIGKILL) the sshd process(es) serving the session that runs a process whose command
   *  line contains `marker`; SIGSTOP freezes the connection instead. Returns how many were signalled. */
  dropSessionRunning(marker: string, sig?: NodeJS.Signals): number;
  /** Graceful stop plus temp dir removal; idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the listener and every per-connection process (open connections drop). */
  kill(): void;
  /** A host reboot: kill() now, then the same sshd (port, host key, users) listens again after `downMs`. */
  reboot(downMs: number): Promise<void>;
  readonly log: () => string;
};

function userUid(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Make sure sshd, the test user and its sudoers entry exist (runs scripts/sshd-test.sh as root). */
export function ensureSshdPrerequisites(): void {
  const ready = existsSync(SSHD) && userUid(TEST_USER) && userUid(SUDO_PW_USER) && existsSync(`/etc/sudoers.d/${TEST_USER}`) && existsSync('/run/sshd');
  if (ready) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`real-sshd tests need ${SSHD}, user ${TEST_USER} with sudo NOPASSWD and /run/sshd: run \`sudo ${SETUP}\` once`);
  }
  execFileSync('sh', [SETUP], { stdio: ['ignore', 'ignore', 'inherit'] });
}


function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const pp = parentOf(pid);
    if (pp !== undefined) children.set(pp, [...(children.get(pp) ?? []), pid]);
  }
  const out: number[] = [];
  const walk = (p: number): void => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

const signal = (pid: number, sig: NodeJS.Signals): void => { try { process.kill(pid, sig); } catch { /* already gone */ } };

function comm(pid: number): string {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; }
}

function cmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; }
}

async function writeFiles(dir: string, port: number): Promise<{ identity: string; knownHosts: string; hostKey: string }> {
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'runbook-test', '-f', file]);
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'id_ed25519'));
  const hostKey = (await readFile(join(dir, 'host_ed25519.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'id_ed25519.pub')), { mode: 0o644 });
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_ed25519')}`, 'PidFile none',
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PubkeyAuthentication yes', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', `AllowUsers ${TEST_USER}`, 'PermitRootLogin no',
    'MaxStartups 500', 'UseDNS no', 'PrintMotd no', 'PrintLastLog no', 'Subsystem sftp internal-sftp',
    'LogLevel INFO', '',
  ].join('\n'));
  return { identity: join(dir, 'id_ed25519'), knownHosts: join(dir, 'known_hosts'), hostKey };
}

function waitListening(child: ChildProcess, logs: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within ${timeoutMs} ms:\n${logs()}`)), timeoutMs);
    const check = (): void => {
      if (/Server listening on/.test(logs())) { clearTimeout(timer); resolve(); }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`sshd exited (${code}):\n${logs()}`)); });
  });
}

function environmentYaml(n: number, port: number, files: { identity: string; knownHosts: string }, o: { group?: string; prefix?: string; extra?: Record<string, unknown> }): string {
  // JSON flow values are valid YAML and need no quoting rules of their own.
  const hosts = Array.from({ length: n }, (_, i) => `      ${o.prefix ?? 'ssh-'}${aliasName(i)}: ${JSON.stringify({ address: '127.0.0.1', port, user: TEST_USER })}`);
  const extra = Object.entries(o.extra ?? {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return ['transport: ssh', 'groups:', `  ${o.group ?? 'web'}:`, '    hosts:', ...hosts,
    `ssh: ${JSON.stringify({ known_hosts: files.knownHosts, identity: files.identity })}`, ...extra, ''].join('\n');
}

export function aliasName(i: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return i < 26 ? letters[i]! : letters[Math.floor(i / 26) - 1]! + letters[i % 26]!;
}

async function launch(dir: string, port: number): Promise<{ child: ChildProcess; log: () => string }> {
  let log = '';
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => { log = (log + c).slice(-65536); });
  await waitListening(child, () => log, 10_000);
  return { child, log: () => log };
}

/** Start a private sshd; call `stop()` in teardown. */
export async function startSshd(): Promise<Sshd> {
  ensureSshdPrerequisites();
  const ids = userUid(TEST_USER)!;
  const dir = await mkdtemp(join(tmpdir(), 'runbook-sshd-'));
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  await chown(dataDir, ids.uid, ids.gid);
  let started: { child: ChildProcess; log: () => string; port: number; files: Awaited<ReturnType<typeof writeFiles>> } | undefined;
  for (let attempt = 0; !started; attempt++) {
    const port = await freePort();
    await rm(join(dir, 'host_ed25519'), { force: true });
    await rm(join(dir, 'id_ed25519'), { force: true });
    const files = await writeFiles(dir, port);
    try {
      started = { ...(await launch(dir, port)), port, files };
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
  const { port, files } = started;
  let child = started.child;
  let pid = child.pid!;
  const killAll = (sig: NodeJS.Signals): void => {
    for (const p of descendants(pid)) signal(p, sig);
    signal(pid, sig);
  };
  const onExit = (): void => {
    killAll('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped = false;
  return {
    port, user: TEST_USER, dir, dataDir, ...files, log: started.log,
    hosts: (n, prefix = 'ssh-') => Array.from({ length: n }, (_, i) => ({ name: prefix + aliasName(i), address: '127.0.0.1', port, user: TEST_USER, vars: {} })),
    environmentYaml: (n, o = {}) => environmentYaml(n, port, files, o),
    dropSessionRunning(marker, sig = 'SIGKILL') {
      const hits = allPids().filter((p) => p !== process.pid && cmdline(p).includes(marker));
      const victims = new Set<number>();
      for (const hit of hits) {
        for (let p = parentOf(hit); p && p !== pid && p > 1; p = parentOf(p)) if (comm(p) === 'sshd') victims.add(p);
      }
      for (const v of victims) signal(v, sig);
      return victims.size;
    },
    kill: () => killAll('SIGKILL'),
    async reboot(downMs) {
      killAll('SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      const again = await launch(dir, port);
      child = again.child;
      pid = child.pid!;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
      killAll('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      killAll('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
