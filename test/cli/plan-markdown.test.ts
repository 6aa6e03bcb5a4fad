// `runbook plan --format markdown`: the rules of the renderer on small event streams, then snapshots of
// real plans (the real engine on the local transport, test/helpers/run-yaml.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.ts';
import { loadRunbook } from '../../src/engine/loader.ts';
import { runYaml, type RunYamlOpts } from '../helpers/run-yaml.ts';
import { honestWorld, RUNBOOK, type World } from '../fakes/github/scenario.ts';
import { planGateStatus } from '../../src/cli/plan-report.ts';
import { prepare } from '../../src/cli/prepare.ts';
import { fenced, inline, planMarker, renderPlanMarkdown, truncateLines, type PlanMarkdownInput } from '../../src/cli/plan-markdown.ts';

const at = { file: 'rb.yml', line: 1, col: 1 };
const runbook: PlanMarkdownInput['runbook'] = { name: 'Deploy | the <app>', rollback: [], hasRollback: false };
const env: PlanMarkdownInput['env'] = { name: 'staging', protected: false, transport: 'local' };

function stream(hosts: string[], results: Partial<Extract<RunEvent, { type: 'task_result' }>>[], exitCode = 0): RunEvent[] {
  const events: RunEvent[] = [{ type: 'run_start', command: 'plan', runbook: 'runbooks/app.yml', env: 'staging', hosts, operator: 'me' }];
  results.forEach((r, i) => {
    events.push({ type: 'task_start', task: r.task ?? `t${i}`, at, hosts, phase: 'tasks', index: i, pointer: r.pointer ?? `/tasks/${i}`, module: 'copy' });
    for (const h of hosts) events.push({ type: 'task_result', task: `t${i}`, host: h, status: 'ok', ms: 1, phase: 'tasks', index: i, pointer: `/tasks/${i}`, ...r });
  });
  events.push({ type: 'run_end', exitCode, ms: 5, summary: {} });
  return events;
}

const render = (events: RunEvent[], extra: Partial<PlanMarkdownInput> = {}): string =>
  renderPlanMarkdown({ events, runbook, env, gate: { state: 'not_required', why: 'staging is not a protected environment' }, ...extra });

describe('plan markdown rules', () => {
  it('starts with the hidden marker for the runbook and environment, and escapes names', () => {
    const md = render(stream(['web1'], [{ status: 'ok' }]));
    expect(md.split('\n')[0]).toBe(planMarker('runbooks/app.yml', 'staging'));
    expect(md.split('\n')[0]).toBe('<!-- runbook-plan:runbooks/app.yml:staging -->');
    expect(md).toContain('**Deploy \\| the &lt;app&gt;**');
    expect(md).toContain('**No changes.**');
  });

  it('cuts a long diff with a count of the lines left out, inside a folded block per host', () => {
    const diff = Array.from({ length: 100 }, (_, i) => `+line ${i}`).join('\n');
    const md = render(stream(['web1'], [{ status: 'would_change', diff, changes: ['write /etc/app.env'] }]), { maxDiffLines: 10 });
    expect(md).toContain('<details><summary>web1: 1 task to change, 1 file diff</summary>');
    expect(md).toContain('+line 9\n… 90 more lines\n```');
    expect(md).not.toContain('+line 10\n');
    expect(md).toContain('**1 task would change something** (of 1).');
  });

  it('folds hosts with identical diffs into one block and keeps different ones apart', () => {
    const events = stream(['web1', 'web2', 'web3'], [{ status: 'would_change', diff: '+same' }]);
    const r = events.find((e) => e.type === 'task_result' && e.host === 'web3') as Extract<RunEvent, { type: 'task_result' }>;
    r.diff = '+other';
    const md = render(events);
    expect(md).toContain('<summary>web1, web2 (identical): 1 task to change, 1 file diff</summary>');
    expect(md).toContain('<summary>web3: 1 task to change, 1 file diff</summary>');
  });

  it('a diff containing a code fence cannot close the block early', () => {
    const f = fenced('a\n```\nb');
    expect(f.startsWith('````\n')).toBe(true);
    expect(f.endsWith('\n````')).toBe(true);
    expect(truncateLines('a\nb\nc\n', 2)).toBe('a\nb\n… 1 more lines');
    expect(inline('x|y\nz <b>', 100)).toBe('x\\|y z &lt;b&gt;');
  });

  it('lists failures, unknowns and warnings, and says the plan failed', () => {
    const events = stream(['web1', 'web2'], [{ status: 'failed', msg: 'assert failed: disk > 90%' }], 1);
    (events.find((e) => e.type === 'task_result' && e.host === 'web2') as { status: string; msg?: string }).status = 'unknown';
    events.splice(1, 0, { type: 'warning', message: 'runs on protected environment without rollback:' });
    const md = render(events);
    expect(md).toContain(':x: **The plan failed (exit 1)');
    expect(md).toContain('- failed: **t0** on `web1`: assert failed: disk &gt; 90%');
    expect(md).toMatch(/- unknown: \*\*t0\*\* on `web2`/);
    expect(md).toContain('- warning: runs on protected environment without rollback:');
  });

  it('shows the gate: passed and failed rules, or why it was not evaluated', () => {
    const events = stream(['web1'], [{ status: 'ok' }]);
    const refused = render(events, { env: { ...env, protected: true }, gate: { state: 'refused', rules: [
      { name: 'runbook bytes approved in a merged PR', ok: false, detail: 'PR #4 is not merged' }, { name: 'approvals', ok: true, detail: '1 of 1' }] } });
    expect(refused).toContain(':no_entry: **would refuse** an apply right now.');
    expect(refused).toContain('- :x: runbook bytes approved in a merged PR: PR #4 is not merged');
    expect(refused).toContain('- :white_check_mark: approvals: 1 of 1');
    expect(refused).toContain('**protected** (apply needs the review gate)');
    expect(render(events, { gate: { state: 'not_evaluated', why: 'no GITHUB_TOKEN' } })).toContain('gate: not evaluated (no GITHUB_TOKEN).');
  });

  it('describes the health checks and the rollback that follow an apply', () => {
    const md = render(stream(['web1'], [{ status: 'ok' }]), { runbook: { ...runbook, hasRollback: true, rollback: [{} as never, {} as never],
      health: { at, initialDelay: '10s', interval: '5s', count: 3, failureLimit: 1, consecutiveErrorLimit: 2, checks: [
        { at, name: 'login', http: { url: '{{ public_url }}/login', method: 'POST', status: 200, contains: 'Welcome' } },
        { at, name: 'errors', nrql: { query: 'SELECT count(*) FROM TransactionError', fail_if: '> 1' } },
        { at, name: 'apdex', preset: { kind: 'apdex_below', threshold: 0.9 } }] } } });
    expect(md).toContain('- Health: 3 measurements every 5s, the first after 10s; unhealthy when more than 1 fail:');
    expect(md).toContain('  - login: HTTP POST `{{ public_url }}/login`, expects status 200, body contains `Welcome`');
    expect(md).toContain('  - errors: NRQL `SELECT count(*) FROM TransactionError`, fails if `> 1`');
    expect(md).toContain('  - apdex: New Relic apdex below 0.9');
    expect(md).toContain('- Rollback: 2 tasks on changed hosts when tasks or health fail.');
    expect(render(stream(['web1'], [{ status: 'ok' }]))).toContain(':warning: No health checks');
  });

  it('stays under the size limit by leaving the diffs out, and says so', () => {
    const big = Array.from({ length: 50 }, (_, i) => `+${'x'.repeat(200)} ${i}`).join('\n');
    const hosts = Array.from({ length: 20 }, (_, i) => `web${i}`);
    const events = stream(hosts, [{ status: 'would_change', diff: big }]);
    events.forEach((e) => { if (e.type === 'task_result') e.diff = `${big}\n+${e.host}`; });
    const md = render(events, { maxChars: 20_000 });
    expect(md.length).toBeLessThanOrEqual(20_001);
    expect(md).toMatch(/Expected changes and diffs left out: the full summary is \d+ characters, over the 20000 limit/);
    expect(md).toContain('### After apply');
  });
});

/** A real plan through the engine (local transport), framed by run_start / run_end as `runbook plan` does. */
async function realPlan(yaml: string, o: RunYamlOpts & { render?: Partial<PlanMarkdownInput> } = {}): Promise<string> {
  const r = await runYaml(yaml, { mode: 'plan', hosts: 2, ...o });
  const rb = await loadRunbook(join(r.dir, 'runbook.yml'));
  const hosts = r.states.map((h) => h.host.name);
  const events: RunEvent[] = [{ type: 'run_start', command: 'plan', runbook: 'runbooks/app.yml', env: 'test', hosts, operator: 'ci' }, ...r.events,
    { type: 'run_end', exitCode: r.exitCode, ms: 0, summary: r.summary, message: r.message }];
  const md = renderPlanMarkdown({ events, runbook: rb, env: { name: 'test', protected: false, transport: 'local' },
    gate: { state: 'not_required', why: 'test is not a protected environment' }, ...o.render });
  return md.split(r.dir).join('<tmp>');
}

const APP = `name: Configure the app
hosts: web
environments: [test]
vars: { port: 8080 }
tasks:
  - name: App folder
    file: { path: "{{ root }}/app", state: directory }
  - name: Settings
    copy: { content: "PORT={{ port }}\\nHOST={{ inventory_hostname }}\\n", dest: "{{ root }}/app/app.env" }
  - name: Proxy forwards the scheme
    lineinfile: { path: "{{ root }}/proxy.conf", line: "proxy_set_header X-Forwarded-Proto $scheme;", create: true }
  - name: Run the migrations
    command: echo migrate
  - name: Read the settings
    command: cat {{ root }}/app/app.env
    changed_when: false
health:
  initial_delay: 5s
  count: 3
  interval: 10s
  failure_limit: 0
  checks:
    - name: the app answers
      http: { url: "{{ public_url }}/health", status: 200, contains: ok }
rollback:
  - name: Restore
    command: echo restore
`;

describe('plan markdown of real plans (snapshots)', () => {
  it('a first plan on two hosts: table, expected changes, per-host diffs, health and rollback', async () => {
    const md = await realPlan(APP, { files: { 'h1/proxy.conf': 'a\n', 'h2/proxy.conf': 'a\n' } });
    expect(md).toContain('| 4 | Run the migrations | `command` |  | `h1`, `h2` |');
    expect(md).toContain('+HOST=h2');
    await expect(md).toMatchFileSnapshot('./__snapshots__/plan-markdown/first-plan.md');
  });

  it('after an apply the plan of the same runbook says nothing would change', async () => {
    const yaml = APP.replace(/  - name: Run the migrations[\s\S]*(?=health:)/, `  - name: Seed once
    command: { cmd: "touch {{ root }}/seeded", creates: "{{ root }}/seeded" }
`);
    expect(yaml).not.toContain('migrate');
    const first = await runYaml(yaml, { mode: 'apply', hosts: 2 });
    expect(first.exitCode).toBe(0);
    expect(await realPlan(yaml)).toContain('**3 tasks would change something; 1 task would run a command whose effect a plan cannot know** (of 4).');
    const md = await realPlan(yaml, { dir: first.dir });
    expect(md).toContain('**No changes.** Applying now would change nothing.');
    expect(md).not.toContain('<details>');
    await expect(md).toMatchFileSnapshot('./__snapshots__/plan-markdown/no-changes.md');
  });

  it('a failing check, a long diff cut short, and a protected environment the gate would refuse', async () => {
    const long = Array.from({ length: 80 }, (_, i) => `line ${i}`).join('\n');
    const yaml = `name: Risky change
hosts: web
environments: [test]
tasks:
  - name: Disk has room
    assert: { that: ["inventory_hostname != 'h2'"], fail_msg: "h2 disk is full" }
  - name: Big config
    copy: { content: ${JSON.stringify(long + '\n')}, dest: "{{ root }}/big.conf" }
`;
    const md = await realPlan(yaml, { render: { maxDiffLines: 20, env: { name: 'test', protected: true, transport: 'local' },
      gate: { state: 'refused', rules: [{ name: 'approved in a merged pull request', ok: false, detail: 'no merged PR contains these bytes' }] } } });
    expect(md).toContain('… 63 more lines');
    expect(md).toMatch(/- failed: \*\*Disk has room\*\* on `h2`: .*h2 disk is full/);
    expect(md).toContain(':x: **The plan failed (exit 1)');
    await expect(md).toMatchFileSnapshot('./__snapshots__/plan-markdown/failed-protected.md');
  });
});

describe('the gate section of a plan on a protected environment (real gate, GitHub fake)', () => {
  const statusIn = async (w: World) => {
    const p = await prepare(join(w.work, RUNBOOK), { env: 'prod', inventory: join(w.work, 'environments'), forks: '50', extraVars: [] });
    const io = { out: { write: () => {} }, err: { write: () => {} }, env: w.env, cwd: w.work };
    return planGateStatus(p, io);
  };

  it('an approved, merged change: the gate would pass, with its rules', async () => {
    const { w } = await honestWorld();
    try {
      const g = await statusIn(w);
      expect(g.state).toBe('passed');
      const md = render(stream(['web1'], [{ status: 'ok' }]), { gate: g, env: { ...env, protected: true } });
      expect(md).toContain(':white_check_mark: **passed**: apply would be allowed now.');
      expect(md).toMatch(/- :white_check_mark: approvals: .*alice/);
    } finally { await w.close(); }
  });

  it('an approved but unmerged pull request: the gate would refuse and says why', async () => {
    const { w } = await honestWorld({ merge: false });
    try {
      const g = await statusIn(w);
      expect(g.state).toBe('refused');
      const md = render(stream(['web1'], [{ status: 'ok' }]), { gate: g, env: { ...env, protected: true } });
      expect(md).toContain(':no_entry: **would refuse** an apply right now.');
      expect(md).toMatch(/- :x: .*merged/);
    } finally { await w.close(); }
  });
});
