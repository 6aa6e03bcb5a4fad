// `plan --comment`: where the comment goes (repository, PR number) and create-then-update of one
// comment per runbook and environment against the GitHub fake (test/fakes/github).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { githubClient, parseRemote, resolvePullNumber, resolveRepository } from '../../src/cli/comment.ts';

describe('where the plan comment goes', () => {
  it('reads owner/name from every usual remote URL form', () => {
    expect(parseRemote('https://github.com/acme/web-app.git\n')).toEqual({ owner: 'acme', repo: 'web-app' });
    expect(parseRemote('https://github.com/acme/web-app')).toEqual({ owner: 'acme', repo: 'web-app' });
    expect(parseRemote('https://x-access-token:abc@github.example.com/acme/web.app.git')).toEqual({ owner: 'acme', repo: 'web.app' });
    expect(parseRemote('git@github.com:acme/web-app.git')).toEqual({ owner: 'acme', repo: 'web-app' });
    expect(parseRemote('ssh://git@github.com/acme/web-app.git')).toEqual({ owner: 'acme', repo: 'web-app' });
    expect(parseRemote('/srv/git/repo.git')).toBeUndefined();
  });

  it('prefers GITHUB_REPOSITORY, else the origin remote, else says what to set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-comment-'));
    execFileSync('git', ['init', '-q'], { cwd: dir });
    expect(() => resolveRepository({}, dir)).toThrow(/set GITHUB_REPOSITORY=owner\/name or add a git remote named origin/);
    execFileSync('git', ['remote', 'add', 'origin', 'git@github.com:acme/ops.git'], { cwd: dir });
    expect(resolveRepository({}, dir)).toEqual({ owner: 'acme', repo: 'ops' });
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
