// `runbook init`: scaffold into an empty folder, then the real CLI validates what it wrote; a second
// init (or one over any existing file) refuses with exit 2 and writes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SAMPLE_RUNBOOK, scaffoldFiles } from '../../src/cli/init-files.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
const ROOT = resolve(import.meta.dirname, '../..');

function cli(cwd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', GITHUB_TOKEN: '', GH_TOKEN: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => d.isDirectory() ? walk(join(dir, d.name), base) : [join(dir, d.name).slice(base.length + 1)]).sort();
}

describe('runbook init', () => {
  it('scaffolds into an empty folder, and validate passes on the sample runbook and both environments', () => {
    const parent = mkdtempSync(join(tmpdir(), 'rb-init-'));
    const r = cli(parent, ['init', 'ops']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dir = join(parent, 'ops');
    expect(walk(dir)).toEqual(scaffoldFiles().map((f) => f.path).sort());
    expect(r.stdout).toContain(`runbook validate ${SAMPLE_RUNBOOK}`);
    const v = cli(dir, ['validate', SAMPLE_RUNBOOK, 'environments/staging.yml', 'environments/prod.yml']);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/configure-app\.yml: ok \(3 tasks, 1 handlers, health, rollback\)/);
    expect(v.stdout).toContain('environments/prod.yml: ok (environment)');
    for (const env of ['staging', 'prod']) expect(cli(dir, ['validate', '-e', env, SAMPLE_RUNBOOK]).code).toBe(0);
  });

  it('writes the editor modeline, the schemas it points at, and the example workflows unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-init-'));
    expect(cli(dir, ['init']).code).toBe(0);
    const runbook = readFileSync(join(dir, SAMPLE_RUNBOOK), 'utf8');
    expect(runbook.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/runbook.schema.json');
    expect(existsSync(join(dir, 'runbooks', '../schemas/runbook.schema.json'))).toBe(true);
    expect(readFileSync(join(dir, 'schemas/runbook.schema.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'schemas/runbook.schema.json'), 'utf8'));
    for (const w of ['runbook-pr.yml', 'runbook-apply.yml']) {
      expect(readFileSync(join(dir, '.github/workflows', w), 'utf8')).toBe(readFileSync(join(ROOT, 'examples/workflows', w), 'utf8'));
    }
    const prod = parse(readFileSync(join(dir, 'environments/prod.yml'), 'utf8')) as Record<string, unknown>;
    expect(prod).toMatchObject({ protected: true, transport: 'ssm' });
    expect(parse(readFileSync(join(dir, 'environments/staging.yml'), 'utf8'))).toMatchObject({ transport: 'ssh' });
  });

  it('refuses to overwrite: exit 2, every clashing file named, nothing written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-init-'));
    mkdirSync(join(dir, 'environments'));
    writeFileSync(join(dir, 'environments/prod.yml'), 'mine\n');
    mkdirSync(join(dir, '.github/workflows'), { recursive: true });
    writeFileSync(join(dir, '.github/workflows/runbook-pr.yml'), 'mine too\n');
    const r = cli(dir, ['init']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('environments/prod.yml');
    expect(r.stderr).toContain('.github/workflows/runbook-pr.yml');
    expect(r.stderr).toMatch(/nothing was written/);
    expect(walk(dir)).toEqual(['.github/workflows/runbook-pr.yml', 'environments/prod.yml']);
    expect(readFileSync(join(dir, 'environments/prod.yml'), 'utf8')).toBe('mine\n');
  });

  it('a second init in the same folder refuses and leaves the first one as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-init-'));
    expect(cli(dir, ['init']).code).toBe(0);
    writeFileSync(join(dir, SAMPLE_RUNBOOK), 'edited\n');
    const r = cli(dir, ['init', '.']);
    expect(r.code).toBe(2);
    expect(readFileSync(join(dir, SAMPLE_RUNBOOK), 'utf8')).toBe('edited\n');
  });
});
