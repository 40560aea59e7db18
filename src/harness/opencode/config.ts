/**
 * OpenCode's directories and its global config, prepared for a headless run by merging, never clobbering.
 *
 * verified with opencode 1.18.33: state follows the XDG variables — sessions in `$XDG_DATA_HOME/opencode/opencode.db`
 * (SQLite, the only session store), the global config in `$XDG_CONFIG_HOME/opencode/opencode.json`, lock files in
 * `$XDG_STATE_HOME/opencode`, downloads in `$XDG_CACHE_HOME/opencode`; each defaults under HOME as the XDG spec says.
 * baton's "home" for OpenCode is the data directory: it holds the sessions.
 */
import { ManagedEntries } from '../../fs/managed-entries.js';
import type { McpServers, Skill } from '../../model/agent-setup.js';
import { mergeOpencodeMcpServers, opencodeLedgerPath, publishOpencodeSkills } from './setup.js';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PRIVATE_DIR_MODE, readFileIfExists, writePrivateFileAtomic } from '../../fs/private-files.js';
import { readJsonObject, writeJsonIfChanged } from '../../fs/json-config.js';
import { isRecord } from '../../transcript/jsonl.js';

/** The variables that place OpenCode's state (HOME supplies their defaults). */
export const OPENCODE_HOME_VARIABLES = ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME'] as const;
type HomeVariable = (typeof OPENCODE_HOME_VARIABLES)[number];

const XDG_DEFAULTS: Record<HomeVariable, string[]> = {
  XDG_DATA_HOME: ['.local', 'share'],
  XDG_CONFIG_HOME: ['.config'],
  XDG_CACHE_HOME: ['.cache'],
  XDG_STATE_HOME: ['.local', 'state'],
};

/** The base directory a variable names in this environment, or its XDG default under HOME. */
export function xdgBase(env: NodeJS.ProcessEnv, variable: HomeVariable): string {
  const value = env[variable];
  return resolve(value && value !== '' ? value : join(env.HOME || homedir(), ...XDG_DEFAULTS[variable]));
}

export interface OpencodeDirectories {
  /** `$XDG_DATA_HOME/opencode`: opencode.db (the sessions), log/, auth.json — baton's home for OpenCode. */
  data: string;
  config: string;
  cache: string;
  state: string;
}

export function opencodeDirectories(env: NodeJS.ProcessEnv): OpencodeDirectories {
  return {
    data: join(xdgBase(env, 'XDG_DATA_HOME'), 'opencode'),
    config: join(xdgBase(env, 'XDG_CONFIG_HOME'), 'opencode'),
    cache: join(xdgBase(env, 'XDG_CACHE_HOME'), 'opencode'),
    state: join(xdgBase(env, 'XDG_STATE_HOME'), 'opencode'),
  };
}

/**
 * The XDG variables with the values OpenCode would compute anyway: passed to the CLI explicitly, so that inside a
 * sandbox (whose HOME is another directory) it still finds the state bound there. Setting a variable to its own
 * default changes nothing for the commands the agent runs.
 */
export function xdgEnvironment(env: NodeJS.ProcessEnv): Record<HomeVariable, string> {
  return Object.fromEntries(OPENCODE_HOME_VARIABLES.map((variable) => [variable, xdgBase(env, variable)])) as Record<HomeVariable, string>;
}

export const CONFIG_FILE = 'opencode.json';
/** The provider baton points at a worker's model proxy: OpenCode's bundled `openai`, which speaks the Responses API. */
export const MODEL_PROXY_PROVIDER = 'openai';
/** The model a run behind the proxy uses when neither the run nor the config names one of that provider. */
export const DEFAULT_PROXY_MODEL = 'openai/gpt-5.1';
/** baton's system prompt file in the config dir, listed in `instructions`. */
export const SYSTEM_PROMPT_FILE = 'baton-system-prompt.md';

export interface OpencodePrepareInput {
  configDir: string;
  model: string | undefined;
  systemPrompt: string | undefined;
  mcpServers?: McpServers | undefined;
  skills?: Skill[] | undefined;
  modelEndpoint?: { baseUrl: string; token: string } | undefined;
}

/** `provider/model` as OpenCode names models; a bare name is taken as an OpenAI model. */
export function opencodeModel(model: string): string {
  return model.includes('/') ? model : `openai/${model}`;
}


/**
 * Merges what a headless run needs into `$XDG_CONFIG_HOME/opencode/opencode.json`; every key of the user's stays.
 * - `autoupdate: false` (a run must not upgrade the CLI under baton); `share` and `snapshot` only when unset:
 *   `share: "disabled"` keeps conversations off opencode.ai, `snapshot: false` skips the bare git copy of the
 *   worktree OpenCode takes at every step (verified with opencode 1.18.33: no `snapshot/` dir, no `snapshot` fields).
 * - Behind a worker's model proxy: `provider.openai.options` {baseURL, apiKey} and a model of that provider.
 * - A system prompt: a file of baton's in the config dir, listed in `instructions` (verified with 1.18.33: appended
 *   to the one system message, after the environment and AGENTS.md).
 * Permissions are not touched: the run passes `--auto` (approve what the config does not deny).
 */
export async function prepareOpencodeConfig(input: OpencodePrepareInput): Promise<void> {
  await mkdir(input.configDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await preventPluginInstall(input.configDir);
  const path = join(input.configDir, CONFIG_FILE);
  const { value: config, text: before } = await readJsonObject(path, 'fix the file (baton merges its settings into it and never rewrites a file it cannot read; comments belong in opencode.jsonc)');
  if (config.$schema === undefined && before === undefined) config.$schema = 'https://opencode.ai/config.json';
  config.autoupdate = false;
  config.share ??= 'disabled';
  config.snapshot ??= false;
  if (input.modelEndpoint) {
    const providers = isRecord(config.provider) ? config.provider : {};
    const provider = isRecord(providers[MODEL_PROXY_PROVIDER]) ? providers[MODEL_PROXY_PROVIDER] : {};
    const options = isRecord(provider.options) ? provider.options : {};
    providers[MODEL_PROXY_PROVIDER] = { ...provider, options: { ...options, baseURL: input.modelEndpoint.baseUrl, apiKey: input.modelEndpoint.token } };
    config.provider = providers;
    const model = input.model !== undefined ? opencodeModel(input.model) : typeof config.model === 'string' ? config.model : undefined;
    config.model = model?.startsWith(`${MODEL_PROXY_PROVIDER}/`) ? model : DEFAULT_PROXY_MODEL;
    // The title and summary model must not leave through another provider either.
    config.small_model = config.model;
  }
  const promptPath = join(input.configDir, SYSTEM_PROMPT_FILE);
  const instructions = Array.isArray(config.instructions) ? config.instructions.filter((entry) => entry !== promptPath) : [];
  if (input.systemPrompt !== undefined) {
    await writePrivateFileAtomic(promptPath, `${input.systemPrompt.trimEnd()}\n`);
    instructions.push(promptPath);
  }
  if (instructions.length > 0 || Array.isArray(config.instructions)) config.instructions = instructions;
  const ledger = await ManagedEntries.load(opencodeLedgerPath(input.configDir));
  const mcp = mergeOpencodeMcpServers(ledger, config.mcp, input.mcpServers, path);
  if (Object.keys(mcp).length > 0 || config.mcp !== undefined) config.mcp = mcp;
  await writeJsonIfChanged(path, config, before);
  await ledger.save();
  await publishOpencodeSkills(input.configDir, input.skills);
}

/**
 * verified with opencode 1.18.33: at every start OpenCode installs `@opencode-ai/plugin` into each config dir with an
 * embedded npm, in the background (64 MB from the registry; there is no flag for it). It skips the install when the
 * dir has `node_modules/` and a `package-lock.json` whose `packages[""]` lists every dependency it needs. baton
 * creates both when neither exists; a dir where the user installed plugins is left as it is.
 */
export async function preventPluginInstall(configDir: string): Promise<void> {
  const lockPath = join(configDir, 'package-lock.json');
  const modulesPath = join(configDir, 'node_modules');
  if ((await readFileIfExists(lockPath)) !== undefined) return;
  await mkdir(modulesPath, { recursive: true, mode: PRIVATE_DIR_MODE });
  await writePrivateFileAtomic(lockPath, `${JSON.stringify({ packages: { '': { dependencies: { '@opencode-ai/plugin': '*' } } } })}\n`);
}

/** The provider keys OpenCode's config holds (`provider.*.options.apiKey`), for redaction. */
export async function configuredApiKeys(configDir: string): Promise<string[]> {
  const text = (await readFileIfExists(join(configDir, CONFIG_FILE)))?.toString('utf8');
  if (!text) return [];
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return [];
  }
  const providers = isRecord(config) && isRecord(config.provider) ? config.provider : {};
  return Object.values(providers).flatMap((provider) => (isRecord(provider) && isRecord(provider.options) && typeof provider.options.apiKey === 'string' ? [provider.options.apiKey] : []));
}

/**
 * Readies a fresh OpenCode home for the scripted model server (tests, `baton demo`): its four XDG directories under
 * `home`, and a global config that sends the bundled `openai` provider (Responses API) to `url` with a stand-in key.
 * Returns the variables a CLI on that machine runs with.
 */
export async function scriptedHome(setup: { home: string; userHome: string; url: string }): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    XDG_DATA_HOME: join(setup.home, 'data'),
    XDG_CONFIG_HOME: join(setup.home, 'config'),
    XDG_CACHE_HOME: join(setup.home, 'cache'),
    XDG_STATE_HOME: join(setup.home, 'state'),
    // verified with opencode 1.18.33: without this it fetches the models.dev catalogue at every start.
    OPENCODE_DISABLE_MODELS_FETCH: '1',
  };
  for (const directory of Object.values(env).slice(0, 4)) await mkdir(join(directory, 'opencode'), { recursive: true, mode: PRIVATE_DIR_MODE });
  const configDir = join(env.XDG_CONFIG_HOME!, 'opencode');
  await preventPluginInstall(configDir);
  const config = {
    $schema: 'https://opencode.ai/config.json',
    autoupdate: false,
    share: 'disabled',
    snapshot: false,
    model: 'openai/gpt-5.1',
    small_model: 'openai/gpt-5.1',
    provider: { openai: { options: { baseURL: `${setup.url}/v1`, apiKey: 'scripted-key' } } },
  };
  await writePrivateFileAtomic(join(configDir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  return env;
}
