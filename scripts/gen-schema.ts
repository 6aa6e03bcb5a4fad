// Writes schemas/runbook.schema.json and schemas/environment.schema.json from the task registry
// (`npm run schema`); test/engine/schema-file.test.ts fails when they are out of date.
import { writeFileSync } from 'node:fs';
import { buildEnvironmentSchema, buildRunbookSchema } from '../src/engine/schema-defs.ts';
import { modules } from '../src/tasks/index.ts';

const out = (name: string, schema: unknown): void => {
  writeFileSync(new URL(`../schemas/${name}.schema.json`, import.meta.url), JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote schemas/${name}.schema.json`);
};
out('runbook', buildRunbookSchema(modules));
out('environment', buildEnvironmentSchema());
