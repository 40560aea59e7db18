/** Harness id → harness. Adding a harness is one line here and one in load.ts (and its id in ids.ts). */
import { claudeHarness } from './claude/harness.js';
import { codexHarness } from './codex/harness.js';
import { geminiHarness } from './gemini/harness.js';
import { opencodeHarness } from './opencode/harness.js';
import type { Harness } from './harness.js';
import { HARNESS_IDS, type HarnessId } from './ids.js';
import { assertHarnessName } from './load.js';

// Each harness's resume state is its own (Harness<Resume>); the core only hands it back to the same harness.
const HARNESSES: Record<HarnessId, Harness> = {
  codex: codexHarness,
  claude: claudeHarness,
  gemini: geminiHarness,
  opencode: opencodeHarness,
};

export function getHarness(id: HarnessId): Harness {
  return HARNESSES[id];
}

export function harnessFromName(name: string): Harness {
  return getHarness(assertHarnessName(name));
}

export function listHarnesses(): Harness[] {
  return HARNESS_IDS.map((id) => getHarness(id));
}

/** Every variable through which an environment gives any harness's CLI a model key or endpoint. */
export function harnessModelKeyVariables(): string[] {
  return [...new Set(listHarnesses().flatMap((harness) => harness.modelKeyVariables))];
}

/** Every variable that names a harness's home: a fresh run home unsets them all. */
export function harnessHomeVariables(): string[] {
  return [...new Set(listHarnesses().flatMap((harness) => harness.homeVariables))].sort();
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
