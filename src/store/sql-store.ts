/**
 * The store over kysely: the same queries serve SQLite and PostgreSQL. Backends only open the connection
 * (see sqlite.ts). Multi-row writes run in a transaction that starts with a write, so SQLite takes its write
 * lock up front instead of failing to upgrade a read snapshot under concurrency.
 */
import { createHash, type Hash } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { BatonError } from '../errors.js';
import { isHarnessId } from '../harness/ids.js';
import type { SessionMeta } from '../transcript/envelope.js';
import { countLines, countNewlines } from '../transcript/jsonl.js';
import { inlineChunkBodies, type ChunkBodies } from './chunk-bodies.js';
import { encodeRedaction, isRedactionRecord, type RedactionRecord } from '../redact/redactor.js';
import { decodeChunkAsync, encodeChunk, isChunkCodec, MAX_CHUNK_BYTES, splitAtLines, type ChunkCodec, type EncodedChunk } from './chunk-codec.js';
import { conversationKeyOwner, plaintextCipher, rowIdentity, SEALED_CODEC_SUFFIX, StoreEncryption, tenantKeyOwner, type RowCipher } from './encryption.js';
import type { KeyMaterial } from './master-key.js';
import { assertSecretName } from './secret-names.js';

/** A workspace blob stored earlier for the same conversation: `data` holds that snapshot's id. */
const BLOB_REFERENCE = 'ref';

/** Chunks below this size are a run's periodic deltas, merged by compactTranscript. */
const SMALL_CHUNK_BYTES = 256 * 1024;
import type { ConversationsTable, Database, RunsTable, WorkspaceSnapshotsTable } from './schema.js';
import type { WorkspaceBlobs, WorkspaceManifest, WorkspaceSnapshot } from '../workspace/workspace.js';
import type {
  Conversation,
  ConversationOptions,
  ForkOrigin,
  NewConversation,
  QueueRunInput,
  FinishRunInput,
  ImportedConversation,
  NewRunEvent,
  Run,
  RunKind,
  RunStatus,
  RunTally,
  RunUsage,
  StartRunInput,
  Store,
  StoredRunEvent,
  StoredTranscript,
  StoredWorkspaceSnapshot,
  WorkspaceSnapshotSummary,
  StoredTranscriptFile,
  TranscriptAppend,
  TranscriptCursor,
} from './store.js';
import { sumUsage } from './store.js';

const num = (value: number | string | bigint): number => Number(value);
const numOrUndefined = (value: number | string | bigint | null): number | undefined =>
  value === null ? undefined : Number(value);

/** Seals (in an encrypted store) the conversation columns that hold what its user wrote: title, cwd, options. */
export function sealConversationColumns<T extends { id: string; title: string; cwd: string; options: string | null }>(row: T, cipher: RowCipher): T {
  if (!cipher.encrypted) return row;
  return {
    ...row,
    title: cipher.sealText(rowIdentity('conversations.title', row.id), row.title),
    cwd: cipher.sealText(rowIdentity('conversations.cwd', row.id), row.cwd),
    options: row.options === null ? null : cipher.sealText(rowIdentity('conversations.options', row.id), row.options),
  };
}

function toConversation(stored: Selectable<ConversationsTable>, cipher: RowCipher): Conversation {
  const open = (column: 'title' | 'cwd' | 'options', value: string): string => cipher.openText(rowIdentity(`conversations.${column}`, stored.id), value, `${column} of conversation ${stored.id}`);
  const row = { ...stored, title: open('title', stored.title), cwd: open('cwd', stored.cwd), options: stored.options === null ? null : open('options', stored.options) };
  if (!isHarnessId(row.harness)) {
    throw new BatonError('STORE_ERROR', `conversation ${row.id} names an unknown harness "${row.harness}"`, {
      hint: 'upgrade baton: this store was written by a version that knows more harnesses',
    });
  }
  return {
    id: row.id,
    harness: row.harness,
    sessionId: row.session_id ?? undefined,
    title: row.title,
    cwd: row.cwd,
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    activeRunId: row.active_run_id ?? undefined,
    leaseExpiresAt: numOrUndefined(row.lease_expires_at),
    tenant: row.tenant ?? undefined,
    options: (parseJsonColumn(row.options) as ConversationOptions | undefined) ?? {},
    forkedFrom: parseJsonColumn(row.forked_from) as ForkOrigin | undefined,
    // Anything but the word baton writes for a conversation it saved itself is treated as untrusted.
    trust: row.trust === 'trusted' ? 'trusted' : 'untrusted',
  };
}

/** A JSON column; a value that does not parse (a damaged row) reads as absent rather than failing every list. */
function parseJsonColumn(text: string | null): unknown {
  if (text === null || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Options as stored: JSON without undefined fields, or null when there are none. */
function encodeOptions(options: ConversationOptions | undefined): string | null {
  const json = JSON.stringify(options ?? {});
  return json === '{}' ? null : json;
}

type UsageColumn = 'usage_input_tokens' | 'usage_cached_input_tokens' | 'usage_output_tokens' | 'usage_requests' | 'error_code';

/** Seals (in an encrypted store) a run's prompt, cwd and error. */
export function sealRunColumns<T extends { id: string; conversation_id: string; prompt: string; cwd: string; error: string | null }>(row: T, cipher: RowCipher): T {
  if (!cipher.encrypted) return row;
  return { ...row, prompt: cipher.sealText(runIdentity('prompt', row), row.prompt), cwd: cipher.sealText(runIdentity('cwd', row), row.cwd), error: sealRunError(cipher, row, row.error) };
}

export const runIdentity = (column: 'prompt' | 'cwd' | 'error', run: { id: string; conversation_id: string }): string => rowIdentity(`runs.${column}`, run.conversation_id, run.id);

function sealRunError(cipher: RowCipher, run: { id: string; conversation_id: string }, error: string | null): string | null {
  return error === null ? null : cipher.sealText(runIdentity('error', run), error);
}

function toRun(stored: Omit<Selectable<RunsTable>, UsageColumn> & Partial<Pick<Selectable<RunsTable>, UsageColumn>>, cipher: RowCipher): Run {
  const open = (column: 'prompt' | 'cwd' | 'error', value: string): string => cipher.openText(runIdentity(column, stored), value, `${column} of run ${stored.id}`);
  const row = { ...stored, prompt: open('prompt', stored.prompt), cwd: open('cwd', stored.cwd), error: stored.error === null ? null : open('error', stored.error) };
  return {
    id: row.id,
    conversationId: row.conversation_id,
    sequence: num(row.sequence),
    kind: row.kind as RunKind,
    prompt: row.prompt,
    status: row.status as RunStatus,
    host: row.host,
    cwd: row.cwd,
    startedAt: num(row.started_at),
    endedAt: numOrUndefined(row.ended_at),
    exitCode: numOrUndefined(row.exit_code),
    error: row.error ?? undefined,
    queuedAt: numOrUndefined(row.queued_at),
    handoffs: num(row.handoffs),
    redaction: parseRedaction(row.redaction),
    usage:
      row.usage_requests === null || row.usage_requests === undefined
        ? undefined
        : { inputTokens: num(row.usage_input_tokens ?? 0), cachedInputTokens: num(row.usage_cached_input_tokens ?? 0), outputTokens: num(row.usage_output_tokens ?? 0), requests: num(row.usage_requests) },
    errorCode: row.error_code ?? undefined,
  };
}

/** The columns of a run's usage; null for none. */
function usageColumns(usage: RunUsage | undefined): Pick<RunsTable, Exclude<UsageColumn, 'error_code'>> {
  return {
    usage_input_tokens: usage?.inputTokens ?? null,
    usage_cached_input_tokens: usage?.cachedInputTokens ?? null,
    usage_output_tokens: usage?.outputTokens ?? null,
    usage_requests: usage?.requests ?? null,
  };
}

/** A stored redaction record; anything else (a damaged or foreign row) reads as unknown, never as "off". */
function parseRedaction(text: string | null): RedactionRecord | undefined {
  const value = parseJsonColumn(text);
  return isRedactionRecord(value) ? value : undefined;
}

export const manifestIdentity = (conversationId: string, snapshotId: number): string => rowIdentity('workspace_snapshots.manifest', conversationId, snapshotId);

function toSnapshotSummary(stored: Selectable<WorkspaceSnapshotsTable>, cipher: RowCipher): WorkspaceSnapshotSummary {
  const row = { ...stored, manifest: cipher.openText(manifestIdentity(stored.conversation_id, num(stored.id)), stored.manifest, `workspace manifest ${stored.id} of conversation ${stored.conversation_id}`) };
  return {
    id: num(row.id),
    conversationId: row.conversation_id,
    runId: row.run_id,
    createdAt: num(row.created_at),
    // A manifest that does not parse (a damaged row) reads as an unrestorable one, not as a failing listing.
    manifest: (parseJsonColumn(row.manifest) as WorkspaceManifest | undefined) ?? { kind: 'too-large', fingerprint: row.fingerprint, bytes: 0, limitBytes: 0, changedFiles: [] },
    transcript: row.transcript_version_id === null ? undefined : { versionId: num(row.transcript_version_id), byteLength: num(row.transcript_byte_length ?? 0) },
  };
}

function corrupt(conversationId: string, fileKey: string, detail: string): BatonError {
  return new BatonError('TRANSCRIPT_CORRUPT', `stored transcript "${fileKey}" of conversation ${conversationId} is corrupt: ${detail}`, {
    hint: 'the store is damaged; restore it from a backup or re-import an export of this conversation',
  });
}

/** Where a chunk's body sits: its conversation, version, offset in the version and length (its associated data). */
export const chunkIdentity = (conversationId: string, versionId: number, offset: number, byteLength: number): string =>
  rowIdentity('transcript_chunks.data', conversationId, versionId, offset, byteLength);

export const blobIdentity = (conversationId: string, snapshotId: number, name: string, byteLength: number): string =>
  rowIdentity('workspace_blobs.data', conversationId, snapshotId, name, byteLength);

/** A compressed body as stored: sealed after compression in an encrypted store (codec `br+gcm`, `none+gcm`). */
export function sealBody(cipher: RowCipher, encoded: EncodedChunk, associatedData: string): { codec: string; data: Buffer } {
  return cipher.encrypted ? { codec: `${encoded.codec}${SEALED_CODEC_SUFFIX}`, data: cipher.sealBytes(associatedData, encoded.data) } : encoded;
}

/**
 * The compressed body of a stored chunk or blob; undefined when its codec is unknown or it fails verification.
 * A sealed body in a plaintext store, or a plain one in an encrypted store, is refused: a store never mixes.
 */
export function openBody(cipher: RowCipher, codec: string, data: Buffer, associatedData: string): EncodedChunk | undefined {
  const sealed = codec.endsWith(SEALED_CODEC_SUFFIX);
  const compression = sealed ? codec.slice(0, -SEALED_CODEC_SUFFIX.length) : codec;
  if (!isChunkCodec(compression) || sealed !== cipher.encrypted) return undefined;
  const opened = sealed ? cipher.openBytes(associatedData, data) : data;
  return opened ? { codec: compression, data: opened } : undefined;
}

/** Why a body does not open, for messages: a sealed one in a plaintext store names the missing key. */
function bodyProblem(cipher: RowCipher, codec: string): string {
  if (codec.endsWith(SEALED_CODEC_SUFFIX) && !cipher.encrypted) return 'is encrypted, and this store was opened as a plaintext store';
  if (!codec.endsWith(SEALED_CODEC_SUFFIX) && cipher.encrypted) return 'is not encrypted, in an encrypted store';
  return isChunkCodec(codec.replace(SEALED_CODEC_SUFFIX, '')) ? 'fails verification (altered, or moved from another row)' : `has unknown codec ${quotedCodec(codec)}`;
}

const quotedCodec = (codec: string): string => JSON.stringify(codec.slice(0, 40));

/**
 * Touches the conversation row, which takes SQLite's write lock (or PostgreSQL's row lock) before the
 * transaction reads anything; throws `notFound()` when there is no such conversation.
 */
async function lockConversation(trx: Transaction<Database>, conversationId: string, now: number, notFound: () => Error): Promise<void> {
  const touched = await trx.updateTable('conversations').set({ updated_at: now }).where('id', '=', conversationId).executeTakeFirst();
  if (Number(touched.numUpdatedRows) === 0) throw notFound();
}

/** The number the conversation's next run gets: one after its last (read under the conversation's lock). */
async function nextRunSequence(trx: Transaction<Database>, conversationId: string): Promise<number> {
  const last = await trx
    .selectFrom('runs')
    .select((eb) => eb.fn.max('sequence').as('sequence'))
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
  return num(last?.sequence ?? 0) + 1;
}

/**
 * Inserts a queued run numbered after every earlier run of the conversation, inside `trx` — so that a job
 * queue on the same database can enqueue its job in the same transaction (src/fleet/queue.ts).
 */
export async function queueRunIn(trx: Transaction<Database>, input: QueueRunInput, notFound: () => Error, cipher: RowCipher): Promise<Run> {
  const now = Date.now();
  await lockConversation(trx, input.conversationId, now, notFound);
  const sequence = await nextRunSequence(trx, input.conversationId);
  const row = {
    id: input.runId,
    conversation_id: input.conversationId,
    sequence,
    kind: sequence === 1 ? 'new' : 'resume',
    prompt: input.prompt,
    status: 'queued',
    host: '',
    cwd: '',
    started_at: now,
    ended_at: null,
    exit_code: null,
    error: null,
    queued_at: now,
    handoffs: 0,
    redaction: null,
  };
  await trx.insertInto('runs').values(sealRunColumns(row, cipher)).execute();
  return toRun(sealRunColumns(row, cipher), cipher);
}

export function leaseLostError(conversationId: string, runId: string | undefined): BatonError {
  return new BatonError('LEASE_LOST', `run ${runId} no longer holds the lease of conversation ${conversationId}: another run took it over`, {
    hint: 'its work since the last save is kept as a fork of the conversation; see `baton show ' + conversationId + '`',
  });
}

/** Throws LEASE_LOST unless `runId` is the conversation's active run (inside the write's transaction). */
export async function assertLeaseHolder(trx: Transaction<Database>, conversationId: string, runId: string | undefined): Promise<void> {
  const row = await trx.selectFrom('conversations').select('active_run_id').where('id', '=', conversationId).executeTakeFirst();
  if (!runId || row?.active_run_id !== runId) throw leaseLostError(conversationId, runId);
}

/** An append whose base is no longer where the file's newest version ends: another writer got there first. */
export function staleBaseError(input: Pick<TranscriptAppend, 'conversationId' | 'fileKey'>): BatonError {
  return new BatonError('STORE_ERROR', `transcript "${input.fileKey}" of conversation ${input.conversationId} changed in the store while this run was saving it`, {
    hint: 'another process wrote this conversation; its lease may have expired — check `baton show` and resume again',
  });
}

/** A secret is never written to a store that a copy of the file would show it in. */
export function secretsNeedEncryption(location: string): BatonError {
  return new BatonError('STORE_NOT_ENCRYPTED', `the store ${location} is not encrypted, so it does not keep secrets`, {
    hint: 'encrypt it with `baton keys enable` (see the README, "Encryption at rest"), then set the secret again',
  });
}

export class SqlStore implements Store {
  /** Which conversation each run belongs to (it never changes): the cipher of a run's rows without a query. */
  private readonly runConversations = new Map<string, string>();

  constructor(
    readonly db: Kysely<Database>,
    readonly location: string,
    private readonly onClose: () => Promise<void> = async () => db.destroy(),
    /** Where chunk bodies live (see chunk-bodies.ts): in the rows unless told otherwise. */
    protected readonly bodies: ChunkBodies = inlineChunkBodies,
    /** Plaintext, or the master key and data keys of an encrypted store (see encryption.ts). */
    protected readonly encryption: StoreEncryption = StoreEncryption.plaintext(location),
  ) {}

  /** Whether the store is encrypted, and the id of its master key. */
  get encryptionStatus(): { encrypted: boolean; keyId: string | undefined } {
    return { encrypted: this.encryption.encrypted, keyId: this.encryption.keyId };
  }

  /** The cipher of a conversation's rows; CONVERSATION_NOT_FOUND when there is no such conversation. */
  protected async cipherFor(db: Kysely<Database> | Transaction<Database>, conversationId: string): Promise<RowCipher> {
    if (!this.encryption.encrypted) {
      // `db`, never this.db: inside a transaction on SQLite's one shared connection, another query would wait for ever.
      await this.encryption.assertStillPlaintext(db);
      return plaintextCipher;
    }
    const cipher = await this.encryption.forConversation(db, conversationId);
    if (cipher) return cipher;
    const exists = await db.selectFrom('conversations').select('id').where('id', '=', conversationId).executeTakeFirst();
    throw exists ? this.encryption.missingDataKey(conversationKeyOwner(conversationId)) : this.notFound(conversationId);
  }

  /** Ciphers of the conversations of `rows`, in one query. */
  private async ciphersOf(db: Kysely<Database> | Transaction<Database>, conversationIds: string[]): Promise<(conversationId: string) => RowCipher> {
    if (!this.encryption.encrypted) return () => plaintextCipher;
    const ciphers = await this.encryption.forConversations(db, [...new Set(conversationIds)]);
    return (conversationId) => {
      const cipher = ciphers.get(conversationId);
      if (!cipher) throw this.encryption.missingDataKey(conversationKeyOwner(conversationId));
      return cipher;
    };
  }

  /** The conversation of a run (undefined when there is no such run). Read outside any transaction: it never changes. */
  private async conversationOfRun(runId: string): Promise<string | undefined> {
    const known = this.runConversations.get(runId);
    if (known) return known;
    const row = await this.db.selectFrom('runs').select('conversation_id').where('id', '=', runId).executeTakeFirst();
    if (row) this.rememberRun(runId, row.conversation_id);
    return row?.conversation_id;
  }

  private rememberRun(runId: string, conversationId: string): void {
    if (!this.encryption.encrypted) return;
    if (this.runConversations.size >= 10_000) this.runConversations.clear();
    this.runConversations.set(runId, conversationId);
  }

  private async cipherForRun(runId: string): Promise<{ conversationId: string | undefined; cipher: RowCipher }> {
    if (!this.encryption.encrypted) {
      await this.encryption.assertStillPlaintext(this.db);
      return { conversationId: undefined, cipher: plaintextCipher };
    }
    const conversationId = await this.conversationOfRun(runId);
    return { conversationId, cipher: conversationId === undefined ? plaintextCipher : await this.cipherFor(this.db, conversationId) };
  }

  async createConversation(input: NewConversation): Promise<Conversation> {
    const now = Date.now();
    const plain = {
      tenant: input.tenant ?? null,
      options: encodeOptions(input.options),
      forked_from: input.forkedFrom ? JSON.stringify(input.forkedFrom) : null,
      id: input.id,
      harness: input.harness,
      session_id: null,
      title: input.title,
      cwd: input.cwd,
      created_at: now,
      updated_at: now,
      active_run_id: null,
      lease_expires_at: null,
      trust: 'trusted',
    };
    const key = this.encryption.newDataKey();
    if (!key) {
      await this.encryption.assertStillPlaintext(this.db);
      await this.db.insertInto('conversations').values(plain).execute();
      return toConversation(plain, plaintextCipher);
    }
    const row = sealConversationColumns(plain, key.cipher);
    const owner = conversationKeyOwner(input.id);
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('conversations').values(row).execute();
      await this.encryption.saveDataKey(trx, owner, key);
    });
    this.encryption.remember(owner, key.cipher);
    return toConversation(row, key.cipher);
  }

  async getConversation(id: string): Promise<Conversation | undefined> {
    const row = await this.db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toConversation(row, await this.cipherFor(this.db, id)) : undefined;
  }

  async listConversations(filter: { tenant?: string } = {}): Promise<Conversation[]> {
    let query = this.db.selectFrom('conversations').selectAll();
    if (filter.tenant !== undefined) query = query.where('tenant', '=', filter.tenant);
    const rows = await query.orderBy('updated_at', 'desc').orderBy('id', 'desc').execute();
    const cipherOf = await this.ciphersOf(this.db, rows.map((row) => row.id));
    return rows.map((row) => toConversation(row, cipherOf(row.id)));
  }

  async listConversationSummaries(filter: { tenant?: string } = {}): Promise<Array<{ conversation: Conversation; runs: RunTally }>> {
    let query = this.db
      .selectFrom('conversations')
      .selectAll('conversations')
      .select((eb) => [
        eb.selectFrom('runs').select(eb.fn.countAll<number>().as('n')).whereRef('runs.conversation_id', '=', 'conversations.id').as('run_count'),
        eb
          .selectFrom('runs')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('runs.conversation_id', '=', 'conversations.id')
          .where('runs.status', '=', 'queued')
          .as('queued_count'),
        eb.selectFrom('runs').select('runs.status').whereRef('runs.conversation_id', '=', 'conversations.id').orderBy('runs.sequence', 'desc').limit(1).as('last_status'),
      ]);
    if (filter.tenant !== undefined) query = query.where('conversations.tenant', '=', filter.tenant);
    const rows = await query.orderBy('conversations.updated_at', 'desc').orderBy('conversations.id', 'desc').execute();
    const cipherOf = await this.ciphersOf(this.db, rows.map((row) => row.id));
    return rows.map(({ run_count, queued_count, last_status, ...row }) => ({
      conversation: toConversation(row, cipherOf(row.id)),
      runs: { count: num(run_count ?? 0), queued: num(queued_count ?? 0), lastStatus: (last_status ?? undefined) as RunStatus | undefined },
    }));
  }

  async deleteConversation(id: string): Promise<void> {
    const removed = await this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      await this.lockConversation(trx, id, now);
      const row = await trx.selectFrom('conversations').select(['active_run_id', 'lease_expires_at']).where('id', '=', id).executeTakeFirstOrThrow();
      if (row.active_run_id && num(row.lease_expires_at ?? 0) >= now) {
        throw new BatonError('CONVERSATION_BUSY', `conversation ${id} is busy: run ${row.active_run_id} is active`, {
          hint: 'wait for the run to finish (or interrupt it), then delete the conversation',
        });
      }
      // Children first: SQLite enforces the foreign keys only when asked to, so no cascade is relied upon.
      const runs = trx.selectFrom('runs').select('id').where('conversation_id', '=', id);
      await trx.deleteFrom('run_events').where('run_id', 'in', runs).execute();
      const versions = trx.selectFrom('transcript_versions').select('id').where('conversation_id', '=', id);
      const bodies = this.bodies === inlineChunkBodies ? [] : await trx.selectFrom('transcript_chunks').select('data').where('version_id', 'in', versions).execute();
      await trx.deleteFrom('transcript_chunks').where('version_id', 'in', versions).execute();
      await trx.deleteFrom('transcript_versions').where('conversation_id', '=', id).execute();
      const snapshots = trx.selectFrom('workspace_snapshots').select('id').where('conversation_id', '=', id);
      await trx.deleteFrom('workspace_blobs').where('snapshot_id', 'in', snapshots).execute();
      await trx.deleteFrom('workspace_snapshots').where('conversation_id', '=', id).execute();
      await trx.deleteFrom('runs').where('conversation_id', '=', id).execute();
      await trx.deleteFrom('conversations').where('id', '=', id).execute();
      // Its data key goes with it: a backup taken later holds nothing that could decrypt a copy taken earlier.
      await trx.deleteFrom('data_keys').where('owner', '=', conversationKeyOwner(id)).execute();
      return bodies.map((row) => Buffer.from(row.data));
    });
    this.encryption.forget(conversationKeyOwner(id));
    await this.bodies.remove(removed);
  }

  async queueRun(input: QueueRunInput): Promise<Run> {
    const cipher = await this.cipherFor(this.db, input.conversationId);
    return this.db.transaction().execute(async (trx) => queueRunIn(trx, input, () => this.notFound(input.conversationId), cipher));
  }

  /** queueRunIn with this store's cipher for the conversation: for a job queue that enqueues in the same transaction. */
  async queueRunInTransaction(trx: Transaction<Database>, input: QueueRunInput, notFound: () => Error): Promise<Run> {
    const cipher = this.encryption.encrypted ? await this.encryption.forConversation(trx, input.conversationId) : plaintextCipher;
    if (!cipher) throw notFound();
    return queueRunIn(trx, input, notFound, cipher);
  }

  async setConversationOptions(id: string, options: ConversationOptions): Promise<void> {
    const cipher = await this.cipherFor(this.db, id);
    const encoded = encodeOptions(options);
    const sealed = encoded === null || !cipher.encrypted ? encoded : cipher.sealText(rowIdentity('conversations.options', id), encoded);
    const updated = await this.db.updateTable('conversations').set({ options: sealed, updated_at: Date.now() }).where('id', '=', id).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw this.notFound(id);
  }

  async trustConversation(id: string): Promise<void> {
    const updated = await this.db.updateTable('conversations').set({ trust: 'trusted' }).where('id', '=', id).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw this.notFound(id);
  }

  async setSessionId(conversationId: string, sessionId: string): Promise<void> {
    const result = await this.db
      .updateTable('conversations')
      .set({ session_id: sessionId, updated_at: Date.now() })
      .where('id', '=', conversationId)
      .where((eb) => eb.or([eb('session_id', 'is', null), eb('session_id', '=', sessionId)]))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      const existing = await this.getConversation(conversationId);
      if (!existing) throw this.notFound(conversationId);
      throw new BatonError(
        'SESSION_MISMATCH',
        `conversation ${conversationId} belongs to session ${existing.sessionId}, not ${sessionId}`,
        { hint: 'a conversation maps to one CLI session for ever; start a new conversation instead' },
      );
    }
  }

  async startRun(input: StartRunInput): Promise<Run> {
    const cipher = await this.cipherFor(this.db, input.conversationId);
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      await this.lockConversation(trx, input.conversationId, now);
      const previous = await trx
        .selectFrom('conversations')
        .select(['active_run_id', 'lease_expires_at'])
        .where('id', '=', input.conversationId)
        .executeTakeFirstOrThrow();
      const cwd = cipher.sealText(rowIdentity('conversations.cwd', input.conversationId), input.cwd);
      const taken = await trx
        .updateTable('conversations')
        .set({ active_run_id: input.runId, lease_expires_at: now + input.leaseMs, updated_at: now, cwd })
        .where('id', '=', input.conversationId)
        .where((eb) => eb.or([eb('active_run_id', 'is', null), eb('lease_expires_at', '<', now)]))
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 0) {
        const active = previous.active_run_id
          ? await trx.selectFrom('runs').select(['host', 'started_at']).where('id', '=', previous.active_run_id).executeTakeFirst()
          : undefined;
        const where = active ? ` on ${active.host} since ${new Date(num(active.started_at)).toISOString()}` : '';
        throw new BatonError('CONVERSATION_BUSY', `conversation ${input.conversationId} is busy: run ${previous.active_run_id} is active${where}`, {
          hint: 'wait for that run to finish (a run whose process died is taken over once its lease expires), then resume again',
        });
      }
      if (previous.active_run_id) {
        // The previous holder's lease expired: its process died without a final save.
        const error = 'lease expired: the process running it stopped without a final save; the transcript is kept up to its last save';
        await trx
          .updateTable('runs')
          .set({ status: 'failed', ended_at: now, error: sealRunError(cipher, { id: previous.active_run_id, conversation_id: input.conversationId }, error) })
          .where('id', '=', previous.active_run_id)
          .where('conversation_id', '=', input.conversationId)
          .where('status', '=', 'running')
          .execute();
      }
      const claimed = await trx
        .updateTable('runs')
        .set({ status: 'running', kind: input.kind, host: input.host, cwd: cipher.sealText(runIdentity('cwd', { id: input.runId, conversation_id: input.conversationId }), input.cwd), started_at: now, ended_at: null, exit_code: null, error: null, redaction: encodeRedaction(input.redaction) })
        .where('id', '=', input.runId)
        .where('conversation_id', '=', input.conversationId)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      this.rememberRun(input.runId, input.conversationId);
      if (Number(claimed.numUpdatedRows) > 0) {
        return toRun(await trx.selectFrom('runs').selectAll().where('id', '=', input.runId).executeTakeFirstOrThrow(), cipher);
      }
      const row = sealRunColumns(
        {
          id: input.runId,
          conversation_id: input.conversationId,
          sequence: await nextRunSequence(trx, input.conversationId),
          kind: input.kind,
          prompt: input.prompt,
          status: 'running',
          host: input.host,
          cwd: input.cwd,
          started_at: now,
          ended_at: null,
          exit_code: null,
          error: null,
          queued_at: null,
          handoffs: 0,
          redaction: encodeRedaction(input.redaction),
        },
        cipher,
      );
      await trx.insertInto('runs').values(row).execute();
      return toRun(row, cipher);
    });
  }

  /** lockConversation, failing with CONVERSATION_NOT_FOUND. */
  private async lockConversation(trx: Transaction<Database>, conversationId: string, now: number): Promise<void> {
    await lockConversation(trx, conversationId, now, () => this.notFound(conversationId));
  }

  async renewLease(runId: string, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('conversations')
      .set({ lease_expires_at: Date.now() + leaseMs })
      .where('active_run_id', '=', runId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async finishRun(runId: string, result: FinishRunInput): Promise<Run> {
    const { conversationId, cipher } = await this.cipherForRun(runId);
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      // The conversation before the run, the order startRun locks them in: a takeover of this run's expired
      // lease racing this finish would otherwise deadlock on PostgreSQL's row locks.
      await trx
        .updateTable('conversations')
        .set({ active_run_id: null, lease_expires_at: null, updated_at: now })
        .where('active_run_id', '=', runId)
        .execute();
      let usage: RunUsage | undefined;
      if (result.usage) {
        // Added to what earlier executions of a handed-back run used.
        const before = await trx.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
        usage = sumUsage([before ? toRun(before, cipher).usage : undefined, result.usage]);
      }
      const error = conversationId === undefined ? (result.error ?? null) : sealRunError(cipher, { id: runId, conversation_id: conversationId }, result.error ?? null);
      await trx
        .updateTable('runs')
        .set({ status: result.status, ended_at: now, exit_code: result.exitCode ?? null, error, error_code: result.errorCode ?? null, ...(usage ? usageColumns(usage) : {}) })
        .where('id', '=', runId)
        .execute();
      const row = await trx.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
      return toRun(row, cipher);
    });
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
    if (!row) return undefined;
    this.rememberRun(row.id, row.conversation_id);
    return toRun(row, await this.cipherFor(this.db, row.conversation_id));
  }

  async listRuns(conversationId: string): Promise<Run[]> {
    const rows = await this.db.selectFrom('runs').selectAll().where('conversation_id', '=', conversationId).orderBy('sequence').execute();
    if (rows.length === 0) return [];
    const cipher = await this.cipherFor(this.db, conversationId);
    return rows.map((row) => toRun(row, cipher));
  }

  async appendRunEvents(runId: string, events: NewRunEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { conversationId, cipher } = await this.cipherForRun(runId);
    await this.db.transaction().execute(async (trx) => {
      // A write first (see the class comment), then read the next sequence number under the write lock.
      await trx.updateTable('runs').set({ id: runId }).where('id', '=', runId).execute();
      const last = await trx
        .selectFrom('run_events')
        .select((eb) => eb.fn.max('sequence').as('sequence'))
        .where('run_id', '=', runId)
        .executeTakeFirst();
      let sequence = num(last?.sequence ?? 0);
      await trx
        .insertInto('run_events')
        .values(
          events.map((event) => {
            const data = JSON.stringify(event.data ?? null);
            sequence++;
            return { run_id: runId, sequence, at: event.at, type: event.type, data: conversationId === undefined ? data : cipher.sealText(eventIdentity(conversationId, runId, sequence), data) };
          }),
        )
        .execute();
    });
  }

  async listRunEvents(runId: string, afterSequence = 0): Promise<StoredRunEvent[]> {
    const rows = await this.db.selectFrom('run_events').selectAll().where('run_id', '=', runId).where('sequence', '>', afterSequence).orderBy('sequence').execute();
    if (rows.length === 0) return [];
    const { conversationId, cipher } = await this.cipherForRun(runId);
    return rows.map((row) => {
      const sequence = num(row.sequence);
      const data = conversationId === undefined ? row.data : cipher.openText(eventIdentity(conversationId, runId, sequence), row.data, `event ${sequence} of run ${runId}`);
      return { runId: row.run_id, sequence, at: num(row.at), type: row.type, data: JSON.parse(data) as unknown };
    });
  }

  async appendTranscript(input: TranscriptAppend): Promise<TranscriptCursor> {
    const cipher = await this.cipherFor(this.db, input.conversationId);
    return this.db.transaction().execute(async (trx) => this.appendTranscriptIn(trx, input, cipher));
  }

  private async appendTranscriptIn(trx: Transaction<Database>, input: TranscriptAppend, cipher: RowCipher): Promise<TranscriptCursor> {
    const meta = input.meta ? JSON.stringify(input.meta) : null;
    if (input.base === undefined) {
      if (input.asLeaseHolder) await assertLeaseHolder(trx, input.conversationId, input.runId);
      const inserted = await trx
        .insertInto('transcript_versions')
        .values({
          conversation_id: input.conversationId,
          file_key: input.fileKey,
          created_at: Date.now(),
          created_by_run_id: input.runId ?? null,
          line_count: input.after.lineCount,
          byte_length: input.after.byteLength,
          sha256: cipher.digest(input.after.sha256),
          // Sealed below, once the row's id (part of its associated data) is known.
          meta: cipher.encrypted ? null : meta,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const versionId = num(inserted.id);
      if (cipher.encrypted && meta !== null) {
        await trx.updateTable('transcript_versions').set({ meta: cipher.sealText(metaIdentity(input.conversationId, versionId), meta) }).where('id', '=', versionId).execute();
      }
      // A whole version is stored in pieces of a few MB (at line ends) that load in parallel.
      const hash = createHash('sha256');
      let lineCount = 0;
      let offset = 0;
      const pieces = splitAtLines(input.bytes);
      for (const [sequence, piece] of pieces.entries()) {
        hash.update(piece);
        lineCount += countNewlines(piece);
        const last = sequence === pieces.length - 1;
        const encoded = sealBody(cipher, encodeChunk(piece), chunkIdentity(input.conversationId, versionId, offset, piece.length));
        offset += piece.length;
        await trx
          .insertInto('transcript_chunks')
          .values({
            version_id: versionId,
            sequence,
            codec: encoded.codec,
            data: await this.bodies.write(encoded.data),
            byte_length: piece.length,
            line_count_after: last ? input.after.lineCount : lineCount,
            sha256_after: cipher.digest(last ? input.after.sha256 : hash.copy().digest('hex')),
          })
          .execute();
      }
      return { versionId, ...input.after };
    }

    const base = input.base;
    // One statement checks that `base` is still the file's newest version and still ends where the writer
    // thinks, and moves its end; a second appends the chunk after the version's last one.
    const updated = await trx
      .updateTable('transcript_versions')
      .set({
        line_count: input.after.lineCount,
        byte_length: input.after.byteLength,
        sha256: cipher.digest(input.after.sha256),
        ...(meta ? { meta: cipher.sealText(metaIdentity(input.conversationId, base.versionId), meta) } : {}),
      })
      .where('id', '=', base.versionId)
      .where('conversation_id', '=', input.conversationId)
      .where('file_key', '=', input.fileKey)
      .where('sha256', '=', cipher.digest(base.sha256))
      .where('byte_length', '=', base.byteLength)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('transcript_versions as newer')
              .select('newer.id')
              .where('newer.conversation_id', '=', input.conversationId)
              .where('newer.file_key', '=', input.fileKey)
              .where('newer.id', '>', base.versionId),
          ),
        ),
      )
      .$if(input.asLeaseHolder === true, (query) =>
        query.where(({ exists, selectFrom }) =>
          exists(selectFrom('conversations').select('conversations.id').where('conversations.id', '=', input.conversationId).where('conversations.active_run_id', '=', input.runId ?? '')),
        ),
      )
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      if (input.asLeaseHolder) await assertLeaseHolder(trx, input.conversationId, input.runId);
      throw staleBaseError(input);
    }
    const encoded = sealBody(cipher, encodeChunk(input.bytes), chunkIdentity(input.conversationId, base.versionId, base.byteLength, input.bytes.length));
    const data = await this.bodies.write(encoded.data);
    await trx
      .insertInto('transcript_chunks')
      .columns(['version_id', 'sequence', 'codec', 'data', 'byte_length', 'line_count_after', 'sha256_after'])
      .expression((eb) =>
        eb
          .selectFrom('transcript_chunks')
          .select((inner) => [
            inner.val(base.versionId).as('version_id'),
            sql<number>`coalesce(max(${inner.ref('sequence')}), 0) + 1`.as('sequence'),
            inner.val(encoded.codec).as('codec'),
            inner.val(data).as('data'),
            inner.val(input.bytes.length).as('byte_length'),
            inner.val(input.after.lineCount).as('line_count_after'),
            inner.val(cipher.digest(input.after.sha256)).as('sha256_after'),
          ])
          .where('version_id', '=', base.versionId),
      )
      .execute();
    return { versionId: base.versionId, ...input.after };
  }

  async compactTranscript(versionId: number): Promise<{ chunksBefore: number; chunksAfter: number }> {
    const version = await this.db.selectFrom('transcript_versions').select('conversation_id').where('id', '=', versionId).executeTakeFirst();
    const conversationId = version?.conversation_id ?? '';
    const cipher = version ? await this.cipherFor(this.db, conversationId) : plaintextCipher;
    const removed: Buffer[] = [];
    const result = await this.db.transaction().execute(async (trx) => {
      // A write first, to take the write lock before reading (see the class comment).
      await trx.updateTable('transcript_versions').set((eb) => ({ byte_length: eb.ref('byte_length') })).where('id', '=', versionId).execute();
      const chunks = await trx.selectFrom('transcript_chunks').selectAll().where('version_id', '=', versionId).orderBy('sequence').execute();
      // Where each chunk starts in the version: part of its body's associated data.
      const offsets = new Map<number, number>();
      let start = 0;
      for (const chunk of chunks) {
        offsets.set(chunk.sequence, start);
        start += num(chunk.byte_length);
      }
      // Runs of consecutive small chunks (periodic deltas), each grouped into pieces of at most MAX_CHUNK_BYTES;
      // a large chunk stays as it is and ends the run before it.
      const groups: Array<typeof chunks> = [];
      let open: typeof chunks | undefined;
      let openBytes = 0;
      for (const chunk of chunks) {
        const bytes = num(chunk.byte_length);
        if (bytes >= SMALL_CHUNK_BYTES) {
          groups.push([chunk]);
          open = undefined;
        } else if (open && openBytes + bytes <= MAX_CHUNK_BYTES) {
          open.push(chunk);
          openBytes += bytes;
        } else {
          open = [chunk];
          openBytes = bytes;
          groups.push(open);
        }
      }
      let chunksAfter = 0;
      for (const group of groups) {
        chunksAfter++;
        if (group.length < 2) continue;
        const parts: Buffer[] = [];
        for (const chunk of group) {
          const bytes = await this.bodies
            .read(Buffer.from(chunk.data))
            .then((data) => {
              const body = openBody(cipher, chunk.codec, data, chunkIdentity(conversationId, versionId, offsets.get(chunk.sequence)!, num(chunk.byte_length)));
              return body ? decodeChunkAsync(body) : undefined;
            })
            .catch(() => undefined);
          // A damaged chunk is left for loadTranscript to report, never merged away.
          if (!bytes || bytes.length !== num(chunk.byte_length)) return { chunksBefore: chunks.length, chunksAfter: chunks.length };
          parts.push(bytes);
        }
        const merged = Buffer.concat(parts);
        const first = group[0]!;
        const last = group.at(-1)!;
        const encoded = sealBody(cipher, encodeChunk(merged), chunkIdentity(conversationId, versionId, offsets.get(first.sequence)!, merged.length));
        await trx.deleteFrom('transcript_chunks').where('version_id', '=', versionId).where('sequence', 'in', group.map((chunk) => chunk.sequence)).execute();
        removed.push(...group.map((chunk) => Buffer.from(chunk.data)));
        await trx
          .insertInto('transcript_chunks')
          .values({ version_id: versionId, sequence: first.sequence, codec: encoded.codec, data: await this.bodies.write(encoded.data), byte_length: merged.length, line_count_after: last.line_count_after, sha256_after: last.sha256_after })
          .execute();
      }
      return { chunksBefore: chunks.length, chunksAfter };
    });
    await this.bodies.remove(removed);
    return result;
  }

  async loadTranscript(conversationId: string): Promise<StoredTranscript | undefined> {
    // One read transaction: a consistent snapshot. SQLite's transactions are snapshots already (kysely's SQLite
    // driver ignores these settings); PostgreSQL needs REPEATABLE READ, or a compaction committed between the
    // version and chunk reads would tear the version. Chunks appended after the version row was read are also
    // ignored below (the version row says where it ends).
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => this.loadTranscriptIn(trx, conversationId));
  }

  private async loadTranscriptIn(trx: Transaction<Database>, conversationId: string): Promise<StoredTranscript | undefined> {
    const versions = await trx
      .selectFrom('transcript_versions')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'desc')
      .execute();
    const latestByKey = new Map<string, (typeof versions)[number]>();
    for (const version of versions) if (!latestByKey.has(version.file_key)) latestByKey.set(version.file_key, version);
    if (latestByKey.size === 0) return undefined;
    const cipher = await this.cipherFor(trx, conversationId);

    const files: StoredTranscriptFile[] = [];
    let meta: SessionMeta | undefined;
    for (const version of [...latestByKey.values()].sort((a, b) => a.file_key.localeCompare(b.file_key))) {
      const versionId = num(version.id);
      const chunks = await trx.selectFrom('transcript_chunks').selectAll().where('version_id', '=', versionId).orderBy('sequence').execute();
      // Chunks appended after the version row was read (a writer on a backend without snapshot reads) are ignored.
      const versionBytes = num(version.byte_length);
      const wanted: typeof chunks = [];
      const offsets: number[] = [];
      for (let covered = 0, index = 0; index < chunks.length && (covered < versionBytes || wanted.length === 0); index++) {
        wanted.push(chunks[index]!);
        offsets.push(covered);
        covered += num(chunks[index]!.byte_length);
      }
      const decoded = await Promise.all(
        wanted.map(async (chunk, index) => {
          const data = await this.bodies.read(Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength)).catch(() => {
            throw corrupt(conversationId, version.file_key, `chunk ${chunk.sequence} cannot be read`);
          });
          const body = openBody(cipher, chunk.codec, data, chunkIdentity(conversationId, versionId, offsets[index]!, num(chunk.byte_length)));
          if (!body) throw corrupt(conversationId, version.file_key, `chunk ${chunk.sequence} ${bodyProblem(cipher, chunk.codec)}`);
          try {
            return await decodeChunkAsync(body, num(chunk.byte_length));
          } catch {
            throw corrupt(conversationId, version.file_key, `chunk ${chunk.sequence} does not decompress`);
          }
        }),
      );
      const hash: Hash = createHash('sha256');
      const parts: Buffer[] = [];
      let byteLength = 0;
      for (const [index, chunk] of wanted.entries()) {
        const bytes = decoded[index]!;
        if (bytes.length !== num(chunk.byte_length)) throw corrupt(conversationId, version.file_key, `chunk ${chunk.sequence} has ${bytes.length} bytes, expected ${chunk.byte_length}`);
        hash.update(bytes);
        parts.push(bytes);
        byteLength += bytes.length;
        if (cipher.digest(hash.copy().digest('hex')) !== chunk.sha256_after) throw corrupt(conversationId, version.file_key, `sha256 mismatch after chunk ${chunk.sequence}`);
      }
      const content = parts.length === 1 ? parts[0]! : Buffer.concat(parts, byteLength);
      const sha256 = hash.digest('hex');
      const lineCount = countLines(content);
      if (cipher.digest(sha256) !== version.sha256 || byteLength !== num(version.byte_length) || lineCount !== num(version.line_count)) {
        throw corrupt(conversationId, version.file_key, `expected ${version.line_count} lines and sha256 ${version.sha256.slice(0, 12)}…, found ${lineCount} lines and sha256 ${cipher.digest(sha256).slice(0, 12)}…`);
      }
      if (version.file_key === 'main' && version.meta) {
        meta = JSON.parse(cipher.openText(metaIdentity(conversationId, versionId), version.meta, `session metadata of conversation ${conversationId}`)) as SessionMeta;
      }
      files.push({ key: version.file_key, content, lineCount, sha256, cursor: { versionId, lineCount, byteLength, sha256 } });
    }
    return { conversationId, meta, files };
  }

  async saveWorkspaceSnapshot(input: {
    conversationId: string;
    runId: string;
    snapshot: WorkspaceSnapshot;
    transcript: { versionId: number; byteLength: number } | undefined;
    asLeaseHolder?: boolean;
  }): Promise<number> {
    const cipher = await this.cipherFor(this.db, input.conversationId);
    return this.db.transaction().execute(async (trx) => this.saveWorkspaceSnapshotIn(trx, input, cipher));
  }

  private async saveWorkspaceSnapshotIn(
    trx: Transaction<Database>,
    input: { conversationId: string; runId: string; snapshot: WorkspaceSnapshot; transcript: { versionId: number; byteLength: number } | undefined; asLeaseHolder?: boolean },
    cipher: RowCipher,
  ): Promise<number> {
    if (input.asLeaseHolder) await assertLeaseHolder(trx, input.conversationId, input.runId);
    const manifest = JSON.stringify(input.snapshot.manifest);
    const inserted = await trx
      .insertInto('workspace_snapshots')
      .values({
        conversation_id: input.conversationId,
        run_id: input.runId,
        created_at: Date.now(),
        kind: input.snapshot.manifest.kind,
        fingerprint: cipher.digest(input.snapshot.manifest.fingerprint),
        // Sealed below, once the row's id (part of its associated data) is known.
        manifest: cipher.encrypted ? '' : manifest,
        transcript_version_id: input.transcript?.versionId ?? null,
        transcript_byte_length: input.transcript?.byteLength ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const snapshotId = num(inserted.id);
    if (cipher.encrypted) {
      await trx.updateTable('workspace_snapshots').set({ manifest: cipher.sealText(manifestIdentity(input.conversationId, snapshotId), manifest) }).where('id', '=', snapshotId).execute();
    }
    for (const [name, bytes] of Object.entries(input.snapshot.blobs) as Array<[string, Buffer | undefined]>) {
      if (!bytes) continue;
      const sha256 = cipher.digest(createHash('sha256').update(bytes).digest('hex'));
      // The same bundle (same HEAD) at every save of a run: stored once per conversation, then referenced.
      const same = await trx
        .selectFrom('workspace_blobs')
        .innerJoin('workspace_snapshots', 'workspace_snapshots.id', 'workspace_blobs.snapshot_id')
        .select('workspace_blobs.snapshot_id')
        .where('workspace_snapshots.conversation_id', '=', input.conversationId)
        .where('workspace_blobs.name', '=', name)
        .where('workspace_blobs.sha256', '=', sha256)
        .where('workspace_blobs.codec', '!=', BLOB_REFERENCE)
        .limit(1)
        .executeTakeFirst();
      // A git bundle is already compressed: brotli would spend time for nothing.
      const encoded = same
        ? { codec: BLOB_REFERENCE, data: Buffer.from(String(num(same.snapshot_id))) }
        : sealBody(cipher, name === 'bundle' ? { codec: 'none' as const, data: bytes } : encodeChunk(bytes), blobIdentity(input.conversationId, snapshotId, name, bytes.length));
      await trx
        .insertInto('workspace_blobs')
        .values({ snapshot_id: snapshotId, name, codec: encoded.codec, data: encoded.data, byte_length: bytes.length, sha256 })
        .execute();
    }
    return snapshotId;
  }

  async listWorkspaceSnapshots(conversationId: string): Promise<WorkspaceSnapshotSummary[]> {
    const rows = await this.db.selectFrom('workspace_snapshots').selectAll().where('conversation_id', '=', conversationId).orderBy('id').execute();
    if (rows.length === 0) return [];
    const cipher = await this.cipherFor(this.db, conversationId);
    return rows.map((row) => toSnapshotSummary(row, cipher));
  }

  async loadWorkspaceSnapshot(conversationId: string, atRunId?: string): Promise<StoredWorkspaceSnapshot | undefined> {
    let query = this.db.selectFrom('workspace_snapshots').selectAll().where('conversation_id', '=', conversationId);
    if (atRunId !== undefined) query = query.where('run_id', '=', atRunId);
    const row = await query.orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (!row) return undefined;
    const cipher = await this.cipherFor(this.db, conversationId);
    const summary = toSnapshotSummary(row, cipher);
    const blobRows = await this.db.selectFrom('workspace_blobs').selectAll().where('snapshot_id', '=', summary.id).execute();
    const blobs: WorkspaceBlobs = {};
    for (const row of blobRows) {
      const blob =
        row.codec === BLOB_REFERENCE
          ? ((await this.db
              .selectFrom('workspace_blobs')
              .selectAll()
              .where('snapshot_id', '=', Number(Buffer.from(row.data).toString()))
              .where('name', '=', row.name)
              .where('sha256', '=', row.sha256)
              .executeTakeFirst()) ?? row)
          : row;
      const damaged = (): BatonError =>
        new BatonError('WORKSPACE_ERROR', `the stored workspace ${blob.name} of conversation ${conversationId} is damaged`, {
          hint: 'resume with --no-workspace to continue without the files',
        });
      if (blob.name !== 'bundle' && blob.name !== 'patch' && blob.name !== 'archive') throw damaged();
      // Sealed for this conversation and the snapshot that stored it: a reference to another conversation's blob fails here.
      const body = openBody(cipher, blob.codec, Buffer.from(blob.data), blobIdentity(conversationId, num(blob.snapshot_id), blob.name, num(blob.byte_length)));
      if (!body) throw damaged();
      const bytes = await decodeChunkAsync(body).catch(() => {
        throw damaged();
      });
      if (bytes.length !== num(blob.byte_length) || cipher.digest(createHash('sha256').update(bytes).digest('hex')) !== blob.sha256) throw damaged();
      blobs[blob.name] = bytes;
    }
    return { ...summary, blobs };
  }

  async importConversation(imported: ImportedConversation): Promise<void> {
    const { conversation } = imported;
    if (await this.db.selectFrom('conversations').select('id').where('id', '=', conversation.id).executeTakeFirst()) {
      throw new BatonError('IMPORT_INVALID', `conversation ${conversation.id} already exists in ${this.location}`, {
        hint: `it was imported before (see \`baton show ${conversation.id}\`); import a second copy under a fresh id with --as-new`,
      });
    }
    const runIds = imported.runs.map((run) => run.id);
    const taken = runIds.length === 0 ? [] : await this.db.selectFrom('runs').select('id').where('id', 'in', runIds).limit(1).execute();
    if (taken.length > 0) {
      throw new BatonError('IMPORT_INVALID', `run ${taken[0]!.id} of the imported conversation already exists in ${this.location}, in another conversation`, {
        hint: 'import it under fresh ids with --as-new',
      });
    }
    const key = this.encryption.newDataKey();
    if (!key) await this.encryption.assertStillPlaintext(this.db);
    const cipher = key?.cipher ?? plaintextCipher;
    const owner = conversationKeyOwner(conversation.id);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('conversations')
        .values(
          sealConversationColumns(
            {
              id: conversation.id,
              harness: conversation.harness,
              session_id: conversation.sessionId ?? null,
              title: conversation.title,
              cwd: conversation.cwd,
              created_at: conversation.createdAt,
              updated_at: conversation.updatedAt,
              active_run_id: null,
              lease_expires_at: null,
              tenant: conversation.tenant ?? null,
              options: encodeOptions(conversation.options),
              forked_from: conversation.forkedFrom ? JSON.stringify(conversation.forkedFrom) : null,
              trust: conversation.trust ?? 'untrusted',
            },
            cipher,
          ),
        )
        .execute();
      if (key) await this.encryption.saveDataKey(trx, owner, key);
      for (const run of imported.runs) {
        await trx
          .insertInto('runs')
          .values(
            sealRunColumns(
              {
                id: run.id,
                conversation_id: conversation.id,
                sequence: run.sequence,
                kind: run.kind,
                prompt: run.prompt,
                // A run that was still running (or waiting) when exported cannot be running here.
                status: run.status === 'running' || run.status === 'queued' ? 'interrupted' : run.status,
                host: run.host,
                cwd: run.cwd,
                started_at: run.startedAt,
                ended_at: run.endedAt ?? null,
                exit_code: run.exitCode ?? null,
                error: run.error ?? null,
                queued_at: run.queuedAt ?? null,
                handoffs: run.handoffs ?? 0,
                redaction: encodeRedaction(run.redaction),
                ...usageColumns(run.usage),
                error_code: run.errorCode ?? null,
              },
              cipher,
            ),
          )
          .execute();
      }
      for (const event of imported.events) {
        const data = JSON.stringify(event.data ?? null);
        await trx
          .insertInto('run_events')
          .values({ run_id: event.runId, sequence: event.sequence, at: event.at, type: event.type, data: cipher.sealText(eventIdentity(conversation.id, event.runId, event.sequence), data) })
          .execute();
      }
      if (imported.workspace) await this.saveWorkspaceSnapshotIn(trx, { conversationId: conversation.id, ...imported.workspace, transcript: undefined }, cipher);
      for (const file of imported.files) {
        await this.appendTranscriptIn(
          trx,
          {
            conversationId: conversation.id,
            fileKey: file.key,
            runId: undefined,
            base: undefined,
            bytes: file.content,
            after: { lineCount: file.lineCount, byteLength: file.content.length, sha256: file.sha256 },
            meta: file.key === 'main' ? imported.meta : undefined,
          },
          cipher,
        );
      }
    });
    if (key) this.encryption.remember(owner, cipher);
  }

  // --- tenant secrets -------------------------------------------------------------------------------------

  /**
   * Stores (or replaces) a tenant's secret, encrypted under the tenant's data key. Refused in a plaintext
   * store: a secret is never written where a copy of the file would show it.
   */
  async setTenantSecret(tenant: string, name: string, value: string): Promise<void> {
    assertSecretName(name);
    // It becomes an environment variable, where a NUL cannot go.
    if (value.includes('\0')) throw new BatonError('USAGE', `the value of secret ${name} holds a NUL character`, { hint: 'store the value without it' });
    if (!this.encryption.encrypted) throw secretsNeedEncryption(this.location);
    const owner = tenantKeyOwner(tenant);
    const existing = await this.encryption.forTenant(this.db, tenant);
    const key = existing ? undefined : this.encryption.newDataKey();
    const cipher = existing ?? key!.cipher;
    const now = Date.now();
    const sealed = cipher.sealText(secretIdentity(tenant, name), value);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('tenant_secrets')
        .values({ tenant, name, value: sealed, created_at: now, updated_at: now })
        .onConflict((conflict) => conflict.columns(['tenant', 'name']).doUpdateSet({ value: sealed, updated_at: now }))
        .execute();
      if (key) await this.encryption.saveDataKey(trx, owner, key);
    });
    if (key) this.encryption.remember(owner, cipher);
  }

  /** The names of a tenant's secrets, sorted; never their values. */
  async listTenantSecretNames(tenant: string): Promise<string[]> {
    const rows = await this.db.selectFrom('tenant_secrets').select('name').where('tenant', '=', tenant).orderBy('name').execute();
    return rows.map((row) => row.name);
  }

  /** Removes a tenant's secret; false when there was none by that name. */
  async deleteTenantSecret(tenant: string, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('tenant_secrets').where('tenant', '=', tenant).where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** A tenant's secrets, name → value, for the environment of that tenant's runs. */
  async tenantSecrets(tenant: string): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom('tenant_secrets').select(['name', 'value']).where('tenant', '=', tenant).orderBy('name').execute();
    if (rows.length === 0) return {};
    const cipher = await this.encryption.forTenant(this.db, tenant);
    if (!cipher) throw this.encryption.missingDataKey(tenantKeyOwner(tenant));
    return Object.fromEntries(rows.map((row) => [row.name, cipher.openText(secretIdentity(tenant, row.name), row.value, `secret ${row.name} of tenant ${tenant}`)]));
  }

  // --- keys -----------------------------------------------------------------------------------------------

  /** Re-wraps every data key under `next` (one transaction; transcripts untouched); `next` is this store's key from then on. */
  async rotateMasterKey(next: KeyMaterial): Promise<{ dataKeys: number; from: string; to: string }> {
    return this.encryption.rotate(this.db, next);
  }

  /**
   * Encrypts this plaintext store in place, in one transaction, under the key it was opened with
   * (`allowPlaintextWithKey`): every conversation gets its data key and every row is rewritten sealed.
   */
  async enableEncryption(): Promise<{ conversations: number; keyId: string }> {
    const { encryptStoreInPlace } = await import('./enable-encryption.js');
    return encryptStoreInPlace(this.db, this.bodies, this.encryption, this.location);
  }

  async close(): Promise<void> {
    this.encryption.close();
    this.runConversations.clear();
    await this.onClose();
  }

  private notFound(conversationId: string): BatonError {
    return new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${conversationId} in ${this.location}`, {
      hint: 'list conversations with `baton ls`, or point at the right store with --store or BATON_STORE',
    });
  }
}

export const eventIdentity = (conversationId: string, runId: string, sequence: number): string => rowIdentity('run_events.data', conversationId, runId, sequence);
export const metaIdentity = (conversationId: string, versionId: number): string => rowIdentity('transcript_versions.meta', conversationId, versionId);
const secretIdentity = (tenant: string, name: string): string => rowIdentity('tenant_secrets.value', tenant, name);
