// copy: put `content` or a controller file (`src`, relative to the runbook) at `dest` on the host.
// Idempotent: sha256, mode, owner and group compared in one probe; only what differs changes.
import { basename } from 'node:path';
import type { Secret } from '../engine/secret.ts';
import { backupSchema, checkFile, groupSchema, ownerSchema } from './files.ts';
import { modeSchema } from './probes.ts';
import { defineTask } from './types.ts';

export type CopyArgs = {
  dest: string;
  content?: string | Secret;
  src?: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  backup?: boolean;
  force?: boolean;
};

export default defineTask<CopyArgs>({
  name: 'copy',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['dest'],
    description: 'Copy a file from the runbook folder (src) or inline text (content) to the host.',
    oneOf: [{ required: ['content'] }, { required: ['src'] }],
    properties: {
      dest: { type: 'string', pattern: '^/', description: 'Absolute path on the host; ending in / copies into that folder as basename(src).', examples: ['/etc/app/app.env', '/opt/app/'] },
      content: { type: 'string', description: 'The whole file content (instead of src). May hold secrets: the diff is then hidden.', examples: ['PORT={{ app_port }}\n'] },
      src: { type: 'string', minLength: 1, description: 'Controller-side file, relative to the runbook folder (instead of content).', examples: ['files/nginx.conf'] },
      mode: modeSchema,
      owner: ownerSchema,
      group: groupSchema,
      backup: backupSchema,
      force: { type: 'boolean', default: true, description: 'false: never replace an existing file\'s content (mode/owner still apply).' },
    },
  },
  async check(ctx, args) {
    const dest = args.src !== undefined && args.dest.endsWith('/') ? args.dest + basename(args.src) : args.dest;
    const content = args.src !== undefined ? await ctx.readLocal(args.src) : (args.content ?? '');
    return checkFile(ctx, { ...args, dest, content });
  },
});
