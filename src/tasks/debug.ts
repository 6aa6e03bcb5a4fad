// debug: print a message or a value in the output and journal. No host change: always ok.
// A Secret (or a value holding one) prints as ***.
import { Secret } from '../engine/secret.ts';
import { defineTask, ok } from './types.ts';

export type DebugArgs = { msg?: unknown; var?: unknown };

/** The text shown: strings as they are, other values as JSON (a Secret's toJSON is ***). */
export const shownText = (v: unknown): string => (typeof v === 'string' || v instanceof Secret ? String(v) : v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v)));

export default defineTask<DebugArgs>({
  name: 'debug',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, description: 'Print a message (msg) or a value (var). Free form: `debug: "port is {{ port }}"`.',
    not: { required: ['msg', 'var'] },
    properties: {
      msg: { description: 'Text to print (templated).', examples: ['deployed {{ version }}'] },
      var: { description: 'A value to print as JSON; the executor passes the value of the named variable.', examples: ['result'] },
    },
  },
  freeForm: (text) => ({ msg: text }),
  async check(_ctx, args) {
    const text = args.var !== undefined ? shownText(args.var) : shownText(args.msg ?? 'Hello world!');
    return ok(text, { result: { msg: text } });
  },
});
