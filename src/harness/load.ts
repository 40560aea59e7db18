/**
 * A harness loaded by id on demand: `baton run` imports only the harness it runs (each one's transcript readers,
 * config writers and their packages are a share of every run's start-up). registry.ts holds them all, for
 * everything else; test/harness/load.test.ts checks that both give the same harness for every id.
 */
import { BatonError } from '../errors.js';
import type { Harness } from './harness.js';
import { HARNESS_IDS, isHarnessId, type HarnessId } from './ids.js';

const LOADERS: Record<HarnessId, () => Promise<Harness>> = {
  codex: async () => (await import('./codex/harness.js')).codexHarness,
  claude: async () => (await import('./claude/harness.js')).claudeHarness,
  gemini: async () => (await import('./gemini/harness.js')).geminiHarness,
  opencode: async () => (await import('./opencode/harness.js')).opencodeHarness,
};

export function loadHarness(id: HarnessId): Promise<Harness> {
  return LOADERS[id]();
}

/** HARNESS_UNKNOWN for a name that is no harness's id. */
export function assertHarnessName(name: string): HarnessId {
  if (!isHarnessId(name)) {
    throw new BatonError('HARNESS_UNKNOWN', `unknown harness "${name}"`, { hint: `choose one of: ${HARNESS_IDS.join(', ')}` });
  }
  return name;
}
