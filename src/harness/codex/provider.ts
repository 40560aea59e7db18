/**
 * Which model provider a resumed Codex thread runs under. A thread records the name of the provider it ran with,
 * and Codex holds a resume to that name; baton resumes conversations on other machines, whose homes name their
 * own provider (a laptop's OpenAI login or endpoint, a worker's model proxy). The resume is made to run under the
 * resuming home's provider by command-line overrides alone: no stored byte and no user file changes.
 *
 * verified with codex 0.171.0 (probed against the scripted model server, fresh CODEX_HOMEs):
 * - the name lives in the rollout: `session_meta.payload.model_provider`, and again in every
 *   `event_msg` `thread_settings_applied` (`payload.thread_settings.model_provider_id`); a home without a
 *   `state_5.sqlite` row for the thread takes the LAST `thread_settings_applied`'s name (session_meta's when there
 *   is none) and writes it into its `threads.model_provider` row, which later resumes in that home read instead;
 *   `turn_context` lines carry no provider;
 * - a resume in a home that does not define that name exits 1: "This chat uses model provider “X”, which is no
 *   longer configured…" (`modelProviderNotConfigured`); `-c model_provider=Y` (Y the home's own) does not help,
 *   nor do `-m` or `-c model_reasoning_effort`;
 * - a home that defines X but selects Y gets "Cannot change this thread's model provider from `X` to `Y` on
 *   resume": Codex does not switch a thread's provider. What works is keeping the NAME and changing what it
 *   means for this launch: `-c model_providers.X={…the home's provider…}` `-c model_provider="X"` — the requests
 *   go to the home's endpoint with its key, the config file is untouched, and the thread keeps the name X;
 * - built-in names (`openai`, `ollama`, `lmstudio`, `amazon-bedrock`) cannot be defined ("model_providers
 *   contains reserved built-in provider IDs"). A thread pinned to `openai` reaches another endpoint through
 *   `-c openai_base_url="…"` with `-c model_provider="openai"`; the built-in provider reads its key from
 *   auth.json, or in `codex exec` from CODEX_API_KEY (never from OPENAI_API_KEY; the TUI ignores CODEX_API_KEY and
 *   shows its sign-in screen when auth.json holds no key), and tries a WebSocket first (a server that answers the
 *   upgrade with 404 gets the same request over HTTP/SSE after a few seconds' retries);
 * - `-c` works before the subcommand (`codex -c … exec resume …`, `codex -c … resume …`).
 */
import { join } from 'node:path';
import { readFileIfExists } from '../../fs/private-files.js';
import { isRecord } from '../../transcript/jsonl.js';
import { loadToml, readToml } from './toml.js';

/** Codex's default provider: what a home runs under when its config names none. */
export const DEFAULT_CODEX_PROVIDER = 'openai';
/** Provider ids Codex defines itself; a config cannot redefine them. */
export const BUILT_IN_CODEX_PROVIDERS: ReadonlySet<string> = new Set(['openai', 'ollama', 'lmstudio', 'amazon-bedrock']);
/** A provider name baton puts into a dotted `-c` key: a TOML bare key, as Codex's own names are. */
const PROVIDER_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/** The provider a home runs under: its id and, for a provider its config.toml defines, that table. */
export interface HomeProvider {
  id: string;
  /** The `[model_providers.<id>]` table (absent for a built-in provider). */
  definition: Record<string, unknown> | undefined;
  /** `openai_base_url` from config.toml: where the built-in `openai` provider sends its requests. */
  openaiBaseUrl: string | undefined;
}

/** What a resume's launch adds: `-c` overrides (before the subcommand) and environment variables. */
export interface ProviderOverride {
  args: string[];
  env: Record<string, string>;
}

const NO_OVERRIDE: ProviderOverride = { args: [], env: {} };

/**
 * The provider name a rollout's thread is held to: the last `thread_settings_applied`'s `model_provider_id`,
 * else `session_meta.model_provider`. Lines that are not JSON are skipped, as Codex skips them.
 */
export function pinnedProvider(rollout: Buffer): string | undefined {
  const text = rollout.toString('utf8');
  let fromMeta: string | undefined;
  let lastApplied: string | undefined;
  for (const line of text.split('\n')) {
    // A cheap filter first: a rollout can hold many megabytes of tool output.
    const settings = line.includes('thread_settings_applied');
    if (!settings && (fromMeta !== undefined || !line.includes('"session_meta"'))) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isRecord(record) || !isRecord(record.payload)) continue;
    const payload = record.payload;
    if (record.type === 'session_meta' && fromMeta === undefined && typeof payload.model_provider === 'string') fromMeta = payload.model_provider;
    if (record.type === 'event_msg' && payload.type === 'thread_settings_applied' && isRecord(payload.thread_settings)) {
      const id = payload.thread_settings.model_provider_id;
      if (typeof id === 'string') lastApplied = id;
    }
  }
  const pinned = lastApplied ?? fromMeta;
  return pinned === '' ? undefined : pinned;
}

/**
 * The provider a home's config.toml selects (`model_provider`, or the active profile's), Codex's default
 * `openai` when it selects none, or when the file is missing or unreadable (prepare reports a bad file).
 */
export async function homeProvider(codexHome: string): Promise<HomeProvider> {
  const text = (await readFileIfExists(join(codexHome, 'config.toml')))?.toString('utf8');
  let document: Record<string, unknown> = {};
  if (text !== undefined && text.trim() !== '') {
    try {
      const parsed = readToml(text);
      if (isRecord(parsed)) document = parsed;
    } catch {
      // prepare() refused it already with CONFIG_INVALID; a launch never gets here with it.
    }
  }
  const profiles = isRecord(document.profiles) ? document.profiles : {};
  const profile = typeof document.profile === 'string' && isRecord(profiles[document.profile]) ? (profiles[document.profile] as Record<string, unknown>) : {};
  const selected = typeof profile.model_provider === 'string' ? profile.model_provider : document.model_provider;
  const id = typeof selected === 'string' && selected !== '' ? selected : DEFAULT_CODEX_PROVIDER;
  const providers = isRecord(document.model_providers) ? document.model_providers : {};
  const table = providers[id];
  const openaiBaseUrl = typeof document.openai_base_url === 'string' && document.openai_base_url !== '' ? document.openai_base_url : undefined;
  return { id, definition: isRecord(table) && !BUILT_IN_CODEX_PROVIDERS.has(id) ? table : undefined, openaiBaseUrl };
}

/**
 * The overrides that make a thread pinned to `pinned` run under the home's provider: none when they are the same
 * (or the thread names none), the home's provider under the thread's name when that name is not a built-in, and
 * the built-in `openai` pointed at the home's endpoint when the thread was pinned to it. `env` is the launch's
 * environment (a provider's `env_key` and OPENAI_BASE_URL are read from it).
 */
export async function providerOverride(pinned: string | undefined, home: HomeProvider, env: NodeJS.ProcessEnv): Promise<ProviderOverride> {
  if (pinned === undefined || pinned === home.id || !PROVIDER_NAME.test(pinned)) return NO_OVERRIDE;
  if (!BUILT_IN_CODEX_PROVIDERS.has(pinned)) {
    const definition = home.definition ?? builtInDefinition(home, env);
    if (!definition) return NO_OVERRIDE;
    return { args: ['-c', `model_providers.${pinned}=${await inlineToml(definition)}`, '-c', `model_provider=${JSON.stringify(pinned)}`], env: {} };
  }
  if (pinned !== DEFAULT_CODEX_PROVIDER || !home.definition) return NO_OVERRIDE;
  // The thread is held to the built-in `openai`: it is kept, and sent to the home's endpoint with the home's key
  // (headless: CODEX_API_KEY; the TUI takes the key from auth.json only, as a worker's prepared home has it).
  const args = ['-c', `model_provider=${JSON.stringify(pinned)}`];
  if (typeof home.definition.base_url === 'string') args.push('-c', `openai_base_url=${JSON.stringify(home.definition.base_url)}`);
  const keyVariable = home.definition.env_key;
  const key = typeof keyVariable === 'string' ? env[keyVariable] : undefined;
  return { args, env: key ? { CODEX_API_KEY: key } : {} };
}

/**
 * The built-in `openai` provider written out as a table, for a thread pinned to a custom name resumed in a home
 * that uses the built-in: OpenAI auth (auth.json's API key or ChatGPT login), the Responses API, and the home's
 * `openai_base_url` (or OPENAI_BASE_URL) when it sets one; without either Codex picks the base URL by the login.
 * Other built-ins (local model servers) have no table baton can copy.
 */
function builtInDefinition(home: HomeProvider, env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  if (home.id !== DEFAULT_CODEX_PROVIDER) return undefined;
  const baseUrl = home.openaiBaseUrl ?? (env.OPENAI_BASE_URL || undefined);
  return {
    name: 'OpenAI',
    ...(baseUrl ? { base_url: baseUrl } : {}),
    wire_api: 'responses',
    requires_openai_auth: true,
    supports_websockets: true,
  };
}

/** A table as one TOML inline table (the value of a `-c key=value`). */
export async function inlineToml(table: Record<string, unknown>): Promise<string> {
  const { stringify: stringifyToml } = await loadToml();
  const text = stringifyToml({ value: table }, { inlineTableStart: 0 }).trim();
  const prefix = 'value = ';
  if (!text.startsWith(prefix)) throw new Error(`unexpected TOML for an inline table: ${text}`);
  return text.slice(prefix.length);
}
