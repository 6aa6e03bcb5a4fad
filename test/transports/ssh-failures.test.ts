// Failures fail one host only: refused port, silent server (connect timeout), refused key, command time
// limit, a connection dropped mid-command, the whole sshd killed; and close() is idempotent.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError, type TransportErrorKind } from '../../src/errors.ts';
import { sh } from '../../src/engine/script.ts';
import { createSshTransport, type SshOpts } from '../../src/transports/ssh.ts';
import type { Host, HostOutcome, Transport } from '../../src/transports/types.ts';
import { startSshd, type Sshd } from '../helpers/sshd.ts';

let sshd: Sshd;
let dir: string;
const signal = new AbortController().signal;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'runbook-sshfail-'));
});
afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function transport(extra: SshOpts = {}, d: Sshd = sshd): Transport {
  return createSshTransport({ knownHosts: d.knownHosts, identity: d.identity, connectRetries: 0, ...extra });
}

function expectKind(o: HostOutcome<unknown> | undefined, kind: TransportErrorKind): TransportError {
  if (!o || o.ok) throw new Error(`expected a ${kind} failure, got ${JSON.stringify(o)}`);
  expect(o.error).toBeInstanceOf(TransportError);
  expect(o.error.kind).toBe(kind);
  return o.error;
}

/** Processes on this machine (the test sshd's host) whose command line contains `marker`. */
function remaining(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'args=']).toString().split('\n').filter((l) => l.includes(marker) && !l.startsWith('ps '));
}

function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer(onConnection);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

/** A TCP proxy to the test sshd that counts connections; `pass()` false resets that one instead. */
async function countingProxy(pass: () => boolean): Promise<{ server: Server; port: number; knownHosts: string }> {
  const { server, port } = await listen((client) => {
    if (!pass()) return client.destroy();
    const upstream = connectTcp(sshd.port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const knownHosts = join(dir, `proxy_known_hosts_${port}`);
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${sshd.hostKey}\n`);
  return { server, port, knownHosts };
}

async function closedPort(): Promise<number> {
  const { server, port } = await listen(() => undefined);
  await new Promise((r) => server.close(r));
  return port;
}

describe('connection set-up failures fail that host only', () => {
  it('a refused port is unreachable while the other hosts run', async () => {
    const t = transport({ connectRetries: 1 });
    try {
      const bad: Host = { name: 'dead', address: '127.0.0.1', port: await closedPort(), user: sshd.user, vars: {} };
      const hosts = [...sshd.hosts(2), bad];
      const r = await t.exec(hosts, { script: sh`echo alive` }, { signal });
      expect(r.get('ssh-a')).toMatchObject({ ok: true, value: { stdout: 'alive\n' } });
      expect(r.get('ssh-b')).toMatchObject({ ok: true, value: { stdout: 'alive\n' } });
      expect(expectKind(r.get('dead'), 'unreachable').message).toMatch(/ECONNREFUSED/);
      const again = await t.exec([bad], { script: sh`true` }, { signal });
      expectKind(again.get('dead'), 'unreachable');
    } finally {
      await t.close();
    }
  });

  it('a connection reset during set-up is retried (bounded), then the host works', async () => {
    let attempts = 0;
    const { server, port, knownHosts } = await countingProxy(() => ++attempts > 1); // first try: reset before the banner
    const host: Host = { name: 'flaky', address: '127.0.0.1', port, user: sshd.user, vars: {} };
    const once = createSshTransport({ knownHosts, identity: sshd.identity, connectRetries: 0 });
    const retried = createSshTransport({ knownHosts, identity: sshd.identity, connectRetries: 2 });
    try {
      expectKind((await once.open([host], signal)).get('flaky'), 'unreachable');
      attempts = 0;
      const r = await retried.exec([host], { script: sh`echo through` }, { signal });
      expect(r.get('flaky')).toMatchObject({ ok: true, value: { stdout: 'through\n' } });
      expect(attempts).toBe(2);
    } finally {
      await once.close();
      await retried.close();
      server.close();
    }
  });

  it('a server that never answers is a timeout after connectTimeoutMs', async () => {
    const sockets: Socket[] = [];
    const { server, port } = await listen((s) => sockets.push(s));
    const t = transport({ connectTimeoutMs: 400 });
    try {
      const started = performance.now();
      const r = await t.open([{ name: 'silent', address: '127.0.0.1', port, vars: {} }], signal);
      expectKind(r.get('silent'), 'timeout');
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      await t.close();
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('close() cancels a connection attempt in progress instead of waiting for its timeout', async () => {
    const sockets: Socket[] = [];
    const { server, port } = await listen((s) => sockets.push(s));
    const t = transport({ connectTimeoutMs: 20_000, connectRetries: 3 });
    try {
      const opening = t.open([{ name: 'silent', address: '127.0.0.1', port, vars: {} }], signal);
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      await t.close();
      expect(performance.now() - started).toBeLessThan(1000);
      expect(expectKind((await opening).get('silent'), 'unreachable').message).toMatch(/cancelled/);
    } finally {
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('a key the server does not accept is an auth failure (not retried)', async () => {
    const key = join(dir, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    let attempts = 0;
    const { server, port, knownHosts } = await countingProxy(() => ++attempts > 0);
    const t = createSshTransport({ knownHosts, identity: key, connectRetries: 3 });
    try {
      const r = await t.open([{ name: 'stranger', address: '127.0.0.1', port, user: sshd.user, vars: {} }], signal);
      expect(expectKind(r.get('stranger'), 'auth').message).toContain(`${sshd.user}@127.0.0.1:${port}`);
      expect(attempts).toBe(1);
    } finally {
      await t.close();
      server.close();
    }
  });

  it('without an identity file, the ssh-agent holding the key logs in', async () => {
    const socket = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', ['-q', sshd.identity], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
      const t = createSshTransport({ knownHosts: sshd.knownHosts, agent: socket, connectRetries: 0 });
      try {
        const r = await t.exec(sshd.hosts(1), { script: sh`echo agent` }, { signal });
        expect(r.get('ssh-a')).toMatchObject({ ok: true, value: { stdout: 'agent\n' } });
      } finally {
        await t.close();
      }
    } finally {
      agent.kill();
    }
  });

  it('a jump host is used for the connection (proxyJump)', async () => {
    const via = transport({ proxyJump: `${sshd.user}@127.0.0.1:${sshd.port}` });
    const broken = transport({ proxyJump: `${sshd.user}@127.0.0.1:${await closedPort()}` });
    try {
      const ok = await via.exec(sshd.hosts(2), { script: sh`echo via-jump` }, { signal });
      expect(ok.get('ssh-b')).toMatchObject({ ok: true, value: { stdout: 'via-jump\n' } });
      expectKind((await broken.open(sshd.hosts(1), signal)).get('ssh-a'), 'unreachable');
    } finally {
      await via.close();
      await broken.close();
    }
  });
});

describe('failures after connecting', () => {
  it('a command past its time limit is a timeout, its processes are killed (also under sudo), the connection stays usable', async () => {
    const t = transport();
    try {
      const [h] = sshd.hosts(1);
      for (const become of [false, true]) {
        const marker = `${randomInt(10, 99)}.${randomInt(1e8, 1e9 - 1)}`;
        const r = await t.exec([h!], { script: sh`sleep ${marker}; echo late`, become }, { signal, timeoutMs: 300 });
        expectKind(r.get(h!.name), 'timeout');
        expect(remaining(marker)).toEqual([]);
      }
      const next = await t.exec([h!], { script: sh`echo still-here` }, { signal });
      expect(next.get(h!.name)).toMatchObject({ ok: true, value: { stdout: 'still-here\n' } });
    } finally {
      await t.close();
    }
  });

  it('a file transfer past its time limit is a timeout; the next one on that host works', async () => {
    const t = transport();
    try {
      const [h] = sshd.hosts(1);
      await t.open([h!], signal);
      const big = Buffer.alloc(40 * 1024 * 1024, 7);
      const r = await t.put([h!], { path: `${sshd.dataDir}/slow.bin`, content: big }, { signal, timeoutMs: 60 });
      expectKind(r.get(h!.name), 'timeout');
      const ok = await t.put([h!], { path: `${sshd.dataDir}/small.txt`, content: 'fine' }, { signal, timeoutMs: 10_000 });
      expect(ok.get(h!.name)).toEqual({ ok: true, value: undefined });
      await new Promise((r) => setTimeout(r, 500));
      const ls = await t.exec([h!], { script: sh`ls -A ${sshd.dataDir} | grep -c slow || true` }, { signal });
      expect(ls.get(h!.name)).toMatchObject({ ok: true, value: { stdout: '0\n' } }); // neither the file nor its temp
    } finally {
      await t.close();
    }
  });

  it('a connection dropped mid-command fails that host (no hang); the other host goes on', async () => {
    const t = transport();
    try {
      const [a, b] = sshd.hosts(2);
      await t.open([a!, b!], signal);
      const marker = `${randomInt(10, 99)}.${randomInt(1e8, 1e9 - 1)}`;
      const pa = t.exec([a!], { script: sh`sleep ${marker}` }, { signal });
      const pb = t.exec([b!], { script: sh`sleep 0.6; echo done` }, { signal });
      await new Promise((r) => setTimeout(r, 300));
      expect(sshd.dropSessionRunning(marker)).toBeGreaterThan(0);
      const started = performance.now();
      const [ra, rb] = await Promise.all([pa, pb]);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(expectKind(ra.get(a!.name), 'unreachable').message).toMatch(/dropped/);
      expect(rb.get(b!.name)).toMatchObject({ ok: true, value: { code: 0, stdout: 'done\n' } });
      expectKind((await t.exec([a!], { script: sh`true` }, { signal })).get(a!.name), 'unreachable');
      expectKind((await t.put([a!], { path: `${sshd.dataDir}/x`, content: 'x' }, { signal })).get(a!.name), 'unreachable');
      expect((await t.exec([b!], { script: sh`echo b-ok` }, { signal })).get(b!.name)).toMatchObject({ ok: true });
    } finally {
      await t.close();
    }
  });

  it('a frozen connection is detected by keepalive and fails that host', async () => {
    const t = transport({ keepaliveMs: 200 });
    const marker = `${randomInt(10, 99)}.${randomInt(1e8, 1e9 - 1)}`;
    try {
      const [h] = sshd.hosts(1);
      await t.open([h!], signal);
      const p = t.exec([h!], { script: sh`sleep ${marker}` }, { signal });
      await new Promise((r) => setTimeout(r, 300));
      expect(sshd.dropSessionRunning(marker, 'SIGSTOP')).toBeGreaterThan(0);
      const started = performance.now();
      const e = expectKind((await p).get(h!.name), 'unreachable');
      expect(e.message).toMatch(/keepalive/i);
      expect(performance.now() - started).toBeLessThan(4000);
    } finally {
      sshd.dropSessionRunning(marker, 'SIGKILL');
      await t.close();
    }
  });

  it('killing the whole sshd mid-run fails every host with unreachable, promptly', async () => {
    const own = await startSshd();
    const t = transport({}, own);
    try {
      const hosts = own.hosts(3);
      await t.open(hosts, signal);
      const p = t.exec(hosts, { script: sh`sleep 30` }, { signal });
      await new Promise((r) => setTimeout(r, 300));
      own.kill();
      const started = performance.now();
      const r = await p;
      expect(performance.now() - started).toBeLessThan(5000);
      for (const h of hosts) expectKind(r.get(h.name), 'unreachable');
    } finally {
      await t.close();
      await own.stop();
    }
  });

  it('close() is idempotent and later calls fail cleanly', async () => {
    const t = transport();
    const [h] = sshd.hosts(1);
    await t.open([h!], signal);
    await t.close();
    await t.close();
    expectKind((await t.exec([h!], { script: sh`true` }, { signal })).get(h!.name), 'unreachable');
  });

  it('an aborted signal stops a running command', async () => {
    const t = transport();
    try {
      const ac = new AbortController();
      const [h] = sshd.hosts(1);
      await t.open([h!], ac.signal);
      const marker = `${randomInt(10, 99)}.${randomInt(1e8, 1e9 - 1)}`;
      const p = t.exec([h!], { script: sh`sleep ${marker}` }, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop now')), 200);
      await expect(p).rejects.toThrow('stop now');
      expect(remaining(marker)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
