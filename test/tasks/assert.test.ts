// assert, set_fact and debug: no host access at all (an empty facts table proves it), plus a real-host pass.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/engine/secret.ts';
import assert from '../../src/tasks/assert.ts';
import debug from '../../src/tasks/debug.ts';
import setFact from '../../src/tasks/set_fact.ts';
import { describeTask } from '../helpers/describe-task.ts';
import { localHost } from '../helpers/local-host.ts';

describeTask(assert, {
  ok: [
    { name: 'all true', args: { that: [true, true] }, why: 'all 2 assertion(s) passed' },
    { name: 'single true with success_msg', args: { that: true, success_msg: 'disk is fine' }, why: 'disk is fine' },
  ],
  fail: [
    { name: 'second false', args: { that: [true, false] }, why: 'assertion failed: 1' },
    { name: 'fail_msg', args: { that: [false], fail_msg: 'not enough disk' }, why: 'not enough disk' },
    { name: 'an unevaluated expression is refused', args: { that: ['x > 1'] }, why: 'that[0] was not evaluated' },
  ],
  invalid: [
    { args: {}, error: "must have required property 'that'" },
    { args: { that: [] }, error: 'that: must match a schema in anyOf' },
  ],
  valid: [{ that: 'a == 1' }, { that: ['a', true], fail_msg: 'x', success_msg: 'y', quiet: true }],
});

describeTask(setFact, {
  ok: [{ name: 'returns the map as facts', args: { release: '/opt/r/42', n: 3, list: [1, 2] }, why: 'set release, n, list', factsOut: { release: '/opt/r/42', n: 3, list: [1, 2] } }],
  invalid: [
    { args: {}, error: 'must NOT have fewer than 1 properties' },
    { args: { 'bad-name': 1 }, error: 'property name must be valid' },
  ],
});

describeTask(debug, {
  ok: [
    { name: 'msg', args: { msg: 'deployed 42' }, why: 'deployed 42', result: { msg: 'deployed 42' } },
    { name: 'a value as JSON', args: { var: { rc: 0, stdout: 'x' } }, why: '{"rc":0,"stdout":"x"}' },
    { name: 'a secret stays hidden', args: { msg: new Secret('hunter2') }, why: '***', result: { msg: '***' } },
    { name: 'a secret inside a value stays hidden', args: { var: { token: new Secret('hunter2') } }, why: '{"token":"***"}' },
  ],
  invalid: [{ args: { msg: 'a', var: 'b' }, error: 'must NOT be valid' }],
});

describe('assert, set_fact and debug on a real host', async () => {
  const h = await localHost();
  it('never touch the host and answer the same', async () => {
    expect(await h.check(assert, { that: [true] })).toMatchObject({ status: 'ok' });
    expect(await h.check(setFact, { a: 1 })).toEqual({ status: 'ok', why: 'set a', facts: { a: 1 } });
    expect(debug.freeForm!('hello')).toEqual({ msg: 'hello' });
    expect(await h.check(debug, debug.freeForm!('hello'))).toMatchObject({ status: 'ok', why: 'hello' });
  });
});
