/**
 * Typed errors with stable codes. Every error a user can cause carries a one-line message and a hint
 * that says what to do; the CLI prints both and exits non-zero, the HTTP layer maps the code to a status.
 */
export type ErrorCode =
  | 'CONVERSATION_NOT_FOUND'
  | 'CONVERSATION_BUSY'
  | 'HARNESS_MISMATCH'
  | 'HARNESS_UNKNOWN'
  | 'TRANSCRIPT_CORRUPT'
  | 'TRANSCRIPT_NOT_FOUND'
  | 'REHYDRATE_CONFLICT'
  | 'WORKSPACE_CONFLICT'
  | 'WORKSPACE_UNTRUSTED'
  | 'WORKSPACE_ERROR'
  | 'SESSION_MISMATCH'
  | 'SESSION_ID_MISSING'
  | 'INVALID_SESSION_ID'
  | 'CLI_NOT_FOUND'
  /** The CLI failed, and what it said matches none of the classes below (its message is in the error). */
  | 'CLI_FAILED'
  /** The model API refused the CLI's credentials: not logged in, an invalid or revoked key (401/403). */
  | 'CLI_AUTH_FAILED'
  /** The model API's rate limit or the account's quota (429, RESOURCE_EXHAUSTED, insufficient_quota). */
  | 'MODEL_RATE_LIMITED'
  /** The model the run asked for does not exist, or the key has no access to it (404 on the model). */
  | 'MODEL_NOT_FOUND'
  /** The model API could not be reached or dropped the connection mid-reply (refused, reset, DNS, cut-off stream). */
  | 'MODEL_UNREACHABLE'
  /** The conversation no longer fits the model's context window: resuming it fails the same way. */
  | 'CONTEXT_TOO_LONG'
  /** The CLI died without ending its turn: killed by a signal baton did not send, or exited non-zero without a word. */
  | 'CLI_CRASHED'
  /** The CLI printed nothing and its transcript did not grow for the stall timeout (--stall-timeout): baton stopped it. */
  | 'STALLED'
  /** The run reached its time limit (--max-run-time): baton stopped it. */
  | 'RUN_TIME_EXCEEDED'
  /** Preflight: the CLI has no credentials it would find (no key variable, no login in its home). */
  | 'CLI_NOT_LOGGED_IN'
  /** Preflight: the working directory is not one the agent can read and write. */
  | 'CWD_UNUSABLE'
  | 'CONFIG_INVALID'
  /** The CLI's config already has an entry (an MCP server, a skill folder) of that name that baton did not write. */
  | 'CONFIG_CONFLICT'
  /** An agent setup's skill folder or MCP config file that cannot be used as it is. */
  | 'SKILL_INVALID'
  | 'MCP_CONFIG_INVALID'
  /** An MCP server's `${NAME}` names a variable the run's environment does not have. */
  | 'MCP_VARIABLE_MISSING'
  | 'IMPORT_INVALID'
  | 'STORE_ERROR'
  /** Another process on this machine held the SQLite store's write lock past the busy timeout. */
  | 'STORE_BUSY'
  /** The store is encrypted and no master key was given (BATON_MASTER_KEY or --master-key-file). */
  | 'STORE_KEY_MISSING'
  /** The master key given does not open the store (or a data key does not unwrap with it). */
  | 'STORE_KEY_WRONG'
  /** A master key was given for a store that is not encrypted: refused rather than writing plaintext. */
  | 'STORE_NOT_ENCRYPTED'
  /** The object storage of chunk bodies and workspace blobs (--blobs) fails: unreachable, no such bucket, denied. */
  | 'BLOB_STORE_ERROR'
  /** The store's rows name bodies in object storage, and it was opened without --blobs (or with another one). */
  | 'BLOB_STORE_MISSING'
  /** A master key, key file or passphrase file that is malformed or readable by others. */
  | 'KEY_INVALID'
  /** An encrypted export file, and no (or the wrong) passphrase or key file to open it. */
  | 'EXPORT_KEY_MISSING'
  | 'EXPORT_KEY_WRONG'
  | 'SERVER_ERROR'
  | 'SANDBOX_UNAVAILABLE'
  | 'LEASE_LOST'
  | 'TOKEN_NOT_FOUND'
  | 'TOKEN_LIMIT_EXCEEDED'
  | 'MODEL_PROXY_ERROR'
  /** `baton adopt`: no session of that CLI matched (by id, file or --latest for the cwd). */
  | 'SESSION_NOT_FOUND'
  /** `baton adopt FILE`: the file is not a session of the harness named. */
  | 'SESSION_FILE_INVALID'
  /** `baton adopt`: the session is already a conversation in the store (adopted before, or started by baton). */
  | 'SESSION_ALREADY_ADOPTED'
  /** `baton adopt --sync`: the local copy no longer extends what the store holds (one of them was rewritten). */
  | 'SESSION_DIVERGED'
  | 'USAGE';

export class BatonError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BatonError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isBatonError(error: unknown, code?: ErrorCode): error is BatonError {
  return error instanceof BatonError && (code === undefined || error.code === code);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A value from outside (an import, a request, a stored row) as it may appear inside a message: quoted, every
 * control character and bidirectional override escaped, and cut to `max` characters, so a message stays one
 * readable line whatever the value holds.
 */
export function quoted(value: string, max = 120): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  // JSON.stringify escapes C0 controls, quotes, backslashes and lone surrogates; DEL, C1 and bidi controls too:
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An error's message as part of another one-line message: control characters blanked, cut to `max` characters (a path in it may be hostile and long). */
export function errorSummary(error: unknown, max = 300): string {
  const message = errorMessage(error).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return message.length > max ? `${message.slice(0, max)}…` : message;
}

/** Codes of a refusal before anything ran (preflight, usage): the CLI exits 2 for them, as for a usage error. */
export const NOTHING_RAN_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'CLI_NOT_FOUND', 'CLI_NOT_LOGGED_IN', 'CWD_UNUSABLE']);
