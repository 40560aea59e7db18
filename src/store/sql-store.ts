/**
 * The store over kysely: the same queries serve SQLite and PostgreSQL. Backends only open the connection
 * (see sqlite.ts). Multi-row writes run in a transaction that starts with a write, so SQLite takes its write
 * lock up front instead of failing to upgrade a read snapshot under concurrency.
 *
 * The queries live by aggregate in sql/: conversations, runs (with their leases), run events, transcripts,
 * workspace snapshots, import, tenant secrets and API tokens; rows.ts turns rows into baton's types and
 * seals their columns in an encrypted store. This class composes them into the Store.
 */
import { sql, type Kysely } from 'kysely';
import type { ApiTokenStore } from './api-tokens.js';
import { inlineChunkBodies, type ChunkBodies } from './chunk-bodies.js';
import { StoreEncryption } from './encryption.js';
import type { KeyMaterial } from './master-key.js';
import type { Database } from './schema.js';
import { SqlApiTokens } from './sql/api-tokens.js';
import { SqlContext } from './sql/context.js';
import { ObjectBodies } from './sql/object-bodies.js';
import { SqlConversations } from './sql/conversations.js';
import { importConversation } from './sql/import.js';
import { SqlRunEvents } from './sql/run-events.js';
import { SqlLocalQueue } from './sql/local-queue.js';
import { SqlRuns } from './sql/runs.js';
import { SqlTenantSecrets } from './sql/tenant-secrets.js';
import { SqlTranscripts, type StoredVersionEnd } from './sql/transcripts.js';
import { SqlWorkspaceSnapshots, type NewWorkspaceSnapshot } from './sql/workspace-snapshots.js';
import type {
  Conversation,
  ConversationFilter,
  ConversationOptions,
  FinishRunInput,
  ImportedConversation,
  NewConversation,
  NewRunEvent,
  OpenedTranscript,
  QueueRunInput,
  Run,
  RunTally,
  StartRunInput,
  Store,
  StoredRunEvent,
  StoredTranscript,
  StoredWorkspaceSnapshot,
  ReplaceTranscriptInput,
  TranscriptAppend,
  TranscriptCursor,
  WorkspaceSnapshotSummary,
} from './store.js';

export { secretsNeedEncryption } from './sql/tenant-secrets.js';
export type { StoredVersionEnd } from './sql/transcripts.js';

export class SqlStore implements Store {
  protected readonly context: SqlContext;
  protected readonly conversations: SqlConversations;
  protected readonly runs: SqlRuns;
  protected readonly runEvents: SqlRunEvents;
  protected readonly transcripts: SqlTranscripts;
  protected readonly workspaceSnapshots: SqlWorkspaceSnapshots;
  protected readonly secrets: SqlTenantSecrets;
  /** The API tokens of `baton serve` (src/fleet/tokens.ts keeps the rules). */
  readonly tokens: ApiTokenStore;
  /** The queue of `baton serve`'s in-process worker on this machine (src/fleet/local-worker.ts). */
  readonly localQueue: SqlLocalQueue;

  constructor(
    /** For the store's own modules (and tests): every other module asks through the methods. */
    readonly db: Kysely<Database>,
    readonly location: string,
    private readonly onClose: () => Promise<void> = async () => db.destroy(),
    /** Where chunk bodies live (see chunk-bodies.ts): in the rows unless told otherwise. */
    bodies: ChunkBodies = inlineChunkBodies,
    /** Plaintext, or the master key and data keys of an encrypted store (see encryption.ts). */
    encryption: StoreEncryption = StoreEncryption.plaintext(location),
  ) {
    this.context = new SqlContext(db, location, bodies, encryption);
    this.conversations = new SqlConversations(this.context);
    this.runs = new SqlRuns(this.context);
    this.runEvents = new SqlRunEvents(this.context);
    this.transcripts = new SqlTranscripts(this.context);
    this.workspaceSnapshots = new SqlWorkspaceSnapshots(this.context);
    this.secrets = new SqlTenantSecrets(this.context);
    this.tokens = new SqlApiTokens(db);
    this.localQueue = new SqlLocalQueue(db, this.runs);
  }

  /** Whether the store is encrypted, and the id of its master key. */
  get encryptionStatus(): { encrypted: boolean; keyId: string | undefined } {
    return { encrypted: this.context.encryption.encrypted, keyId: this.context.encryption.keyId };
  }

  /** Asks the database for nothing: fails (STORE_ERROR on PostgreSQL) when it does not answer. */
  async ping(): Promise<void> {
    await this.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
  }

  // --- conversations --------------------------------------------------------------------------------------

  createConversation(input: NewConversation): Promise<Conversation> {
    return this.conversations.create(input);
  }

  getConversation(id: string): Promise<Conversation | undefined> {
    return this.conversations.get(id);
  }

  listConversations(filter: ConversationFilter = {}): Promise<Conversation[]> {
    return this.conversations.list(filter);
  }

  listConversationSummaries(filter: Pick<ConversationFilter, 'tenant'> = {}): Promise<Array<{ conversation: Conversation; runs: RunTally }>> {
    return this.conversations.listSummaries(filter);
  }

  deleteConversation(id: string): Promise<void> {
    return this.conversations.delete(id);
  }

  setConversationOptions(id: string, options: ConversationOptions): Promise<void> {
    return this.conversations.setOptions(id, options);
  }

  trustConversation(id: string): Promise<void> {
    return this.conversations.trust(id);
  }

  setSessionId(conversationId: string, sessionId: string): Promise<void> {
    return this.conversations.setSessionId(conversationId, sessionId);
  }

  abandonUnsavedSession(conversationId: string, runId: string, sessionId: string): Promise<boolean> {
    return this.conversations.abandonUnsavedSession(conversationId, runId, sessionId);
  }

  // --- runs and leases ------------------------------------------------------------------------------------

  queueRun(input: QueueRunInput): Promise<Run> {
    return this.runs.queue(input);
  }

  startRun(input: StartRunInput): Promise<Run> {
    return this.runs.start(input);
  }

  renewLease(runId: string, leaseMs: number): Promise<boolean> {
    return this.runs.renewLease(runId, leaseMs);
  }

  finishRun(runId: string, result: FinishRunInput): Promise<Run> {
    return this.runs.finish(runId, result);
  }

  getRun(runId: string): Promise<Run | undefined> {
    return this.runs.get(runId);
  }

  listRuns(conversationId: string): Promise<Run[]> {
    return this.runs.list(conversationId);
  }

  appendRunEvents(runId: string, events: NewRunEvent[]): Promise<void> {
    return this.runEvents.append(runId, events);
  }

  listRunEvents(runId: string, afterSequence = 0): Promise<StoredRunEvent[]> {
    return this.runEvents.list(runId, afterSequence);
  }

  // --- transcripts ----------------------------------------------------------------------------------------

  appendTranscript(input: TranscriptAppend): Promise<TranscriptCursor> {
    return this.transcripts.append(input);
  }

  compactTranscript(versionId: number): Promise<{ chunksBefore: number; chunksAfter: number }> {
    return this.transcripts.compact(versionId);
  }

  replaceTranscript(input: ReplaceTranscriptInput): Promise<Map<string, TranscriptCursor>> {
    return this.transcripts.replace(input);
  }

  loadTranscript(conversationId: string): Promise<StoredTranscript | undefined> {
    return this.transcripts.load(conversationId);
  }

  openTranscript(conversationId: string): Promise<OpenedTranscript | undefined> {
    return this.transcripts.open(conversationId);
  }

  /** Where each of the conversation's files ends now, without loading any: tells whether a loaded copy is current. */
  latestTranscriptVersionEnds(conversationId: string): Promise<StoredVersionEnd[]> {
    return this.transcripts.latestVersionEnds(conversationId);
  }

  // --- workspace snapshots --------------------------------------------------------------------------------

  saveWorkspaceSnapshot(input: NewWorkspaceSnapshot): Promise<number> {
    return this.workspaceSnapshots.save(input);
  }

  listWorkspaceSnapshots(conversationId: string): Promise<WorkspaceSnapshotSummary[]> {
    return this.workspaceSnapshots.list(conversationId);
  }

  loadWorkspaceSnapshot(conversationId: string, atRunId?: string): Promise<StoredWorkspaceSnapshot | undefined> {
    return this.workspaceSnapshots.load(conversationId, atRunId);
  }

  importConversation(imported: ImportedConversation): Promise<void> {
    return importConversation(this.context, { transcripts: this.transcripts, workspaceSnapshots: this.workspaceSnapshots }, imported);
  }

  // --- tenant secrets -------------------------------------------------------------------------------------

  setTenantSecret(tenant: string, name: string, value: string): Promise<void> {
    return this.secrets.set(tenant, name, value);
  }

  listTenantSecretNames(tenant: string): Promise<string[]> {
    return this.secrets.listNames(tenant);
  }

  deleteTenantSecret(tenant: string, name: string): Promise<boolean> {
    return this.secrets.delete(tenant, name);
  }

  tenantSecrets(tenant: string): Promise<Record<string, string>> {
    return this.secrets.values(tenant);
  }

  // --- keys -----------------------------------------------------------------------------------------------

  /** Re-wraps every data key under `next` (one transaction; transcripts untouched); `next` is this store's key from then on. */
  async rotateMasterKey(next: KeyMaterial): Promise<{ dataKeys: number; from: string; to: string }> {
    return this.context.encryption.rotate(this.db, next);
  }

  /**
   * Encrypts this plaintext store in place, in one transaction, under the key it was opened with
   * (`allowPlaintextWithKey`): every conversation gets its data key and every row is rewritten sealed.
   */
  async enableEncryption(): Promise<{ conversations: number; keyId: string }> {
    const { encryptStoreInPlace } = await import('./enable-encryption.js');
    return encryptStoreInPlace(this.db, this.context.bodies, this.context.encryption, this.location);
  }

  /**
   * Rewrites the SQLite file without its freed pages, and empties its -wal file: both still hold rows as they
   * were (after `enableEncryption`, the plaintext). True when it did; PostgresStore cannot (false).
   */
  /** Collects the objects in object storage that no row names any more (see sql/object-bodies.ts); 0 for inline bodies. */
  async collectUnnamedBodies(): Promise<number> {
    const { bodies } = this.context;
    return bodies instanceof ObjectBodies ? bodies.sweep(this.db) : 0;
  }

  async discardFreedPages(): Promise<boolean> {
    await sql`VACUUM`.execute(this.db);
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(this.db);
    return true;
  }

  async close(): Promise<void> {
    this.context.encryption.close();
    this.context.forgetRuns();
    try {
      await this.onClose();
    } finally {
      this.context.bodies.close?.();
    }
  }
}
