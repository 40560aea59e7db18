/**
 * The failure classes read from what each real CLI said (the messages below were printed by the pinned CLIs
 * against the scripted model server answering 401, 429, 404, 400 and dropping the stream; see failure-classes.ts).
 */
import { describe, expect, it } from 'vitest';
import { classifyCliFailure, classifyMessage } from '../../src/run/failure-classes.js';

const CASES: Array<[string, string, string]> = [
  ['codex 401', 'unexpected status 401 Unauthorized: Incorrect API key provided: scripted-key. You can find your API key at https://platform.openai.com/account/api-keys., url: http://127.0.0.1:35701/v1/responses', 'CLI_AUTH_FAILED'],
  ['codex 429', 'exceeded retry limit, last status: 429 Too Many Requests', 'MODEL_RATE_LIMITED'],
  ['codex 404', 'The model `scripted-model` does not exist or you do not have access to it.', 'MODEL_NOT_FOUND'],
  ['codex 400', "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.", 'CONTEXT_TOO_LONG'],
  ['codex dropped stream', 'stream disconnected before completion: Transport error: network error: error decoding response body', 'MODEL_UNREACHABLE'],
  ['claude 401', 'Invalid API key · Fix external API key', 'CLI_AUTH_FAILED'],
  ['claude not logged in', 'Not logged in · Please run /login', 'CLI_AUTH_FAILED'],
  ['claude 429', 'API Error: Request rejected (429) · Number of request tokens has exceeded your per-minute rate limit', 'MODEL_RATE_LIMITED'],
  ['claude dropped stream', 'API Error: Connection to the API was lost (ECONNRESET). This is usually temporary — try again.', 'MODEL_UNREACHABLE'],
  ['claude refused', 'API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)', 'MODEL_UNREACHABLE'],
  ['gemini 401', '[API Error: {"error":{"code":401,"message":"API key not valid. Please pass a valid API key.","status":"UNAUTHENTICATED"}}]', 'CLI_AUTH_FAILED'],
  ['gemini 404', 'ModelNotFoundError: models/scripted-model is not found for API version v1beta', 'MODEL_NOT_FOUND'],
  ['gemini 400', '_ApiError: {"error":{"code":400,"message":"The input token count (1100000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}', 'CONTEXT_TOO_LONG'],
];

describe('each CLI\'s own words name the failure', () => {
  for (const [name, message, code] of CASES) {
    it(`${name} → ${code}`, () => expect(classifyMessage(message)).toBe(code));
  }

  it('a message of no class names none', () => {
    expect(classifyMessage('the turn failed')).toBeUndefined();
    expect(classifyMessage('Error: EACCES: permission to write /home/x')).toBeUndefined();
  });
});

describe('which of the CLI\'s words count', () => {
  it('its failed turn first, then its errors, then its stderr, newest first', () => {
    expect(classifyCliFailure({ turnFailures: ['exceeded retry limit, last status: 429 Too Many Requests'], errors: ['stream disconnected'], stderrTail: ['401'] })?.code).toBe('MODEL_RATE_LIMITED');
    expect(classifyCliFailure({ turnFailures: ['the turn failed'], errors: ['fetch failed'], stderrTail: ['invalid api key'] })?.code).toBe('MODEL_UNREACHABLE');
    expect(classifyCliFailure({ turnFailures: [], errors: [], stderrTail: ['ModelNotFoundError: models/x is not found', 'at retry'] })?.code).toBe('MODEL_NOT_FOUND');
  });

  it('Codex\'s retry notices count last: they say what it was retrying when it gave up without a word', () => {
    const notice = 'Reconnecting... 5/5 (unexpected status 401 Unauthorized: Incorrect API key provided)';
    expect(classifyCliFailure({ turnFailures: ['the turn failed'], errors: [notice, 'stream disconnected before completion'], stderrTail: [] })?.code).toBe('MODEL_UNREACHABLE');
    expect(classifyCliFailure({ turnFailures: [], errors: [notice], stderrTail: [] })).toEqual({ code: 'CLI_AUTH_FAILED', message: notice });
  });
});
