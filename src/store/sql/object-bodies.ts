/**
 * Chunk bodies and workspace blobs in object storage (S3-compatible: s3-bodies.ts), content-addressed: a body
 * is uploaded under `<prefix>/<sha256 of the stored body>` before the row that names it is written, and the row
 * keeps a 78-byte reference (`object:sha256:<hex>`). The body arrives compressed and, in an encrypted store,
 * sealed, so the bucket never holds plaintext of an encrypted store.
 *
 * Bodies under `inlineBelowBytes` (64 KB) stay in the row: a run's periodic 10-line deltas (a few KB compressed)
 * are most saves, and an upload would cost each of them a request to the object store and a claim; compaction
 * merges them into chunks of up to 4 MB, which go to the bucket. So the database keeps a run's recent deltas
 * and the bucket everything else.
 *
 * Collection. Content addressing lets two rows (two conversations of a plaintext store, a version and the copy
 * a compaction made) name one object, and a save uploads its object before its row commits, so "no committed
 * row names it" is not enough to delete an object: a save in flight may be about to name it. body_objects
 * records every object with its claim:
 * - a save claims its object (upsert, released_at = null) before uploading it, in the transaction that writes
 *   the row; the claim's row lock (PostgreSQL) or the write lock (SQLite) is held until that row commits, so
 *   no grace period is needed: claimed_at stays as it was (0 for a new object);
 * - the one-statement delta save on PostgreSQL has no transaction around its upload: it claims in a statement of
 *   its own first (claimed_at = now, released: a candidate should the statement fail), and relies on the grace
 *   period: it must commit within it;
 * - deleting rows (remove) marks their objects released; a sweep then collects each released object whose last
 *   lone claim is older than the grace period, one transaction each: it takes the claim's lock (waiting for a
 *   save that holds it, then seeing that save's claim: no longer released), checks in a new statement that no
 *   committed row names the object, deletes the object, then the claim, and commits. A save that claims after
 *   that inserts a new claim and uploads again. Objects of lone claims still in their grace period (the deltas
 *   a compaction merged on PostgreSQL) wait for a later sweep: every remove sweeps what has come of age.
 * An object whose save failed after its claim (a stale base, a lost lease) is a released candidate too, or, if
 * its claim rolled back with the save's transaction, a leftover no row names and no claim records (not collected).
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { BatonError } from '../../errors.js';
import type { ChunkBodies } from '../chunk-bodies.js';
import type { Database } from '../schema.js';
import type { Queryable } from './context.js';

/** An object whose bytes are not the ones its key names: damage, which a transcript's load reports as TRANSCRIPT_CORRUPT. */
export class AlteredObjectError extends BatonError {
  constructor(message: string, options: { hint: string }) {
    super('BLOB_STORE_ERROR', message, options);
  }
}

/** Where object bodies are kept: an S3 bucket and prefix (s3-bodies.ts), keyed by the sha256 of the stored body. */
export interface ObjectStorage {
  /** `s3://bucket/prefix`, for messages and for the store's record of where its bodies live. */
  readonly location: string;
  put(sha256: string, body: Buffer): Promise<void>;
  get(sha256: string): Promise<Buffer>;
  delete(sha256: string): Promise<void>;
  close(): void;
}

const REFERENCE_PREFIX = 'object:sha256:';
/** The length of every reference (the partial indexes of migration 0011 depend on it). */
export const OBJECT_REFERENCE_LENGTH = REFERENCE_PREFIX.length + 64;
const REFERENCE_PATTERN = /^object:sha256:[0-9a-f]{64}$/;

/** Collecting waits this long after an object's last claim: longer than any save takes from its claim to its commit. */
export const DEFAULT_COLLECTION_GRACE_MS = 15 * 60_000;
/** Objects one sweep looks at, at most (a sweep runs at every remove; what is left waits for the next one). */
const SWEEP_LIMIT = 500;

/** Whether a row's `data` is a reference to an object rather than an inline body (a store may hold both). */
export function isObjectReference(kept: Buffer): boolean {
  return kept.length === OBJECT_REFERENCE_LENGTH && REFERENCE_PATTERN.test(kept.toString('latin1'));
}

const shaOf = (reference: Buffer): string => reference.toString('latin1').slice(REFERENCE_PREFIX.length);

/** Bodies smaller than this stay in the row (see the top of this file). */
export const DEFAULT_INLINE_BELOW_BYTES = 64 * 1024;

export interface ObjectBodiesOptions {
  graceMs?: number;
  /** Bodies smaller than this stay in the row; 0 sends every body to the bucket. */
  inlineBelowBytes?: number;
  /** The clock of claims and sweeps (tests move it). */
  now?: () => number;
}

export class ObjectBodies implements ChunkBodies {
  readonly kind = 'object storage';
  readonly location: string;
  private readonly graceMs: number;
  private readonly inlineBelowBytes: number;
  private readonly now: () => number;

  constructor(
    readonly storage: ObjectStorage,
    options: ObjectBodiesOptions = {},
  ) {
    this.location = storage.location;
    this.graceMs = options.graceMs ?? DEFAULT_COLLECTION_GRACE_MS;
    this.inlineBelowBytes = options.inlineBelowBytes ?? DEFAULT_INLINE_BELOW_BYTES;
    this.now = options.now ?? Date.now;
  }

  async write(encoded: Buffer, db: Queryable): Promise<Buffer> {
    // Kept in the row, unless it would read back as a reference (a 78-byte body spelling one: it goes to the bucket).
    if (encoded.length < this.inlineBelowBytes && !isObjectReference(encoded)) return encoded;
    const sha256 = createHash('sha256').update(encoded).digest('hex');
    const reference = Buffer.from(`${REFERENCE_PREFIX}${sha256}`, 'latin1');
    if (db.isTransaction) {
      // Held until the row commits; never lowers the claimed_at of a lone claim whose save may still be in flight.
      await db
        .insertInto('body_objects')
        .values({ reference, claimed_at: 0, released_at: null })
        .onConflict((conflict) => conflict.column('reference').doUpdateSet({ released_at: null }))
        .execute();
    } else {
      // A lone claim commits at once, before the row exists: released until a sweep finds the row, and safe for the grace period.
      const now = this.now();
      await db
        .insertInto('body_objects')
        .values({ reference, claimed_at: now, released_at: now })
        .onConflict((conflict) => conflict.column('reference').doUpdateSet({ claimed_at: now, released_at: now }))
        .execute();
    }
    // Always uploaded, even when a claim existed: an object is idempotent, and the claim alone does not prove it is there.
    await this.storage.put(sha256, encoded);
    return reference;
  }

  async read(kept: Buffer): Promise<Buffer> {
    // A body stored inline before the store was given object storage.
    if (!isObjectReference(kept)) return kept;
    const sha256 = shaOf(kept);
    const body = await this.storage.get(sha256);
    if (createHash('sha256').update(body).digest('hex') !== sha256) {
      throw new AlteredObjectError(`object ${sha256} in ${this.location} does not match its sha256`, { hint: 'the bucket was altered; restore the object from a backup' });
    }
    return body;
  }

  async remove(kept: Buffer[], db: Kysely<Database>): Promise<void> {
    const references = kept.filter(isObjectReference);
    const now = this.now();
    for (let start = 0; start < references.length; start += 500) {
      await db
        .updateTable('body_objects')
        .set({ released_at: now })
        .where('reference', 'in', references.slice(start, start + 500))
        .where('released_at', 'is', null)
        .execute();
    }
    // The rows are gone already: a sweep that fails (object storage unreachable) leaves its candidates for the next one.
    await this.sweep(db).catch(() => undefined);
  }

  /** Collects the released objects no row names (and no lone claim of the grace period protects); how many it deleted. */
  async sweep(db: Kysely<Database>): Promise<number> {
    const cutoff = this.now() - this.graceMs;
    const candidates = await db
      .selectFrom('body_objects')
      .select('reference')
      .where('released_at', 'is not', null)
      .where('claimed_at', '<', cutoff)
      .orderBy('claimed_at')
      .limit(SWEEP_LIMIT)
      .execute();
    let deleted = 0;
    for (const { reference } of candidates) if (await this.collect(db, Buffer.from(reference), cutoff)) deleted++;
    return deleted;
  }

  private async collect(db: Kysely<Database>, reference: Buffer, cutoff: number): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      // The lock first (a write: SQLite's write lock, PostgreSQL's row lock). A save holding the claim makes this
      // wait, and PostgreSQL then re-checks the conditions on the save's claim: fresh, so nothing is collected.
      const locked = await trx
        .updateTable('body_objects')
        .set((eb) => ({ claimed_at: eb.ref('claimed_at') }))
        .where('reference', '=', reference)
        .where('released_at', 'is not', null)
        .where('claimed_at', '<', cutoff)
        .executeTakeFirst();
      if (Number(locked.numUpdatedRows) === 0) return false;
      // A new statement: at READ COMMITTED it sees every row committed before the lock was granted.
      if (await namedByARow(trx, reference)) {
        await trx.updateTable('body_objects').set({ released_at: null }).where('reference', '=', reference).execute();
        return false;
      }
      // Deleted while the claim is locked: a save that claims it now waits, then uploads it again.
      await this.storage.delete(shaOf(reference));
      await trx.deleteFrom('body_objects').where('reference', '=', reference).execute();
      return true;
    });
  }

  close(): void {
    this.storage.close();
  }
}

async function namedByARow(db: Queryable, reference: Buffer): Promise<boolean> {
  // `length(data) = 78` as a literal: the term of the partial indexes (migration 0011), so both backends use them.
  const referenceLength = sql<boolean>`length(data) = ${sql.lit(OBJECT_REFERENCE_LENGTH)}`;
  const chunk = await db.selectFrom('transcript_chunks').select('version_id').where(referenceLength).where('data', '=', reference).limit(1).executeTakeFirst();
  if (chunk) return true;
  const blob = await db.selectFrom('workspace_blobs').select('snapshot_id').where(referenceLength).where('data', '=', reference).limit(1).executeTakeFirst();
  return blob !== undefined;
}

/**
 * Checks, when a store is opened, that it is opened with the object storage its rows name (and records it the
 * first time a store is opened with one): a reference must never be taken for a body, nor looked up elsewhere.
 */
export async function checkBodiesLocation(db: Kysely<Database>, bodies: ChunkBodies, storeLocation: string): Promise<void> {
  let recorded = (await db.selectFrom('blob_storage').select('location').where('id', '=', 1).executeTakeFirst())?.location;
  if (recorded === undefined && bodies.location !== undefined) {
    await db.insertInto('blob_storage').values({ id: 1, location: bodies.location, created_at: Date.now() }).onConflict((conflict) => conflict.column('id').doNothing()).execute();
    recorded = (await db.selectFrom('blob_storage').select('location').where('id', '=', 1).executeTakeFirst())?.location;
  }
  if (recorded === undefined || recorded === bodies.location) return;
  if (bodies.location === undefined) {
    throw new BatonError('BLOB_STORE_MISSING', `the store ${storeLocation} keeps transcript and workspace bodies in ${recorded}, and no object storage was given`, {
      hint: `pass --blobs ${recorded} or set BATON_BLOBS=${recorded} (with AWS_ENDPOINT_URL, AWS_REGION and credentials for it)`,
    });
  }
  throw new BatonError('BLOB_STORE_MISSING', `the store ${storeLocation} keeps its bodies in ${recorded}, not in ${bodies.location}`, {
    hint: `pass --blobs ${recorded} (its rows name objects there)`,
  });
}
