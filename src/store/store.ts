/**
 * The store: conversations, runs, run events and transcripts. One interface, several backends
 * (SQLite embedded by default; PostgreSQL for fleets). Every method is a complete, transactional operation.
 */
import type { Hash } from 'node:crypto';
import type { AgentSetup } from '../model/agent-setup.js';
import type { HarnessId } from '../harness/ids.js';
import type { FinishedRunStatus, RunKind, RunStatus } from '../model/run-status.js';
import type { RedactionRecord } from '../redact/redactor.js';
import type { SessionMeta, TranscriptFile } from '../transcript/envelope.js';
import type { StreamOptions, TranscriptFileReader, UnverifiedPiece, VerifiedRead } from '../transcript/file-reader.js';
import type { WorkspaceSnapshot } from '../workspace/workspace.js';

export interface Conversation {
  id: string;
  harness: HarnessId;
  /** The CLI's own session id; unknown until the first run reports it. */
  sessionId: string | undefined;
  title: string;
  /** The working directory of the most recent run. */
  cwd: string;
  createdAt: number;
  updatedAt: number;
  activeRunId: string | undefined;
  leaseExpiresAt: number | undefined;
  /** The tenant that owns it when it was started through `baton serve`; undefined for local conversations. */
  tenant: string | undefined;
  options: ConversationOptions;
  /** Set when the conversation was made from another one's work. */
  forkedFrom: ForkOrigin | undefined;
  /** Set when the conversation is a session that was started outside baton, taken in by `baton adopt`. */
  adoptedFrom: AdoptionOrigin | undefined;
  /**
   * `untrusted` when it arrived by import (nobody here saw its workspace being made): a resume restores its
   * workspace without the files that would make a CLI run commands, until the user trusts it.
   */
  trust: Trust;
}

export type Trust = 'trusted' | 'untrusted';

/** Where a forked conversation came from, and why it exists. */
export interface ForkOrigin {
  conversationId: string;
  /** The run whose work it keeps (empty when the turns it keeps came with an imported history). */
  runId: string;
  reason: string;
  /** The turn it ends at, as `baton show` numbers them (a fork at a turn, or the old branch of a rewind). */
  turn?: number | undefined;
}

/**
 * The native session a conversation was adopted from (`baton adopt`): which CLI's session, where it was found, and
 * when it was taken in. A later `baton adopt --sync` of the same session finds the conversation by its session id.
 */
export interface AdoptionOrigin {
  harness: HarnessId;
  sessionId: string;
  /** The machine it was adopted on. */
  host: string;
  /** The session's main file on that machine, when adopted. */
  path: string;
  /** Milliseconds since the epoch. */
  adoptedAt: number;
}

/** Which conversations a listing returns; every field given must match. */
export interface ConversationFilter {
  /** A tenant's conversations; null: only those without a tenant (this machine's own, e.g. `baton run`'s). */
  tenant?: string | null | undefined;
  /** The conversations holding this CLI session (an adopted one, one baton started, and their forks). */
  session?: { harness: HarnessId; sessionId: string } | undefined;
}

/** What every run of a conversation launches with (its agent setup and first workspace); a follow-up inherits them. */
export interface ConversationOptions extends AgentSetup {
  /** Where a worker gets the files for the first run: a git repository to clone (then tracked as usual). */
  workspace?: { git: string; ref?: string | undefined } | { enabled: false } | undefined;
}

/** Defined in src/model/run-status.ts; named here too, as the vocabulary of this interface and its backends. */
export type { FinishedRunStatus, RunKind, RunStatus };

export interface Run {
  id: string;
  conversationId: string;
  /** 1 for the first run of a conversation, then 2, 3 … */
  sequence: number;
  kind: RunKind;
  prompt: string;
  status: RunStatus;
  host: string;
  cwd: string;
  startedAt: number;
  endedAt: number | undefined;
  exitCode: number | undefined;
  error: string | undefined;
  /** When it was queued for a worker; undefined for a run started directly. */
  queuedAt: number | undefined;
  /** How often a shutting-down worker handed it back to the queue. */
  handoffs: number;
  /** Which redaction ran on what the run saved; undefined for a queued run, or one saved before redaction existed. */
  redaction: RedactionRecord | undefined;
  /** Model tokens it used, as a worker's model proxy counted them; undefined when nothing counted them. */
  usage?: RunUsage | undefined;
  /** The stable code of a failure baton named (e.g. TOKEN_LIMIT_EXCEEDED); undefined otherwise. */
  errorCode?: string | undefined;
  /** The time limits the run's request asked for (a queued run's); undefined: the worker's defaults. */
  limits?: RunLimits | undefined;
}

/** A run's own time limits, in milliseconds; 0 = off (see src/run/run-limits.ts). */
export interface RunLimits {
  stallTimeoutMs?: number | undefined;
  maxRunTimeMs?: number | undefined;
}

/**
 * Model tokens, in one shape for every provider. `inputTokens` counts every input token, the cached ones too
 * (OpenAI `input_tokens`; Anthropic `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`);
 * `cachedInputTokens` is the part read from the provider's cache (OpenAI `input_tokens_details.cached_tokens`;
 * Anthropic `cache_read_input_tokens`); `requests` counts the model requests that reported usage.
 */
export interface RunUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  requests: number;
}

export function emptyUsage(): RunUsage {
  return { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, requests: 0 };
}

/** The sum of some runs' usage; undefined when none of them has any. */
export function sumUsage(usages: Array<RunUsage | undefined>): RunUsage | undefined {
  const counted = usages.filter((usage): usage is RunUsage => usage !== undefined);
  if (counted.length === 0) return undefined;
  return counted.reduce((total, usage) => ({
    inputTokens: total.inputTokens + usage.inputTokens,
    cachedInputTokens: total.cachedInputTokens + usage.cachedInputTokens,
    outputTokens: total.outputTokens + usage.outputTokens,
    requests: total.requests + usage.requests,
  }), emptyUsage());
}

/** How many runs a conversation has, how many wait in the queue, and how the newest one stands. */
export interface RunTally {
  count: number;
  queued: number;
  lastStatus: RunStatus | undefined;
}

/**
 * A run event as the store keeps it: its type, and its other fields as `data`. What a run records is a RunEvent
 * (src/model/run-event.ts); an imported conversation may hold types this version does not know, kept as they are.
 */
export interface StoredRunEvent {
  runId: string;
  sequence: number;
  at: number;
  type: string;
  data: unknown;
}

export interface NewRunEvent {
  at: number;
  type: string;
  data: unknown;
}

/** Where a stored transcript file ends: the next save appends after it if the file's prefix still matches. */
export interface TranscriptCursor {
  versionId: number;
  lineCount: number;
  byteLength: number;
  sha256: string;
}

export interface TranscriptAppend {
  conversationId: string;
  fileKey: string;
  runId: string | undefined;
  /** The version this chunk extends; undefined starts a new, complete version. */
  base: TranscriptCursor | undefined;
  bytes: Buffer;
  /** Totals of the version after this chunk, computed by the writer (running sha256 of all its bytes). */
  after: { lineCount: number; byteLength: number; sha256: string };
  meta: SessionMeta | undefined;
  /** Refuse (LEASE_LOST) unless `runId` holds the conversation's lease: a run that lost it never writes. */
  asLeaseHolder?: boolean;
}

export interface ReplaceTranscriptInput {
  conversationId: string;
  runId: string;
  sessionId: string;
  files: TranscriptFile[];
  meta: SessionMeta | undefined;
}

export interface StoredTranscriptFile extends TranscriptFile {
  cursor: TranscriptCursor;
  /**
   * The sha256 state after `of` (the `content` the load verified), so that a saver continues the hash instead of
   * hashing 50 MB again; use only while `of === content`, and copy it (`state.copy()`) before updating.
   */
  verifiedHash?: { of: Buffer; state: Hash };
}

export interface StoredTranscript {
  conversationId: string;
  meta: SessionMeta | undefined;
  files: StoredTranscriptFile[];
}

/** What reading a stored file whole proved (see file-reader.ts), and where its stored copy ends. */
export interface VerifiedStoredRead extends VerifiedRead {
  cursor: TranscriptCursor;
}

/** A stored file, read on demand: streamed as a rehydrate writes it, or whole. Every read re-verifies. */
export interface StoredFileReader extends TranscriptFileReader {
  whole(): Promise<StoredTranscriptFile>;
  stream(each: (piece: UnverifiedPiece) => Promise<void> | void, options?: StreamOptions): Promise<VerifiedStoredRead>;
  verified(): Promise<VerifiedStoredRead>;
}

/** The latest version of every file, fetched from the store (still compressed) but not yet read. */
export interface OpenedTranscript {
  conversationId: string;
  meta: SessionMeta | undefined;
  files: StoredFileReader[];
}

export interface QueueRunInput {
  conversationId: string;
  runId: string;
  prompt: string;
  limits?: RunLimits | undefined;
}

export interface StartRunInput {
  conversationId: string;
  /** A new run's id, or the id of a queued run of this conversation, which this claims. */
  runId: string;
  kind: RunKind;
  prompt: string;
  host: string;
  cwd: string;
  leaseMs: number;
  redaction?: RedactionRecord | undefined;
}

export interface FinishRunInput {
  status: FinishedRunStatus;
  exitCode: number | undefined;
  error: string | undefined;
  /** Model usage of this execution, added to what the run has (a handed-back run is executed again). */
  usage?: RunUsage | undefined;
  /** The stable code of the failure, when baton named it (ErrorCode). */
  errorCode?: string | undefined;
}

export interface ImportedConversation {
  conversation: Omit<Conversation, 'activeRunId' | 'leaseExpiresAt' | 'tenant' | 'options' | 'forkedFrom' | 'adoptedFrom' | 'trust'> & Partial<Pick<Conversation, 'tenant' | 'options' | 'forkedFrom' | 'adoptedFrom' | 'trust'>>;
  runs: Run[];
  events: StoredRunEvent[];
  meta: SessionMeta | undefined;
  files: TranscriptFile[];
  /** The newest workspace snapshot, so an imported conversation resumes with its files. */
  workspace: { runId: string; snapshot: WorkspaceSnapshot } | undefined;
}

export interface StoredWorkspaceSnapshot extends WorkspaceSnapshot {
  id: number;
  conversationId: string;
  runId: string;
  createdAt: number;
  /** The transcript it belongs to: the main file's version and length when the snapshot was taken. */
  transcript: { versionId: number; byteLength: number } | undefined;
}

export type WorkspaceSnapshotSummary = Omit<StoredWorkspaceSnapshot, 'blobs'>;

export interface NewConversation {
  id: string;
  harness: HarnessId;
  title: string;
  cwd: string;
  tenant?: string | undefined;
  options?: ConversationOptions | undefined;
  forkedFrom?: ForkOrigin | undefined;
  adoptedFrom?: AdoptionOrigin | undefined;
}

export interface Store {
  /** A human description of where the store lives, for messages. */
  readonly location: string;

  createConversation(input: NewConversation): Promise<Conversation>;
  getConversation(id: string): Promise<Conversation | undefined>;
  /** Newest activity first; with `tenant`, only that tenant's conversations; with `session`, those holding that session. */
  listConversations(filter?: ConversationFilter): Promise<Conversation[]>;
  /** listConversations with each conversation's run tally, in one query (for lists that show a status). */
  listConversationSummaries(filter?: Pick<ConversationFilter, 'tenant'>): Promise<Array<{ conversation: Conversation; runs: RunTally }>>;
  /** Removes the conversation with its runs, events, transcript and snapshots; CONVERSATION_BUSY while a run holds its lease. */
  deleteConversation(id: string): Promise<void>;
  /** Replaces what every later run of the conversation launches with (a resume that changed its agent setup). */
  setConversationOptions(id: string, options: ConversationOptions): Promise<void>;
  /** Marks the conversation trusted (the user said so): its next restore brings back what an import withheld. */
  trustConversation(id: string): Promise<void>;
  /** Records the CLI's session id once; a different id for the same conversation is refused. */
  setSessionId(conversationId: string, sessionId: string): Promise<void>;
  /**
   * Forgets a session of which nothing was ever saved (its first run died before its first save, on another
   * machine), so that `runId`, which holds the lease, starts a new one: true when it was forgotten; false when
   * the conversation has a stored transcript, another session, or another lease holder (nothing changes).
   */
  abandonUnsavedSession(conversationId: string, runId: string, sessionId: string): Promise<boolean>;

  /**
   * Takes the conversation's lease and records a running run. Fails with CONVERSATION_BUSY while another
   * run holds an unexpired lease; a run whose lease expired (its process died) is marked failed and taken over.
   */
  startRun(input: StartRunInput): Promise<Run>;
  /** Records a run waiting for a worker, numbered after every earlier run of the conversation. */
  queueRun(input: QueueRunInput): Promise<Run>;
  /** Extends the lease; false when the lease was lost (taken over after expiry, or the run was finished). */
  renewLease(runId: string, leaseMs: number): Promise<boolean>;
  finishRun(runId: string, result: FinishRunInput): Promise<Run>;
  getRun(runId: string): Promise<Run | undefined>;
  listRuns(conversationId: string): Promise<Run[]>;

  appendRunEvents(runId: string, events: NewRunEvent[]): Promise<void>;
  /** The run's events in order; with `afterSequence`, only the later ones. */
  listRunEvents(runId: string, afterSequence?: number): Promise<StoredRunEvent[]>;

  /** Appends one chunk; refuses (STORE_ERROR) when `base` is no longer the file's latest version end. */
  appendTranscript(input: TranscriptAppend): Promise<TranscriptCursor>;
  /**
   * Merges a version's trailing small chunks (a run's periodic deltas) into larger ones, so that a finished run
   * is stored about as compactly as one full save and loads with few decompressions. Contents are unchanged.
   */
  compactTranscript(versionId: number): Promise<{ chunksBefore: number; chunksAfter: number }>;
  /**
   * Makes `files` the conversation's whole transcript under a new session id, in one transaction (a rewind):
   * a new complete version of each file, and the files it lacks removed. Refused (LEASE_LOST) unless `runId`
   * holds the conversation's lease. Returns where each file's new version ends.
   */
  replaceTranscript(input: ReplaceTranscriptInput): Promise<Map<string, TranscriptCursor>>;
  /** The latest version of every file, each re-verified (TRANSCRIPT_CORRUPT on any mismatch). */
  loadTranscript(conversationId: string): Promise<StoredTranscript | undefined>;
  /**
   * The latest version of every file, to be read as it is written out (a resume's rehydrate): one consistent
   * snapshot like loadTranscript's, each file re-verified as it is read.
   */
  openTranscript(conversationId: string): Promise<OpenedTranscript | undefined>;

  /** With `asLeaseHolder`, refused (LEASE_LOST) unless `runId` holds the conversation's lease. */
  saveWorkspaceSnapshot(input: {
    conversationId: string;
    runId: string;
    snapshot: WorkspaceSnapshot;
    transcript: { versionId: number; byteLength: number } | undefined;
    asLeaseHolder?: boolean;
  }): Promise<number>;
  /** The newest snapshot, or the newest one taken during `atRunId`; blobs re-verified (WORKSPACE_ERROR). */
  loadWorkspaceSnapshot(conversationId: string, atRunId?: string): Promise<StoredWorkspaceSnapshot | undefined>;
  /** Every snapshot's manifest, oldest first, without blobs. */
  listWorkspaceSnapshots(conversationId: string): Promise<WorkspaceSnapshotSummary[]>;

  importConversation(imported: ImportedConversation): Promise<void>;

  /**
   * Tenant secrets (`baton secret set --tenant T NAME`): kept encrypted under the tenant's data key; setting one in
   * a store that is not encrypted is refused (STORE_NOT_ENCRYPTED). Names are listed, values only read whole.
   */
  setTenantSecret(tenant: string, name: string, value: string): Promise<void>;
  listTenantSecretNames(tenant: string): Promise<string[]>;
  deleteTenantSecret(tenant: string, name: string): Promise<boolean>;
  /** Name → value, for the environment of that tenant's runs (src/fleet/worker.ts). */
  tenantSecrets(tenant: string): Promise<Record<string, string>>;

  close(): Promise<void>;
}
