/**
 * Whether Codex can reach its model in this environment, found without starting it (baton's preflight).
 * verified with codex 0.171: `codex exec` takes OPENAI_API_KEY, CODEX_API_KEY or CODEX_ACCESS_TOKEN from the
 * environment, or the login in $CODEX_HOME/auth.json; a `[model_providers.X]` table with `env_key` needs that
 * variable instead, and one without `env_key` (a local server) needs nothing. `codex login status` reads only
 * auth.json (it says "Not logged in", exit 1, with OPENAI_API_KEY set), so it is no help here.
 */
import { join } from 'node:path';
import { isFile } from '../../fs/exists.js';
import type { HarnessContext } from '../harness.js';
import { firstSet, type CredentialCheck } from '../preflight.js';
import { homeProvider } from './provider.js';

const KEY_VARIABLES = ['OPENAI_API_KEY', 'CODEX_API_KEY', 'CODEX_ACCESS_TOKEN'] as const;
/** Built-in providers with credentials of their own kind (a local server needs none; Bedrock takes AWS's): not checked here. */
const UNCHECKED_PROVIDERS: ReadonlySet<string> = new Set(['ollama', 'lmstudio', 'oss', 'amazon-bedrock']);

export async function codexCredentials(context: HarnessContext): Promise<CredentialCheck> {
  const provider = await homeProvider(context.home);
  if (provider.definition) {
    const envKey = provider.definition.env_key;
    if (typeof envKey !== 'string' || envKey === '') return { kind: 'found', source: `model provider "${provider.id}" (needs no key)` };
    if ((context.env[envKey] ?? '') !== '') return { kind: 'found', source: envKey };
    return {
      kind: 'missing',
      message: `Codex's model provider "${provider.id}" reads its key from ${envKey}, which is not set`,
      fix: `set ${envKey} (named by model_providers.${provider.id}.env_key in ${join(context.home, 'config.toml')})`,
    };
  }
  if (UNCHECKED_PROVIDERS.has(provider.id)) return { kind: 'found', source: `model provider "${provider.id}" (its own credentials)` };
  const variable = firstSet(context.env, KEY_VARIABLES);
  if (variable) return { kind: 'found', source: variable };
  const authJson = join(context.home, 'auth.json');
  if (await isFile(authJson)) return { kind: 'found', source: authJson };
  return {
    kind: 'missing',
    message: `Codex CLI is not logged in (no OPENAI_API_KEY and no ${authJson})`,
    fix: 'set OPENAI_API_KEY, or log in with `codex login` (a key: `printenv OPENAI_API_KEY | codex login --with-api-key`)',
  };
}
