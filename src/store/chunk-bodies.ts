/**
 * Where the encoded bodies of transcript chunks and workspace blobs live. The SQL tables always keep a body's
 * metadata (its place in the version, lengths, running sha256); the body itself is kept by a ChunkBodies:
 * the row itself (`inlineChunkBodies`, in SQLite's or PostgreSQL's `data` column), or an S3-compatible object
 * store (object-bodies.ts, s3-bodies.ts) that writes it under a content-addressed key and leaves only a small
 * reference in the row. Bodies arrive here compressed and, in an encrypted store, sealed: nothing in plaintext
 * leaves the process.
 *
 * Everything read back is verified against the row's sha256 by the store, whatever kept the body.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Queryable } from './sql/context.js';

export interface ChunkBodies {
  /** Names the kind of storage in messages. */
  readonly kind: string;
  /**
   * Where the bodies live outside the database (`s3://bucket/prefix`), recorded in the store when it is opened
   * so that it is never opened without them; undefined when the rows keep what is needed to find them.
   */
  readonly location?: string | undefined;
  /**
   * Stores an encoded body before the row that names it is written; returns what the row keeps in `data` (the
   * body itself, or a reference). `db` is the transaction that writes the row (or the database, when the row
   * is written by one statement after this): object storage records its claim on the body there.
   */
  write(encoded: Buffer, db: Queryable): Promise<Buffer>;
  /** The encoded body of a row that keeps `kept`. */
  read(kept: Buffer): Promise<Buffer>;
  /** Called after the rows keeping `kept` were deleted and committed (compaction, a deleted conversation). */
  remove(kept: Buffer[], db: Kysely<Database>): Promise<void>;
  /** Releases the client (sockets); the store calls it on close. */
  close?(): void;
}

/** Bodies kept in the database row. */
export const inlineChunkBodies: ChunkBodies = {
  kind: 'inline',
  write: async (encoded) => encoded,
  read: async (kept) => kept,
  remove: async () => undefined,
};
