// schemas/*.schema.json are what editors (yaml-language-server) read for completion and hover: they must be the
// generated ones (`npm run schema`), and every key and module argument must carry a description and examples
// that the schema itself accepts (issue 10). `runbook schema` prints them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { buildEnvironmentSchema, buildRunbookSchema } from '../../src/engine/schema-defs.ts';
import { modules } from '../../src/tasks/index.ts';

const DIR = resolve(import.meta.dirname, '../../schemas');
type Node = Record<string, unknown>;
const read = (name: string): Node => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Node;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every named property (JSON pointer and schema) anywhere in a schema; `if`/`not` conditions name no keys of their own. */
function properties(node: unknown, at = ''): { at: string; schema: Node }[] {
  if (Array.isArray(node)) return node.flatMap((x, i) => properties(x, `${at}/${i}`));
  if (!isNode(node)) return [];
  const own = isNode(node.properties) ? Object.entries(node.properties).filter((e): e is [string, Node] => isNode(e[1]))
    .map(([k, schema]) => ({ at: `${at}/properties/${k}`, schema })) : [];
  const below = Object.entries(node).filter(([k]) => k !== 'if' && k !== 'not' && k !== 'examples').flatMap(([k, v]) => properties(v, `${at}/${k}`));
  return [...own, ...below];
}

/** Keys whose values an editor can list by itself (an enum, a constant, true/false) need no examples. */
const selfEvident = (s: Node): boolean => Array.isArray(s.enum) || 'const' in s || s.type === 'boolean';

const files = readdirSync(DIR).filter((f) => f.endsWith('.schema.json')).sort();

describe('schemas/*.schema.json', () => {
  it('are the ones the registry generates (run `npm run schema` after changing a module)', () => {
    expect(files).toEqual(['environment.schema.json', 'runbook.schema.json']);
    expect(read('runbook.schema.json')).toEqual(JSON.parse(JSON.stringify(buildRunbookSchema(modules))));
    expect(read('environment.schema.json')).toEqual(JSON.parse(JSON.stringify(buildEnvironmentSchema())));
  });

  it.each(files)('%s: every key and module argument has a description', (file) => {
    const props = properties(read(file));
    expect(props.length).toBeGreaterThan(30);
    expect(props.filter((p) => typeof p.schema.description !== 'string' || !p.schema.description.trim()).map((p) => p.at)).toEqual([]);
  });

  it.each(files)('%s: every key whose values an editor cannot list has examples', (file) => {
    const missing = properties(read(file)).filter((p) => !selfEvident(p.schema) && !(Array.isArray(p.schema.examples) && p.schema.examples.length));
    expect(missing.map((p) => p.at)).toEqual([]);
  });

  it.each(files)('%s: every example is valid where it stands', (file) => {
    const schema = read(file);
    const ajv = new Ajv2020({ strict: false, allErrors: true, allowUnionTypes: true });
    ajv.addSchema(schema);
    const wrong = properties(schema).flatMap((p) => ((p.schema.examples ?? []) as unknown[]).flatMap((example) => {
      const validate = ajv.getSchema(`${String(schema.$id)}#${p.at}`)!;
      return validate(example) ? [] : [`${p.at}: ${JSON.stringify(example)}: ${ajv.errorsText(validate.errors)}`];
    }));
    expect(wrong).toEqual([]);
  });

  it('the walk finds a property without a description (the check can fail)', () => {
    const broken = { properties: { a: { type: 'string', description: 'ok' }, b: { type: 'object', properties: { c: { type: 'string' } } } } };
    expect(properties(broken).filter((p) => !p.schema.description).map((p) => p.at)).toEqual(['/properties/b', '/properties/b/properties/c']);
  });
});

describe('runbook schema', () => {
  const run = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await main(argv, { out: { write: (s: string) => { out += s; } }, err: { write: (s: string) => { err += s; } }, env: {}, cwd: DIR });
    return { code, out, err };
  };

  it('prints the runbook schema by default and the environment schema on request, byte for byte', async () => {
    expect(await run(['schema'])).toEqual({ code: 0, out: readFileSync(join(DIR, 'runbook.schema.json'), 'utf8'), err: '' });
    expect((await run(['schema', 'environment'])).out).toBe(readFileSync(join(DIR, 'environment.schema.json'), 'utf8'));
  });

  it('an unknown schema is an input error (exit 2)', async () => {
    const r = await run(['schema', 'inventory']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("schema: unknown schema 'inventory' (runbook or environment)");
    expect(r.out).toBe('');
  });
});
