// lineinfile: table tests (facts -> changes with diffs) and real round trips on the local host.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import lineinfile from '../../src/tasks/lineinfile.ts';
import { FILE_ABSENT_CODE } from '../../src/tasks/probes.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { localHost } from '../helpers/local-host.ts';

const F = '/etc/app.env';
const text = (t: string) => ({ [`file_text:${F}`]: t });

describeTask(lineinfile, {
  ok: [
    { name: 'present', args: { path: F, line: 'B=2' }, facts: text('A=1\nB=2\n'), why: /already present/ },
    { name: 'regexp line already right', args: { path: F, line: 'B=2', regexp: '^B=' }, facts: text('A=1\nB=2\nC=3\n'), why: /already present/ },
    { name: 'absent already', args: { path: F, line: 'B=2', state: 'absent' }, facts: text('A=1\n'), why: /already absent/ },
    { name: 'absent and no file', args: { path: F, regexp: '^B=', state: 'absent' }, facts: { [`file_text:${F}`]: { code: FILE_ABSENT_CODE } }, why: /does not exist/ },
  ],
  change: [
    { name: 'appends at EOF', args: { path: F, line: 'B=2' }, facts: text('A=1\n'),
      changes: [{ kind: 'write', path: F, content: 'A=1\nB=2\n' }], diff: '+B=2' },
    { name: 'adds a missing final newline', args: { path: F, line: 'B=2' }, facts: text('A=1'),
      changes: [{ kind: 'write', content: 'A=1\nB=2\n' }] },
    { name: 'replaces the last regexp match', args: { path: F, line: 'B=3', regexp: '^B=' }, facts: text('B=0\nA=1\nB=2\nC=3\n'),
      changes: [{ kind: 'write', why: `replace line 3 in ${F}`, content: 'B=0\nA=1\nB=3\nC=3\n' }], diff: /-B=2\n\+B=3/ },
    { name: 'insertafter the last match', args: { path: F, line: 'x=1', insertafter: '^\\[main\\]' }, facts: text('[main]\na=1\n[main]\nb=2\n'),
      changes: [{ kind: 'write', content: '[main]\na=1\n[main]\nx=1\nb=2\n' }] },
    { name: 'insertafter without a match goes to EOF', args: { path: F, line: 'x=1', insertafter: '^nomatch' }, facts: text('a\n'),
      changes: [{ kind: 'write', content: 'a\nx=1\n' }] },
    { name: 'insertbefore', args: { path: F, line: 'x=1', insertbefore: '^# end' }, facts: text('a\n# end\n'),
      changes: [{ kind: 'write', content: 'a\nx=1\n# end\n' }] },
    { name: 'insertbefore BOF', args: { path: F, line: '#!/bin/sh', insertbefore: 'BOF' }, facts: text('echo hi\n'),
      changes: [{ kind: 'write', content: '#!/bin/sh\necho hi\n' }] },
    { name: 'regexp without match inserts', args: { path: F, line: 'B=2', regexp: '^B=', insertbefore: '^A=' }, facts: text('A=1\n'),
      changes: [{ kind: 'write', content: 'B=2\nA=1\n' }] },
    { name: 'absent removes every equal line', args: { path: F, line: 'B=2', state: 'absent' }, facts: text('B=2\nA=1\nB=2\n'),
      changes: [{ kind: 'write', why: `remove 2 line(s) in ${F}`, content: 'A=1\n' }], diff: '-B=2' },
    { name: 'absent by regexp', args: { path: F, regexp: '^#', state: 'absent' }, facts: text('#a\nA=1\n#b\n'),
      changes: [{ kind: 'write', content: 'A=1\n' }] },
    { name: 'create', args: { path: F, line: 'A=1', create: true }, facts: { [`file_text:${F}`]: { code: FILE_ABSENT_CODE } },
      changes: [{ kind: 'write', path: F, content: 'A=1\n' }], diff: '--- /dev/null' },
    { name: 'backup', args: { path: F, line: 'B=2', backup: true }, facts: text('A=1\n'), changes: [{ kind: 'write', backup: true }] },
  ],
  fail: [
    { name: 'missing file without create', args: { path: F, line: 'A=1' }, facts: { [`file_text:${F}`]: { code: FILE_ABSENT_CODE } },
      why: `${F} does not exist (set create: true to create it)` },
    { name: 'bad regexp', args: { path: F, line: 'A=1', regexp: '(' }, why: /bad regular expression/ },
  ],
  throws: [
    { name: 'unreadable file', args: { path: F, line: 'A=1' }, facts: { [`file_text:${F}`]: { code: 2, stderr: 'Permission denied' } }, error: `cannot read ${F}: Permission denied` },
  ],
  invalid: [
    { args: { path: 'etc/app.env', line: 'x' }, error: 'path: must match pattern "^/"' },
    { args: { path: F }, error: "must have required property 'line'" },
    { args: { path: F, line: 'x', state: 'gone' }, error: 'state: must be equal to one of the allowed values' },
    { args: { path: F, line: 'x', insertafter: 'a', insertbefore: 'b' }, error: 'must NOT be valid' },
    { args: { path: F, line: 'x', colour: 'red' }, error: 'must NOT have additional properties' },
  ],
  valid: [{ path: F, state: 'absent', regexp: '^x' }, { path: F, line: 'a', create: true, backup: true }],
});

describe('lineinfile on a real host', async () => {
  const h = await localHost();
  it('regexp, insertafter, insertbefore, create and absent converge; a second run changes nothing', async () => {
    const path = join(h.dir, "app $(x) 'q'.conf");
    writeFileSync(path, '[main]\nport=1\n[other]\n');
    const steps = [
      { path, line: 'port=2', regexp: '^port=' },
      { path, line: 'host=a', insertafter: '^\\[main\\]' },
      { path, line: '# top', insertbefore: 'BOF' },
      { path, line: 'gone', state: 'absent' as const },
      { path, regexp: '^\\[other\\]', state: 'absent' as const },
    ];
    for (const args of steps) {
      const r = await h.apply(lineinfile, args);
      expect(r.before.status, JSON.stringify(args)).toBe(args.line === 'gone' ? 'ok' : 'change');
      expect(r.after.status).toBe('ok');
    }
    expect(readFileSync(path, 'utf8')).toBe('# top\n[main]\nhost=a\nport=2\n');
  });
  it('creates a file only with create: true', async () => {
    const path = join(h.dir, 'new.conf');
    expect(await h.check(lineinfile, { path, line: 'a' })).toMatchObject({ status: 'fail' });
    const r = await h.apply(lineinfile, { path, line: 'a', create: true });
    expect(r.after.status).toBe('ok');
    expect(readFileSync(path, 'utf8')).toBe('a\n');
  });
});
