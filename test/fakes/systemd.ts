// A fake systemctl on a host: units, running and enabled state kept as files, the commands the service
// module uses (show -p LoadState, is-active, is-enabled, start/stop/restart/reload, enable/disable,
// daemon-reload) logged; with path-transport.ts it stands in for systemd on a machine without it.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transport } from '../../src/transports/types.ts';
import { withPath } from './path-transport.ts';

const SYSTEMCTL = `#!/bin/sh
S="$FAKE_SYSTEMD"
echo "$*" >> "$S/log"
verb=$1; shift
[ "$1" = -p ] && { shift 3; }
[ "$1" = -- ] && shift
u=$1
unit() { [ -f "$S/units/$u" ] || { echo "Unit $u.service not found." >&2; exit 5; }; }
case "$verb" in
  show) if [ -f "$S/units/$u" ]; then echo loaded; else echo not-found; fi ;;
  is-active) if [ -f "$S/active/$u" ]; then echo active; else echo inactive; exit 3; fi ;;
  is-enabled) if [ ! -f "$S/units/$u" ]; then echo not-found; exit 1; elif [ -f "$S/enabled/$u" ]; then echo enabled; else echo disabled; exit 1; fi ;;
  start|restart) unit; touch "$S/active/$u" ;;
  reload) unit; [ -f "$S/active/$u" ] || { echo "$u is not active, cannot reload." >&2; exit 1; } ;;
  stop) unit; rm -f "$S/active/$u" ;;
  enable) unit; touch "$S/enabled/$u" ;;
  disable) unit; rm -f "$S/enabled/$u" ;;
  daemon-reload) ;;
  *) echo "Unknown command verb $verb." >&2; exit 1 ;;
esac
`;

export type FakeSystemd = {
  readonly bin: string;
  state(unit: string): { active: boolean; enabled: boolean };
  log(): string[];
  wrap(inner: Transport): Transport;
};

export function fakeSystemd(units: readonly string[]): FakeSystemd {
  const root = mkdtempSync(join(tmpdir(), 'rb-fake-systemd-'));
  const bin = join(root, 'bin');
  for (const d of ['bin', 'units', 'active', 'enabled']) mkdirSync(join(root, d));
  for (const u of units) writeFileSync(join(root, 'units', u), '');
  writeFileSync(join(root, 'log'), '');
  writeFileSync(join(bin, 'systemctl'), SYSTEMCTL);
  chmodSync(join(bin, 'systemctl'), 0o755);
  return {
    bin,
    state: (u) => ({ active: existsSync(join(root, 'active', u)), enabled: existsSync(join(root, 'enabled', u)) }),
    log: () => readFileSync(join(root, 'log'), 'utf8').split('\n').filter((l) => l && !/^(show|is-active|is-enabled) /.test(l)),
    wrap: (inner) => withPath(inner, bin, { FAKE_SYSTEMD: root }),
  };
}
