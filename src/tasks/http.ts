// http: an HTTP request from the controller with expectations (status, contains, json_path).
// GET/HEAD are read-only probes (ok or fail); other methods are a `call` change run only by apply.
import { request, unmet, type HttpArgs, type HttpResponse } from './http-request.ts';
import { change, defineTask, fail, ok, type Result } from './types.ts';

export type { HttpArgs };

const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);
const asResult = (r: HttpResponse): Result => ({ ...r });
const secretOrString = (description: string, examples: string[]): Record<string, unknown> => ({ type: 'string', description, examples });

export default defineTask<HttpArgs>({
  name: 'http',
  idempotent: true,
  schema: {
    type: 'object', additionalProperties: false, required: ['url'],
    description: 'An HTTP request from the machine running runbook. GET/HEAD only read (ok or failed); POST/PUT/PATCH/DELETE are changes that apply makes.',
    properties: {
      url: { type: 'string', pattern: '^https?://', description: 'URL to request.', examples: ['https://app.example.com/health'] },
      method: { type: 'string', enum: ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'], default: 'GET', description: 'HTTP method.' },
      headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Request headers (values may be secrets).', examples: [{ Authorization: 'Bearer {{ secrets.token }}' }] },
      body: secretOrString('Raw request body.', ['user=probe&password={{ secrets.probe_password }}']),
      form: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] }, description: 'Form fields sent as application/x-www-form-urlencoded.', examples: [{ user: 'probe', password: '{{ secrets.probe_password }}' }] },
      json: { description: 'A value sent as JSON (content-type application/json).', examples: [{ version: '{{ dotnet_version }}', drain: true }] },
      status: { description: 'Expected status code or list of codes (default 200).', examples: [200, [200, 204]],
        anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\d{3}$' }, { type: 'array', minItems: 1, items: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\d{3}$' }] } }] },
      contains: { type: 'string', description: 'Text the response body must contain.', examples: ['Welcome'] },
      json_path: { type: 'object', description: 'Expected values by JSON path in the response body.', examples: [{ '$.status': 'ok', '$.checks[0].healthy': true }] },
      timeout: { description: 'Seconds to wait for the answer (default 30).', examples: [10], anyOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'string', pattern: '^\\d+(\\.\\d+)?$' }] },
    },
    not: { anyOf: [{ required: ['body', 'json'] }, { required: ['body', 'form'] }, { required: ['form', 'json'] }] },
  },
  async check(ctx, args) {
    const method = (args.method ?? 'GET').toUpperCase();
    if (!READ_ONLY.has(method)) {
      return change([{
        kind: 'call', why: `will ${method} ${String(args.url)}`,
        async run(io) {
          const r = await request(args, io.signal);
          if (!r.ok) throw new Error(r.error);
          const bad = unmet(args, r.response);
          if (bad.length) throw new Error(bad.join('; '));
          return asResult(r.response);
        },
      }]);
    }
    const r = await ctx.probe({ key: `http:${method} ${String(args.url)}`, local: (signal) => request(args, signal) });
    if (!r.ok) return fail(r.error);
    const bad = unmet(args, r.response);
    if (bad.length) return fail(bad.join('; '), asResult(r.response));
    return ok(`${method} ${String(args.url)}: ${r.response.status}`, { result: asResult(r.response) });
  },
});
