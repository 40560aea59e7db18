/**
 * Encryption at rest: envelope encryption with node:crypto, no primitive of our own.
 *
 * - Every conversation (and every tenant's secrets) has its own random 64-byte **data key**: 32 bytes for
 *   AES-256-GCM, 32 for HMAC-SHA256. It is stored only wrapped (AES-256-GCM) under a key derived from the
 *   **master key** (HKDF-SHA256), in `data_keys`. Rotating the master key re-wraps these rows and nothing else.
 * - Every encrypted value is `nonce (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)`, with associated data that
 *   names its table, column and row (conversation id, run id, version id and offset …): a ciphertext moved to
 *   another row, column or conversation fails to verify instead of decrypting there.
 * - Hashes kept in rows for baton's own checks (a transcript's running sha256, a blob's sha256, a workspace
 *   fingerprint) are stored keyed: HMAC-SHA256 under the conversation's data key of the plaintext sha256. A plain
 *   sha256 of the plaintext would let whoever holds a copy of the store confirm a guess (a git bundle of a
 *   public commit, a short known file) and see which conversations hold the same content; the keyed form
 *   reveals only equality inside one conversation, which its row layout shows anyway. It is not computed over
 *   the ciphertext because the writer's cursor (the saver's check that the stored prefix is unchanged) is
 *   about the plaintext, and GCM already authenticates the ciphertext.
 * - `store_encryption` (one row) records whether the store is encrypted, decided once when the store is first
 *   opened, and a check value of the master key (HKDF output, not the key), so a wrong key is named as such.
 *
 * Sizes, times, ids, statuses and the event `type` stay plain: they are what listings and queries need.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { BatonError } from '../errors.js';
import { MASTER_KEY_OPTION, MASTER_KEY_VARIABLE, type KeyMaterial } from './master-key.js';
import type { Database } from './schema.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 64;
/** Marks an encrypted text column: `enc1:` and the base64 of nonce ‖ ciphertext ‖ tag. */
const TEXT_PREFIX = 'enc1:';
/** Codec suffix of an encrypted chunk or blob body: `br+gcm` is brotli, then AES-256-GCM. */
export const SEALED_CODEC_SUFFIX = '+gcm';

export function sealBytes(key: KeyObject, plaintext: Buffer, associatedData: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData));
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([nonce, head, tail, cipher.getAuthTag()]);
}

/** The plaintext, or undefined when the ciphertext, its tag or its associated data do not verify. */
export function openBytes(key: KeyObject, sealed: Buffer, associatedData: string): Buffer | undefined {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return undefined;
  }
}

const derive = (key: Buffer, info: string): Buffer => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32));

/** The master key in use: the derived wrapping key and check value, never the key's own bytes. */
export class MasterKey {
  /** Stored in the store: tells a wrong key from the right one without revealing either. */
  readonly check: string;
  /** Shown to people (messages, `baton keys status`): the first 16 hex digits of the check value. */
  readonly id: string;
  readonly source: string;
  private readonly wrapping: KeyObject;

  /** Takes the key's bytes and zeroes them. */
  constructor(material: KeyMaterial) {
    const wrapping = derive(material.bytes, 'baton/v1/master/data-key-wrapping');
    this.check = derive(material.bytes, 'baton/v1/master/check').toString('hex');
    this.id = `mk_${this.check.slice(0, 16)}`;
    this.source = material.source;
    this.wrapping = createSecretKey(wrapping);
    wrapping.fill(0);
    material.bytes.fill(0);
  }

  wrap(dataKey: Buffer, owner: string): Buffer {
    return sealBytes(this.wrapping, dataKey, `baton/v1/data-key/${owner}`);
  }

  unwrap(wrapped: Buffer, owner: string): Buffer | undefined {
    return openBytes(this.wrapping, wrapped, `baton/v1/data-key/${owner}`);
  }
}

/**
 * How one conversation's (or tenant's) values are stored: sealed under its data key, or as they are in a
 * plaintext store. `what` names the value in the error a failed verification raises.
 */
export interface RowCipher {
  readonly encrypted: boolean;
  sealText(associatedData: string, text: string): string;
  openText(associatedData: string, stored: string, what: string): string;
  sealBytes(associatedData: string, bytes: Buffer): Buffer;
  /** Undefined when the body does not verify; the caller names the damage. */
  openBytes(associatedData: string, stored: Buffer): Buffer | undefined;
  /** The stored form of a hash or fingerprint of plaintext (keyed in an encrypted store). */
  digest(value: string): string;
}

export const plaintextCipher: RowCipher = {
  encrypted: false,
  sealText: (_, text) => text,
  openText: (_, stored) => stored,
  sealBytes: (_, bytes) => bytes,
  openBytes: (_, stored) => stored,
  digest: (value) => value,
};

function tampered(what: string): BatonError {
  return new BatonError('TRANSCRIPT_CORRUPT', `the stored ${what} fails verification: it was altered, or moved from another row`, {
    hint: 'the store is damaged or was tampered with; restore it from a backup or re-import an export of this conversation',
  });
}

/** A data key's two halves, as key objects (the raw bytes are zeroed once these exist). */
class DataKeyCipher implements RowCipher {
  readonly encrypted = true;
  private readonly encryption: KeyObject;
  private readonly hashing: KeyObject;

  constructor(raw: Buffer) {
    this.encryption = createSecretKey(raw.subarray(0, 32));
    this.hashing = createSecretKey(raw.subarray(32, 64));
    raw.fill(0);
  }

  sealText(associatedData: string, text: string): string {
    return TEXT_PREFIX + sealBytes(this.encryption, Buffer.from(text, 'utf8'), associatedData).toString('base64');
  }

  openText(associatedData: string, stored: string, what: string): string {
    if (!stored.startsWith(TEXT_PREFIX)) throw tampered(`${what} (it is not encrypted, in an encrypted store)`);
    const opened = openBytes(this.encryption, Buffer.from(stored.slice(TEXT_PREFIX.length), 'base64'), associatedData);
    if (!opened) throw tampered(what);
    return opened.toString('utf8');
  }

  sealBytes(associatedData: string, bytes: Buffer): Buffer {
    return sealBytes(this.encryption, bytes, associatedData);
  }

  openBytes(associatedData: string, stored: Buffer): Buffer | undefined {
    return openBytes(this.encryption, stored, associatedData);
  }

  digest(value: string): string {
    return createHmac('sha256', this.hashing).update(value).digest('hex');
  }
}

/** Associated data for a stored value: `table.column` and the identity of its row, unambiguous (JSON). */
export const rowIdentity = (column: string, ...identity: Array<string | number>): string => JSON.stringify([column, ...identity]);

export const conversationKeyOwner = (conversationId: string): string => `conversation:${conversationId}`;
export const tenantKeyOwner = (tenant: string): string => `tenant:${tenant}`;

export type StoreMode = 'plaintext' | 'encrypted';

/** Most data keys kept unwrapped in memory; beyond that the least recently used are unwrapped again when needed. */
const CACHED_KEYS = 4096;

/**
 * A store's encryption: plaintext (every cipher is the identity), or a master key and the data keys it unwrapped.
 * `lockingReads` (PostgreSQL) makes a new data key's transaction wait for a concurrent rotation and then see it.
 */
export class StoreEncryption {
  private readonly cache = new Map<string, RowCipher>();
  /** A key given for a plaintext store opened for `baton keys enable`: the key it is about to be encrypted with. */
  offered: MasterKey | undefined;

  private constructor(
    private master: MasterKey | undefined,
    private readonly location: string,
    private readonly lockingReads: boolean,
  ) {}

  static plaintext(location = 'the store'): StoreEncryption {
    return new StoreEncryption(undefined, location, false);
  }

  get encrypted(): boolean {
    return this.master !== undefined;
  }

  get keyId(): string | undefined {
    return this.master?.id;
  }

  /**
   * Reads (and on a store's first open, records) whether the store is encrypted, and checks `key` against it:
   * a missing key, a wrong key, and a key for a plaintext store are each refused with a one-line error. A store
   * with conversations from before encryption existed is a plaintext store. Takes (and zeroes) the key's bytes.
   */
  static async open(db: Kysely<Database>, key: KeyMaterial | undefined, options: { location: string; lockingReads: boolean; allowPlaintextWithKey?: boolean }): Promise<StoreEncryption> {
    const master = key ? new MasterKey(key) : undefined;
    let row = await db.selectFrom('store_encryption').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!row) {
      const existing = await db.selectFrom('conversations').select('id').limit(1).executeTakeFirst();
      const mode: StoreMode = master && !existing ? 'encrypted' : 'plaintext';
      await db
        .insertInto('store_encryption')
        .values({ id: 1, mode, key_check: mode === 'encrypted' ? master!.check : null, created_at: Date.now(), rotated_at: null })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .execute();
      row = await db.selectFrom('store_encryption').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    }
    const { location } = options;
    if (row.mode === 'plaintext') {
      if (master && !options.allowPlaintextWithKey) {
        throw new BatonError('STORE_NOT_ENCRYPTED', `the store ${location} is not encrypted, and a master key was given (${master.source})`, {
          hint: `encrypt it in place with \`baton keys enable\` (same key), or use it unencrypted without ${MASTER_KEY_VARIABLE} and ${MASTER_KEY_OPTION}`,
        });
      }
      const plaintext = new StoreEncryption(undefined, location, options.lockingReads);
      plaintext.offered = master;
      return plaintext;
    }
    if (row.mode !== 'encrypted' || row.key_check === null) {
      throw new BatonError('STORE_ERROR', `the store ${location} records an unknown encryption mode`, { hint: 'upgrade baton: this store was written by a newer version' });
    }
    if (!master) throw missingKeyError(location, row.key_check);
    if (master.check !== row.key_check) throw wrongKeyError(location, master, row.key_check);
    return new StoreEncryption(master, location, options.lockingReads);
  }

  private plaintextCheckedAt = 0;

  /**
   * In a plaintext store: refuses to go on writing once another process encrypted the store (`baton keys enable`),
   * checked at most once a second, so a process started without a key does not add plaintext to an encrypted
   * store. Run `keys enable` with the servers and workers stopped to leave no window at all.
   */
  async assertStillPlaintext(db: Kysely<Database> | Transaction<Database>): Promise<void> {
    if (this.master || Date.now() - this.plaintextCheckedAt < 1000) return;
    const row = await db.selectFrom('store_encryption').select(['mode', 'key_check']).where('id', '=', 1).executeTakeFirst();
    if (row?.mode === 'encrypted') throw missingKeyError(this.location, row.key_check ?? '');
    this.plaintextCheckedAt = Date.now();
  }

  /** The cipher of a conversation's rows (its data key, unwrapped once and cached); undefined when it has no key. */
  async forConversation(db: Kysely<Database> | Transaction<Database>, conversationId: string): Promise<RowCipher | undefined> {
    return (await this.forOwners(db, [conversationKeyOwner(conversationId)])).get(conversationKeyOwner(conversationId));
  }

  /** Ciphers of many conversations in one query, by conversation id (those without a key are left out). */
  async forConversations(db: Kysely<Database> | Transaction<Database>, conversationIds: string[]): Promise<Map<string, RowCipher>> {
    const byOwner = await this.forOwners(db, conversationIds.map(conversationKeyOwner));
    const result = new Map<string, RowCipher>();
    for (const id of conversationIds) {
      const cipher = byOwner.get(conversationKeyOwner(id));
      if (cipher) result.set(id, cipher);
    }
    return result;
  }

  /** The cipher of a tenant's secrets; undefined when the tenant has none yet. */
  async forTenant(db: Kysely<Database> | Transaction<Database>, tenant: string): Promise<RowCipher | undefined> {
    return (await this.forOwners(db, [tenantKeyOwner(tenant)])).get(tenantKeyOwner(tenant));
  }

  /** The error for a conversation or tenant whose data key row is missing from an encrypted store. */
  missingDataKey(owner: string): BatonError {
    return new BatonError('STORE_ERROR', `${owner.replace(':', ' ')} has no data key in the encrypted store ${this.location}`, {
      hint: 'the store is damaged (a row of data_keys is missing); restore it from a backup',
    });
  }

  private async forOwners(db: Kysely<Database> | Transaction<Database>, owners: string[]): Promise<Map<string, RowCipher>> {
    const result = new Map<string, RowCipher>();
    const master = this.master;
    if (!master) {
      for (const owner of owners) result.set(owner, plaintextCipher);
      return result;
    }
    const missing: string[] = [];
    for (const owner of new Set(owners)) {
      const cached = this.cache.get(owner);
      if (cached) {
        // Most recently used last.
        this.cache.delete(owner);
        this.cache.set(owner, cached);
        result.set(owner, cached);
      } else missing.push(owner);
    }
    for (let start = 0; start < missing.length; start += 500) {
      const batch = missing.slice(start, start + 500);
      const rows = await db.selectFrom('data_keys').select(['owner', 'wrapped']).where('owner', 'in', batch).execute();
      for (const row of rows) {
        const raw = master.unwrap(Buffer.from(row.wrapped), row.owner);
        if (!raw || raw.length !== DATA_KEY_BYTES) {
          throw new BatonError('STORE_KEY_WRONG', `the data key of ${row.owner.replace(':', ' ')} in ${this.location} does not unwrap with master key ${master.id}`, {
            hint: 'the row was altered, or written under another master key; restore the store from a backup',
          });
        }
        const cipher = new DataKeyCipher(raw);
        this.remember(row.owner, cipher);
        result.set(row.owner, cipher);
      }
    }
    return result;
  }

  /**
   * A new data key for `owner` ('conversation:…' or 'tenant:…'), written inside `trx` after the caller's first
   * write. Checks that the master key is still the store's (a rotation may have committed meanwhile).
   */
  newDataKey(): { raw: Buffer; cipher: RowCipher } | undefined {
    if (!this.master) return undefined;
    return freshDataKey();
  }

  /** Saves a data key wrapped under `master` (for `baton keys enable`, before the store adopts it). */
  async saveDataKeyUnder(trx: Transaction<Database>, master: MasterKey, owner: string, key: { raw: Buffer }): Promise<void> {
    try {
      await trx.insertInto('data_keys').values({ owner, wrapped: master.wrap(key.raw, owner), created_at: Date.now() }).execute();
    } finally {
      key.raw.fill(0);
    }
  }

  async saveDataKey(trx: Transaction<Database>, owner: string, key: { raw: Buffer; cipher: RowCipher }): Promise<void> {
    const master = this.master!;
    try {
      await this.assertCurrentMaster(trx);
      await trx.insertInto('data_keys').values({ owner, wrapped: master.wrap(key.raw, owner), created_at: Date.now() }).execute();
    } finally {
      key.raw.fill(0);
    }
  }

  /** Called after the transaction that saved `owner`'s key committed. */
  remember(owner: string, cipher: RowCipher): void {
    this.cache.set(owner, cipher);
    while (this.cache.size > CACHED_KEYS) this.cache.delete(this.cache.keys().next().value!);
  }

  forget(owner: string): void {
    this.cache.delete(owner);
  }

  private async assertCurrentMaster(trx: Transaction<Database>): Promise<void> {
    const master = this.master!;
    const row = await trx
      .selectFrom('store_encryption')
      .select('key_check')
      .where('id', '=', 1)
      .$if(this.lockingReads, (query) => query.forShare())
      .executeTakeFirst();
    if (row?.key_check !== master.check) {
      throw new BatonError('STORE_KEY_WRONG', `the master key of ${this.location} changed while this process ran (baton keys rotate)`, {
        hint: 'restart this process with the new master key',
      });
    }
  }

  /**
   * Re-wraps every data key under `next`, in one transaction, and makes `next` the key this store uses.
   * Nothing else is rewritten: the data keys, and so every stored ciphertext and keyed hash, stay as they are.
   */
  async rotate(db: Kysely<Database>, next: KeyMaterial): Promise<{ dataKeys: number; from: string; to: string }> {
    const current = this.master;
    if (!current) throw new BatonError('STORE_NOT_ENCRYPTED', `the store ${this.location} is not encrypted: there is no key to rotate`, { hint: 'encrypt it with `baton keys enable`' });
    const nextKey = new MasterKey(next);
    if (nextKey.check === current.check) throw new BatonError('USAGE', 'the new master key is the one the store already uses', { hint: 'make a new one with `baton keys generate --output FILE`' });
    const dataKeys = await db.transaction().execute(async (trx) => {
      // The write first: it takes the lock that new data keys wait for (see assertCurrentMaster).
      const moved = await trx.updateTable('store_encryption').set({ key_check: nextKey.check, rotated_at: Date.now() }).where('id', '=', 1).where('key_check', '=', current.check).executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) throw new BatonError('STORE_KEY_WRONG', `the master key of ${this.location} was changed by another process`, { hint: 'open the store with its current key' });
      const rows = await trx.selectFrom('data_keys').select(['owner', 'wrapped']).execute();
      for (const row of rows) {
        const raw = current.unwrap(Buffer.from(row.wrapped), row.owner);
        if (!raw) throw new BatonError('STORE_KEY_WRONG', `the data key of ${row.owner.replace(':', ' ')} does not unwrap with the current master key`, { hint: 'the store is damaged; nothing was changed' });
        await trx.updateTable('data_keys').set({ wrapped: nextKey.wrap(raw, row.owner) }).where('owner', '=', row.owner).execute();
        raw.fill(0);
      }
      return rows.length;
    });
    this.master = nextKey;
    return { dataKeys, from: current.id, to: nextKey.id };
  }

  /** Used by `baton keys enable`: this store now encrypts with `master` (the caller rewrote the rows). */
  adopt(master: MasterKey): void {
    this.master = master;
    this.offered = undefined;
  }

  close(): void {
    // KeyObjects cannot be zeroed from JavaScript; dropping them lets their memory go with them.
    this.cache.clear();
    this.master = undefined;
  }
}

/** A new random data key and its cipher (the cipher holds its own copy; zero `raw` once it is wrapped). */
export function freshDataKey(): { raw: Buffer; cipher: RowCipher } {
  const raw = randomBytes(DATA_KEY_BYTES);
  return { raw, cipher: new DataKeyCipher(Buffer.from(raw)) };
}

function missingKeyError(location: string, keyCheck: string): BatonError {
  return new BatonError('STORE_KEY_MISSING', `the store ${location} is encrypted: set ${MASTER_KEY_VARIABLE} or pass ${MASTER_KEY_OPTION} FILE`, {
    hint: `it needs master key mk_${keyCheck.slice(0, 16)}`,
  });
}

function wrongKeyError(location: string, master: MasterKey, keyCheck: string): BatonError {
  return new BatonError('STORE_KEY_WRONG', `the master key from ${master.source} does not open the store ${location} (it needs key mk_${keyCheck.slice(0, 16)}, not ${master.id})`, {
    hint: `set ${MASTER_KEY_VARIABLE} or ${MASTER_KEY_OPTION} to the store's key (after \`baton keys rotate\`, the new one)`,
  });
}
