// The bench's 10-task runbook (file, copy, template, lineinfile, command, shell+register, stat, when,
// changed_when: false, link) run straight through a Transport, one check-and-apply round trip per task.
import { randomBytes } from 'node:crypto';
import { sh, type Script } from '../src/engine/script.ts';
import type { ExecResult, Host, HostResults, Transport } from '../src/transports/types.ts';

export type RunStats = { ok: number; changed: number; skipped: number; failed: number };
/** Where each host's files live, e.g. <dataDir>/bench-transport/<host>. */
export type BaseDir = (host: Host) => string;

/** The copy task's payload: fixed per process so the second pass finds it unchanged. */
export const PAYLOAD = randomBytes(64 * 1024);
export const LINE = 'FEATURE_FLAG=on';

export function renderConf(host: Host): string {
  return `# managed by runbook\nname = ${host.name}\nlisten = 0.0.0.0:8080\nworkers = 4\n`;
}

type Tally = RunStats & { add(r: HostResults<unknown>, changedWhen?: (v: unknown) => boolean): void };

function tally(): Tally {
  const t: Tally = {
    ok: 0, changed: 0, skipped: 0, failed: 0,
    add(r, changedWhen = () => false) {
      for (const o of r.values()) {
        if (!o.ok) t.failed++;
        else if (changedWhen(o.value)) t.changed++;
        else t.ok++;
      }
    },
  };
  return t;
}

/** One idempotent task = one script that checks, applies when needed and prints `changed`. */
const converge = (check: Script, apply: Script): Script => sh`if ${check}; then :; else ${apply} && echo changed; fi`;
const reportsChange = (v: unknown): boolean => (v as ExecResult).code === 0 && (v as ExecResult).stdout.includes('changed');

async function perHostScript(t: Transport, hosts: Host[], signal: AbortSignal, make: (h: Host) => Script): Promise<HostResults<ExecResult>> {
  // Hosts with different scripts run concurrently, one exec call each (the executor groups identical ones).
  const parts = await Promise.all(hosts.map((h) => t.exec([h], { script: make(h) }, { signal })));
  return new Map(parts.flatMap((m) => [...m]));
}

/** Run the 10 tasks on every host (hosts in parallel, tasks in order) and count outcomes. */
export async function runTenTasks(t: Transport, hosts: Host[], base: BaseDir, signal: AbortSignal): Promise<RunStats> {
  const s = tally();
  const app = (h: Host) => `${base(h)}/app`;
  s.add(await perHostScript(t, hosts, signal, (h) => converge(sh`[ -d ${app(h)} ]`, sh`mkdir -p ${app(h)} && chmod 755 ${app(h)}`)), reportsChange);
  s.add(await Promise.all(hosts.map((h) => t.put([h], { path: `${app(h)}/payload.bin`, content: PAYLOAD }, { signal }))).then(merge));
  s.add(await Promise.all(hosts.map((h) => t.put([h], { path: `${app(h)}/app.conf`, content: renderConf(h), mode: 0o640 }, { signal }))).then(merge));
  s.add(await perHostScript(t, hosts, signal, (h) => converge(sh`grep -qxF ${LINE} ${app(h)}/env 2>/dev/null`, sh`printf '%s\n' ${LINE} >> ${app(h)}/env`)), reportsChange);
  s.add(await t.exec(hosts, { script: sh`uname -r` }, { signal }), () => true);
  const count = await perHostScript(t, hosts, signal, (h) => sh`ls ${app(h)} | wc -l`);
  s.add(count, () => true);
  s.add(await perHostScript(t, hosts, signal, (h) => sh`stat -c '%s %a' ${app(h)}/payload.bin`));
  const when = hosts.filter((h) => {
    const o = count.get(h.name);
    return o?.ok && Number(o.value.stdout.trim()) >= 3;
  });
  s.skipped += hosts.length - when.length;
  if (when.length > 0) s.add(await t.exec(when, { script: sh`echo conditional` }, { signal }), () => true);
  s.add(await perHostScript(t, hosts, signal, (h) => sh`cat ${app(h)}/app.conf`));
  s.add(await perHostScript(t, hosts, signal, (h) => converge(sh`[ "$(readlink ${base(h)}/current)" = ${app(h)} ]`, sh`ln -sfn ${app(h)} ${base(h)}/current`)), reportsChange);
  return { ok: s.ok, changed: s.changed, skipped: s.skipped, failed: s.failed };
}

function merge<T>(parts: HostResults<T>[]): HostResults<T> {
  return new Map(parts.flatMap((m) => [...m]));
}
