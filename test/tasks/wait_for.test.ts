// wait_for: the bounded sh loop on the real host: a port that opens later, a closed port timing out,
// a file appearing with a matching line, a file going away; plus table tests of the probe's answers.
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import waitFor, { waitScript } from '../../src/tasks/wait_for.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { freePort } from '../helpers/free-port.ts';
import { localHost } from '../helpers/local-host.ts';

const key = (a: object) => `wait_for:${JSON.stringify(a)}`;

describeTask(waitFor, {
  ok: [
    { name: 'port open', args: { port: 8080 }, facts: { [key({ port: 8080 })]: 'ok 2\n' }, why: 'port 8080 on 127.0.0.1 to open after 2s', result: { elapsed: 2 } },
    { name: 'file with regex', args: { path: '/var/log/app.log', regex: 'started' }, facts: { [key({ path: '/var/log/app.log', regex: 'started' })]: 'ok 0\n' }, why: '/var/log/app.log to contain /started/' },
  ],
  fail: [
    { name: 'timeout', args: { port: 8080, timeout: 5 }, facts: { [key({ port: 8080, timeout: 5 })]: 'timeout\n' }, why: 'timed out after 5s waiting for port 8080 on 127.0.0.1 to open' },
    { name: 'no tool', args: { port: 1, state: 'stopped' }, facts: { [key({ port: 1, state: 'stopped' })]: 'notool\n' }, why: 'no nc, bash or python3' },
  ],
  invalid: [
    { args: {}, error: 'must match exactly one schema in oneOf' },
    { args: { port: 80, path: '/x' }, error: 'must match exactly one schema in oneOf' },
    { args: { port: 70000 }, error: 'port: must be <= 65535' },
    { args: { port: 80, host: 'a b' }, error: 'host: must match pattern "^[A-Za-z0-9.:_-]+$"' },
  ],
  valid: [{ port: '8080', timeout: '30' }, { path: '/x', state: 'absent', sleep: 0.2 }],
});


describe('wait_for on a real host', async () => {
  const h = await localHost();
  it('the probe script is POSIX sh and quotes the path', () => {
    expect(waitScript({ path: "/tmp/a b'c" }).text).toContain(`[ -e '/tmp/a b'\\''c' ]`);
  });
  it('waits for a port that opens about a second later', async () => {
    const port = await freePort();
    const server = createServer();
    const t = setTimeout(() => server.listen(port, '127.0.0.1'), 1200);
    try {
      const r = await h.check(waitFor, { port, timeout: 10, sleep: 0.2 });
      expect(r).toMatchObject({ status: 'ok', why: expect.stringMatching(new RegExp(`^port ${port} on 127.0.0.1 to open after [12]s$`)) });
      const closed = h.check(waitFor, { port, state: 'stopped', timeout: 10, sleep: 0.2 });
      setTimeout(() => server.close(), 300);
      expect(await closed).toMatchObject({ status: 'ok' });
    } finally {
      clearTimeout(t);
      server.close();
    }
  });
  it('times out on a port nobody opens', async () => {
    const port = await freePort();
    const t0 = Date.now();
    expect(await h.check(waitFor, { port, timeout: 1, sleep: 0.2 })).toEqual({ status: 'fail', why: `timed out after 1s waiting for port ${port} on 127.0.0.1 to open`, result: { elapsed: 1 } });
    expect(Date.now() - t0).toBeLessThan(4000);
  });
  it('waits for a file to contain a line, and for it to go away', async () => {
    const f = join(h.dir, 'app $(x).log');
    writeFileSync(f, 'booting\n');
    setTimeout(() => appendFileSync(f, 'server started on :80\n'), 500);
    expect(await h.check(waitFor, { path: f, regex: 'started on :[0-9]+', timeout: 5, sleep: 0.2 })).toMatchObject({ status: 'ok' });
    setTimeout(() => rmSync(f), 500);
    expect(await h.check(waitFor, { path: f, state: 'absent', timeout: 5, sleep: 0.2 })).toMatchObject({ status: 'ok' });
    expect(await h.check(waitFor, { path: f, timeout: 0, sleep: 0.2 })).toMatchObject({ status: 'fail', why: /timed out after 0s waiting for .* to be present/ });
  });
});
