/**
 * Which containment one run gets (src/sandbox/): the sandbox's writable places are the run's cwd and
 * workspace and the CLI's state; its environment is the machine's basics, what the harness reads, what
 * baton.config.json sets for the harness, and what the operator passes on.
 */
import { exists } from '../fs/exists.js';
import { homedir } from 'node:os';
import type { Harness, HarnessContext } from '../harness/harness.js';
import { probeBubblewrap } from '../sandbox/bubblewrap.js';
import { sandboxEnvironment } from '../sandbox/environment.js';
import type { Containment, SandboxMode } from '../sandbox/sandbox.js';

export interface SandboxOptions {
  mode: SandboxMode;
  /** HOME is the run's own (a worker's fresh home), writable in the sandbox; else the sandbox gets an empty one. */
  homeIsRunOwn?: boolean;
  /** More variables the sandbox gets: names, or prefixes ending in `*` (never BATON_*). */
  passEnvironment?: string[];
  /** Record a warning in the run that it is not sandboxed (a worker started with --sandbox none). */
  warnUnconfined?: boolean;
}

/** Fails with SANDBOX_UNAVAILABLE (and the fix) before anything is created, when the sandbox cannot run here. */
export async function assertSandboxAvailable(options: SandboxOptions | undefined): Promise<void> {
  if (options?.mode === 'bubblewrap') await probeBubblewrap({ sandbox: true });
}

export function runsAsRoot(options: SandboxOptions | undefined): boolean {
  return options?.mode !== 'bubblewrap' && process.getuid?.() === 0;
}

export async function containmentFor(input: {
  harness: Harness;
  context: HarnessContext;
  sandbox: SandboxOptions | undefined;
  workspaceDir: string | undefined;
  configuredVariables: string[];
}): Promise<Containment> {
  const { harness, context, sandbox } = input;
  if (sandbox?.mode !== 'bubblewrap') return { mode: 'none' };
  const needs = await harness.sandboxNeeds(context);
  const home = context.env.HOME || homedir();
  const candidates = [context.cwd, ...(input.workspaceDir ? [input.workspaceDir] : []), ...needs.statePaths, ...(sandbox.homeIsRunOwn ? [home] : [])];
  // bubblewrap refuses to bind what does not exist; prepare() has created the CLI's state by now.
  const writable = (await Promise.all(candidates.map(async (path) => ((await exists(path)) ? path : undefined)))).filter((path): path is string => path !== undefined);
  const env = sandboxEnvironment(context.env, { passOn: [...needs.environment, ...input.configuredVariables, ...(sandbox.passEnvironment ?? [])], home, user: 'baton' });
  return { mode: 'bubblewrap', confinement: { writable, readable: [], home, env } };
}
