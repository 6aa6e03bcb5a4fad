// Same bytes: the files a run reads must be tracked, committed, clean, inside the repository and not
// LFS pointers; the pins are re-checked right before the first task.
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GateRefusedError } from '../../src/errors.ts';
import { gateInput as applyGateInput } from '../../src/cli/apply-gate.ts';
import { prepare } from '../../src/cli/prepare.ts';
import { GateRefused, recheckPins, requireGate } from '../../src/gate/index.ts';
import { ENV_FILE, failed, gateInput, git, honestWorld, refusal, RUNBOOK, TEMPLATE, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

async function merged(): Promise<World> {
  world = (await honestWorld()).w;
  return world;
}

describe('review gate: the files that run', () => {
  it('refuses a dirty working tree', async () => {
    const w = await merged();
    writeFileSync(join(w.work, TEMPLATE), 'VERSION=edited-locally\n');
    const e = await refusal(gateInput(w));
    expect(e.exitCode).toBe(3);
    expect(failed(e, 'files')).toContain(`${TEMPLATE} has uncommitted changes`);
  });

  it('refuses an untracked included file', async () => {
    const w = await merged();
    w.write({ 'runbooks/templates/extra.j2': 'X=1\n' });
    const e = await refusal(gateInput(w, { files: [...w.files(), join(w.work, 'runbooks/templates/extra.j2')] }));
    expect(failed(e, 'files')).toContain('runbooks/templates/extra.j2 is not tracked by git (untracked file)');
  });

  it('apply pins every file the runbook reads: a copy source left untracked is refused', async () => {
    const w = await merged();
    w.commit({ [RUNBOOK]: `${readFileSync(join(w.work, RUNBOOK), 'utf8')}  - name: extra\n    copy: { src: files/extra.conf, dest: /etc/extra.conf }\n` }, 'acme', 'copy a file');
    w.write({ 'runbooks/files/extra.conf': 'X=1\n' });
    const p = await prepare(join(w.work, RUNBOOK), { env: 'prod', inventory: join(w.work, 'environments'), forks: '50', extraVars: [] });
    const input = applyGateInput(p, { out: { write: () => {} }, err: { write: () => {} }, env: w.env, cwd: w.work });
    expect(input.files.map((f) => relative(realpathSync(w.work), realpathSync(f))).sort()).toEqual([ENV_FILE, RUNBOOK, 'runbooks/files/extra.conf', TEMPLATE].sort());
    const e = await refusal({ ...input, timeoutMs: 10_000 });
    expect(failed(e, 'files')).toContain('runbooks/files/extra.conf is not tracked by git (untracked file)');
  });

  it('refuses a committed symlink that leaves the repository', async () => {
    const w = await merged();
    const outside = join(realpathSync(w.root), 'outside.j2');
    writeFileSync(outside, 'SECRET_SAUCE=1\n');
    symlinkSync(outside, join(w.work, 'runbooks/templates/link.j2'));
    git(w.work, ['add', 'runbooks/templates/link.j2']);
    git(w.work, ['commit', '-q', '-m', 'link']);
    const e = await refusal(gateInput(w, { files: [...w.files(), join(w.work, 'runbooks/templates/link.j2')] }));
    expect(failed(e, 'files')).toContain(`is a symlink to ${outside}, outside the repository`);
  });

  it('refuses an LFS pointer', async () => {
    const w = await merged();
    w.commit({ '.gitattributes': 'runbooks/templates/big.bin filter=lfs diff=lfs merge=lfs -text\n', 'runbooks/templates/big.bin': 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n' }, 'acme', 'lfs');
    const e = await refusal(gateInput(w, { files: [...w.files(), join(w.work, 'runbooks/templates/big.bin')] }));
    expect(failed(e, 'files')).toContain('runbooks/templates/big.bin is stored in Git LFS');
  });

  it('refuses a file inside a submodule', async () => {
    const w = await merged();
    const sub = join(w.root, 'sub');
    mkdirSync(sub);
    git(sub, ['init', '-q', '-b', 'main']);
    writeFileSync(join(sub, 'x.yml'), 'x: 1\n');
    git(sub, ['add', 'x.yml']);
    git(sub, ['commit', '-q', '-m', 'sub']);
    git(w.work, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, 'vendor/sub']);
    git(w.work, ['commit', '-q', '-m', 'submodule']);
    const e = await refusal(gateInput(w, { files: [...w.files(), join(w.work, 'vendor/sub/x.yml')] }));
    expect(failed(e, 'files')).toContain('is inside the submodule vendor/sub');
  });

  it('recheckPins catches a file changed after the gate passed, and a moved HEAD', async () => {
    const w = await merged();
    const ev = await requireGate(gateInput(w));
    await expect(recheckPins(ev, w.work)).resolves.toBeUndefined();
    writeFileSync(join(w.work, TEMPLATE), 'VERSION=swapped-after-the-gate\n');
    const e = await recheckPins(ev, w.work).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GateRefusedError);
    expect((e as GateRefused).exitCode).toBe(3);
    expect((e as GateRefused).reasons.join('\n')).toContain(`${TEMPLATE} has uncommitted changes`);
    git(w.work, ['commit', '-q', '-am', 'after the gate']);
    const moved = (await recheckPins(ev, w.work).catch((x: unknown) => x)) as GateRefused;
    expect(moved.reasons.join('\n')).toMatch(/HEAD moved from [0-9a-f]{7} to [0-9a-f]{7} after the gate passed/);
    expect(moved.reasons.join('\n')).toContain(`${TEMPLATE} changed after the gate passed`);
  });
});
