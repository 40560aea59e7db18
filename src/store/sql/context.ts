/**
 * What the queries of every aggregate share: the connection, where the store lives (for messages), where chunk
 * bodies go, and the ciphers of its rows (plaintext, or each conversation's data key in an encrypted store).
 */
import type { Kysely, Transaction } from 'kysely';
import { BatonError } from '../../errors.js';
import type { ChunkBodies } from '../chunk-bodies.js';
import { conversationKeyOwner, plaintextCipher, type RowCipher, type StoreEncryption } from '../encryption.js';
import type { Database } from '../schema.js';

export type Queryable = Kysely<Database> | Transaction<Database>;

export class SqlContext {
  /** Which conversation each run belongs to (it never changes): the cipher of a run's rows without a query. */
  private readonly runConversations = new Map<string, string>();

  constructor(
    readonly db: Kysely<Database>,
    readonly location: string,
    /** Where chunk bodies live (see chunk-bodies.ts). */
    readonly bodies: ChunkBodies,
    /** Plaintext, or the master key and data keys of an encrypted store (see encryption.ts). */
    readonly encryption: StoreEncryption,
  ) {}

  /** The cipher of a conversation's rows; CONVERSATION_NOT_FOUND when there is no such conversation. */
  async cipherFor(db: Queryable, conversationId: string): Promise<RowCipher> {
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
  async ciphersOf(db: Queryable, conversationIds: string[]): Promise<(conversationId: string) => RowCipher> {
    if (!this.encryption.encrypted) return () => plaintextCipher;
    const ciphers = await this.encryption.forConversations(db, [...new Set(conversationIds)]);
    return (conversationId) => {
      const cipher = ciphers.get(conversationId);
      if (!cipher) throw this.encryption.missingDataKey(conversationKeyOwner(conversationId));
      return cipher;
    };
  }

  /** The cipher of a run's rows, with its conversation (undefined when there is no such run, or the store is plaintext). */
  async cipherForRun(runId: string): Promise<{ conversationId: string | undefined; cipher: RowCipher }> {
    if (!this.encryption.encrypted) {
      await this.encryption.assertStillPlaintext(this.db);
      return { conversationId: undefined, cipher: plaintextCipher };
    }
    const conversationId = await this.conversationOfRun(runId);
    return { conversationId, cipher: conversationId === undefined ? plaintextCipher : await this.cipherFor(this.db, conversationId) };
  }

  rememberRun(runId: string, conversationId: string): void {
    if (!this.encryption.encrypted) return;
    if (this.runConversations.size >= 10_000) this.runConversations.clear();
    this.runConversations.set(runId, conversationId);
  }

  forgetRuns(): void {
    this.runConversations.clear();
  }

  notFound(conversationId: string): BatonError {
    return new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${conversationId} in ${this.location}`, {
      hint: 'list conversations with `baton ls`, or point at the right store with --store or BATON_STORE',
    });
  }

  /** The conversation of a run (undefined when there is no such run). Read outside any transaction: it never changes. */
  private async conversationOfRun(runId: string): Promise<string | undefined> {
    const known = this.runConversations.get(runId);
    if (known) return known;
    const row = await this.db.selectFrom('runs').select('conversation_id').where('id', '=', runId).executeTakeFirst();
    if (row) this.rememberRun(runId, row.conversation_id);
    return row?.conversation_id;
  }
}
