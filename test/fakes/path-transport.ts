// A transport wrapper that puts a folder of fake tools first on PATH (and sets their variables) for
// every command, so a real module's scripts meet fake apt-get or systemctl on an otherwise real host.
import { Script, sh } from '../../src/engine/script.ts';
import type { Cmd, Transport } from '../../src/transports/types.ts';

export function withPath(inner: Transport, bin: string, vars: Readonly<Record<string, string>> = {}): Transport {
  const names = Object.keys(vars);
  const set = Object.entries(vars).map(([k, v]) => `${k}=${sh`${v}`.text}`).join('; ');
  const head = `${sh`PATH=${bin}`.text}:"$PATH"; ${set}${set ? '; ' : ''}export PATH ${names.join(' ')}`;
  const prefix = (cmd: Cmd): Cmd => ({ ...cmd, script: new Script(`${head}\n${cmd.script.text}`, cmd.script.shown) });
  return {
    kind: inner.kind,
    open: (hosts, signal) => inner.open(hosts, signal),
    exec: (hosts, cmd, opts) => inner.exec(hosts, prefix(cmd), opts),
    put: (hosts, file, opts) => inner.put(hosts, file, opts),
    get: (hosts, path, opts) => inner.get(hosts, path, opts),
    close: () => inner.close(),
  };
}
