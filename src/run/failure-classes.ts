/**
 * What went wrong when a CLI failed, read from what the CLI itself said: its failed turn's message, its error
 * events, the end of its stderr. Each CLI words a model API failure its own way (below, as each was seen against
 * the scripted model server answering 401, 429, 404 and 400 and dropping a stream); the classes are baton's, with
 * stable codes (src/errors.ts), so that the CLI, the API and the web UI can say what to do about it.
 *
 * verified with codex 0.171 (`codex exec --json`, exit 1, nothing on stderr but "Reading additional input from
 * stdin..."): every failure is an `error` event then `turn.failed` with the same message —
 *   401: "unexpected status 401 Unauthorized: Incorrect API key provided: …, url: http://…/v1/responses"
 *   429: "exceeded retry limit, last status: 429 Too Many Requests" (the API's message is not passed on)
 *   404: "The model `scripted-model` does not exist or you do not have access to it." (the API's own message)
 *   400 context_length_exceeded: "Codex ran out of room in the model's context window. Start a new thread …"
 *   dropped stream: "stream disconnected before completion: Transport error: network error: error decoding response body"
 * and before giving up it retries 401, 429, 5xx and dropped streams, each announced as an `error` event
 * "Reconnecting... N/5 (…)": `stream_max_retries` / `request_max_retries` in the provider table (default 5 and 4).
 *
 * verified with claude 2.1.332 (`-p --output-format stream-json`, exit 1, stderr empty): the turn ends with a
 * `result` event `is_error: true` whose `result` is the message, with `api_error_status` and `terminal_reason` —
 *   401: "Invalid API key · Fix external API key"; 429: "API Error: Request rejected (429) · Number of request …";
 *   dropped stream: "API Error: Connection to the API was lost (ECONNRESET). This is usually temporary — try again.";
 *   refused: "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)";
 *   400 prompt too long: terminal_reason "prompt_too_long".
 * It retries (with backoff, ~40 s and more for a 401) unless CLAUDE_CODE_MAX_RETRIES says otherwise.
 *
 * verified with gemini 0.61.0 (stream-json): a `result` event `status: "error"` whose message is the API's JSON,
 *   401: "[API Error: {"error":{"code":401,"message":"API key not valid. …","status":"UNAUTHENTICATED"}}]";
 *   404: stderr "ModelNotFoundError: models/scripted-model is not found for API version v1beta";
 *   400: stderr "… The input token count (1100000) exceeds the maximum number of tokens allowed …";
 * a 429 or an unreachable server it retries with backoff for more than 40 s.
 *
 * verified with opencode 1.18.33 (`run --format json`, Anthropic provider): after a 401, a 429 or a dropped stream
 * it made one request, printed nothing more and had not exited 15 s later: only the stall timeout ends such a run
 * (run-limits.ts), and its STALLED error then carries whatever it last said.
 */
import type { ErrorCode } from '../errors.js';

/** The classes read from a CLI's words; CLI_CRASHED and CLI_FAILED are decided from its exit (outcome.ts). */
export type ClassifiedFailureCode = Extract<ErrorCode, 'CLI_AUTH_FAILED' | 'MODEL_RATE_LIMITED' | 'MODEL_NOT_FOUND' | 'MODEL_UNREACHABLE' | 'CONTEXT_TOO_LONG'>;

/** In the order they are tried: a context-window message may carry a 400, a 404 on a model is not a network failure. */
const RULES: ReadonlyArray<{ code: ClassifiedFailureCode; pattern: RegExp }> = [
  {
    code: 'CONTEXT_TOO_LONG',
    pattern: /context[ _-]?(window|length)|prompt[ _-]is[ _-]too[ _-]long|input is too long|too many (input )?tokens|exceeds the maximum number of tokens|maximum context/i,
  },
  {
    code: 'CLI_AUTH_FAILED',
    pattern: /\b401\b|\b403\b|unauthori[sz]ed|unauthenticated|invalid[ _-](x-)?api[ _-]?key|incorrect api key|api key not valid|not logged in|please run \/login|\/login\b|authentication[ _-](error|failed)|invalid[ _-]authentication|permission_(denied|error)|forbidden|credentials? (are |is )?(missing|invalid|expired)|token (has )?expired/i,
  },
  {
    code: 'MODEL_RATE_LIMITED',
    pattern: /\b429\b|rate[ _-]?limit|too many requests|quota|resource[ _-]exhausted|usage limit|overloaded/i,
  },
  {
    code: 'MODEL_NOT_FOUND',
    pattern: /model\b[^\n]{0,120}\b(does not exist|not found|not_found|is not supported|unknown)|model_not_found|modelnotfound|unknown model|invalid model|no such model|not_found_error/i,
  },
  {
    code: 'MODEL_UNREACHABLE',
    pattern: /econnrefused|econnreset|enotfound|etimedout|ehostunreach|enetunreach|eai_again|connection (was )?(refused|reset|lost|closed|error)|stream disconnected|network error|error sending request|fetch failed|socket hang up|waiting for network|unable to connect|could not connect|getaddrinfo|connect(ion)? timed? ?out|premature close/i,
  },
];

/** Codex's notice that it is about to retry: it names the cause, but the run may still succeed. */
const RETRY_NOTICE = /^reconnecting\b/i;

export function isRetryNotice(message: string): boolean {
  return RETRY_NOTICE.test(message.trim());
}

/** The class of one message, if it has one. */
export function classifyMessage(message: string): ClassifiedFailureCode | undefined {
  return RULES.find((rule) => rule.pattern.test(message))?.code;
}

export interface CliWords {
  /** The messages of the CLI's failed turns (turn.failed), oldest first. */
  turnFailures: readonly string[];
  /** The messages of its error events, oldest first (Codex's retry notices among them). */
  errors: readonly string[];
  /** The last lines of its stderr, oldest first. */
  stderrTail: readonly string[];
}

export interface ClassifiedFailure {
  code: ClassifiedFailureCode;
  /** What the CLI said, the line it was recognised in. */
  message: string;
}

/**
 * The failure the CLI's words name, from the most telling to the least: its failed turn's message (its own
 * summary), its last error events, its stderr (newest first), and last its retry notices (which say what it was
 * retrying when it gave up without saying more).
 */
export function classifyCliFailure(words: CliWords): ClassifiedFailure | undefined {
  const newestFirst = (items: readonly string[]): string[] => [...items].reverse();
  const errors = newestFirst(words.errors);
  const candidates = [...newestFirst(words.turnFailures), ...errors.filter((message) => !isRetryNotice(message)), ...newestFirst(words.stderrTail), ...errors.filter(isRetryNotice)];
  for (const message of candidates) {
    const code = classifyMessage(message);
    if (code) return { code, message };
  }
  return undefined;
}

/** What each class means, as the first half of the run's error (the CLI's own words follow). */
export function describeFailureClass(code: ClassifiedFailureCode, cliName: string): string {
  switch (code) {
    case 'CLI_AUTH_FAILED':
      return `${cliName} could not authenticate with the model API (not logged in, or the API key is invalid)`;
    case 'MODEL_RATE_LIMITED':
      return `the model API refused ${cliName}'s request: rate limit or quota reached`;
    case 'MODEL_NOT_FOUND':
      return `the model ${cliName} asked for does not exist or this key has no access to it`;
    case 'MODEL_UNREACHABLE':
      return `${cliName} could not reach the model API, or the connection dropped mid-reply`;
    case 'CONTEXT_TOO_LONG':
      return `the conversation no longer fits the model's context window`;
  }
}
