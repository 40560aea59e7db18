/**
 * Codex against baton's scripted model server (src/testing/), for the demo and the tests. verified with codex
 * 0.171: with the built-in OpenAI provider Codex first tries a WebSocket transport; a `[model_providers]` table
 * with `wire_api = "responses"` makes it use plain HTTP/SSE.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScriptedHomeSetup } from '../harness.js';

export const SCRIPTED_PROVIDER = 'baton-scripted';
/** The variable the scripted provider's `env_key` names; it holds a stand-in, never a real key. */
export const SCRIPTED_API_KEY_VARIABLE = 'SCRIPTED_MODEL_API_KEY';

/** config.toml that sends Codex to the scripted server's OpenAI base URL (`http://127.0.0.1:PORT/v1`). */
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
    // verified with codex 0.171: it retries 401, 429, 5xx and dropped streams (default 4 requests, 5 streams, with
    // backoff), each announced as "Reconnecting... N/5"; a scripted failure should fail at once.
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
  ].join('\n');
}

export async function scriptedCodexHome(setup: ScriptedHomeSetup): Promise<Record<string, string>> {
  await writeFile(join(setup.home, 'config.toml'), scriptedCodexConfig(`${setup.url}/v1`), { mode: 0o600 });
  return { CODEX_HOME: setup.home, [SCRIPTED_API_KEY_VARIABLE]: 'scripted-key' };
}
