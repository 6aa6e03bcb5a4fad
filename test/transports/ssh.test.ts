// The ssh transport against a real OpenSSH sshd on 127.0.0.1 (test/helpers/sshd.ts): exec, parallel hosts,
// sudo, SFTP put/get with checksums and modes, and shell-looking paths that must stay literal.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.ts';
import { sh } from '../../src/engine/script.ts';
import { Secret } from '../../src/engine/secret.ts';
import { createSshTransport } from '../../src/transports/ssh.ts';
import type { ExecResult, Host, HostResults, Transport } from '../../src/transports/types.ts';
import { startSshd, SUDO_PW_PASSWORD, SUDO_PW_USER, type Sshd } from '../helpers/sshd.ts';

let sshd: Sshd;
let t: Transport;
let hosts: Host[];
const signal = new AbortController().signal;

beforeAll(async () => {
  sshd = await startSshd();
  t = createSshTransport({ knownHosts: sshd.knownHosts, identity: sshd.identity });
  hosts = sshd.hosts(3);
});
afterAll(async () => {
  await t?.close();
  await sshd?.stop();
});

function value<T>(r: HostResults<T>, name: string): T {
  const o = r.get(name);
  if (!o?.ok) throw new Error(`${name} failed: ${o ? o.error.message : 'missing'}`);
  return o.value;
}

async function run(h: Host[], script: ReturnType<typeof sh>, extra: { become?: boolean; becomeUser?: string } = {}): Promise<ExecResult[]> {
  const r = await t.exec(h, { script, ...extra }, { signal });
  return h.map((x) => value(r, x.name));
}

/** A fresh directory per test and host: <dataDir>/<test>/<host>. */
async function dirs(test: string, h: Host[] = hosts): Promise<Map<string, string>> {
  const out = new Map(h.map((x) => [x.name, `${sshd.dataDir}/${test}/${x.name}`]));
  await run(h, sh`mkdir -p ${[...out.values()]}`);
  return out;
}

describe('exec', () => {
  it('returns exit codes, stdout and stderr as values', async () => {
    const [a] = await run([hosts[0]!], sh`echo out; echo err >&2; exit 7`);
    expect(a).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    const [b] = await run([hosts[0]!], sh`true`);
    expect(b!.code).toBe(0);
  });

  it('honours stdin, env (Secret revealed only on the wire) and cwd', async () => {
    const r = await t.exec(hosts, {
      script: sh`pwd; printf '%s|%s\n' "$GREETING" "$TOKEN"; cat`,
      env: { GREETING: "it's a $HOME `x`", TOKEN: new Secret('s3cr3t-value') },
      cwd: sshd.dataDir,
      stdin: Buffer.from('line1\nline2'),
    }, { signal });
    for (const h of hosts) expect(value(r, h.name).stdout).toBe(`${sshd.dataDir}\nit's a $HOME \`x\`|s3cr3t-value\nline1\nline2`);
  });

  it('a missing cwd fails the command, not the host', async () => {
    const r = await t.exec([hosts[0]!], { script: sh`echo never`, cwd: '/nonexistent/dir' }, { signal });
    expect(value(r, hosts[0]!.name)).toMatchObject({ code: 1, stdout: '' });
  });

  it('streams output through onOutput', async () => {
    const seen: string[] = [];
    await t.exec([hosts[1]!], { script: sh`echo one; echo two >&2` }, { signal, onOutput: (h, s, c) => seen.push(`${h}:${s}:${c}`) });
    expect(seen.sort()).toEqual([`${hosts[1]!.name}:stderr:two\n`, `${hosts[1]!.name}:stdout:one\n`]);
  });

  it('runs 50 hosts in parallel over 50 connections', async () => {
    const many = sshd.hosts(50, 'par-');
    const t50 = createSshTransport({ knownHosts: sshd.knownHosts, identity: sshd.identity });
    try {
      const opened = await t50.open(many, signal);
      expect([...opened.values()].every((o) => o.ok)).toBe(true);
      const started = performance.now();
      const r = await t50.exec(many, { script: sh`sleep 1; echo $PPID` }, { signal });
      const wall = performance.now() - started;
      expect(wall).toBeLessThan(10_000); // serially this is 50 s
      const sessions = new Set(many.map((h) => value(r, h.name).stdout));
      expect(sessions.size).toBe(50);
    } finally {
      await t50.close();
    }
  });

  it('keeps at most `forks` hosts in flight', async () => {
    const t2 = createSshTransport({ knownHosts: sshd.knownHosts, identity: sshd.identity, forks: 2 });
    try {
      const four = sshd.hosts(4, 'fork-');
      await t2.open(four, signal);
      const started = performance.now();
      await t2.exec(four, { script: sh`sleep 0.4` }, { signal });
      expect(performance.now() - started).toBeGreaterThanOrEqual(790);
    } finally {
      await t2.close();
    }
  });

  it('runs more concurrent commands on one host than sshd allows channels (MaxSessions 10)', async () => {
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => t.exec([hosts[0]!], { script: sh`sleep 0.1; echo ${i}` }, { signal })));
    expect(rs.map((r) => value(r, hosts[0]!.name).stdout)).toEqual(Array.from({ length: 30 }, (_, i) => `${i}\n`));
  });

  it('reuses one connection per host for every command', async () => {
    const peers = [];
    for (let i = 0; i < 3; i++) peers.push((await run([hosts[2]!], sh`echo $SSH_CONNECTION`))[0]!.stdout);
    expect(peers[0]).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
    expect(new Set(peers).size).toBe(1); // same client port: one TCP connection
  });
});

describe('become', () => {
  it('runs as root through sudo -n, and as become_user', async () => {
    const [root] = await run([hosts[0]!], sh`id -un; echo "$HOME"`, { become: true });
    expect(root!.stdout).toBe('root\n/root\n');
    const [nobody] = await run([hosts[0]!], sh`id -un`, { become: true, becomeUser: 'nobody' });
    expect(nobody!.stdout).toBe('nobody\n');
    const [self] = await run([hosts[0]!], sh`id -un`);
    expect(self!.stdout).toBe(`${sshd.user}\n`);
  });

  it('with a become password that sudo does not need, stdin reaches the command untouched', async () => {
    const tp = createSshTransport({ knownHosts: sshd.knownHosts, identity: sshd.identity, becomePassword: new Secret('not-needed-pw') });
    try {
      const r = await tp.exec([hosts[1]!], { script: sh`id -un; cat`, become: true, stdin: Buffer.from('payload') }, { signal });
      expect(value(r, hosts[1]!.name)).toMatchObject({ code: 0, stdout: 'root\npayload', stderr: '' });
    } finally {
      await tp.close();
    }
  });
});

describe('become with a password (sudo really asks: targetpw for ' + SUDO_PW_USER + ')', () => {
  const asPwUser = async (password: string | undefined) => {
    const tp = createSshTransport({ knownHosts: sshd.knownHosts, identity: sshd.identity, becomePassword: password === undefined ? undefined : new Secret(password) });
    try {
      const r = await tp.exec([hosts[2]!], { script: sh`id -un; cat`, become: true, becomeUser: SUDO_PW_USER, stdin: Buffer.from('payload') }, { signal });
      return value(r, hosts[2]!.name);
    } finally {
      await tp.close();
    }
  };

  it('without a password, sudo -n refuses instead of hanging', async () => {
    const r = await asPwUser(undefined);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/password is required/);
  });

  it('with the right password, the command runs as that user and still gets its stdin', async () => {
    expect(await asPwUser(SUDO_PW_PASSWORD)).toMatchObject({ code: 0, stdout: `${SUDO_PW_USER}\npayload`, stderr: '' });
  });

  it('with a wrong password, the command fails and the password appears nowhere', async () => {
    const r = await asPwUser('wrong-pw-4f1c');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(`${r.stdout}${r.stderr}`).not.toContain('wrong-pw-4f1c');
  });
});

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

describe('put and get', () => {
  it('sends a 10 MB file once (checksum verified remotely) and skips an unchanged second put', async () => {
    const d = await dirs('big');
    const data = randomBytes(10 * 1024 * 1024);
    for (const h of hosts) {
      const r = await t.put([h], { path: `${d.get(h.name)}/blob.bin`, content: data }, { signal });
      expect(value(r, h.name)).toBeUndefined();
    }
    const check = sh`sha256sum < ${`${d.get(hosts[0]!.name)}/blob.bin`} | cut -c1-64; stat -c '%i %a' ${`${d.get(hosts[0]!.name)}/blob.bin`}`;
    const [first] = await run([hosts[0]!], check);
    const [remoteSum, inodeMode] = first!.stdout.trim().split('\n');
    expect(remoteSum).toBe(sha(data));
    expect(inodeMode!.split(' ')[1]).toBe('644');
    const again = performance.now();
    await t.put([hosts[0]!], { path: `${d.get(hosts[0]!.name)}/blob.bin`, content: data }, { signal });
    expect(performance.now() - again).toBeLessThan(2000);
    const [second] = await run([hosts[0]!], check);
    expect(second!.stdout).toBe(first!.stdout); // same inode: the file was not rewritten
    data[0] = data[0]! ^ 0xff;
    await t.put([hosts[0]!], { path: `${d.get(hosts[0]!.name)}/blob.bin`, content: data }, { signal });
    const [third] = await run([hosts[0]!], check);
    expect(third!.stdout.split('\n')[0]).toBe(sha(data));
    expect(third!.stdout).not.toBe(first!.stdout);
  });

  it('keeps an existing mode when none is given, sets it when given, 0644 for new files', async () => {
    const d = (await dirs('mode', [hosts[1]!])).get(hosts[1]!.name)!;
    await run([hosts[1]!], sh`printf old > ${d}/kept && chmod 640 ${d}/kept`);
    await t.put([hosts[1]!], { path: `${d}/kept`, content: 'new' }, { signal });
    await t.put([hosts[1]!], { path: `${d}/set`, content: 'x', mode: 0o600 }, { signal });
    await t.put([hosts[1]!], { path: `${d}/fresh`, content: 'y' }, { signal });
    const [st] = await run([hosts[1]!], sh`cd ${d} && stat -c '%n %a' kept set fresh && cat kept`);
    expect(st!.stdout).toBe('kept 640\nset 600\nfresh 644\nnew');
    await t.put([hosts[1]!], { path: `${d}/set`, content: 'x', mode: 0o640 }, { signal }); // same bytes, new mode
    const [st2] = await run([hosts[1]!], sh`stat -c %a ${d}/set`);
    expect(st2!.stdout).toBe('640\n');
  });

  it('writes as root with become, setting owner and group, and keeps the owner of a file it replaces', async () => {
    const d = (await dirs('owner', [hosts[0]!])).get(hosts[0]!.name)!;
    const secret = new Secret('db-password=hunter2');
    await t.put([hosts[0]!], { path: `${d}/root.conf`, content: secret, mode: 0o600, owner: 'nobody', group: 'nogroup', become: true }, { signal });
    await run([hosts[0]!], sh`printf mine > ${d}/mine.txt`);
    await t.put([hosts[0]!], { path: `${d}/mine.txt`, content: 'replaced', become: true }, { signal });
    const [st] = await run([hosts[0]!], sh`cd ${d} && stat -c '%n %U %G %a' root.conf mine.txt && cat mine.txt`, { become: true });
    expect(st!.stdout).toBe(`root.conf nobody nogroup 600\nmine.txt ${sshd.user} ${sshd.user} 644\nreplaced`);
    const got = await t.get([hosts[0]!], `${d}/root.conf`, { signal, become: true });
    expect(Buffer.from(value(got, hosts[0]!.name)).toString()).toBe('db-password=hunter2');
    const denied = await t.get([hosts[0]!], `${d}/root.conf`, { signal });
    const o = denied.get(hosts[0]!.name)!;
    expect(o.ok).toBe(false);
    if (!o.ok) expect(o.error).toBeInstanceOf(TransportError);
  });

  it('gets binary files byte for byte', async () => {
    const d = (await dirs('get', [hosts[2]!])).get(hosts[2]!.name)!;
    const data = randomBytes(300_000);
    await t.put([hosts[2]!], { path: `${d}/bin`, content: data }, { signal });
    const r = await t.get([hosts[2]!], `${d}/bin`, { signal });
    expect(sha(value(r, hosts[2]!.name))).toBe(sha(data));
  });

  it('a shell-looking path stays one literal file name (put, become put, get)', async () => {
    const d = (await dirs('inject', [hosts[1]!])).get(hosts[1]!.name)!;
    const name = `a b; touch pwned1 $(touch pwned2) \`touch pwned3\` 'q"`;
    const evil = `${d}/${name}`;
    for (const [path, become] of [[evil, false], [evil + '-root', true]] as const) {
      const put = await t.put([hosts[1]!], { path, content: path, become }, { signal });
      expect(value(put, hosts[1]!.name)).toBeUndefined();
      const got = await t.get([hosts[1]!], path, { signal, become });
      expect(Buffer.from(value(got, hosts[1]!.name)).toString()).toBe(path);
    }
    const [ls] = await run([hosts[1]!], sh`ls -A ${d}; ls ~ /root /tmp | grep -c pwned`, { become: true });
    expect(ls!.stdout).toBe(`${name}\n${name}-root\n0\n`);
  });
});
