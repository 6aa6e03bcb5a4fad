// Secrets never leak (issue 9, req 6), through the real CLI: values from RUNBOOK_SECRET_*, from a
// RUNBOOK_SECRETS_FILE outside the repo, from `no_log_vars` and from a `no_log: true` task are used
// for real (files on disk hold them, the health check logs in with one) and appear in no output:
// stdout, stderr (-v included), --json, the journal, .runbook/ and every request sent to New Relic.
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNewRelicFake, type NewRelicFake } from '../fakes/newrelic/index.ts';
import { spawnNode, type Spawned } from '../helpers/spawn-async.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
const ENV_SECRET = 'EnvS3cret-q7Zp';
const FILE_SECRET = 'FileS3cret-k2Wx';
const NOLOG_VAR = 'NoLogVar-m5Rt';
const NOLOG_TASK = 'NoLogTask-v8Jn';
/** Each secret, and forms computed from them that must stay secret too. */
const NEEDLES = [ENV_SECRET, FILE_SECRET, NOLOG_VAR, NOLOG_TASK, ENV_SECRET.toUpperCase(), `${NOLOG_VAR}-suffix`];

let server: Server;
let port = 0;
let nr: NewRelicFake;
let dir: string;
let secretsFile: string;
const outputs: { what: string; text: string }[] = [];

/** The "app": accepts the probe's password; /echo fails while out/cmd.txt exists and echoes the form it got (a hostile app). */
function startApp(): Promise<void> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const good = form.get('password') === ENV_SECRET;
      if (req.url === '/echo' && existsSync(join(dir, 'out', 'cmd.txt'))) { res.statusCode = 500; res.end(`<p>login failed for ${body} with ${form.get('password')}</p>`); return; }
      res.statusCode = good ? 200 : 401;
      res.end(good ? 'Welcome' : 'wrong password');
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', r));
}

const runbook = (healthPath: string): string => `name: secrets everywhere
hosts: web
environments: [dev]
no_log_vars: [session_key, derived_key]
vars:
  session_key: ${NOLOG_VAR}
  derived_key: "{{ session_key }}-suffix"
  task_only: ${NOLOG_TASK}
  loud: "{{ secrets.db_password | upper }}"
newrelic: { entity: app-dev }
tasks:
  - name: shell uses the secret
    shell: "printf '%s' {{ secrets.db_password }} > {{ root }}/cmd.txt; echo got {{ secrets.db_password }} {{ session_key }}"
  - name: command args
    command: "echo {{ secrets.api_token }} {{ session_key }} {{ derived_key }}"
  - name: write the config
    template: { src: app.env.j2, dest: "{{ root }}/app.env" }
  - name: say it
    debug: { msg: "db={{ secrets.db_password }} token={{ secrets.api_token }} key={{ session_key }} loud={{ loud }} d={{ derived_key }}" }
  - name: show the var
    debug: { var: session_key }
  - name: set a fact from the secret
    set_fact: { copied: "{{ secrets.api_token }}" }
  - name: show the fact
    debug: { msg: "copied={{ copied }}" }
  - name: hidden task
    shell: "echo {{ task_only }} > {{ root }}/task.txt; echo {{ task_only }}; exit 4"
    no_log: true
    ignore_errors: true
  - name: fails with the secret in stderr
    shell: "echo denied for {{ secrets.api_token }} {{ session_key }} >&2; exit 3"
    ignore_errors: true
  - name: assertion names the secret
    assert: { that: ["1 == 2"], fail_msg: "wrong {{ secrets.db_password }} {{ session_key }}" }
    ignore_errors: true
health:
  initial_delay: 0s
  interval: 0s
  count: 1
  checks:
    - name: users can log in
      http: { url: "http://127.0.0.1:${port}${healthPath}", method: POST, form: { user: probe, password: "{{ secrets.db_password }}" }, status: 200, contains: Welcome }
rollback:
  - name: undo, loudly
    shell: "rm {{ root }}/cmd.txt; echo rolling back with {{ secrets.api_token }} {{ session_key }}"
`;

function setup(): void {
  dir = mkdtempSync(join(tmpdir(), 'rb-secrets-'));
  const outside = mkdtempSync(join(tmpdir(), 'rb-secrets-file-'));
  secretsFile = join(outside, 'secrets.yml');
  writeFileSync(secretsFile, `api_token: ${FILE_SECRET}\n`);
  mkdirSync(join(dir, 'environments'));
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { root: "${dir}/out" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n`);
  writeFileSync(join(dir, 'app.env.j2'), 'DB={{ secrets.db_password }}\nTOKEN={{ secrets.api_token }}\nKEY={{ session_key }}\n');
  writeFileSync(join(dir, 'good.yml'), runbook('/login'));
  writeFileSync(join(dir, 'bad.yml'), runbook('/echo'));
}

async function cli(args: string[]): Promise<Spawned> {
  const r = await spawnNode(BIN, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', GITHUB_TOKEN: '', GH_TOKEN: '', GITHUB_ACTOR: '',
    NEW_RELIC_API_KEY: 'nr-key', NEW_RELIC_API_URL: nr.url, NEW_RELIC_ACCOUNT_ID: '1',
    RUNBOOK_SECRET_DB_PASSWORD: ENV_SECRET, RUNBOOK_SECRETS_FILE: secretsFile } });
  outputs.push({ what: `${args.join(' ')}: stdout`, text: r.stdout }, { what: `${args.join(' ')}: stderr`, text: r.stderr });
  return r;
}

/** Every file under `root`, as text. */
function filesUnder(root: string): { what: string; text: string }[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).map((f) => join(root, f)).filter((f) => statSync(f).isFile())
    .map((f) => ({ what: f, text: readFileSync(f, 'utf8') }));
}

function expectNoSecret(items: { what: string; text: string }[]): void {
  for (const { what, text } of items) for (const n of NEEDLES) expect(text.includes(n), `${n} leaked in ${what}:\n${text}`).toBe(false);
}

beforeAll(async () => {
  nr = await startNewRelicFake({ apiKey: 'nr-key', entities: [{ name: 'app-dev', guid: 'APP-GUID', accountId: 1 }] });
  await startApp();
  port = (server.address() as { port: number }).port;
  setup();
});
afterAll(async () => { server.close(); await nr.stop(); });

describe('secrets are used but never shown', () => {
  it('plan -v shows *** where the secrets go', async () => {
    const r = await cli(['plan', 'good.yml', '-e', 'dev', '-v']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('***');
    expectNoSecret(outputs);
  });

  it('apply -v (text) and apply --json: the tasks really used every secret, no output holds one', async () => {
    const text = await cli(['apply', 'good.yml', '-e', 'dev', '-v', '--yes']);
    expect(text.status, text.stdout + text.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out', 'cmd.txt'), 'utf8')).toBe(ENV_SECRET);
    expect(readFileSync(join(dir, 'out', 'app.env'), 'utf8')).toBe(`DB=${ENV_SECRET}\nTOKEN=${FILE_SECRET}\nKEY=${NOLOG_VAR}\n`);
    expect(readFileSync(join(dir, 'out', 'task.txt'), 'utf8')).toBe(`${NOLOG_TASK}\n`);
    expect(text.stdout).toMatch(/say it.*\n  ok +h1 \*\*\*\n/);
    expect(text.stdout + text.stderr).toContain('output hidden: no_log');
    const json = await cli(['apply', 'good.yml', '-e', 'dev', '-v', '--json']);
    expect(json.status, json.stderr).toBe(0);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; task?: string; ok?: boolean; msg?: string });
    expect(events.filter((e) => e.type === 'health_measurement').map((e) => e.ok)).toEqual([true]); // logged in with the secret
    expect(events.find((e) => e.type === 'task_result' && e.task === 'show the fact')?.msg).toBe('***'); // built from a secret: a secret
    expect(events.find((e) => e.type === 'task_result' && e.task === 'show the var')?.msg).toBe('***');
    expectNoSecret(outputs);
  });

  it('a failing health check whose app echoes the password, then rollback: error messages, journal and markers stay clean', async () => {
    const r = await cli(['apply', 'bad.yml', '-e', 'dev', '-v', '--yes']);
    expect(r.status, r.stdout + r.stderr).toBe(5);
    expect(r.stdout + r.stderr).toMatch(/users can log in.*returned 500/);
    expectNoSecret(outputs);
  });

  it('the journal, everything under .runbook/ and all New Relic requests (markers included) hold no secret', () => {
    expect(readdirSync(join(dir, '.runbook', 'runs')).filter((f) => f.endsWith('.jsonl'))).toHaveLength(3);
    expectNoSecret(filesUnder(join(dir, '.runbook')));
    expect(nr.markers.length).toBe(6); // start + outcome for each of the three applies
    expectNoSecret(nr.markers.map((m) => ({ what: `marker ${m.deploymentId}`, text: JSON.stringify(m) })));
    expectNoSecret(nr.requests.map((q, i) => ({ what: `New Relic request ${i}`, text: JSON.stringify(q) })));
  });

  it('a missing secret, or a secrets file inside the repository, is exit 2 before anything runs (and names no value)', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'rb-secrets-repo-'));
    execFileSync('git', ['init', '-q'], { cwd: repo });
    mkdirSync(join(repo, 'environments'));
    writeFileSync(join(repo, 'environments', 'dev.yml'), `transport: local\ngroups:\n  web:\n    hosts:\n      h1: {}\n`);
    writeFileSync(join(repo, 'rb.yml'), `name: s\nhosts: web\nenvironments: [dev]\ntasks:\n  - shell: "echo {{ secrets.db_password }} > ${repo}/ran"\n`);
    writeFileSync(join(repo, 'secrets.yml'), `db_password: ${FILE_SECRET}\n`);
    const { RUNBOOK_SECRET_DB_PASSWORD: _unset, RUNBOOK_SECRETS_FILE: _none, ...inherited } = process.env;
    const base = { ...inherited, NO_COLOR: '1', NEW_RELIC_API_KEY: '', GITHUB_TOKEN: '' };
    const missing = await spawnNode(BIN, ['apply', 'rb.yml', '-e', 'dev', '--yes'], { cwd: repo, env: base });
    expect(missing.status, missing.stderr).toBe(2);
    expect(missing.stderr).toContain("rb.yml:5:5: secret 'db_password' is not set: export RUNBOOK_SECRET_DB_PASSWORD");
    const inside = await spawnNode(BIN, ['apply', 'rb.yml', '-e', 'dev', '--yes'], { cwd: repo, env: { ...base, RUNBOOK_SECRETS_FILE: join(repo, 'secrets.yml') } });
    expect(inside.status, inside.stderr).toBe(2);
    expect(inside.stderr).toMatch(/RUNBOOK_SECRETS_FILE .*secrets\.yml is inside the repository .*; keep secrets outside the repo/);
    expect(existsSync(join(repo, 'ran'))).toBe(false);
    expectNoSecret([{ what: 'missing', text: missing.stdout + missing.stderr }, { what: 'inside', text: inside.stdout + inside.stderr }]);
  });
});
