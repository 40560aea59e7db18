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
    // verified with claude 2.1.332: it retries a failed model call (401 and 429 too) with backoff for 40 s and more;
    // a scripted failure should fail at once, as the one the test asked for.
    CLAUDE_CODE_MAX_RETRIES: '0',
  };
}
