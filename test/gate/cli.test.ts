// `runbook gate <runbook> -e <env>` through commander: prints the evidence (text or --json),
// finishes with 0 when the gate passes and throws GateRefusedError (exit 3) when it refuses.
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerGate } from '../../src/cli/gate.ts';
import { GateRefusedError } from '../../src/errors.ts';
import { OpenApi } from '../fakes/github/openapi.ts';
import { gateInput, honestWorld, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

function program(w: World, over: Parameters<typeof gateInput>[1] = {}) {
  const out: string[] = [];
  const codes: number[] = [];
  const seen: string[] = [];
  const p = new Command('runbook').exitOverride();
  registerGate(p, {
    loadForGate: async (runbook, env, inventory) => { seen.push(runbook, env, inventory); return { input: gateInput(w, over) }; },
    out: { write: (s: string) => out.push(s) }, done: (c) => codes.push(c),
  });
  return { p, out, codes, seen };
}

describe('runbook gate', () => {
  it('prints the evidence and finishes with 0 when the gate passes', async () => {
    world = (await honestWorld()).w;
    const { p, out, codes, seen } = program(world);
    await p.parseAsync(['gate', 'runbooks/deploy.yml', '-e', 'prod'], { from: 'user' });
    expect(seen).toEqual(['runbooks/deploy.yml', 'prod', './environments']);
    expect(codes).toEqual([0]);
    expect(out.join('')).toMatch(/review gate: PASSED[\s\S]*pull request #1 Change 1 by @bob[\s\S]*approvers +@alice[\s\S]*ok {3}approvals: 1 of 1/);
  });

  it('--json prints one JSON object; a refusal throws GateRefusedError with exit code 3', async () => {
    world = (await honestWorld()).w;
    const { p, out, codes } = program(world, { runbookEnvironments: ['staging'] });
    const e = await p.parseAsync(['gate', 'runbooks/deploy.yml', '-e', 'prod', '--json'], { from: 'user' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GateRefusedError);
    expect((e as GateRefusedError).exitCode).toBe(3);
    expect(codes).toEqual([]);
    const ev = JSON.parse(out.join('')) as { type: string; passed: boolean; rules: { rule: string; ok: boolean }[] };
    expect(ev).toMatchObject({ type: 'gate', passed: false });
    expect(ev.rules.find((r) => r.rule === 'environment')?.ok).toBe(false);
  });
});

describe('GitHub fake: responses are checked against the OpenAPI description', () => {
  it('rejects a body that breaks the schema and accepts the documented example', () => {
    const api = new OpenApi();
    const review = api.example<Record<string, unknown>[]>('pull-request-review-items');
    expect(api.check('/repos/{owner}/{repo}/pulls/{pull_number}/reviews', 'get', 200, review)).toEqual([]);
    const broken = [{ ...review[0], commit_id: 42, user: undefined }];
    expect(api.check('/repos/{owner}/{repo}/pulls/{pull_number}/reviews', 'get', 200, broken).join('\n')).toMatch(/commit_id|user/);
  });

  it('checks error bodies where GitHub documents them (a $ref to components/responses), and knows where it does not', () => {
    const api = new OpenApi();
    const permission = '/repos/{owner}/{repo}/collaborators/{username}/permission';
    expect(api.documents(permission, 'get', 404)).toBe(true);
    expect(api.documents('/repos/{owner}/{repo}/pulls/{pull_number}/reviews', 'get', 500)).toBe(false);
    expect(api.check(permission, 'get', 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })).toEqual([]);
    expect(api.check(permission, 'get', 404, { message: 404 }).join('\n')).toMatch(/message/);
  });
});
