// Executor semantics on the real local transport: serial, max_fail_percentage, handlers,
// block/rescue/always, retries/until, loop/register, tags, when, run_once, ignore_errors,
// changed_when/failed_when, plan changes nothing, a second apply changes nothing.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { snapshot } from '../helpers/snapshot.ts';
import { describe, expect, it } from 'vitest';
import { batchesOf } from '../../src/engine/executor.ts';
import { countingTransport, type CountingTransport } from '../fakes/counting-transport.ts';
import { runYaml } from '../helpers/run-yaml.ts';

const head = (extra = ''): string => `name: t\nhosts: web\nenvironments: [test]\n${extra}`;
const statuses = (r: Awaited<ReturnType<typeof runYaml>>, task: string): string[] => r.results(task).map((e) => `${e.host}:${e.status}`).sort();


describe('executor', () => {
  it('runs serial batches of 1 then 50%, and max_fail_percentage stops later batches', async () => {
    const yaml = head('serial: [1, "50%"]\n') + 'tasks:\n  - name: fail on h2\n    command: "false"\n    when: inventory_hostname == "h2"\n  - name: after\n    command: "true"\n';
    const r = await runYaml(yaml, { hosts: 5 });
    const batches = r.events.filter((e) => e.type === 'batch_start').map((e) => (e as { hosts: string[] }).hosts);
    expect(batches).toEqual([['h1'], ['h2', 'h3']]);
    expect(statuses(r, 'after')).toEqual(['h1:changed', 'h3:changed']);
    expect(r.exitCode).toBe(1);
    expect(r.results('after').some((e) => e.host === 'h4')).toBe(false);
  });

  it('with max_fail_percentage 50 a failed host stops alone and the run goes on', async () => {
    const yaml = head('max_fail_percentage: 50\n') + 'tasks:\n  - name: fail on h1\n    command: "false"\n    when: inventory_hostname == "h1"\n  - name: after\n    command: "true"\n';
    const r = await runYaml(yaml, { hosts: 2 });
    expect(statuses(r, 'after')).toEqual(['h2:changed']);
    expect(r.exitCode).toBe(1);
    expect(r.summary.h1!.failed).toBe(1);
    expect(r.message).toBe('1 host(s) failed within max_fail_percentage: h1');
  });

  it('runs each notified handler once per host at the end of the batch, in handler order', async () => {
    const yaml = head() + 'tasks:\n  - name: a\n    shell: echo a >> {{ root }}/log\n    notify: [second, first]\n  - name: b\n    shell: echo b >> {{ root }}/log\n    notify: first\n' +
      'handlers:\n  - name: first\n    shell: echo first >> {{ root }}/log\n  - name: second\n    shell: echo second >> {{ root }}/log\n';
    const r = await runYaml(yaml, { hosts: 2 });
    expect(r.exitCode).toBe(0);
    for (const h of ['h1', 'h2']) expect(readFileSync(join(r.dir, h, 'log'), 'utf8')).toBe('a\nb\nfirst\nsecond\n');
  });

  it('block: rescue runs on failure, always runs regardless', async () => {
    const yaml = head() + 'tasks:\n  - block:\n      - name: boom\n        command: "false"\n      - name: never\n        shell: touch {{ root }}/never\n' +
      '    rescue:\n      - name: rescued\n        shell: touch {{ root }}/rescued\n    always:\n      - name: cleanup\n        shell: touch {{ root }}/always\n  - name: continues\n    shell: touch {{ root }}/after\n';
    const r = await runYaml(yaml);
    expect(existsSync(join(r.dir, 'h1', 'never'))).toBe(false);
    for (const f of ['rescued', 'always', 'after']) expect(existsSync(join(r.dir, 'h1', f)), f).toBe(true);
    expect(r.exitCode).toBe(0);
  });

  it('block without rescue: always still runs and the host fails', async () => {
    const yaml = head() + 'tasks:\n  - block:\n      - name: boom\n        command: "false"\n    always:\n      - name: cleanup\n        shell: touch {{ root }}/always\n  - name: after\n    shell: touch {{ root }}/after\n';
    const r = await runYaml(yaml);
    expect(existsSync(join(r.dir, 'h1', 'always'))).toBe(true);
    expect(existsSync(join(r.dir, 'h1', 'after'))).toBe(false);
    expect(r.exitCode).toBe(1);
  });

  it('retries until the condition holds', async () => {
    const yaml = head() + 'tasks:\n  - name: count\n    shell: echo x >> {{ root }}/n; wc -l < {{ root }}/n\n    register: n\n    until: n.stdout | int >= 3\n    retries: 5\n    delay: 10ms\n';
    const r = await runYaml(yaml);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(r.dir, 'h1', 'n'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('fails when until never holds within retries', async () => {
    const yaml = head() + 'tasks:\n  - name: never\n    command: echo no\n    register: r\n    until: r.stdout == "yes"\n    retries: 2\n    delay: 5ms\n';
    const r = await runYaml(yaml);
    expect(r.exitCode).toBe(1);
    expect(r.results('never')[0]!.msg).toMatch(/after 3 attempts/);
  });

  it('loops with loop_var and registers every result', async () => {
    const yaml = head() + 'tasks:\n  - name: each\n    command: echo {{ fruit }}\n    loop: [apple, "b c"]\n    loop_control: { loop_var: fruit }\n    register: out\n' +
      '  - name: show\n    debug: { msg: "{{ out.results[1].stdout }}|{{ out.results | length }}" }\n';
    const r = await runYaml(yaml);
    expect(r.exitCode).toBe(0);
    expect(r.results('show')[0]!.msg).toBe('b c|2');
  });

  it('honours tags and skip-tags (always-tagged tasks still run)', async () => {
    const yaml = head() + 'tasks:\n  - name: a\n    shell: touch {{ root }}/a\n    tags: [deploy]\n  - name: b\n    shell: touch {{ root }}/b\n    tags: [config]\n  - name: c\n    shell: touch {{ root }}/c\n    tags: [always]\n';
    const r = await runYaml(yaml, { tags: ['deploy'] });
    expect(['a', 'b', 'c'].map((f) => existsSync(join(r.dir, 'h1', f)))).toEqual([true, false, true]);
    const s = await runYaml(yaml, { skipTags: ['deploy'] });
    expect(['a', 'b', 'c'].map((f) => existsSync(join(s.dir, 'h1', f)))).toEqual([false, true, true]);
  });

  it('run_once runs on the first host only and shares the result', async () => {
    const yaml = head() + 'tasks:\n  - name: once\n    shell: echo $$ > {{ root }}/once; echo ran\n    run_once: true\n    register: o\n  - name: see\n    debug: { msg: "{{ o.stdout }}" }\n';
    const r = await runYaml(yaml, { hosts: 3 });
    expect(existsSync(join(r.dir, 'h1', 'once'))).toBe(true);
    expect(existsSync(join(r.dir, 'h2', 'once'))).toBe(false);
    expect(r.results('see').map((e) => e.msg)).toEqual(['ran', 'ran', 'ran']);
  });

  it('ignore_errors reports the failure and goes on; failed_when and changed_when decide status', async () => {
    const yaml = head() + 'tasks:\n  - name: bad\n    command: "false"\n    ignore_errors: true\n  - name: grep miss is fine\n    shell: grep nothing /dev/null\n    register: g\n    failed_when: g.rc > 1\n' +
      '  - name: read only\n    command: echo hi\n    changed_when: false\n  - name: custom fail\n    command: echo ERROR\n    register: e\n    failed_when: "\'ERROR\' in e.stdout"\n';
    const r = await runYaml(yaml);
    expect(statuses(r, 'bad')).toEqual(['h1:failed']);
    expect(r.results('bad')[0]!.ignored).toBe(true);
    expect(statuses(r, 'grep miss is fine')).toEqual(['h1:changed']);
    expect(statuses(r, 'read only')).toEqual(['h1:ok']);
    expect(statuses(r, 'custom fail')).toEqual(['h1:failed']);
    expect(r.exitCode).toBe(1);
  });

  it('keeps a hostile variable one literal argument in a command', async () => {
    const yaml = head('vars:\n  evil: "x; touch {{ root }}/pwned"\n') + 'tasks:\n  - name: echo\n    command: echo {{ evil }}\n    register: out\n  - name: show\n    debug: { msg: "{{ out.stdout }}" }\n';
    const r = await runYaml(yaml);
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(r.dir, 'h1', 'pwned'))).toBe(false);
    expect(r.results('show')[0]!.msg).toBe(`x; touch ${join(r.dir, 'h1')}/pwned`);
  });

  const converge = head('vars:\n  v: "2"\n') + 'tasks:\n  - name: dir\n    file: { path: "{{ root }}/etc", state: directory }\n  - name: conf\n    copy: { content: "v={{ v }}\\n", dest: "{{ root }}/etc/app.conf", mode: "0640" }\n' +
    '  - name: line\n    lineinfile: { path: "{{ root }}/etc/extra.conf", line: "debug=false", create: true }\n  - name: once\n    command: { cmd: "touch {{ root }}/etc/marker", creates: "{{ root }}/etc/marker" }\n';

  it('plan changes nothing on any host and shows diffs; a second apply changes nothing', async () => {
    const yaml = converge;
    const planned = await runYaml(yaml, { hosts: 2, mode: 'plan' });
    expect(planned.exitCode).toBe(0);
    expect(Object.keys(snapshot(planned.dir)).sort()).toEqual(['h1', 'h2', 'runbook.yml']);
    expect(statuses(planned, 'conf')).toEqual(['h1:would_change', 'h2:would_change']);
    expect(statuses(planned, 'once')).toEqual(['h1:would_run', 'h2:would_run']);
    const first = await runYaml(yaml, { hosts: 2, dir: planned.dir });
    expect(first.exitCode).toBe(0);
    expect(readFileSync(join(first.dir, 'h1/etc/app.conf'), 'utf8')).toBe('v=2\n');
    expect(readFileSync(join(first.dir, 'h1/etc/extra.conf'), 'utf8')).toBe('debug=false\n');
    const before = snapshot(first.dir);
    const second = await runYaml(yaml, { hosts: 2, dir: first.dir });
    expect(second.exitCode).toBe(0);
    expect(Object.values(second.summary).every((s) => s.changed === 0)).toBe(true);
    expect(snapshot(second.dir)).toEqual({ ...before, 'runbook.yml': expect.any(String) });
  });
});

/** Lines appended to one file shared by every host (the run's own folder). */
const shared = (r: Awaited<ReturnType<typeof runYaml>>): string[] => readFileSync(join(r.dir, 'log'), 'utf8').trim().split('\n');

describe('executor: batches, handlers per batch, forks, timeout, retries', () => {
  it('splits serial batches by number, percentage (at least one host) and list, the last size repeating', () => {
    const h = ['h1', 'h2', 'h3', 'h4', 'h5'];
    expect(batchesOf(h, [])).toEqual([h]);
    expect(batchesOf(h, [2])).toEqual([['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    expect(batchesOf(h, ['40%'])).toEqual([['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    expect(batchesOf(h, ['10%'])).toEqual(h.map((x) => [x]));
    expect(batchesOf(h, [1, '60%'])).toEqual([['h1'], ['h2', 'h3', 'h4'], ['h5']]);
    expect(batchesOf(h, ['100%'])).toEqual([h]);
  });

  it('serial: 2 runs every task on a batch before the next batch starts', async () => {
    const yaml = head('serial: 2\n') + 'tasks:\n  - name: a\n    shell: echo a-{{ inventory_hostname }} >> {{ root }}/../log\n  - name: b\n    shell: echo b-{{ inventory_hostname }} >> {{ root }}/../log\n';
    const r = await runYaml(yaml, { hosts: 3 });
    expect(r.exitCode).toBe(0);
    expect(r.events.filter((e) => e.type === 'batch_start').map((e) => (e as { hosts: string[] }).hosts)).toEqual([['h1', 'h2'], ['h3']]);
    const log = shared(r);
    expect(log.slice(0, 4).sort()).toEqual(['a-h1', 'a-h2', 'b-h1', 'b-h2']);
    expect(log.slice(0, 2).every((l) => l.startsWith('a-'))).toBe(true);
    expect(log.slice(4)).toEqual(['a-h3', 'b-h3']);
  });

  it('runs handlers at the end of each batch, only where a notifying task changed', async () => {
    const yaml = head('serial: 1\n') + 'tasks:\n  - name: work\n    shell: echo task-{{ inventory_hostname }} >> {{ root }}/../log\n    notify: restart\n' +
      '  - name: read only\n    command: "true"\n    changed_when: false\n    notify: never\n' +
      'handlers:\n  - name: never\n    shell: echo never >> {{ root }}/../log\n  - name: restart\n    shell: echo handler-{{ inventory_hostname }} >> {{ root }}/../log\n';
    const r = await runYaml(yaml, { hosts: 2 });
    expect(r.exitCode).toBe(0);
    expect(shared(r)).toEqual(['task-h1', 'handler-h1', 'task-h2', 'handler-h2']);
    expect(r.results('restart').map((e) => e.phase)).toEqual(['handlers', 'handlers']);
  });

  it('a failed host does not run its handlers; the other hosts do', async () => {
    const yaml = head('max_fail_percentage: 100\n') + 'tasks:\n  - name: work\n    shell: echo x\n    notify: restart\n  - name: fail h1\n    command: "false"\n    when: inventory_hostname == "h1"\n' +
      'handlers:\n  - name: restart\n    shell: touch {{ root }}/restarted\n';
    const r = await runYaml(yaml, { hosts: 2 });
    expect([existsSync(join(r.dir, 'h1', 'restarted')), existsSync(join(r.dir, 'h2', 'restarted'))]).toEqual([false, true]);
    expect(r.exitCode).toBe(1);
  });

  it('--forks bounds how many hosts run at once', async () => {
    const yaml = head() + 'tasks:\n  - name: slow\n    shell: echo start >> {{ root }}/../log; sleep 0.4; echo end >> {{ root }}/../log\n';
    const inFlight = (log: string[]): number => log.reduce((acc, l) => {
      const now = acc.now + (l === 'start' ? 1 : -1);
      return { now, max: Math.max(acc.max, now) };
    }, { now: 0, max: 0 }).max;
    expect(inFlight(shared(await runYaml(yaml, { hosts: 3, forks: 1 })))).toBe(1);
    expect(inFlight(shared(await runYaml(yaml, { hosts: 3, forks: 3 })))).toBe(3);
  });

  it('timeout: a task that runs too long fails on that host, the host stops, the run ends quickly', async () => {
    const yaml = head('max_fail_percentage: 100\n') + 'tasks:\n  - name: hang\n    shell: sleep 8\n    timeout: 1s\n    when: inventory_hostname == "h1"\n' +
      '  - name: after\n    shell: touch {{ root }}/after\n';
    const t0 = Date.now();
    const r = await runYaml(yaml, { hosts: 2 });
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(statuses(r, 'hang')).toEqual(['h1:failed', 'h2:skipped']);
    expect(r.results('hang').find((e) => e.host === 'h1')!.msg).toMatch(/timed out after 1s/);
    expect(r.summary.h1).toMatchObject({ failed: 1, unreachable: 0 });
    expect([existsSync(join(r.dir, 'h1', 'after')), existsSync(join(r.dir, 'h2', 'after'))]).toEqual([false, true]);
    expect(r.exitCode).toBe(1);
  });

  it('timeout with ignore_errors: the slow task is failed and ignored, and the host goes on', async () => {
    const yaml = head() + 'tasks:\n  - name: hang\n    shell: sleep 8\n    timeout: 500ms\n    ignore_errors: true\n  - name: after\n    shell: touch {{ root }}/after\n';
    const r = await runYaml(yaml);
    expect(r.results('hang')[0]).toMatchObject({ status: 'failed', ignored: true });
    expect(existsSync(join(r.dir, 'h1', 'after'))).toBe(true);
    expect(r.exitCode).toBe(0);
  });

  it('retries without until retries a failing task, and registers the attempts', async () => {
    const yaml = head() + 'tasks:\n  - name: flaky\n    shell: echo x >> {{ root }}/n; [ $(wc -l < {{ root }}/n) -ge 3 ]\n    retries: 4\n    delay: 10ms\n    register: f\n' +
      '  - name: show\n    debug: { msg: "{{ f.attempts }}" }\n';
    const r = await runYaml(yaml);
    expect(r.exitCode).toBe(0);
    expect(statuses(r, 'flaky')).toEqual(['h1:changed']);
    expect(r.results('show')[0]!.msg).toBe('3');
  });

  it('when as a list needs every condition; a loop over a registered list works per item', async () => {
    const yaml = head('vars:\n  env_name: prod\n') + 'tasks:\n  - name: both\n    shell: touch {{ root }}/both\n    when: [env_name == "prod", inventory_hostname == "h2"]\n' +
      '  - name: items\n    set_fact: { names: [a, b] }\n  - name: each\n    shell: touch {{ root }}/{{ item }}\n    loop: "{{ names }}"\n';
    const r = await runYaml(yaml, { hosts: 2 });
    expect(r.exitCode).toBe(0);
    expect(statuses(r, 'both')).toEqual(['h1:skipped', 'h2:changed']);
    expect(['a', 'b'].every((f) => existsSync(join(r.dir, 'h1', f)))).toBe(true);
  });

  it('delegate_to: localhost runs the task on this machine, not through the hosts\' transport', async () => {
    let t: CountingTransport | undefined;
    const yaml = head() + 'tasks:\n  - name: here\n    shell: echo {{ inventory_hostname }} > {{ root }}/delegated\n    delegate_to: localhost\n    register: d\n' +
      '  - name: there\n    shell: echo remote-marker\n';
    const r = await runYaml(yaml, { hosts: 2, wrap: (inner) => (t = countingTransport(inner)) });
    expect(r.exitCode).toBe(0);
    expect(statuses(r, 'here')).toEqual(['h1:changed', 'h2:changed']);
    expect(readFileSync(join(r.dir, 'h2', 'delegated'), 'utf8')).toBe('h2\n');
    expect(t!.calls.filter((c) => c.script.includes('/delegated'))).toEqual([]);
    expect(t!.calls.filter((c) => c.script.includes('remote-marker')).map((c) => c.hosts)).toEqual([['h1', 'h2']]);
  });

  it('a block\'s vars, ignore_errors and notify reach the tasks inside it', async () => {
    const yaml = head() + 'tasks:\n  - block:\n      - name: show\n        debug: { msg: "{{ x }}" }\n      - name: bad\n        command: "false"\n' +
      '      - name: write\n        shell: echo {{ x }} > {{ root }}/x\n    vars: { x: from-block }\n    ignore_errors: true\n    notify: done\n' +
      'handlers:\n  - name: done\n    shell: touch {{ root }}/handled\n';
    const r = await runYaml(yaml);
    expect(r.results('show')[0]).toMatchObject({ status: 'ok', msg: 'from-block' });
    expect(r.results('bad')[0]).toMatchObject({ status: 'failed', ignored: true });
    expect(readFileSync(join(r.dir, 'h1', 'x'), 'utf8')).toBe('from-block\n');
    expect(existsSync(join(r.dir, 'h1', 'handled'))).toBe(true);
    expect(r.exitCode).toBe(0);
  });

  it('variable precedence: runbook < environment < host < set_fact/register < task vars < loop item < --extra-vars', async () => {
    const all = (v: string) => Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((k) => [k, v]));
    const yaml = head(`vars: ${JSON.stringify(all('runbook'))}\n`) + 'tasks:\n  - name: fact\n    set_fact: { d: fact, e: fact, f: fact, g: fact }\n' +
      '  - name: show\n    debug: { msg: "{{ a }} {{ b }} {{ c }} {{ d }} {{ e }} {{ f }} {{ g }}" }\n    vars: { e: task, f: task, g: task }\n    loop: [item]\n    loop_control: { loop_var: f }\n';
    const r = await runYaml(yaml, { envVars: { b: 'env', c: 'env', d: 'env', e: 'env', f: 'env', g: 'env' },
      hostVars: { c: 'host', d: 'host', e: 'host', f: 'host', g: 'host' }, extraVars: { g: 'extra' } });
    expect(r.exitCode).toBe(0);
    expect(r.results('show')[0]!.msg).toBe('runbook env host fact task item extra');
  });
});

