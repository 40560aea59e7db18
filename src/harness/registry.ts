/** Harness id → harness. Adding a harness is one line here (and its id in ids.ts). */
import { BatonError } from '../errors.js';
import { claudeHarness } from './claude/harness.js';
import { codexHarness } from './codex/harness.js';
import { opencodeHarness } from './opencode/harness.js';
import type { Harness } from './harness.js';
import { HARNESS_IDS, isHarnessId, type HarnessId } from './ids.js';

const HARNESSES: { [Id in HarnessId]: Harness<Id> } = {
  codex: codexHarness,
  claude: claudeHarness,
  opencode: opencodeHarness,
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

/**
 * Every harness's project files that run code, plus `.git` (a repository's config can run commands on any git
 * invocation, baton's own included: core.fsmonitor, core.hooksPath) for a workspace baton did not make a repository
 * of itself. A workspace can be resumed by any harness's agent, which may start another CLI: withheld for all.
 */
export function projectFilesThatRunCode(options: { gitRepositoryMadeByBaton: boolean }): string[] {
  const paths = new Set(listHarnesses().flatMap((harness) => harness.projectFilesThatRunCode));
  if (!options.gitRepositoryMadeByBaton) paths.add('.git');
  return [...paths].sort();
}
