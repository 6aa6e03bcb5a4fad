// `plan --comment`: where the comment goes (repository, PR number) and create-then-update of one
// comment per runbook and environment against the GitHub fake (test/fakes/github).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubClient, resolvePullNumber, resolveRepository, upsertComment } from '../../src/cli/comment.ts';
import { planMarker } from '../../src/cli/plan-markdown.ts';
import { seedComments, startCommentsFake } from '../fakes/github/comments.ts';
import { spawnNode, type Spawned } from '../helpers/spawn-async.ts';

const BIN = resolve(import.meta.dirname, '../../bin/runbook.js');
let fake: Awaited<ReturnType<typeof startCommentsFake>>;
beforeAll(async () => { fake = await startCommentsFake(); });
afterAll(async () => { await fake.close(); });

describe('where the plan comment goes', () => {
  it('prefers GITHUB_REPOSITORY, else the origin remote, else says what to set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-comment-'));
    execFileSync('git', ['init', '-q'], { cwd: dir });
    expect(() => resolveRepository({}, dir)).toThrow(/set GITHUB_REPOSITORY=owner\/name or add a git remote named origin/);
    execFileSync('git', ['remote', 'add', 'origin', 'git@github.com:acme/ops.git'], { cwd: dir });
    expect(resolveRepository({}, dir)).toEqual({ owner: 'acme', repo: 'ops' });
    for (const url of ['https://github.com/acme/web.app.git', 'https://x-access-token:abc@github.example.com/acme/web.app', 'ssh://git@github.com/acme/web.app.git']) {
      execFileSync('git', ['remote', 'set-url', 'origin', url], { cwd: dir });
      expect(resolveRepository({}, dir)).toEqual({ owner: 'acme', repo: 'web.app' });
    }
    execFileSync('git', ['remote', 'set-url', 'origin', '/srv/git/repo.git'], { cwd: dir });
    expect(() => resolveRepository({}, dir)).toThrow(/from the origin remote '\/srv\/git\/repo\.git'/);
    expect(resolveRepository({ GITHUB_REPOSITORY: 'other/repo' }, dir)).toEqual({ owner: 'other', repo: 'repo' });
    expect(() => resolveRepository({ GITHUB_REPOSITORY: 'nope' }, dir)).toThrow(/expected owner\/name/);
  });

  it('takes the PR number from --pr, else from the pull_request or issue_comment event payload', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-comment-'));
    const event = (payload: unknown): NodeJS.ProcessEnv => {
      const path = join(dir, `event-${Math.random()}.json`);
      writeFileSync(path, JSON.stringify(payload));
      return { GITHUB_EVENT_PATH: path };
    };
    expect(resolvePullNumber('12', {})).toBe(12);
    expect(() => resolvePullNumber('x', {})).toThrow(/--pr x: must be a pull request number/);
    expect(resolvePullNumber(undefined, event({ pull_request: { number: 34 } }))).toBe(34);
    expect(resolvePullNumber(undefined, event({ issue: { number: 56, pull_request: { url: 'u' } } }))).toBe(56);
    expect(() => resolvePullNumber(undefined, event({ issue: { number: 56 } }))).toThrow(/no pull request/);
    expect(() => resolvePullNumber(undefined, {})).toThrow(/pass --pr <number>/);
  });

  it('needs a token, and names both variables (exit 2)', () => {
    expect(() => githubClient({})).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/GITHUB_TOKEN or GH_TOKEN/) }));
    expect(githubClient({ GH_TOKEN: 't' })).toBeDefined();
  });
});

describe('one comment per runbook and environment', () => {
  it('creates, then finds it again past the first page and updates it in place; identical text is left alone', async () => {
    const gh = githubClient({ GITHUB_TOKEN: fake.store.token, GITHUB_API_URL: fake.url });
    const t = { owner: 'acme', repo: 'ops', pr: 5 };
    seedComments(fake.store, 'acme/ops', 5, Array.from({ length: 130 }, (_, i) => `chatter ${i}`));
    seedComments(fake.store, 'acme/ops', 5, [`quoting it: ${planMarker('runbooks/a.yml', 'staging')}`]); // not first line: not ours
    const marker = planMarker('runbooks/a.yml', 'staging');
    const created = await upsertComment(gh, t, marker, `${marker}\nfirst plan`);
    expect(created.action).toBe('created');
    seedComments(fake.store, 'acme/ops', 5, Array.from({ length: 120 }, (_, i) => `more chatter ${i}`)); // ours is now on page 2 of 3
    fake.store.requests.length = 0;
    const updated = await upsertComment(gh, t, marker, `${marker}\nsecond plan`);
    expect(updated).toMatchObject({ action: 'updated', id: created.id });
    expect(fake.store.requests.filter((r) => r.method === 'GET')).toHaveLength(3); // every page was read
    const mine = fake.store.comments.get('acme/ops#5')!.filter((c) => c.body.startsWith(marker));
    expect(mine.map((c) => c.body)).toEqual([`${marker}\nsecond plan`]);
    expect((await upsertComment(gh, t, marker, `${marker}\nsecond plan`)).action).toBe('unchanged');
    const other = await upsertComment(gh, t, planMarker('runbooks/a.yml', 'prod'), 'prod plan');
    expect(other.action).toBe('created');
    expect(fake.store.comments.get('acme/ops#5')!.find((c) => c.id === other.id)!.body).toBe(`${planMarker('runbooks/a.yml', 'prod')}\nprod plan`);
    expect(fake.store.schemaErrors).toEqual([]); // every response matched GitHub's OpenAPI description
  });

  it('a bad token is an error that names the repository and PR but never the token', async () => {
    const gh = githubClient({ GITHUB_TOKEN: 'wrong-secret-token', GITHUB_API_URL: fake.url });
    const err = await upsertComment(gh, { owner: 'acme', repo: 'ops', pr: 9 }, planMarker('x', 'y'), 'b').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/cannot post the plan comment on acme\/ops#9: 401 .*is the token valid/);
    expect((err as Error).message).not.toContain('wrong-secret-token');
  });
});

describe('runbook plan --comment and --format markdown (the real CLI)', () => {
  const project = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-plan-comment-'));
    mkdirSync(join(dir, 'environments'));
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(join(dir, 'environments', 'dev.yml'), `transport: local\nvars: { root: "${dir}/out" }\ngroups:\n  web:\n    hosts:\n      h1: {}\n`);
    mkdirSync(join(dir, 'out'));
    return dir;
  };
  const runbook = (content: string): string =>
    `name: Write a file\nhosts: web\nenvironments: [dev]\ntasks:\n  - name: The file\n    copy: { content: "${content}\\n", dest: "{{ root }}/f.txt" }\n`;
  // async: the GitHub fake runs in this process, so a blocking spawnSync would starve it
  const cli = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Spawned> => spawnNode(BIN, args, { cwd: dir,
    env: { ...process.env, NO_COLOR: '1', GITHUB_TOKEN: fake.store.token, GITHUB_API_URL: fake.url, GITHUB_REPOSITORY: 'acme/web', GITHUB_EVENT_PATH: '', GITHUB_STEP_SUMMARY: '', ...env } });

  it('--format markdown: the summary on stdout, progress on stderr, nothing changed', async () => {
    const dir = project();
    writeFileSync(join(dir, 'runbooks', 'write.yml'), runbook('hello'));
    const r = await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--format', 'markdown']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('<!-- runbook-plan:runbooks/write.yml:dev -->');
    expect(r.stdout).toContain('+hello');
    expect(r.stderr).toMatch(/PLAN runbooks\/write\.yml on dev/);
    expect(r.stdout).not.toMatch(/PLAN runbooks/);
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
    expect(r.stdout).toContain('Not required: dev is not a protected environment.');
    writeFileSync(join(dir, 'environments', 'dev.yml'), `protected: true\n${readFileSync(join(dir, 'environments', 'dev.yml'), 'utf8')}`);
    const prot = await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--format', 'markdown'], { GITHUB_TOKEN: '', GH_TOKEN: '' });
    expect(prot.status).toBe(0);
    expect(prot.stdout).toContain('**protected** (apply needs the review gate)');
    expect(prot.stdout).toContain('gate: not evaluated (no GITHUB_TOKEN or GH_TOKEN).');
    expect(prot.stdout).toContain('- warning: runbooks/write.yml: runs on protected environment dev without rollback: and health:');
    expect((await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--format', 'html'])).status).toBe(2);
    expect((await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--format', 'markdown', '--json'])).status).toBe(2);
  });

  it('--comment creates the PR comment, and a later plan of a changed runbook updates the same one', async () => {
    const dir = project();
    writeFileSync(join(dir, 'runbooks', 'write.yml'), runbook('v1'));
    const event = join(dir, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 21 } }));
    const first = await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--comment'], { GITHUB_EVENT_PATH: event });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/plan comment created on acme\/web#21: https:\/\/github\.com\/acme\/web\/pull\/21#issuecomment-\d+/);
    writeFileSync(join(dir, 'runbooks', 'write.yml'), runbook('v2'));
    const second = await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--comment', '--pr', '21']);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/plan comment updated on acme\/web#21/);
    const comments = fake.store.comments.get('acme/web#21')!;
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.split('\n')[0]).toBe('<!-- runbook-plan:runbooks/write.yml:dev -->');
    expect(comments[0]!.body).toContain('+v2');
    expect(comments[0]!.body).not.toContain('+v1');
  });

  it('--comment without a token or a PR is an input error before anything runs (exit 2)', async () => {
    const dir = project();
    writeFileSync(join(dir, 'runbooks', 'write.yml'), runbook('x'));
    const noToken = await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--comment', '--pr', '3'], { GITHUB_TOKEN: '', GH_TOKEN: '' });
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toMatch(/GITHUB_TOKEN or GH_TOKEN/);
    const noPr = await cli(dir, ['plan', 'runbooks/write.yml', '-e', 'dev', '--comment']);
    expect(noPr.status).toBe(2);
    expect(noPr.stderr).toMatch(/pass --pr <number>/);
    expect(noPr.stdout).toBe('');
  });
});
