// One runbook that uses every task module (command, shell, copy, template, file, lineinfile, package, service,
// http, wait_for, assert, set_fact, debug, fetch), for the per-transport round trips: plan writes nothing, apply
// converges, a second apply is all ok. `root` is a host var naming the host's own folder.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const EVERY_MODULE = [
  'command', 'shell', 'copy', 'template', 'file', 'lineinfile', 'package', 'service', 'http', 'wait_for', 'assert', 'set_fact', 'debug', 'fetch',
] as const;

/** A package every Debian-like test host has, so `package: present` is a real query that finds nothing to do. */
const PRESENT_PACKAGE = 'bash';

export function everyModuleRunbook(o: { httpUrl: string; port: number }): { yaml: string; files: Record<string, string> } {
  const yaml = `name: every module
hosts: web
environments: [test]
vars:
  greeting: "hello; rm -rf /"
  app_port: 8080
tasks:
  - name: dir
    file: { path: "{{ root }}/etc", state: directory, mode: "0750" }
  - name: env file
    copy: { content: "A=1\\n", dest: "{{ root }}/etc/a.env", mode: "0600" }
  - name: config
    template: { src: files/app.conf.j2, dest: "{{ root }}/etc/app.conf", mode: "0640" }
  - name: line
    lineinfile: { path: "{{ root }}/etc/b.env", line: "B=2", create: true }
  - name: read env
    command: cat {{ root }}/etc/a.env {{ root }}/etc/b.env
    register: envfile
    changed_when: false
  - name: remember
    set_fact: { env_lines: "{{ envfile.stdout_lines | join(',') }}" }
  - name: check env
    assert: { that: ["env_lines == 'A=1,B=2'", "facts.pkg_mgr != ''"], fail_msg: "env is {{ env_lines }}" }
  - name: greet once
    shell: { cmd: "echo {{ greeting }} > {{ root }}/greeting", creates: "{{ root }}/greeting" }
  - name: greeting written
    wait_for: { path: "{{ root }}/greeting", regex: "^hello; rm -rf /$", timeout: 5 }
  - name: listener up
    wait_for: { port: ${o.port}, host: 127.0.0.1, timeout: 5 }
  - name: app answers
    http: { url: "${o.httpUrl}", status: 200, contains: pong }
  - name: shell is installed
    package: { name: ${PRESENT_PACKAGE}, state: present }
  - name: say
    debug: { msg: "env {{ env_lines }} on {{ inventory_hostname }}" }
  - name: collect
    fetch: { src: "{{ root }}/etc/app.conf", dest: fetched/ }
  - name: unit
    service: { name: runbook-no-such-unit, state: stopped }
    ignore_errors: true
`;
  return { yaml, files: { 'files/app.conf.j2': 'listen {{ app_port }}\nhost {{ inventory_hostname }}\n' } };
}

/** The files every host holds after a converged apply, by path below `root`, as test/helpers/snapshot.ts shows them. */
export const everyModuleTree = (host: string): Record<string, string> => ({
  'etc/a.env': '100600:A=1\n', 'etc/b.env': '100644:B=2\n', 'etc/app.conf': `100640:listen 8080\nhost ${host}\n`, greeting: '100644:hello; rm -rf /\n',
});

/** A local HTTP server answering `pong`, for the http task. */
export async function startPong(): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => res.end('pong'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/ping`, port, close: () => new Promise((r) => server.close(() => r())) };
}
