// service: start, stop, restart or reload a systemd unit and enable/disable it at boot.
// Idempotent for started/stopped/enabled (one is-active/is-enabled probe); restarted/reloaded always change.
import { sh } from '../engine/script.ts';
import type { ExecResult } from '../transports/types.ts';
import { change, defineTask, fail, ok, type Change, type Probe } from './types.ts';

export type ServiceArgs = { name: string; state?: 'started' | 'stopped' | 'restarted' | 'reloaded'; enabled?: boolean; daemon_reload?: boolean };
export type UnitState = { readonly load: string; readonly active: string; readonly enabled: string };

/** Parse `load=/active=/enabled=` lines (also what tests record). */
export function parseUnit(out: ExecResult): UnitState {
  const kv: Record<string, string> = {};
  for (const l of out.stdout.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) kv[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  if (kv.active === undefined) throw new Error(`systemctl probe failed (exit ${out.code}): ${out.stderr.trim()}`);
  return { load: kv.load ?? '', active: kv.active, enabled: kv.enabled ?? '' };
}

export const unitState = (name: string): Probe<UnitState> => ({
  key: `systemd_unit:${name}`,
  script: sh`echo "load=$(systemctl show -p LoadState --value -- ${name} 2>/dev/null)"
echo "active=$(systemctl is-active -- ${name} 2>/dev/null)"
echo "enabled=$(systemctl is-enabled -- ${name} 2>/dev/null)"`,
  parse: parseUnit,
});

const RUNNING = new Set(['active', 'activating', 'reloading', 'deactivating']);
const ENABLED = new Set(['enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated']);

function stateChange(name: string, state: ServiceArgs['state'], active: string): Change | undefined {
  const run = RUNNING.has(active);
  switch (state) {
    case 'started': return run ? undefined : { kind: 'exec', why: `will start ${name} (${active || 'unknown'})`, script: sh`systemctl start -- ${name}` };
    case 'stopped': return run ? { kind: 'exec', why: `will stop ${name}`, script: sh`systemctl stop -- ${name}` } : undefined;
    case 'restarted': return { kind: 'exec', why: `will restart ${name}`, script: sh`systemctl restart -- ${name}` };
    case 'reloaded': return run ? { kind: 'exec', why: `will reload ${name}`, script: sh`systemctl reload -- ${name}` }
      : { kind: 'exec', why: `will start ${name} (not running, so no reload)`, script: sh`systemctl start -- ${name}` };
    default: return undefined;
  }
}

export default defineTask<ServiceArgs>({
  name: 'service',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['name'],
    description: 'Manage a systemd service (hosts without systemd fail with a clear error).',
    anyOf: [{ required: ['state'] }, { required: ['enabled'] }],
    examples: [{ name: 'app', state: 'restarted' }, { name: 'nginx', state: 'started', enabled: true }],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9:_.@\\\\-]*$', description: 'Unit name; .service may be left out.', examples: ['nginx', 'app@1.service'] },
      state: { enum: ['started', 'stopped', 'restarted', 'reloaded'], description: 'started/stopped change only when needed; restarted/reloaded always act (use them as handlers).' },
      enabled: { type: 'boolean', description: 'Start at boot (systemctl enable) or not (disable).' },
      daemon_reload: { type: 'boolean', default: false, description: 'Run systemctl daemon-reload first when something changes (after editing a unit file).' },
    },
  },
  async check(ctx, args) {
    if (ctx.host.facts.service_mgr !== 'systemd') return fail(`no systemd on ${ctx.host.name}: service module needs systemd`);
    const u = await ctx.probe(unitState(args.name));
    if (u.load === 'not-found') return fail(`unit ${args.name} not found on ${ctx.host.name}`);
    const changes: Change[] = [];
    const s = stateChange(args.name, args.state, u.active);
    if (s) changes.push(s);
    if (args.enabled === true && !ENABLED.has(u.enabled)) changes.push({ kind: 'exec', why: `will enable ${args.name}`, script: sh`systemctl enable -- ${args.name}` });
    if (args.enabled === false && ENABLED.has(u.enabled) && u.enabled !== 'static') changes.push({ kind: 'exec', why: `will disable ${args.name}`, script: sh`systemctl disable -- ${args.name}` });
    const result = { name: args.name, state: u.active, enabled: u.enabled };
    if (!changes.length) return ok(`${args.name} is ${u.active}${args.enabled !== undefined ? ` and ${u.enabled}` : ''}`, { result });
    if (args.daemon_reload) changes.unshift({ kind: 'exec', why: 'reload systemd units', script: sh`systemctl daemon-reload` });
    return change(changes, undefined, result);
  },
});
