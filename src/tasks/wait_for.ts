// wait_for: wait on the host until a TCP port opens/closes or a file appears/disappears (or contains regex).
// Read-only: the probe is a bounded sh loop (nc -z, else bash /dev/tcp, else python3); ok or "timed out".
import { Script, sh } from '../engine/script.ts';
import { defineTask, fail, ok } from './types.ts';

export type WaitForArgs = {
  port?: number | string;
  host?: string;
  path?: string;
  regex?: string;
  state?: 'started' | 'stopped' | 'present' | 'absent';
  timeout?: number | string;
  delay?: number | string;
  sleep?: number | string;
};

const seconds = (description: string, dflt: number, example: number): Record<string, unknown> => ({
  description, default: dflt, examples: [example], anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\d+(\\.\\d+)?$' }],
});

// Exit status 0 when the port accepts a connection; 3 when no tool can tell.
const PORT_OPEN = new Script(`port_open() {
  if command -v nc >/dev/null 2>&1; then nc -z -w 2 "$1" "$2" >/dev/null 2>&1; return $?; fi
  if command -v bash >/dev/null 2>&1; then bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1; return $?; fi
  if command -v python3 >/dev/null 2>&1; then python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)' "$1" "$2" >/dev/null 2>&1; return $?; fi
  echo notool; exit 0
}`);

function condition(a: WaitForArgs, state: NonNullable<WaitForArgs['state']>): Script {
  if (a.port !== undefined) {
    const open = sh`port_open ${a.host ?? '127.0.0.1'} ${String(a.port)}`;
    return state === 'stopped' || state === 'absent' ? new Script(`! ${open.text}`, `! ${open.shown}`) : open;
  }
  const path = a.path ?? '';
  if (state === 'absent' || state === 'stopped') return sh`[ ! -e ${path} ]`;
  return a.regex !== undefined ? sh`[ -r ${path} ] && grep -Eq -e ${a.regex} -- ${path}` : sh`[ -e ${path} ]`;
}

export function waitScript(a: WaitForArgs): Script {
  const state = a.state ?? (a.port !== undefined ? 'started' : 'present');
  const [timeout, delay, pause] = [Number(a.timeout ?? 300), Number(a.delay ?? 0), Number(a.sleep ?? 1)];
  return new Script([PORT_OPEN.text, sh`start=$(date +%s); sleep ${String(delay)}`.text,
    'while :; do',
    `  if ${condition(a, state).text}; then echo "ok $(( $(date +%s) - start ))"; exit 0; fi`,
    sh`  if [ $(( $(date +%s) - start )) -ge ${String(timeout)} ]; then echo timeout; exit 0; fi`.text,
    sh`  sleep ${String(pause)}`.text, 'done'].join('\n'), `wait_for ${JSON.stringify(a)}`);
}

function what(a: WaitForArgs): string {
  const state = a.state ?? (a.port !== undefined ? 'started' : 'present');
  if (a.port !== undefined) return `port ${a.port} on ${a.host ?? '127.0.0.1'} to ${state === 'started' || state === 'present' ? 'open' : 'close'}`;
  return `${a.path}${a.regex !== undefined ? ` to contain /${a.regex}/` : ''} to be ${state === 'absent' || state === 'stopped' ? 'absent' : 'present'}`;
}

export default defineTask<WaitForArgs>({
  name: 'wait_for',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false,
    description: 'Wait until a port on the host opens (or closes) or a file appears (with regex: contains a match) or goes away.',
    oneOf: [{ required: ['port'], not: { required: ['path'] } }, { required: ['path'], not: { required: ['port'] } }],
    properties: {
      port: { description: 'TCP port to check.', examples: [8080], anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, { type: 'string', pattern: '^\\d{1,5}$' }] },
      host: { type: 'string', pattern: '^[A-Za-z0-9.:_-]+$', default: '127.0.0.1', description: 'Address the port is checked on, seen from the host.', examples: ['10.0.2.15'] },
      path: { type: 'string', pattern: '^/', description: 'File to wait for (instead of port).', examples: ['/run/app/ready'] },
      regex: { type: 'string', description: 'With path: wait until the file contains a line matching this extended regular expression (grep -E).', examples: ['^Listening on .*:8080$'] },
      state: { enum: ['started', 'stopped', 'present', 'absent'], description: 'started/present (default): open or there; stopped/absent: closed or gone.' },
      timeout: seconds('Give up (failed) after this many seconds.', 300, 60),
      delay: seconds('Seconds to wait before the first check.', 0, 5),
      sleep: seconds('Seconds between checks.', 1, 2),
    },
  },
  async check(ctx, args) {
    const out = await ctx.probe({
      key: `wait_for:${JSON.stringify(args)}`, script: waitScript(args),
      parse: (r) => r.stdout.trim().split('\n').pop() ?? '',
    });
    if (out === 'notool') return fail(`cannot check ports on ${ctx.host.name}: no nc, bash or python3`);
    const m = /^ok (\d+)$/.exec(out);
    if (m) return ok(`${what(args)} after ${m[1]}s`, { result: { elapsed: Number(m[1]) } });
    return fail(`timed out after ${Number(args.timeout ?? 300)}s waiting for ${what(args)}`, { elapsed: Number(args.timeout ?? 300) });
  },
});
