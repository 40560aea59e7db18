/**
 * Whether Gemini CLI can reach its model in this environment, found without starting it (baton's preflight).
 * verified with gemini 0.61.0 (its bundle's validateAuthMethod and getAuthTypeFromEnv): the auth method is
 * settings.json's `security.auth.selectedType`, else one the environment implies (GOOGLE_GENAI_USE_GCA=true,
 * GOOGLE_GENAI_USE_VERTEXAI=true, GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY, CLOUD_SHELL=true,
 * GEMINI_CLI_USE_COMPUTE_ADC=true); with neither, `gemini -p` exits 41: "Please set an Auth method in your
 * …/settings.json or specify one of the following environment variables …". `gemini-api-key` needs GEMINI_API_KEY
 * or a key it stored (~/.gemini/gemini-credentials.json, or the keychain), `vertex-ai` GOOGLE_CLOUD_PROJECT and
 * GOOGLE_CLOUD_LOCATION or GOOGLE_API_KEY, `oauth-personal` a Google login (~/.gemini/oauth_creds.json). The CLI
 * also loads variables from a `.env` file (the cwd's .gemini/.env or .env, the home's): with one, baton cannot
 * tell, and lets the CLI decide. Gemini has no status command.
 */
import { join } from 'node:path';
import { isFile } from '../../fs/exists.js';
import { readJsonObject } from '../../fs/json-config.js';
import { isRecord } from '../../transcript/jsonl.js';
import type { HarnessContext } from '../harness.js';
import { firstSet, type CredentialCheck } from '../preflight.js';
import { geminiSettingsPath, geminiStateDirectory } from './config.js';

/** The auth method the environment implies, as the CLI itself picks it when settings.json names none. */
function authTypeFromEnvironment(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GOOGLE_GENAI_USE_GCA === 'true') return 'oauth-personal';
  if (env.GOOGLE_GENAI_USE_VERTEXAI === 'true') return 'vertex-ai';
  if ((env.GOOGLE_GEMINI_BASE_URL ?? '') !== '') return 'gateway';
  if ((env.GEMINI_API_KEY ?? '') !== '') return 'gemini-api-key';
  if (env.CLOUD_SHELL === 'true' || env.GEMINI_CLI_USE_COMPUTE_ADC === 'true') return 'compute-default-credentials';
  return undefined;
}

export async function geminiCredentials(context: HarnessContext): Promise<CredentialCheck> {
  const state = geminiStateDirectory(context.home);
  const settingsPath = geminiSettingsPath(context.home);
  const dotEnv = [join(context.cwd, '.gemini', '.env'), join(context.cwd, '.env'), join(state, '.env'), join(context.home, '.env')];
  for (const path of dotEnv) if (await isFile(path)) return { kind: 'found', source: `${path} (not checked)` };
  const settings = (await readJsonObject(settingsPath).catch(() => undefined))?.value ?? {};
  const security = isRecord(settings.security) ? settings.security : {};
  const auth = isRecord(security.auth) ? security.auth : {};
  const selected = typeof auth.selectedType === 'string' && auth.selectedType !== '' ? auth.selectedType : undefined;
  const method = selected ?? authTypeFromEnvironment(context.env);
  const missing = (message: string, fix: string): CredentialCheck => ({ kind: 'missing', message, fix });
  switch (method) {
    case undefined:
      return missing(`Gemini CLI has no auth method (none in ${settingsPath}, and no GEMINI_API_KEY)`, 'set GEMINI_API_KEY, or run `gemini` once and choose how to log in');
    case 'gemini-api-key': {
      if ((context.env.GEMINI_API_KEY ?? '') !== '') return { kind: 'found', source: 'GEMINI_API_KEY' };
      const stored = join(state, 'gemini-credentials.json');
      if (await isFile(stored)) return { kind: 'found', source: stored };
      return missing('Gemini CLI is set to use a Gemini API key, and GEMINI_API_KEY is not set', 'set GEMINI_API_KEY (a key from https://aistudio.google.com/apikey)');
    }
    case 'vertex-ai': {
      const variable = firstSet(context.env, ['GOOGLE_API_KEY']) ?? (firstSet(context.env, ['GOOGLE_CLOUD_PROJECT']) && firstSet(context.env, ['GOOGLE_CLOUD_LOCATION']) ? 'GOOGLE_CLOUD_PROJECT' : undefined);
      if (variable) return { kind: 'found', source: variable };
      return missing('Gemini CLI is set to use Vertex AI, and neither GOOGLE_CLOUD_PROJECT with GOOGLE_CLOUD_LOCATION nor GOOGLE_API_KEY is set', 'set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION (or GOOGLE_API_KEY)');
    }
    case 'oauth-personal': {
      const login = join(state, 'oauth_creds.json');
      if (await isFile(login)) return { kind: 'found', source: login };
      return missing(`Gemini CLI is set to log in with Google, and there is no login (${login})`, 'run `gemini` once and log in with Google, or set GEMINI_API_KEY and choose the API key');
    }
    default:
      return { kind: 'found', source: `auth method "${method}"` };
  }
}
