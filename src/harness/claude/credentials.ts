/**
 * Whether Claude Code can reach its model in this environment, found without starting it (baton's preflight).
 * verified with Claude Code 2.1.332: it takes ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN (or CLAUDE_CODE_OAUTH_TOKEN
 * from `claude setup-token`), a subscription login in $CLAUDE_CONFIG_DIR/.credentials.json, an `apiKeyHelper` or
 * an `env` key in its settings.json, or a cloud provider (CLAUDE_CODE_USE_BEDROCK / _VERTEX / _FOUNDRY). Without
 * any, `claude -p` prints "Not logged in · Please run /login" and exits 1. `claude auth status --json` answers
 * `{"loggedIn": false, "authMethod": "none", …}` (exit 1) in ~0.4 s: asked before refusing, for logins the files
 * here do not show.
 */
import { join } from 'node:path';
import { isFile } from '../../fs/exists.js';
import { readJsonObject } from '../../fs/json-config.js';
import { isRecord } from '../../transcript/jsonl.js';
import type { HarnessContext } from '../harness.js';
import { firstSet, type CredentialCheck } from '../preflight.js';

const KEY_VARIABLES = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX', 'CLAUDE_CODE_USE_FOUNDRY'] as const;

export async function claudeCredentials(context: HarnessContext): Promise<CredentialCheck> {
  const variable = firstSet(context.env, KEY_VARIABLES);
  if (variable) return { kind: 'found', source: variable };
  const credentials = join(context.home, '.credentials.json');
  if (await isFile(credentials)) return { kind: 'found', source: credentials };
  const settingsPath = join(context.home, 'settings.json');
  const settings = (await readJsonObject(settingsPath).catch(() => undefined))?.value ?? {};
  if (typeof settings.apiKeyHelper === 'string' && settings.apiKeyHelper !== '') return { kind: 'found', source: `apiKeyHelper in ${settingsPath}` };
  const settingsEnv = isRecord(settings.env) ? (settings.env as NodeJS.ProcessEnv) : {};
  const inSettings = firstSet(settingsEnv, KEY_VARIABLES);
  if (inSettings) return { kind: 'found', source: `${inSettings} in ${settingsPath}` };
  return {
    kind: 'missing',
    message: `Claude Code is not logged in (no ANTHROPIC_API_KEY and no ${credentials})`,
    fix: 'set ANTHROPIC_API_KEY, or log in with `claude` and /login (for scripts: `claude setup-token`, then CLAUDE_CODE_OAUTH_TOKEN)',
    askCli: { args: ['auth', 'status', '--json'], loggedIn: claudeLoggedIn },
  };
}

/** `claude auth status --json`: `{"loggedIn": true, …}`, exit 0, when logged in. */
export function claudeLoggedIn(stdout: string, exitCode: number | null): boolean {
  try {
    const status: unknown = JSON.parse(stdout);
    return exitCode === 0 && isRecord(status) && status.loggedIn === true;
  } catch {
    return false;
  }
}
