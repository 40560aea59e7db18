/** Conversations: their rows (and data keys, in an encrypted store), listing, options, trust, session id and deletion. */
import type { Transaction } from 'kysely';
import { BatonError } from '../../errors.js';
import { inlineChunkBodies } from '../chunk-bodies.js';
import { BLOB_REFERENCE } from './sealed-bodies.js';
import { conversationKeyOwner, plaintextCipher, rowIdentity } from '../encryption.js';
import type { Database } from '../schema.js';
import type { Conversation, ConversationFilter, ConversationOptions, NewConversation, RunStatus, RunTally } from '../store.js';
import type { SqlContext } from './context.js';
import { encodeOptions, num, sealConversationColumns, toConversation } from './rows.js';

/**
 * Touches the conversation row, which takes SQLite's write lock (or PostgreSQL's row lock) before the
 * transaction reads anything; throws `notFound()` when there is no such conversation.
 */
export async function lockConversation(trx: Transaction<Database>, conversationId: string, now: number, notFound: () => Error): Promise<void> {
  const touched = await trx.updateTable('conversations').set({ updated_at: now }).where('id', '=', conversationId).executeTakeFirst();
  if (Number(touched.numUpdatedRows) === 0) throw notFound();
}

export class SqlConversations {
  constructor(private readonly context: SqlContext) {}

  async create(input: NewConversation): Promise<Conversation> {
    const { db, encryption } = this.context;
    const now = Date.now();
    const plain = {
      tenant: input.tenant ?? null,
      options: encodeOptions(input.options),
      forked_from: input.forkedFrom ? JSON.stringify(input.forkedFrom) : null,
      adopted_from: input.adoptedFrom ? JSON.stringify(input.adoptedFrom) : null,
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
    const key = encryption.newDataKey();
    if (!key) {
      await encryption.assertStillPlaintext(db);
      await db.insertInto('conversations').values(plain).execute();
      return toConversation(plain, plaintextCipher);
    }
    const row = sealConversationColumns(plain, key.cipher);
    const owner = conversationKeyOwner(input.id);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('conversations').values(row).execute();
      await encryption.saveDataKey(trx, owner, key);
    });
    encryption.remember(owner, key.cipher);
    return toConversation(row, key.cipher);
  }

  async get(id: string): Promise<Conversation | undefined> {
    const { db } = this.context;
    const row = await db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toConversation(row, await this.context.cipherFor(db, id)) : undefined;
  }

  async list(filter: ConversationFilter = {}): Promise<Conversation[]> {
    const { db } = this.context;
    let query = db.selectFrom('conversations').selectAll();
    if (filter.tenant === null) query = query.where('tenant', 'is', null);
    else if (filter.tenant !== undefined) query = query.where('tenant', '=', filter.tenant);
    // The session id is never sealed: it is what `baton adopt` looks a session up by.
    if (filter.session !== undefined) query = query.where('harness', '=', filter.session.harness).where('session_id', '=', filter.session.sessionId);
    const rows = await query.orderBy('updated_at', 'desc').orderBy('id', 'desc').execute();
    const cipherOf = await this.context.ciphersOf(db, rows.map((row) => row.id));
    return rows.map((row) => toConversation(row, cipherOf(row.id)));
  }

  async listSummaries(filter: Pick<ConversationFilter, 'tenant'> = {}): Promise<Array<{ conversation: Conversation; runs: RunTally }>> {
    const { db } = this.context;
    let query = db
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
    if (filter.tenant === null) query = query.where('conversations.tenant', 'is', null);
    else if (filter.tenant !== undefined) query = query.where('conversations.tenant', '=', filter.tenant);
    const rows = await query.orderBy('conversations.updated_at', 'desc').orderBy('conversations.id', 'desc').execute();
    const cipherOf = await this.context.ciphersOf(db, rows.map((row) => row.id));
    return rows.map(({ run_count, queued_count, last_status, ...row }) => ({
      conversation: toConversation(row, cipherOf(row.id)),
      runs: { count: num(run_count ?? 0), queued: num(queued_count ?? 0), lastStatus: (last_status ?? undefined) as RunStatus | undefined },
    }));
  }

  async delete(id: string): Promise<void> {
    const { db, bodies, encryption } = this.context;
    const removed = await db.transaction().execute(async (trx) => {
      const now = Date.now();
      await lockConversation(trx, id, now, () => this.context.notFound(id));
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
      const stored = bodies === inlineChunkBodies ? [] : await trx.selectFrom('transcript_chunks').select('data').where('version_id', 'in', versions).execute();
      await trx.deleteFrom('transcript_chunks').where('version_id', 'in', versions).execute();
      await trx.deleteFrom('transcript_versions').where('conversation_id', '=', id).execute();
      const snapshots = trx.selectFrom('workspace_snapshots').select('id').where('conversation_id', '=', id);
      const blobs = bodies === inlineChunkBodies ? [] : await trx.selectFrom('workspace_blobs').select('data').where('snapshot_id', 'in', snapshots).where('codec', '!=', BLOB_REFERENCE).execute();
      await trx.deleteFrom('workspace_blobs').where('snapshot_id', 'in', snapshots).execute();
      await trx.deleteFrom('workspace_snapshots').where('conversation_id', '=', id).execute();
      await trx.deleteFrom('runs').where('conversation_id', '=', id).execute();
      await trx.deleteFrom('conversations').where('id', '=', id).execute();
      // Its data key goes with it: a backup taken later holds nothing that could decrypt a copy taken earlier.
      await trx.deleteFrom('data_keys').where('owner', '=', conversationKeyOwner(id)).execute();
      return [...stored, ...blobs].map((row) => Buffer.from(row.data));
    });
    encryption.forget(conversationKeyOwner(id));
    await bodies.remove(removed, db);
  }

  async setOptions(id: string, options: ConversationOptions): Promise<void> {
    const { db } = this.context;
    const cipher = await this.context.cipherFor(db, id);
    const encoded = encodeOptions(options);
    const sealed = encoded === null || !cipher.encrypted ? encoded : cipher.sealText(rowIdentity('conversations.options', id), encoded);
    const updated = await db.updateTable('conversations').set({ options: sealed, updated_at: Date.now() }).where('id', '=', id).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw this.context.notFound(id);
  }

  async trust(id: string): Promise<void> {
    const updated = await this.context.db.updateTable('conversations').set({ trust: 'trusted' }).where('id', '=', id).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw this.context.notFound(id);
  }

  async abandonUnsavedSession(conversationId: string, runId: string, sessionId: string): Promise<boolean> {
    // One statement: the checks and the change cannot be split by a save that lands in between.
    const result = await this.context.db
      .updateTable('conversations')
      .set({ session_id: null, updated_at: Date.now() })
      .where('id', '=', conversationId)
      .where('session_id', '=', sessionId)
      .where('active_run_id', '=', runId)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('transcript_versions').select('transcript_versions.id').where('transcript_versions.conversation_id', '=', conversationId))))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async setSessionId(conversationId: string, sessionId: string): Promise<void> {
    const result = await this.context.db
      .updateTable('conversations')
      .set({ session_id: sessionId, updated_at: Date.now() })
      .where('id', '=', conversationId)
      .where((eb) => eb.or([eb('session_id', 'is', null), eb('session_id', '=', sessionId)]))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      const existing = await this.get(conversationId);
      if (!existing) throw this.context.notFound(conversationId);
      throw new BatonError(
        'SESSION_MISMATCH',
        `conversation ${conversationId} belongs to session ${existing.sessionId}, not ${sessionId}`,
        { hint: 'a conversation maps to one CLI session for ever; start a new conversation instead' },
      );
    }
  }
}
