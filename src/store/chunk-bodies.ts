/**
 * Where the encoded bodies of transcript chunks live. The SQL tables always keep a chunk's metadata (its
 * place in the version, lengths, running sha256); its body is kept by a ChunkBodies. Today that is the row
 * itself (`inlineChunkBodies`, in SQLite's or PostgreSQL's `data` column); an S3-compatible object store
 * would write the body under a content-addressed key and keep only that key in the row.
 *
 * Everything read back is verified against the row's sha256 by the store, whatever kept the body.
 */
export interface ChunkBodies {
  /** Names the kind of storage in messages. */
  readonly kind: string;
  /** Stores an encoded body; returns what the chunk's row keeps in `data` (the body itself, or a reference). */
  write(encoded: Buffer): Promise<Buffer>;
  /** The encoded body of a chunk whose row keeps `kept`. */
  read(kept: Buffer): Promise<Buffer>;
  /** Called after the rows keeping `kept` were deleted (compaction, a deleted conversation). */
  remove(kept: Buffer[]): Promise<void>;
}

/** Bodies kept in the database row. */
export const inlineChunkBodies: ChunkBodies = {
  kind: 'inline',
  write: async (encoded) => encoded,
  read: async (kept) => kept,
  remove: async () => undefined,
};
