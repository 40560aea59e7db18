/**
 * A simulated machine for the demo and the end-to-end tests: its own HOME, CLI homes and working directory
 * under one temporary root, with the CLIs pointed at a scripted model server. Sharing only the store between
 * two of these is how baton shows a conversation moving between machines.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scriptedHome as scriptedOpencodeHome } from '../harness/opencode/harness.js';

export const SCRIPTED_PROVIDER = 'baton-scripted';
export const SCRIPTED_API_KEY_VARIABLE = 'SCRIPTED_MODEL_API_KEY';

export interface Machine {
  name: string;
  root: string;
  home: string;
  codexHome: string;
  claudeConfigDir: string;
  /** OpenCode's data directory (its sessions): `$XDG_DATA_HOME/opencode`, with the other XDG homes beside it. */
  opencodeHome: string;
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

/** A key that is obviously not a real one, for the CLIs that want an Anthropic key to talk to the scripted server. */
export const SCRIPTED_ANTHROPIC_KEY = 'sk-ant-scripted-offline-stand-in-0000000000';

export async function createMachine(parent: string, name: string, model: { url: string; openaiBaseUrl: string }, project = 'project'): Promise<Machine> {
  const root = join(parent, name);
  const home = join(root, 'home');
  const codexHome = join(root, 'codex-home');
  const claudeConfigDir = join(root, 'claude-config');
  const cwd = join(root, project);
  const opencodeRoot = join(root, 'opencode');
  await mkdir(home, { recursive: true });
  await mkdir(codexHome, { recursive: true, mode: 0o700 });
  await mkdir(claudeConfigDir, { recursive: true, mode: 0o700 });
  await mkdir(cwd, { recursive: true });
  await writeFile(join(codexHome, 'config.toml'), scriptedCodexConfig(model.openaiBaseUrl), { mode: 0o600 });
  const opencodeEnv = await scriptedOpencodeHome({ home: opencodeRoot, userHome: home, url: model.url });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    CODEX_HOME: codexHome,
    [SCRIPTED_API_KEY_VARIABLE]: 'scripted-key',
    CLAUDE_CONFIG_DIR: claudeConfigDir,
    ANTHROPIC_BASE_URL: model.url,
    ANTHROPIC_API_KEY: SCRIPTED_ANTHROPIC_KEY,
    // Keep Claude Code off the network: no telemetry, update checks or other side traffic.
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // OpenCode: its XDG homes, models.dev fetch off.
    ...opencodeEnv,
  };
  // Never hand a real key to a scripted run (nor write it into this machine's auth.json).
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_AUTH_TOKEN;
  return { name, root, home, codexHome, claudeConfigDir, opencodeHome: join(opencodeEnv.XDG_DATA_HOME!, 'opencode'), cwd, env, destroy: () => rm(root, { recursive: true, force: true }) };
}
