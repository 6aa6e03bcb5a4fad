// How long the gate takes against the fake and how many GitHub requests it makes (printed for the report),
// and that an empty file list can never pass.
import { afterEach, expect, it } from 'vitest';
import { evaluateGate } from '../../src/gate/index.ts';
import { failed, gateInput, honestWorld, refusal, type World } from '../fakes/github/scenario.ts';

let world: World | undefined;
afterEach(async () => { expect(world?.state.schemaErrors ?? []).toEqual([]); await world?.close(); world = undefined; });

it('the honest gate makes one request per endpoint and answers quickly', async () => {
  world = (await honestWorld()).w;
  await evaluateGate(gateInput(world));
  world.state.requests.length = 0;
  const started = performance.now();
  const ev = await evaluateGate(gateInput(world));
  const ms = performance.now() - started;
  console.log(`gate: ${world.state.requests.length} GitHub requests, ${ms.toFixed(0)} ms`);
  expect(ev.passed).toBe(true);
  expect(world.state.requests).toHaveLength(10);
});

it('no files to pin refuses', async () => {
  world = (await honestWorld()).w;
  expect(failed(await refusal(gateInput(world, { files: [] })), 'files')).toContain('no files to pin');
});
