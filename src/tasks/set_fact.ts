// set_fact: set host variables for the rest of the run (returned as `facts`; the executor merges them).
// No host change: always ok.
import { defineTask, ok, type Result } from './types.ts';

export type SetFactArgs = Readonly<Record<string, unknown>>;

export default defineTask<SetFactArgs>({
  name: 'set_fact',
  idempotent: true,
  schema: {
    type: 'object', minProperties: 1, description: 'Set variables on this host for later tasks: name: value pairs (values are templated).',
    examples: [{ release_dir: '/opt/app/releases/{{ version }}' }],
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    additionalProperties: { description: 'The value (any YAML value; strings are templated).' },
  },
  async check(_ctx, args) {
    const names = Object.keys(args);
    return ok(`set ${names.join(', ')}`, { facts: { ...args } as Result });
  },
});
