// `runbook init [dir]`: scaffolds environments/, runbooks/, the schemas and the GitHub workflows.
// It never overwrites: every target is checked first, and if any exists nothing is written (exit 2).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { InputError, InternalError } from '../errors.ts';
import { SAMPLE_RUNBOOK, scaffoldFiles } from './init-files.ts';
import type { Io } from './session.ts';

export function initCommand(dir: string | undefined, io: Io): number {
  const root = resolve(io.cwd, dir ?? '.');
  const files = scaffoldFiles();
  const existing = files.filter((f) => existsSync(join(root, f.path))).map((f) => f.path);
  if (existing.length) {
    throw new InputError(`init: these files already exist, so nothing was written:\n${existing.map((p) => `  ${p}`).join('\n')}\n` +
      'move them away or run init in another folder');
  }
  let contents: string[];
  try {
    contents = files.map((f) => f.content()); // read everything before writing anything
  } catch (e) {
    throw new InternalError(`init: the package is missing a scaffold file: ${(e as Error).message}`, { cause: e });
  }
  files.forEach((f, i) => {
    const path = join(root, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contents[i]!, { flag: 'wx' });
  });
  const where = relative(io.cwd, root) || '.';
  io.out.write(`created in ${where}:\n${files.map((f) => `  ${f.path}`).join('\n')}\n\nnext:\n` +
    `  runbook validate ${SAMPLE_RUNBOOK} environments/staging.yml environments/prod.yml\n` +
    `  edit environments/*.yml (hosts, region), then: runbook plan ${SAMPLE_RUNBOOK} -e staging\n` +
    '  refresh the schemas after an upgrade: runbook schema > schemas/runbook.schema.json\n');
  return 0;
}
