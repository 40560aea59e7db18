/**
 * A simulated machine for the demo and the end-to-end tests: its own HOME, a home for each harness's CLI and a
 * working directory under one temporary root, with every CLI pointed at a scripted model server (each harness
 * says how: Harness.scriptedHome). Sharing only the store between two of these is how baton shows a
 * conversation moving between machines.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HarnessId } from '../harness/ids.js';
import { listHarnesses } from '../harness/registry.js';

export interface Machine {
  name: string;
  root: string;
  home: string;
  /** The home of each harness's CLI on this machine (what its home variable names). */
  homes: Record<HarnessId, string>;
  cwd: string;
  /** The environment a CLI on this machine runs with: the parent's, with this machine's homes. */
  env: NodeJS.ProcessEnv;
  destroy(): Promise<void>;
}

/** The variables the scripted homes set that hold a stand-in key (a fleet's operator removes them). */
export const SCRIPTED_KEY_VARIABLES = ['SCRIPTED_MODEL_API_KEY'] as const;

export async function createMachine(parent: string, name: string, model: { url: string }, project = 'project'): Promise<Machine> {
  const root = join(parent, name);
  const home = join(root, 'home');
  const cwd = join(root, project);
  await mkdir(home, { recursive: true });
  await mkdir(cwd, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  // Never hand a real key to a scripted run (nor write it into this machine's CLI homes).
  for (const variable of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'GEMINI_API_KEY', 'GOOGLE_API_KEY']) delete env[variable];
  const homes = {} as Record<HarnessId, string>;
  for (const harness of listHarnesses()) {
    const cliHome = join(root, `${harness.id}-home`);
    await mkdir(cliHome, { recursive: true, mode: 0o700 });
    homes[harness.id] = cliHome;
    Object.assign(env, await harness.scriptedHome({ home: cliHome, userHome: home, url: model.url }));
  }
  return { name, root, home, homes, cwd, env, destroy: () => rm(root, { recursive: true, force: true }) };
}
