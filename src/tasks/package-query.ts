// The read-only package query of the package module: installed versions (dpkg-query, rpm -q, apk info)
// and, for state: latest, the names with a newer candidate — one POSIX sh round trip, two sections.
import { joinScripts, sh, type Script } from '../engine/script.ts';
import type { ExecResult } from '../transports/types.ts';
import type { Probe } from './types.ts';

export type PkgMgr = 'apt' | 'dnf' | 'yum' | 'apk';
export type PkgState = { readonly installed: ReadonlyMap<string, string>; readonly upgradable: ReadonlySet<string> };

const DPKG_FORMAT = '${Package}\t${Status}\t${Version}\n';
const RPM_FORMAT = '%{NAME}\t%{VERSION}-%{RELEASE}\n';

const installedQuery: Record<PkgMgr, (n: string[]) => Script> = {
  apt: (n) => sh`dpkg-query -W -f=${DPKG_FORMAT} ${n} 2>/dev/null`,
  dnf: (n) => sh`rpm -q --qf ${RPM_FORMAT} ${n}`,
  yum: (n) => sh`rpm -q --qf ${RPM_FORMAT} ${n}`,
  apk: (n) => sh`apk info -e ${n}`,
};
const upgradableQuery: Record<PkgMgr, (n: string[]) => Script> = {
  apt: (n) => sh`apt-cache policy ${n}`,
  dnf: (n) => sh`dnf -q check-update ${n}`,
  yum: (n) => sh`yum -q check-update ${n}`,
  apk: () => sh`apk version -l '<'`,
};

export function pkgQuery(mgr: PkgMgr, names: readonly string[], latest: boolean): Probe<PkgState> {
  const n = [...names];
  const parts = [sh`export LC_ALL=C; echo @installed`, installedQuery[mgr](n)];
  if (latest) parts.push(sh`echo @upgradable`, upgradableQuery[mgr](n));
  parts.push(sh`true`);
  return { key: `pkg_${mgr}${latest ? '_latest' : ''}:${n.join(',')}`, script: joinScripts(parts), parse: (out) => parsePkgQuery(mgr, names, out) };
}

function section(stdout: string, name: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf(`@${name}`);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('@'));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

function parseInstalled(mgr: PkgMgr, lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const [name, a, b] = l.split('\t');
    if (!name) continue;
    if (mgr === 'apt' && a !== undefined && / installed$/.test(a)) out.set(name.split(':')[0]!, b ?? '');
    else if ((mgr === 'dnf' || mgr === 'yum') && a !== undefined) out.set(name, a);
    else if (mgr === 'apk' && /^\S+$/.test(l)) out.set(l.trim(), '');
  }
  return out;
}

function parseUpgradable(mgr: PkgMgr, lines: string[]): Set<string> {
  const out = new Set<string>();
  if (mgr === 'apt') {
    let pkg = '';
    let installed = '';
    for (const l of lines) {
      const head = /^(\S+):$/.exec(l);
      if (head) pkg = head[1]!.split(':')[0]!;
      const inst = /^\s+Installed: (\S+)/.exec(l);
      if (inst) installed = inst[1]!;
      const cand = /^\s+Candidate: (\S+)/.exec(l);
      if (cand && installed !== '(none)' && cand[1] !== '(none)' && cand[1] !== installed) out.add(pkg);
    }
  } else if (mgr === 'apk') {
    for (const l of lines) {
      const m = /^(.+?)-\d[^\s]*-r\d+\s+</.exec(l);
      if (m) out.add(m[1]!);
    }
  } else {
    for (const l of lines) {
      const m = /^(\S+)\.[^.\s]+\s+\S+\s+\S+/.exec(l);
      if (m && !l.startsWith(' ') && !/^(Obsoleting|Security:|Last metadata)/.test(l)) out.add(m[1]!);
    }
  }
  return out;
}

/** Parse the two sections of the query output (also what tests record). */
export function parsePkgQuery(mgr: PkgMgr, names: readonly string[], out: ExecResult): PkgState {
  if (!out.stdout.includes('@installed')) throw new Error(`package query failed (exit ${out.code}): ${out.stderr.trim()}`);
  const installed = parseInstalled(mgr, section(out.stdout, 'installed'));
  for (const k of installed.keys()) if (!names.includes(k)) installed.delete(k);
  return { installed, upgradable: parseUpgradable(mgr, section(out.stdout, 'upgradable')) };
}
