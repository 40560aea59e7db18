/**
 * A simulated machine for the demo and the end-to-end tests: its own HOME, CLI homes and working directory
 * under one temporary root, with the CLIs pointed at a scripted model server. Sharing only the store between
 * two of these is how baton shows a conversation moving between machines.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SCRIPTED_PROVIDER = 'baton-scripted';
export const SCRIPTED_API_KEY_VARIABLE = 'BATON_SCRIPTED_API_KEY';

export interface Machine {
  name: string;
  root: string;
  home: string;
  codexHome: string;
  cwd: string;
  /** The environment a CLI on this machine runs with: the parent's, with this machine's homes. */
  env: NodeJS.ProcessEnv;
  destroy(): Promise<void>;
}

/** config.toml that sends Codex to the scripted server over plain HTTP/SSE (`wire_api = "responses"`). */
export function scriptedCodexConfig(openaiBaseUrl: string): string {
  return [
    `model_provider = "${SCRIPTED_PROVIDER}"`,
    'model = "scripted-model"',
    '',
    `[model_providers.${SCRIPTED_PROVIDER}]`,
    'name = "baton scripted model (offline stand-in)"',
    `base_url = "${openaiBaseUrl}"`,
    'wire_api = "responses"',
    `env_key = "${SCRIPTED_API_KEY_VARIABLE}"`,
    '',
  ].join('\n');
}

export async function createMachine(parent: string, name: string, model: { openaiBaseUrl: string }, project = 'project'): Promise<Machine> {
  const root = join(parent, name);
  const home = join(root, 'home');
  const codexHome = join(root, 'codex-home');
  const cwd = join(root, project);
  await mkdir(home, { recursive: true });
  await mkdir(codexHome, { recursive: true, mode: 0o700 });
  await mkdir(cwd, { recursive: true });
  await writeFile(join(codexHome, 'config.toml'), scriptedCodexConfig(model.openaiBaseUrl), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, CODEX_HOME: codexHome, [SCRIPTED_API_KEY_VARIABLE]: 'scripted-key' };
  // Never hand a real key to a scripted run (nor write it into this machine's auth.json).
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_API_KEY;
  return { name, root, home, codexHome, cwd, env, destroy: () => rm(root, { recursive: true, force: true }) };
}
