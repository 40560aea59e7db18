/**
 * What baton's preflight costs a `baton run` before the spawn, per harness, in-process on a scripted machine (the
 * CLIs baton pins, credentials in variables and files): the first call on a fresh ~/.baton (the cache to create)
 * and the calls after it (what every later run pays). Issue 16's budget: ≤ 50 ms on the hot path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batonDirectory } from '../../src/config.js';
import type { HarnessId } from '../../src/harness/ids.js';
import { getHarness } from '../../src/harness/registry.js';
import { preflight } from '../../src/run/preflight.js';
import { createMachine } from '../../src/testing/machine.js';
import { summarise, timed, type Samples } from './stats.js';

export interface PreflightResult {
  first: number;
  warm: Samples;
  credentials: string;
  version: string | undefined;
}

export async function benchPreflight(harnessIds: HarnessId[], runs: number): Promise<Record<string, PreflightResult>> {
  const root = await mkdtemp(join(tmpdir(), 'baton-bench-preflight-'));
  try {
    const machine = await createMachine(root, 'machine', { url: 'http://127.0.0.1:9' });
    const results: Record<string, PreflightResult> = {};
    for (const id of harnessIds) {
      const harness = getHarness(id);
      const context = { home: harness.resolveHome(machine.env), cwd: machine.cwd, env: machine.env };
      const input = { harness, context, configuredCommand: undefined, batonDirectory: batonDirectory(machine.env) };
      const first = await timed(() => preflight(input));
      const warm: number[] = [];
      for (let index = 0; index < runs; index++) warm.push((await timed(() => preflight(input))).ms);
      results[id] = { first: first.ms, warm: summarise(warm), credentials: first.value.credentials, version: first.value.version };
    }
    return results;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
