// A fake Debian package manager on a host: dpkg-query, apt-cache and apt-get shell scripts that keep
// installed packages as files in a state folder, and a transport that puts them first on PATH.
// Lets the package module run plan -> apply -> second apply for real without root or a network.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transport } from '../../src/transports/types.ts';
import { withPath } from './path-transport.ts';

export type FakeApt = {
  readonly bin: string;
  /** Installed packages and versions now. */
  installed(): Record<string, string>;
  /** Make a newer version available (what apt-get update would have fetched). */
  publish(name: string, version: string): void;
  /** The apt-get command lines run so far. */
  log(): string[];
  /** `inner` with the fake first on PATH for every command. */
  wrap(inner: Transport): Transport;
};

const script = (body: string): string => `#!/bin/sh\nS="$FAKE_APT"\n${body}\n`;

const DPKG_QUERY = script(`shift 2  # -W -f=...
for n in "$@"; do
  if [ -f "$S/installed/$n" ]; then printf '%s\\tinstall ok installed\\t%s\\n' "$n" "$(cat "$S/installed/$n")"
  else echo "dpkg-query: no packages found matching $n" >&2; st=1; fi
done
exit \${st:-0}`);

const APT_CACHE = script(`shift  # policy
for n in "$@"; do
  echo "$n:"
  if [ -f "$S/installed/$n" ]; then echo "  Installed: $(cat "$S/installed/$n")"; else echo "  Installed: (none)"; fi
  if [ -f "$S/catalog/$n" ]; then echo "  Candidate: $(cat "$S/catalog/$n")"; else echo "  Candidate: (none)"; fi
done`);

const APT_GET = script(`echo "$*" >> "$S/log"
upgrade=0; cmd=
for a in "$@"; do
  case "$a" in
    install|remove|update) cmd=$a ;;
    --only-upgrade) upgrade=1 ;;
    -*) ;;
    *) if [ "$cmd" = install ]; then
         [ -f "$S/catalog/$a" ] || { echo "E: Unable to locate package $a" >&2; exit 100; }
         if [ $upgrade = 1 ] && [ ! -f "$S/installed/$a" ]; then continue; fi
         cp "$S/catalog/$a" "$S/installed/$a"
       elif [ "$cmd" = remove ]; then rm -f "$S/installed/$a"; fi ;;
  esac
done`);

export function fakeApt(catalog: Record<string, string>): FakeApt {
  const root = mkdtempSync(join(tmpdir(), 'rb-fake-apt-'));
  const bin = join(root, 'bin');
  for (const d of ['bin', 'installed', 'catalog']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'log'), '');
  const publish = (name: string, version: string): void => writeFileSync(join(root, 'catalog', name), version);
  Object.entries(catalog).forEach(([n, v]) => publish(n, v));
  for (const [name, text] of Object.entries({ 'dpkg-query': DPKG_QUERY, 'apt-cache': APT_CACHE, 'apt-get': APT_GET })) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  return {
    bin, publish,
    installed: () => Object.fromEntries(readdirSync(join(root, 'installed')).map((n) => [n, readFileSync(join(root, 'installed', n), 'utf8')])),
    log: () => readFileSync(join(root, 'log'), 'utf8').split('\n').filter(Boolean),
    wrap: (inner) => withPath(inner, bin, { FAKE_APT: root }),
  };
}
