// http: an HTTP request from the controller with expectations (status, contains, json_path).
// GET/HEAD are read-only probes (ok or fail); other methods are a `call` change run only by apply.
import { requestRetrying, unmet, type HttpArgs, type HttpOutcome, type HttpResponse } from './http-request.ts';
import { change, defineTask, fail, ok, type Result } from './types.ts';

export type { HttpArgs };

const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);
// a call (POST...) is sent again only when no answer came or the server said it did not take it
const TRANSIENT = new Set([429, 502, 503, 504]);
// `requests`, not `attempts`: the engine's task-level retries set `attempts` on the result
const asResult = (r: HttpResponse, requests = 1): Result => ({ ...r, requests });
const after = (o: HttpOutcome): string => ((o.attempts ?? 1) > 1 ? ` (after ${o.attempts} attempts)` : '');
const count = (description: string, examples: number[]): Record<string, unknown> => ({ description, examples, anyOf: [{ type: 'integer', minimum: 0, maximum: 100 }, { type: 'string', pattern: '^\\d{1,3}$' }] });
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
      retries: count('Requests to try again (default 0): GET/HEAD/OPTIONS until every expectation holds; other methods only when no answer came or the status was 429/502/503/504.', [5]),
      retry_delay: { description: 'Seconds between tries (default 1).', examples: [2], anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\d+(\\.\\d+)?$' }] },
    },
    not: { anyOf: [{ required: ['body', 'json'] }, { required: ['body', 'form'] }, { required: ['form', 'json'] }] },
  },
  async check(ctx, args) {
    const method = (args.method ?? 'GET').toUpperCase();
    if (!READ_ONLY.has(method)) {
      return change([{
        kind: 'call', why: `will ${method} ${String(args.url)}`,
        async run(io) {
          const r = await requestRetrying(args, io.signal, (o) => !o.ok || TRANSIENT.has(o.response.status));
          if (!r.ok) throw new Error(r.error + after(r));
          const bad = unmet(args, r.response);
          if (bad.length) throw new Error(bad.join('; ') + after(r));
          return asResult(r.response, r.attempts);
        },
      }]);
    }
    const again = (o: HttpOutcome): boolean => !o.ok || unmet(args, o.response).length > 0;
    const r = await ctx.probe({ key: `http:${method} ${String(args.url)}`, local: (signal) => requestRetrying(args, signal, again) });
    if (!r.ok) return fail(r.error + after(r));
    const bad = unmet(args, r.response);
    if (bad.length) return fail(bad.join('; ') + after(r), asResult(r.response, r.attempts));
    return ok(`${method} ${String(args.url)}: ${r.response.status}${after(r)}`, { result: asResult(r.response, r.attempts) });
  },
});
