// GitHub's official OpenAPI description (@octokit/openapi) as a response validator for the fake:
// every body the fake sends is checked with ajv against the operation's response schema.
import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

type Json = Record<string, unknown>;
type Spec = { paths: Record<string, Record<string, { operationId: string; responses: Record<string, Json> }>>;
  components: Json & { examples: Record<string, { value: unknown }>; responses: Record<string, Json> } };

/** OpenAPI 3.0 `nullable: true` without `type` (ajv requires a type): rewrite as anyOf [schema, null]. */
function nullableToAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableToAnyOf);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = nullableToAnyOf(v);
  if (out.nullable === true && out.type === undefined) {
    const { nullable: _n, ...rest } = out;
    return { anyOf: [rest, { type: 'null' }] };
  }
  return out;
}

const ref = (o: unknown): unknown => JSON.parse(JSON.stringify(o).replaceAll('"#/components/', '"gh#/components/'));

export class OpenApi {
  readonly spec: Spec;
  private readonly ajv: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor() {
    const file = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
    this.spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false, validateFormats: false });
    this.ajv.addSchema({ $id: 'gh', components: { schemas: nullableToAnyOf(this.spec.components.schemas) } });
  }

  /** A copy of one of GitHub's own documented examples (components/examples), to build responses from. */
  example<T>(name: string): T {
    const e = this.spec.components.examples[name];
    if (!e) throw new Error(`no OpenAPI example ${name}`);
    return structuredClone(e.value) as T;
  }

  /** The documented response of one status, following a `$ref` to components/responses (errors are documented that way). */
  private response(template: string, method: string, status: number): Json | undefined {
    const r = this.spec.paths[template]?.[method]?.responses[String(status)];
    const ref = typeof r?.$ref === 'string' ? /^#\/components\/responses\/(.+)$/.exec(r.$ref)?.[1] : undefined;
    return ref ? this.spec.components.responses[ref] : r;
  }

  /** Does GitHub document a JSON body for this status of this operation (e.g. 404 on the permission endpoint)? */
  documents(template: string, method: string, status: number): boolean {
    return this.response(template, method, status)?.content !== undefined;
  }

  private validator(template: string, method: string, status: number): ValidateFunction {
    const key = `${method} ${template} ${status}`;
    let v = this.cache.get(key);
    if (!v) {
      const content = this.response(template, method, status)?.content as Record<string, { schema: unknown }> | undefined;
      const schema = content?.['application/json']?.schema ?? (content ? Object.values(content)[0]?.schema : undefined);
      if (!schema) throw new Error(`OpenAPI has no ${status} response for ${key}`);
      const compiled = this.ajv.compile(nullableToAnyOf(ref(schema)) as object);
      this.cache.set(key, compiled);
      return compiled;
    }
    return v;
  }

  /** Problems of `body` against the response schema of `method template` (empty when valid). */
  check(template: string, method: string, status: number, body: unknown): string[] {
    const v = this.validator(template, method, status);
    if (v(body)) return [];
    return (v.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
}
