// command and shell: "will run" changes, creates/removes decided by one probe, argv quoting, chdir/env/stdin,
// and real runs where injection attempts stay literal.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Script, sh } from '../../src/engine/script.ts';
import { Secret } from '../../src/engine/secret.ts';
import command from '../../src/tasks/command.ts';
import shell from '../../src/tasks/shell.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { localHost } from '../helpers/local-host.ts';

const exists = (paths: string[], chdir = '') => `exists:${chdir}:${JSON.stringify(paths)}`;

describeTask(command, {
  ok: [
    { name: 'creates exists', args: { cmd: 'make install', creates: '/opt/app/bin' }, facts: { [exists(['/opt/app/bin'])]: '1\n' }, why: 'skipped, /opt/app/bin exists' },
    { name: 'removes missing', args: { cmd: 'rm -r /tmp/x', removes: '/tmp/x' }, facts: { [exists(['/tmp/x'])]: '0\n' }, why: 'skipped, /tmp/x does not exist' },
    { name: 'creates relative to chdir', args: { cmd: 'make', creates: 'out', chdir: '/src' }, facts: { [exists(['out'], '/src')]: '1\n' } },
  ],
  change: [
    { name: 'plain line runs as written', args: { cmd: 'echo hi > /tmp/x' }, changes: [{ kind: 'exec', why: 'will run', script: 'echo hi > /tmp/x' }] },
    { name: 'a rendered Script is used as is', args: { cmd: sh`echo ${'x; rm -rf /'}` }, changes: [{ kind: 'exec', script: "echo 'x; rm -rf /'" }] },
    { name: 'argv words are quoted', args: { argv: ['printf', '%s\\n', 'a b', '$(id)', "it's"] }, changes: [{ kind: 'exec', script: `printf '%s\\n' 'a b' '$(id)' 'it'\\''s'` }] },
    { name: 'creates missing and removes present', args: { cmd: 'x', creates: '/a', removes: '/b' }, facts: { [exists(['/a', '/b'])]: '0\n1\n' }, changes: [{ kind: 'exec' }] },
    { name: 'chdir, env, stdin', args: { cmd: 'cat', chdir: '/srv', env: { A: '1' }, stdin: 'in' }, changes: [{ kind: 'exec', cwd: '/srv', env: { A: '1' } }] },
  ],
  fail: [{ name: 'empty line', args: { cmd: '  ' }, why: 'nothing to run' }],
  throws: [{ name: 'chdir missing', args: { cmd: 'x', creates: 'a', chdir: '/nope' }, facts: { [exists(['a'], '/nope')]: { code: 1, stderr: "cd: can't cd to /nope" } }, error: /cannot look for a in \/nope/ }],
  invalid: [
    { args: { creates: '/x' }, error: 'must match exactly one schema in oneOf' },
    { args: { cmd: 'a', argv: ['b'] }, error: 'must match exactly one schema in oneOf' },
    { args: { cmd: 'a', env: { 'BAD-NAME': 'x' } }, error: 'env: property name must be valid' },
    { args: { cmd: 'a', executable: '/bin/bash' }, error: 'must NOT have additional properties' },
  ],
});

describeTask(shell, {
  change: [{ name: 'executable wraps the line', args: { cmd: 'echo $0 | tr a-z A-Z', executable: '/bin/bash' }, changes: [{ kind: 'exec', script: `/bin/bash -c 'echo $0 | tr a-z A-Z'` }] }],
  invalid: [{ args: { cmd: 'a', executable: 'bash' }, error: 'executable: must match pattern "^/"' }],
});

describe('command and shell on a real host', async () => {
  const h = await localHost();
  it('free form: a bare string, or the Script the executor renders', () => {
    expect(command.freeForm!('ls -l')).toEqual({ cmd: 'ls -l' });
    const s = sh`ls ${'a b'}`;
    expect(shell.freeForm!(s as unknown as string)).toEqual({ cmd: s });
  });
  it('creates: runs once, then ok; removes: runs while the path exists', async () => {
    const marker = join(h.dir, 'made it');
    const args = { cmd: sh`touch ${marker}`, creates: marker };
    const r = await h.apply(command, args);
    expect(r.before).toMatchObject({ status: 'change', changes: [{ why: 'will run' }] });
    expect(r.after).toMatchObject({ status: 'ok', why: `skipped, ${marker} exists` });
    const r2 = await h.apply(shell, { cmd: sh`rm ${marker}`, removes: marker });
    expect(r2.before.status).toBe('change');
    expect(r2.after.status).toBe('ok');
    expect(existsSync(marker)).toBe(false);
  });
  it('argv and rendered values stay literal: no injection through quotes, $(...) or ;', async () => {
    const evil = ["a'b", '$(touch pwned1)', 'x; touch pwned2', '`touch pwned3`', 'a b'];
    const out = join(h.dir, 'out');
    await h.apply(command, { argv: ['sh', '-c', 'printf "%s\\n" "$@" > "$0"', out, ...evil] });
    expect(readFileSync(out, 'utf8')).toBe(evil.join('\n') + '\n');
    await h.apply(shell, { cmd: sh`printf '%s|' ${evil} > ${out}`, chdir: h.dir });
    expect(readFileSync(out, 'utf8')).toBe(evil.join('|') + '|');
    for (const n of ['pwned1', 'pwned2', 'pwned3']) {
      expect(existsSync(join(h.dir, n))).toBe(false);
      expect(existsSync(join(process.cwd(), n))).toBe(false);
    }
  });
  it('chdir, env (a Secret too), stdin and pipes reach the command', async () => {
    const r = await h.apply(shell, { cmd: 'read x; echo "$x-$A-$B-$(pwd)" | tr a-z A-Z > got', chdir: h.dir, env: { A: 'one', B: new Secret('two') }, stdin: 'in\n' });
    expect(r.outcomes[0]).toMatchObject({ ok: true, exec: { code: 0 } });
    expect(readFileSync(join(h.dir, 'got'), 'utf8')).toBe(`IN-ONE-TWO-${h.dir.toUpperCase()}\n`);
  });
  it('shell executable runs the line with bash', async () => {
    writeFileSync(join(h.dir, 'b'), '');
    const r = await h.apply(shell, { cmd: new Script('echo ${BASH_VERSION:+bash} > b'), chdir: h.dir, executable: '/bin/bash' });
    expect(r.outcomes[0]!.ok).toBe(true);
    expect(readFileSync(join(h.dir, 'b'), 'utf8')).toBe('bash\n');
  });
  it('a failing command is a failed change with its exit code', async () => {
    const r = await h.check(command, { cmd: 'exit 3' });
    expect(r.status).toBe('change');
    await expect(h.apply(command, { cmd: 'exit 3' })).rejects.toThrow(/non-zero return code 3/);
  });
});
