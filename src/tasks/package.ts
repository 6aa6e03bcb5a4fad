// package: ensure OS packages are present, absent or latest with the host's manager (apt, dnf, yum, apk).
// Idempotent: one query (dpkg-query / rpm -q / apk info, plus the upgradable list for latest) decides.
import { joinScripts, sh, type Script } from '../engine/script.ts';
import { pkgQuery, type PkgMgr } from './package-query.ts';
import { change, defineTask, fail, ok } from './types.ts';

export type PackageArgs = { name: string | readonly string[]; state?: 'present' | 'absent' | 'latest'; update_cache?: boolean };

const NAME = '^[A-Za-z0-9][A-Za-z0-9+._:-]*$';
const MANAGERS: readonly PkgMgr[] = ['apt', 'dnf', 'yum', 'apk'];

const install: Record<PkgMgr, (names: string[]) => Script> = {
  apt: (n) => sh`DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${n}`,
  dnf: (n) => sh`dnf install -y -q ${n}`,
  yum: (n) => sh`yum install -y -q ${n}`,
  apk: (n) => sh`apk add -q ${n}`,
};
const upgrade: Record<PkgMgr, (names: string[]) => Script> = {
  apt: (n) => sh`DEBIAN_FRONTEND=noninteractive apt-get install -y -q --only-upgrade ${n}`,
  dnf: (n) => sh`dnf upgrade -y -q ${n}`,
  yum: (n) => sh`yum update -y -q ${n}`,
  apk: (n) => sh`apk add -q -u ${n}`,
};
const remove: Record<PkgMgr, (names: string[]) => Script> = {
  apt: (n) => sh`DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ${n}`,
  dnf: (n) => sh`dnf remove -y -q ${n}`,
  yum: (n) => sh`yum remove -y -q ${n}`,
  apk: (n) => sh`apk del -q ${n}`,
};
const refresh: Record<PkgMgr, Script> = {
  apt: sh`apt-get update -q`, dnf: sh`dnf makecache -q`, yum: sh`yum makecache -q`, apk: sh`apk update -q`,
};

export default defineTask<PackageArgs>({
  name: 'package',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['name'],
    description: 'Install, upgrade or remove OS packages (apt, dnf, yum, apk, from the host facts). Changing packages needs root: set become: true.',
    properties: {
      name: { description: 'Package name or list of names.', examples: ['nginx', ['curl', 'jq']],
        anyOf: [{ type: 'string', pattern: NAME }, { type: 'array', minItems: 1, items: { type: 'string', pattern: NAME } }] },
      state: { enum: ['present', 'absent', 'latest'], default: 'present', description: 'present: installed; absent: removed; latest: installed at the newest version the package cache knows.' },
      update_cache: { type: 'boolean', default: false, description: 'Refresh the package index before installing (only when something changes).' },
    },
  },
  async check(ctx, args) {
    const mgr = ctx.host.facts.pkg_mgr as PkgMgr;
    if (!MANAGERS.includes(mgr)) return fail(`no supported package manager on ${ctx.host.name} (found '${ctx.host.facts.pkg_mgr}'); package supports apt, dnf, yum and apk`);
    const names = typeof args.name === 'string' ? [args.name] : [...args.name];
    const state = args.state ?? 'present';
    const q = await ctx.probe(pkgQuery(mgr, names, state === 'latest'));
    const missing = names.filter((n) => !q.installed.has(n));
    const result = { packages: Object.fromEntries(q.installed) };
    if (state === 'absent') {
      const there = names.filter((n) => q.installed.has(n));
      if (!there.length) return ok(`${names.join(', ')} not installed`, { result });
      return change([{ kind: 'exec', why: `remove ${there.join(', ')}`, script: remove[mgr](there) }], undefined, result);
    }
    const outdated = state === 'latest' ? names.filter((n) => q.upgradable.has(n) && q.installed.has(n)) : [];
    if (!missing.length && !outdated.length) return ok(`${names.join(', ')} installed${state === 'latest' ? ' at the latest version' : ''}`, { result });
    const steps: Script[] = [];
    if (args.update_cache) steps.push(refresh[mgr]);
    if (missing.length) steps.push(install[mgr](missing));
    if (outdated.length) steps.push(upgrade[mgr](outdated));
    const why = [missing.length ? `install ${missing.join(', ')}` : '', outdated.length ? `upgrade ${outdated.join(', ')}` : ''].filter(Boolean).join(', ');
    return change([{ kind: 'exec', why, script: joinScripts(steps, ' && ') }], undefined, result);
  },
});
