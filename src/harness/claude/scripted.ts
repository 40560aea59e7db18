/** Claude Code against baton's scripted model server (src/testing/), for the demo and the tests. */
import type { ScriptedHomeSetup } from '../harness.js';

/** A key that is obviously not a real one: Claude Code wants an Anthropic key to talk to the scripted server. */
export const SCRIPTED_ANTHROPIC_KEY = 'sk-ant-scripted-offline-stand-in-0000000000';

export async function scriptedClaudeHome(setup: ScriptedHomeSetup): Promise<Record<string, string>> {
  return {
    CLAUDE_CONFIG_DIR: setup.home,
    ANTHROPIC_BASE_URL: setup.url,
    ANTHROPIC_API_KEY: SCRIPTED_ANTHROPIC_KEY,
    // Keep Claude Code off the network: no telemetry, update checks or other side traffic.
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
}
