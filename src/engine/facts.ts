// Host facts (os family, distribution, arch, hostname, user, package manager, init system),
// gathered once per host in a single round trip of one POSIX sh script.
import { Script, sh } from './script.ts';
import type { Facts } from '../tasks/types.ts';
import type { ExecResult } from '../transports/types.ts';

/** The facts script; `root` prefixes the two paths it reads (tests point it at recorded trees). */
export function factsScriptFor(root = ''): Script {
  return new Script(sh`r=${root}`.text + FACTS_BODY);
}

const FACTS_BODY = `
if [ -r "$r/etc/os-release" ]; then . "$r/etc/os-release"; fi
case " \${ID:-} \${ID_LIKE:-} " in
  *" debian "*|*" ubuntu "*) fam=Debian ;;
  *" rhel "*|*" fedora "*|*" centos "*|*" amzn "*) fam=RedHat ;;
  *" alpine "*) fam=Alpine ;;
  *) fam=$(uname -s) ;;
esac
pm=unknown
for p in apt-get dnf yum apk; do if command -v "$p" >/dev/null 2>&1; then pm=$p; break; fi; done
[ "$pm" = apt-get ] && pm=apt
if [ -d "$r/run/systemd/system" ] && command -v systemctl >/dev/null 2>&1; then sm=systemd; else sm=none; fi
echo "os_family=$fam"
echo "distribution=\${ID:-unknown}"
echo "distribution_version=\${VERSION_ID:-}"
echo "arch=$(uname -m)"
echo "hostname=$(hostname 2>/dev/null || uname -n)"
echo "user=$(id -un)"
echo "pkg_mgr=$pm"
echo "service_mgr=$sm"`;

export const factsScript: Script = factsScriptFor();

export function parseFacts(out: ExecResult): Facts {
  const kv: Record<string, string> = {};
  for (const line of out.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return {
    os_family: kv.os_family ?? 'unknown', distribution: kv.distribution ?? 'unknown',
    distribution_version: kv.distribution_version ?? '', arch: kv.arch ?? 'unknown',
    hostname: kv.hostname ?? 'unknown', user: kv.user ?? 'unknown',
    pkg_mgr: kv.pkg_mgr ?? 'unknown', service_mgr: kv.service_mgr ?? 'none',
  };
}

/** Facts for `delegate_to: localhost` and tests that need no host. */
export const unknownFacts: Facts = parseFacts({ code: 0, stdout: '', stderr: '', ms: 0 });
