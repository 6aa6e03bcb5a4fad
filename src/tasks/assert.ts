// assert: fail the host unless every condition holds. The executor evaluates the expressions in `that`
// (modules have no template engine) and passes booleans. Read-only: ok or fail, never a change.
import { defineTask, fail, ok } from './types.ts';

export type AssertArgs = { that: boolean | string | readonly (boolean | string)[]; fail_msg?: string; success_msg?: string; quiet?: boolean };

export default defineTask<AssertArgs>({
  name: 'assert',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['that'],
    description: 'Check conditions; the host fails unless all are true.',
    properties: {
      that: { description: 'Expression or list of expressions, all of which must be true (no {{ }} needed).', examples: ['disk_free.stdout | int > 1000000', ['app_port > 1024', '"prod" in group_names']],
        anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', minItems: 1, items: { anyOf: [{ type: 'string' }, { type: 'boolean' }] } }] },
      fail_msg: { type: 'string', description: 'Message when an assertion fails (default: "assertion failed: <index>").', examples: ['less than 1 GB free on {{ inventory_hostname }}'] },
      success_msg: { type: 'string', description: 'Message when all assertions hold.', examples: ['runtime {{ dotnet_version }} is installed'] },
      quiet: { type: 'boolean', default: false, description: 'Accepted for Ansible compatibility; the message is always short.' },
    },
  },
  async check(_ctx, args) {
    const that = Array.isArray(args.that) ? args.that : [args.that];
    const bad = that.findIndex((v) => typeof v !== 'boolean');
    if (bad >= 0) return fail(`assert: that[${bad}] was not evaluated (got ${JSON.stringify(that[bad])}); the executor evaluates expressions`);
    const failed = that.findIndex((v) => v !== true);
    if (failed >= 0) return fail(args.fail_msg ?? `assertion failed: ${failed}`, { assertion: failed, evaluated_to: false });
    return ok(args.success_msg ?? `all ${that.length} assertion(s) passed`);
  },
});
