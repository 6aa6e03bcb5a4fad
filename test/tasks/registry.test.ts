// The registry: names match YAML keys, schemas compile (JSON Schema 2020-12) and document every property;
// and one runbook using the file modules through the real engine: plan changes nothing, apply converges,
// a second apply changes nothing.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { snapshot } from '../helpers/snapshot.ts';
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/tasks/index.ts';
import { runYaml } from '../helpers/run-yaml.ts';

function undocumented(schema: Record<string, unknown>, at = ''): string[] {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(props).flatMap(([k, p]) => [...(typeof p.description === 'string' && p.description ? [] : [`${at}${k}`]), ...undocumented(p, `${at}${k}.`)]);
}

describe('task registry', () => {
  it('has the 14 modules, each named after its key', () => {
    expect(Object.keys(modules).sort()).toEqual(['assert', 'command', 'copy', 'debug', 'fetch', 'file', 'http', 'lineinfile', 'package', 'service', 'set_fact', 'shell', 'template', 'wait_for']);
    for (const [k, m] of Object.entries(modules)) expect(m.name).toBe(k);
  });
  it('every schema compiles in strict 2020-12 mode, rejects unknown keys and documents each property', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, strictRequired: false });
    for (const [k, m] of Object.entries(modules)) {
      expect(() => ajv.compile(m.schema), k).not.toThrow();
      expect(typeof m.schema.description, k).toBe('string');
      expect(undocumented(m.schema), k).toEqual([]);
      if (k !== 'set_fact') expect(m.schema.additionalProperties, k).toBe(false);
    }
  });
  it('free form only where a bare string makes sense', () => {
    expect(Object.entries(modules).filter(([, m]) => m.freeForm).map(([k]) => k).sort()).toEqual(['command', 'debug', 'shell']);
    expect(Object.entries(modules).filter(([, m]) => !m.idempotent).map(([k]) => k).sort()).toEqual(['command', 'shell']);
  });
});


const RUNBOOK = `name: modules
hosts: web
environments: [test]
vars:
  port: 8080
tasks:
  - name: dir
    file: { path: "{{ root }}/etc/app", state: directory, mode: "0750" }
  - name: env
    template: { src: files/app.env.j2, dest: "{{ root }}/etc/app/app.env", mode: "0640" }
  - name: extra
    copy: { content: "X=1\\n", dest: "{{ root }}/etc/app/extra.env", mode: "0600" }
  - name: line
    lineinfile: { path: "{{ root }}/etc/app/hosts", line: "127.0.0.1 app", create: true }
  - name: link
    file: { path: "{{ root }}/current", state: link, src: "{{ root }}/etc/app" }
  - name: once
    command: { cmd: "touch {{ root }}/marker", creates: "{{ root }}/marker" }
  - name: fact
    set_fact: { greeting: "port {{ port }}" }
  - name: check
    assert: { that: ["greeting == 'port 8080'"] }
  - name: say
    debug: "{{ greeting }}"
`;

describe('modules through the engine', () => {
  it('plan changes nothing; apply converges; a second apply is all ok', async () => {
    const files = { 'files/app.env.j2': 'NAME=app\nPORT={{ port }}\n' };
    const plan = await runYaml(RUNBOOK, { mode: 'plan', files });
    const before = snapshot(plan.dir);
    expect(Object.keys(before).filter((k) => k.startsWith('h1/'))).toEqual([]);
    expect(plan.exitCode, JSON.stringify(plan.events.filter((e) => e.type === 'task_result'))).toBe(0);
    expect(plan.results('env')[0]).toMatchObject({ status: 'would_change' });
    expect(plan.results('once')[0]).toMatchObject({ status: 'would_run' });
    const again = await runYaml(RUNBOOK, { mode: 'plan', dir: plan.dir });
    expect(snapshot(plan.dir)).toEqual({ ...before, 'runbook.yml': before['runbook.yml'] });
    expect(again.exitCode).toBe(0);

    const first = await runYaml(RUNBOOK, { mode: 'apply', dir: plan.dir });
    expect(first.exitCode, JSON.stringify(first.events.filter((e) => e.type === 'task_result'))).toBe(0);
    expect(readFileSync(join(plan.dir, 'h1/etc/app/app.env'), 'utf8')).toBe('NAME=app\nPORT=8080\n');
    expect(readFileSync(join(plan.dir, 'h1/etc/app/hosts'), 'utf8')).toBe('127.0.0.1 app\n');
    expect(first.results('say')[0]).toMatchObject({ status: 'ok', msg: 'port 8080' });
    const second = await runYaml(RUNBOOK, { mode: 'apply', dir: plan.dir });
    const statuses = second.events.filter((e) => e.type === 'task_result').map((e) => `${(e as { task: string }).task}:${(e as { status: string }).status}`);
    expect(statuses.filter((s) => !s.endsWith(':ok'))).toEqual([]);
  });
});
