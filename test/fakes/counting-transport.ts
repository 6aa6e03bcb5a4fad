// A real transport with a log: every exec call's hosts and shown script, in order, so tests can
// count round trips (facts gathered once per batch) without mocking what the transport does.
import type { Cmd, Transport } from '../../src/transports/types.ts';

export type ExecCall = { readonly hosts: readonly string[]; readonly script: string };
export type CountingTransport = Transport & { readonly calls: ExecCall[] };

export function countingTransport(inner: Transport): CountingTransport {
  const calls: ExecCall[] = [];
  return {
    kind: inner.kind, calls,
    open: (hosts, signal) => inner.open(hosts, signal),
    exec(hosts, cmd: Cmd, opts) {
      calls.push({ hosts: hosts.map((h) => h.name), script: cmd.script.text });
      return inner.exec(hosts, cmd, opts);
    },
    put: (hosts, file, opts) => inner.put(hosts, file, opts),
    get: (hosts, path, opts) => inner.get(hosts, path, opts),
    close: () => inner.close(),
  };
}
