/**
 * The harness contract: everything baton needs to know about one agent CLI. A harness is a small set of
 * pure decisions (argv, paths, event parsing) plus file operations confined to the CLI's home.
 */
import { BatonError, quoted } from '../errors.js';
import type { RunEvent } from '../model/run-event.js';
import type { KnownSecret } from '../redact/known-secrets.js';
import { isOlderCopy, MAIN_FILE_KEY, type Envelope, type EnvelopeHeader, type SessionMeta, type TranscriptFile } from '../transcript/envelope.js';
import type { StoredEnvelope } from '../transcript/file-reader.js';
import type { TranscriptView } from '../transcript/view.js';
import type { ForkCut } from '../transcript/fork-cut.js';
import type { AgentSetup } from '../model/agent-setup.js';
import type { HarnessId, ModelApiId } from './ids.js';
import type { HarnessPreflight } from './preflight.js';

export type { HarnessId, ModelApiId } from './ids.js';

/**
 * What a resume needs is the harness's own business: opaque to the core, which only hands what a harness's
 * resumeInfo() returned back to the same harness's command(). Each harness validates it with its own schema;
 * most CLIs resume by session id alone ({@link SessionResume}).
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// One checked string: validated by hand (assertSessionId), so that loading a harness does not load zod, which
// would add its start-up to every `baton run`.
export interface SessionResume {
  sessionId: string;
}

/** The process to start: an executable and its argv. Never a shell string. */
export interface CommandSpec {
  file: string;
  args: string[];
  /** Variables baton adds to the inherited environment. */
  env: Record<string, string>;
  /** Inherited variables the CLI must not see (e.g. a CI marker that would switch an interactive UI off). */
  withoutEnv?: readonly string[] | undefined;
  cwd: string;
  /** Folders outside the system the executable needs to read (its package); bound read-only in a sandbox. */
  packagePaths: string[];
  /** Text written to the CLI's stdin, which is then closed (default: stdin is /dev/null). */
  stdin?: string | undefined;
  /**
   * The CLI takes this terminal (an interactive UI): it inherits baton's stdin, stdout and stderr and stays in the
   * terminal's foreground process group, so keys, Ctrl-C and window-size changes reach it directly.
   */
  terminal?: true | undefined;
}

export interface HarnessContext {
  /** The CLI's home (e.g. CODEX_HOME), absolute. */
  home: string;
  /** The run's working directory: absolute, symlinks resolved. */
  cwd: string;
  /** The environment the CLI inherits. */
  env: NodeJS.ProcessEnv;
  /**
   * The CLI runs as root (Claude Code then needs IS_SANDBOX for its bypass mode); false in the sandbox, whose
   * uid is unprivileged. Default: whether baton runs as root.
   */
  runsAsRoot?: boolean;
  /**
   * Where the CLI must send its model requests, and the key to send: a worker's model proxy and the run's own
   * token. When set, prepare() and command() configure the CLI with these and nothing else: no key of the
   * machine's environment reaches the CLI's config or its environment through the harness.
   */
  modelEndpoint?: ModelEndpoint | undefined;
}

/** A model API endpoint for one run (see HarnessContext.modelEndpoint). */
export interface ModelEndpoint {
  api: ModelApiId;
  /** The base URL the CLI is given, e.g. `http://127.0.0.1:PORT/openai/v1` for Codex's provider `base_url`. */
  baseUrl: string;
  /** The per-run token the CLI presents as its API key. */
  token: string;
}

/** What a CLI needs of the machine when it runs in the sandbox (src/sandbox/). */
export interface SandboxNeeds {
  /** Its state, which it writes during a run (e.g. CODEX_HOME); files or folders. */
  statePaths: string[];
  /** The environment variables it reads: names, or prefixes ending in `*`. */
  environment: string[];
}

/**
 * The conversation's agent setup as this run applies it: `${NAME}` references resolved, and an untrusted
 * conversation's MCP servers and skills left out (see src/run/agent-setup.ts).
 */
export type PrepareOptions = AgentSetup;

/**
 * What one launch of the CLI is: a headless first run or follow-up with a prompt, or the CLI's own interactive
 * UI (`baton open`) resuming the session on the user's terminal, where the user types the prompts.
 */
export type LaunchRequest<Resume = unknown> =
  | { kind: 'new'; prompt: string; setup: AgentSetup; sessionId: string | undefined }
  | { kind: 'resume'; prompt: string; setup: AgentSetup; resume: Resume }
  | { kind: 'interactive'; setup: AgentSetup; resume: Resume; permissions: InteractivePermissions };

/**
 * How the interactive UI treats the agent's tool calls: `ask` is the CLI's normal mode for a person at the
 * keyboard (its own approval prompts); `bypass` is what headless runs use (no prompts), on the user's word.
 */
export type InteractivePermissions = 'ask' | 'bypass';

/** Argv templates from baton's config; items may hold {prompt}, {sessionId}, {model}, {effort}, {systemPrompt}, {cwd}. */
export interface CommandTemplates {
  command: string | undefined;
  newArgs: TemplateItem[] | undefined;
  resumeArgs: TemplateItem[] | undefined;
}
/** A string, or a group of strings dropped as a whole when one of its placeholders has no value. */
export type TemplateItem = string | string[];

/** What a CLI reported, in one shape for every harness: live progress, run events and the run's result. */
export type HarnessEvent = RunEvent;

/** Turns one line of the CLI's stdout into events; unknown lines give none. */
export type OutputParser = (line: string) => HarnessEvent[];

/** The native files of one session: a key (see Envelope) and where the file is on disk. */
export interface TranscriptLocation {
  files: Array<{ key: string; path: string }>;
}

/**
 * Which native session `baton adopt` takes in: by the CLI's session id; by a session file the user points at
 * (anywhere: it is theirs, but its content is parsed defensively and must be this CLI's session); or the most
 * recently updated session whose recorded working directory is `latestFor` (absolute, symlinks resolved).
 */
export type SessionQuery = { sessionId: string } | { file: string } | { latestFor: string };

/** A session found on this machine, started outside baton or not. */
export interface FoundSession {
  sessionId: string;
  /** The working directory the session recorded (where it ran), when it records one. */
  cwd: string | undefined;
  /** Its files, as locateTranscript gives them: what a save stores. */
  location: TranscriptLocation;
}

/** A tool call the CLI reported starting and never finishing: its run ended first. */
export interface UnfinishedToolCall {
  command: string;
}

export interface RehydratedTranscript extends TranscriptLocation {
  /** Keys of the files whose longer local copy was kept instead of the stored one. */
  keptLocal: string[];
}

/** How a local copy of a transcript file relates to the stored one. */
export type LocalCopy = 'absent' | 'same' | 'older' | 'longer' | 'different';

export function compareLocalCopy(onDisk: Buffer | undefined, stored: Buffer): LocalCopy {
  if (!onDisk) return 'absent';
  if (onDisk.equals(stored)) return 'same';
  if (isOlderCopy(onDisk, stored)) return 'older';
  if (isOlderCopy(stored, onDisk)) return 'longer';
  return 'different';
}

/** Where a harness's CLI comes from: the npm package baton pins and the bin it runs. */
export interface HarnessExecutable {
  packageName: string;
  binName: string;
  /**
   * The start of the names of its platform packages (the native binary the npm package installs beside itself,
   * with the same version), e.g. `opencode-` for `opencode-linux-x64`: the preflight reads a version from them.
   */
  platformPackagePrefix?: string;
}

/**
 * What a test machine or `baton demo` writes into a fresh CLI home so the CLI talks to the scripted model server
 * (src/testing/), and the environment that points the CLI there. Every value is a stand-in, never a real key.
 */
export interface ScriptedHomeSetup {
  /** The CLI's home on that machine, created empty (0700) by the caller. */
  home: string;
  /** The machine's HOME. */
  userHome: string;
  /** The scripted server's base URL, `http://127.0.0.1:PORT`. */
  url: string;
}

/** Which options of an agent setup the CLI can take (model, MCP servers and skills every harness takes). */
export interface SetupSupport {
  /** The CLI has a reasoning effort setting that baton's levels map to. */
  effort: boolean;
  systemPrompt: { supported: true } | { supported: false; reason: string; hint: string };
}

/**
 * The harness contract: everything harness-specific, so that the rest of baton iterates over the registry.
 * `Resume` is what this harness's resume needs (see {@link SessionResume}).
 */
export interface Harness<Resume = unknown> {
  readonly id: HarnessId;
  readonly displayName: string;
  /** The model API the CLI speaks (what a model proxy must serve it). */
  readonly modelApi: ModelApiId;
  /** The npm package and bin baton runs when neither the config nor PATH names the CLI. */
  readonly executable: HarnessExecutable;
  /**
   * The environment variables that name the CLI's home (or part of it). A worker's fresh run home unsets them
   * all, so the CLI falls back to folders under that run's HOME and never sees the worker's own.
   */
  readonly homeVariables: readonly string[];
  /**
   * The variables through which an environment gives this CLI a model key or endpoint (its API's and its own).
   * Behind a worker's model proxy none of them reaches a run: command() sets what the CLI needs to the proxy's
   * URL and the run's token.
   */
  readonly modelKeyVariables: readonly string[];
  /**
   * Paths in a working directory (relative; a folder covers everything in it) through which the CLI would run
   * commands or widen its own permissions on its own: project config, hooks, MCP servers. A workspace that
   * arrives by import restores without them until the user trusts the conversation (see workspace/withhold.ts).
   */
  readonly projectFilesThatRunCode: readonly string[];

  /** What of an agent setup the CLI takes; the rest is refused before a conversation is created. */
  readonly setupSupport: SetupSupport;
  /** The tested versions and where the CLI finds credentials: baton's preflight (src/run/preflight.ts). */
  readonly preflight: HarnessPreflight;

  /**
   * The CLI's executable: `configured` (baton's `harnesses.<id>.command`), else on PATH, else the copy pinned in
   * baton's node_modules; CLI_NOT_FOUND with the install command when there is none.
   */
  locateExecutable(env: NodeJS.ProcessEnv, configured: string | undefined): Promise<string>;

  /** The CLI's home for this environment (honours the CLI's own variable, e.g. CODEX_HOME). */
  resolveHome(env: NodeJS.ProcessEnv): string;
  /**
   * Merges what a headless run needs into the CLI's config, and the conversation's setup in the CLI's own form
   * (MCP servers in its config, skills where it looks for them; see src/fs/managed-entries.ts): never clobbers a
   * user's settings, and removes what baton wrote there for another conversation.
   */
  prepare(context: HarnessContext, options: PrepareOptions): Promise<void>;
  /**
   * The credentials the CLI keeps in its home (a login's tokens, the key prepare() wrote), by value: redacted from
   * everything a run saves, like the run's credential variables (see src/redact/). Missing files give none.
   */
  credentialSecrets(context: HarnessContext): Promise<KnownSecret[]>;
  /** What the CLI needs to run in the sandbox, after prepare(). */
  sandboxNeeds(context: HarnessContext): Promise<SandboxNeeds>;
  /** A session id baton chooses for a new conversation, or undefined when the CLI picks its own. */
  newSessionId(): string | undefined;
  command(context: HarnessContext, request: LaunchRequest<Resume>, templates: CommandTemplates): Promise<CommandSpec>;
  /** A parser for one run's stdout, line by line (it may keep state, e.g. tool calls in flight). */
  outputParser(): OutputParser;

  locateTranscript(context: HarnessContext, sessionId: string): Promise<TranscriptLocation | undefined>;
  /**
   * Finds a session where the CLI keeps it in `context.home` (or the file named), for `baton adopt`; undefined when
   * there is none. A file that is not this CLI's session is SESSION_FILE_INVALID.
   */
  findSession(context: HarnessContext, query: SessionQuery): Promise<FoundSession | undefined>;
  /** Where findSession looks for a query, in words for a SESSION_NOT_FOUND hint (e.g. `~/.codex/sessions/**\/rollout-*.jsonl`). */
  sessionPlaces(context: HarnessContext, query: SessionQuery): string;
  /** Reads the session metadata from the main file; tolerant of lines that are not JSON. */
  readSessionMeta(mainFileContent: Buffer, sessionId: string): SessionMeta;
  /**
   * Writes the envelope's files where the CLI will look for them; returns the location. A local copy that
   * extends the stored one (the stored file is its exact prefix: a run here ended before its final save) is
   * kept and named in `keptLocal`; a local copy with content the store lacks otherwise is REHYDRATE_CONFLICT.
   * A stored envelope's files are read here (streamed where nothing is in the way): a file that does not verify is
   * TRANSCRIPT_CORRUPT, and leaves no file the CLI would read.
   */
  rehydrate(envelope: Envelope | StoredEnvelope, context: HarnessContext): Promise<RehydratedTranscript>;
  /** The readable conversation in the shared view model. */
  viewTranscript(files: TranscriptFile[]): TranscriptView;
  /**
   * The session cut after `cut.turns` turns (as viewTranscript() and `baton show` count them), in a form the CLI
   * itself resumes, under the fork's own session id (inside the files and in the keys that carry it), so that a
   * home holding both the original and the fork never mixes them up. Pure: on stored bytes. The caller checks
   * the range (1 … the number of turns).
   */
  forkSession(files: TranscriptFile[], cut: ForkCut, sessionIds: ForkSessionIds): ForkedSession;
  /** A new session id for a fork, in the CLI's own shape. */
  forkSessionId(): string;
  /**
   * For a CLI that writes a tool call into its session only once the call completes: records in the session's own
   * files that these calls were cut off, so a resume tells the model. Called after the CLI has exited (nothing else
   * writes the files then), before the final save. CLIs that record a call when it starts need none.
   */
  recordUnfinishedTools?(location: TranscriptLocation, calls: UnfinishedToolCall[]): Promise<void>;
  /**
   * True for a CLI that ends every turn it finishes with a `turn.completed` or `turn.failed` event, and exits 0
   * when it is stopped from outside: an exit 0 without that event is then a stopped run, not a success.
   */
  readonly reportsEveryTurnEnd?: boolean;
  /**
   * True where locating the transcript runs the CLI itself (OpenCode's `opencode export`, seconds): such a harness
   * is saved on the timer and at the exit only, not also at each turn's end (see supervise.ts).
   */
  readonly locatingRunsCli?: boolean;
  /** What a resume of this envelope needs; HARNESS_MISMATCH when the envelope belongs to another harness. */
  resumeInfo(envelope: EnvelopeHeader): Resume;
  /** Readies a fresh home for the scripted model server; returns the variables that point the CLI there. */
  scriptedHome(setup: ScriptedHomeSetup): Promise<Record<string, string>>;
}

/** The session a fork cuts from, and the fork's own id. */
export interface ForkSessionIds {
  original: string;
  fork: string;
}

export interface ForkedSession {
  files: TranscriptFile[];
  sessionId: string;
}

/** A local copy and the store both hold turns the other lacks: two histories, neither may be overwritten. */
export class LocalCopyConflict extends BatonError {
  constructor(
    readonly path: string,
    sessionId: string,
    homeVariable: string,
  ) {
    super('REHYDRATE_CONFLICT', `${path} already holds a different copy of session ${sessionId}: it and the store each have turns the other lacks`, {
      hint: `move it away (or resume with a fresh ${homeVariable}) to continue from the store`,
    });
  }
}

export function localCopyConflict(path: string, sessionId: string, homeVariable: string): LocalCopyConflict {
  return new LocalCopyConflict(path, sessionId, homeVariable);
}

export function harnessMismatch(expected: HarnessId, actual: string): BatonError {
  return new BatonError('HARNESS_MISMATCH', `this transcript was written by the ${actual} harness and cannot be resumed with ${expected}`, {
    hint: `resume it with the ${actual} harness (baton picks it from the conversation), or start a new ${expected} conversation`,
  });
}


export function assertSessionId(sessionId: string): void {
  if (!UUID_PATTERN.test(sessionId)) {
    throw new BatonError('INVALID_SESSION_ID', `${quoted(sessionId)} is not a session id (a UUID)`, {
      hint: 'session ids are UUIDs reported by the CLI; the stored transcript may be damaged — re-import it',
    });
  }
}

/**
 * The resume of a harness whose CLI resumes by session id alone: HARNESS_MISMATCH for another harness's
 * envelope, INVALID_SESSION_ID for an id that is not a UUID.
 */
export function sessionResumeInfo(id: HarnessId, envelope: EnvelopeHeader): SessionResume {
  if (envelope.harness !== id) throw harnessMismatch(id, envelope.harness);
  assertSessionId(envelope.sessionId);
  return { sessionId: envelope.sessionId };
}

/** The readable view of a session's main file through the harness's own reader; empty without one. */
export function viewMainFile(files: TranscriptFile[], view: (content: Buffer) => TranscriptView): TranscriptView {
  const main = files.find((file) => file.key === MAIN_FILE_KEY);
  return main ? view(main.content) : { items: [], unparsedLines: 0 };
}

/** A file the user named for `baton adopt` that is not a session of this harness's CLI. */
export function invalidSessionFile(displayName: string, path: string, why: string): BatonError {
  return new BatonError('SESSION_FILE_INVALID', `${quoted(path)} is not a ${displayName} session file: ${why}`, {
    hint: `name the session file the CLI wrote (see \`baton adopt --help\`), or pass its session id, or --latest with --cwd`,
  });
}
