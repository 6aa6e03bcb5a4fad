// fetch: copy a file from the host to the controller (dest/<host>/<src>, or dest itself with flat).
// Idempotent: the host file's sha256 (one probe) is compared with the local copy's.
import { basename, join } from 'node:path';
import { fileSum, localSha256 } from './probes.ts';
import { change, defineTask, fail, ok } from './types.ts';

export type FetchArgs = { src: string; dest: string; flat?: boolean };

/** Where the file lands on the controller. */
export function fetchDest(host: string, a: FetchArgs): string {
  if (!a.flat) return join(a.dest, host, a.src);
  return a.dest.endsWith('/') ? join(a.dest, basename(a.src)) : a.dest;
}

export default defineTask<FetchArgs>({
  name: 'fetch',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['src', 'dest'],
    description: 'Copy a file from each host to the machine running runbook.',
    properties: {
      src: { type: 'string', pattern: '^/', description: 'Absolute path of the file on the host.', examples: ['/var/log/app/app.log'] },
      dest: { type: 'string', minLength: 1, description: 'Controller folder (the file lands in dest/<host>/<src>), or the file itself with flat.', examples: ['fetched/'] },
      flat: { type: 'boolean', default: false, description: 'Write to dest itself (dest ending in / : dest/basename(src)) instead of dest/<host>/<src>.' },
    },
  },
  async check(ctx, args) {
    const st = await ctx.probe(fileSum(args.src));
    if (st.type === 'absent') return fail(`${args.src} does not exist on ${ctx.host.name}`);
    if (st.type !== 'file') return fail(`${args.src} is a ${st.type}, not a file`);
    if (!st.sha256) return fail(`cannot read ${args.src} on ${ctx.host.name} (become may be needed)`);
    const dest = fetchDest(ctx.host.name, args);
    const local = await ctx.probe(localSha256(dest));
    const result = { src: args.src, dest, checksum: st.sha256 };
    if (local === st.sha256) return ok(`${dest} matches ${args.src}`, { result });
    return change([{ kind: 'fetch', why: local === undefined ? `fetch ${args.src}` : `refresh ${dest}`, src: args.src, dest }], undefined, result);
  },
});
