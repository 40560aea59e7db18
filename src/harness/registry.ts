/** Harness id → harness. Adding a harness is one line here (and its id in ids.ts). */
import { BatonError } from '../errors.js';
import { claudeHarness } from './claude/harness.js';
import { codexHarness } from './codex/harness.js';
import type { Harness } from './harness.js';
import { HARNESS_IDS, isHarnessId, type HarnessId } from './ids.js';

const HARNESSES: { [Id in HarnessId]: Harness<Id> } = {
  codex: codexHarness,
  claude: claudeHarness,
};

export function getHarness<Id extends HarnessId>(id: Id): Harness<Id> {
  return HARNESSES[id] as unknown as Harness<Id>;
}

export function harnessFromName(name: string): Harness {
  if (!isHarnessId(name)) {
    throw new BatonError('HARNESS_UNKNOWN', `unknown harness "${name}"`, { hint: `choose one of: ${HARNESS_IDS.join(', ')}` });
  }
  return getHarness(name) as Harness;
}

export function listHarnesses(): Harness[] {
  return HARNESS_IDS.map((id) => getHarness(id) as Harness);
}
