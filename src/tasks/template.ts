// template: render a controller-side template (`src`, relative to the runbook) with the task's
// variables, then put it at `dest` like copy. Idempotent: the rendered text's sha256 + mode/owner/group.
import type { Secret } from '../engine/secret.ts';
import { backupSchema, checkFile, groupSchema, ownerSchema } from './files.ts';
import { modeSchema } from './probes.ts';
import { defineTask } from './types.ts';

export type TemplateArgs = {
  src: string;
  dest: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  backup?: boolean;
};

export default defineTask<TemplateArgs>({
  name: 'template',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['src', 'dest'],
    description: 'Render a template file ({{ expr }} with variables, facts and filters) to the host.',
    properties: {
      src: { type: 'string', minLength: 1, description: 'Template file, relative to the runbook folder.', examples: ['files/app.env.j2'] },
      dest: { type: 'string', pattern: '^/', description: 'Absolute path on the host.', examples: ['/etc/app/app.env'] },
      mode: modeSchema,
      owner: ownerSchema,
      group: groupSchema,
      backup: backupSchema,
    },
  },
  async check(ctx, args) {
    const text = Buffer.from(await ctx.readLocal(args.src)).toString('utf8');
    // A template that used a secret renders to a Secret: the write carries it and the diff stays hidden.
    const rendered = ctx.render(text, args.src);
    return checkFile(ctx, { ...args, content: rendered });
  },
});
