/** What a run is given (RunOptions) and what it returns (RunResult): the runner's public types. */
import type { BatonConfig } from '../config.js';
import type { ErrorCode } from '../errors.js';
import type { InteractivePermissions } from '../harness/harness.js';
import type { HarnessId } from '../harness/ids.js';
import type { AgentSetup } from '../model/agent-setup.js';
import type { KnownSecret } from '../redact/known-secrets.js';
import type { FinishedRunStatus, Store } from '../store/store.js';
import type { RestoreMode } from '../workspace/workspace.js';
import type { SandboxOptions } from './containment.js';
import type { TimedEvent } from './events.js';
import type { ModelAccess } from './model-access.js';

export const DEFAULT_SAVE_INTERVAL_MS = 5_000;
export const DEFAULT_LEASE_MS = 30_000;

export interface RunOptions {
  store: Store;
  prompt: string;
  /** The run's working directory; created if missing on resume. */
  cwd: string;
  /**
   * The agent setup given for this run (model, effort, system prompt, MCP servers, skills): a new conversation
   * is stored with it; on a resume the options given replace the conversation's and are stored for later runs.
   */
  setup?: AgentSetup | undefined;
  /** The environment the CLI inherits (and where its home is resolved from); default process.env. */
  env?: NodeJS.ProcessEnv;
  config?: BatonConfig;
  /** Aborting interrupts the CLI (SIGINT to its process group); the run still gets its final save. */
  signal?: AbortSignal;
  onEvent?: (event: TimedEvent) => void;
  /** The working directory travels with the conversation (see src/workspace/); on by default. */
  workspace?: WorkspaceOptions;
  saveIntervalMs?: number;
  leaseMs?: number;
  host?: string;
  /** Store events this soon after they happen (for live followers elsewhere); default: with each save. */
  eventFlushMs?: number;
  /** How the CLI is contained (src/sandbox/); default: no sandbox, but nothing outlives the run. */
  sandbox?: SandboxOptions;
  /**
   * What is redacted from everything the run saves or streams (src/redact/): on by default, with the run's
   * credential variables and the CLI's stored credentials; `secrets` adds values baton knows (a tenant's).
   * `enabled: false` (`--no-redact`) stores byte for byte, and the run records that.
   */
  redaction?: { enabled?: boolean; secrets?: KnownSecret[] };
  /**
   * The model API through a worker's model proxy: the CLI is configured with its URL and the run's token, the
   * token is revoked once the CLI has exited, the usage is stored with the run, and a refusal (a token limit)
   * fails the run.
   */
  modelAccess?: ModelAccess | undefined;
  /**
   * The CLI's own interactive UI on this terminal resumes the conversation (`baton open`) instead of a headless
   * run: the person at the keyboard types the turns; `prompt` is unused. The run is of kind `interactive`.
   */
  interactive?: { permissions: InteractivePermissions } | undefined;
  /**
   * Stop the CLI after this long without output (stdout, stderr) or transcript growth, and fail the run as
   * STALLED; 0 = never. Default 10 minutes (run-limits.ts); not applied to an interactive run (a person may pause).
   */
  stallTimeoutMs?: number | undefined;
  /** Stop the run after this long in all and fail it as RUN_TIME_EXCEEDED; 0 or undefined = no cap. */
  maxRunTimeMs?: number | undefined;
  /**
   * Checks the CLI before the conversation is created or resumed (src/run/preflight.ts): installed, a tested
   * version, credentials it will find, a usable cwd. A failure throws (CLI_NOT_FOUND, CLI_NOT_LOGGED_IN,
   * CWD_UNUSABLE) and nothing is created; `warn` gets what is only a warning. Off unless given (`baton run` and
   * `resume` give it, without --skip-preflight).
   */
  preflight?: PreflightOptions | undefined;
}

export interface PreflightOptions {
  warn: (message: string) => void;
  /** false: not the credentials (`baton open`: the CLI's own UI lets a person log in). Default true. */
  credentials?: boolean;
}

export interface WorkspaceOptions {
  /** false: neither restore nor snapshot the workspace. */
  enabled?: boolean;
  /** The directory to track (default: the run's cwd); a resume restores into it. */
  dir?: string;
  /** How a resume treats a directory that holds other work: refuse (default), overwrite, or skip the restore. */
  restore?: RestoreMode;
  maxBytes?: number;
  includeSecrets?: boolean;
  /**
   * The user trusts the conversation's workspace: an imported (untrusted) conversation becomes trusted, and the
   * files its restores withheld (see workspace/withhold.ts) are restored too.
   */
  trust?: boolean;
}

export interface RunResult {
  conversationId: string;
  harness: HarnessId;
  sessionId: string | undefined;
  runId: string;
  status: FinishedRunStatus;
  exitCode: number | undefined;
  error: string | undefined;
  /** The stable code of a failure baton names (SESSION_MISMATCH); undefined for a CLI that just failed. */
  errorCode: ErrorCode | undefined;
  /** The conversation that keeps this run's unsaved work, when the run lost its lease (see fork-lost-work.ts). */
  forkedInto: string | undefined;
  /** The conversation has a saved session that a `baton resume` can continue (false: nothing of it was saved). */
  resumable?: boolean | undefined;
}
