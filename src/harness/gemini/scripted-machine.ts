/**
 * A Gemini CLI home for a simulated machine (src/testing/machine.ts): its own GEMINI_CLI_HOME, pointed at the
 * scripted model server with an obviously fake key. What a per-harness descriptor's test-machine setup provides.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScriptedHomeSetup } from '../harness.js';
import { GEMINI_HOME_VARIABLE, geminiSettingsPath } from './config.js';

export const SCRIPTED_GEMINI_KEY = 'gemini-scripted-offline-stand-in-0000000000';
/**
 * The model the scripted home names. verified with gemini 0.61.0: without a model (`auto`) every turn first makes
 * a routing call to `…:generateContent`; a named model goes straight to `…:streamGenerateContent`.
 */
export const SCRIPTED_GEMINI_MODEL = 'gemini-2.5-flash';

export async function scriptedGeminiHome(setup: ScriptedHomeSetup): Promise<Record<string, string>> {
  const { home } = setup;
  await mkdir(join(home, '.gemini'), { recursive: true, mode: 0o700 });
  await writeFile(geminiSettingsPath(home), `${JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, model: { name: SCRIPTED_GEMINI_MODEL } }, null, 2)}\n`, { mode: 0o600 });
  return { [GEMINI_HOME_VARIABLE]: home, GOOGLE_GEMINI_BASE_URL: setup.url, GEMINI_API_KEY: SCRIPTED_GEMINI_KEY };
}
