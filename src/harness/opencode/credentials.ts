/**
 * Whether OpenCode can reach a model in this environment, found without starting it (baton's preflight).
 * OpenCode speaks to many providers; each takes its key from `opencode auth login` ($XDG_DATA_HOME/opencode/
 * auth.json), from a `provider.<id>.options` entry of its config (an apiKey, or a baseURL of a local server), or
 * from the provider's own variable (ANTHROPIC_API_KEY, OPENAI_API_KEY, …; verified with opencode 1.18.33 for
 * openai). Only when none of them is there at all does baton refuse; which provider a run uses is OpenCode's choice.
 */
import { join } from 'node:path';
import { isFile } from '../../fs/exists.js';
import { readJsonObject } from '../../fs/json-config.js';
import { isRecord } from '../../transcript/jsonl.js';
import type { HarnessContext } from '../harness.js';
import { firstSet, type CredentialCheck } from '../preflight.js';
import { opencodeDirectories } from './config.js';

const PROVIDER_VARIABLES = [
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'OPENROUTER_API_KEY',
  'GROQ_API_KEY',
  'XAI_API_KEY',
  'DEEPSEEK_API_KEY',
  'MISTRAL_API_KEY',
  'OPENCODE_API_KEY',
  'GITHUB_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AZURE_API_KEY',
  'GOOGLE_APPLICATION_CREDENTIALS',
] as const;

export async function opencodeCredentials(context: HarnessContext): Promise<CredentialCheck> {
  const variable = firstSet(context.env, PROVIDER_VARIABLES);
  if (variable) return { kind: 'found', source: variable };
  const directories = opencodeDirectories(context.env);
  const auth = join(directories.data, 'auth.json');
  if (await isFile(auth)) return { kind: 'found', source: auth };
  for (const path of [join(directories.config, 'opencode.json'), join(directories.config, 'opencode.jsonc'), join(directories.config, 'config.json')]) {
    const config = (await readJsonObject(path).catch(() => undefined))?.value;
    if (!config) continue;
    const providers = isRecord(config.provider) ? Object.entries(config.provider) : [];
    const configured = providers.find(([, provider]) => isRecord(provider) && isRecord(provider.options) && (typeof provider.options.apiKey === 'string' || typeof provider.options.baseURL === 'string'));
    if (configured) return { kind: 'found', source: `provider "${configured[0]}" in ${path}` };
  }
  // A project's own config may name a provider: OpenCode decides then.
  for (const name of ['opencode.json', 'opencode.jsonc']) if (await isFile(join(context.cwd, name))) return { kind: 'found', source: `${join(context.cwd, name)} (not checked)` };
  return {
    kind: 'missing',
    message: `OpenCode has no model credentials (no ${auth}, no provider key in its config, no provider variable such as ANTHROPIC_API_KEY or OPENAI_API_KEY)`,
    fix: 'run `opencode auth login`, or set your provider\'s key (e.g. ANTHROPIC_API_KEY)',
  };
}
