/**
 * A ChunkBodies that keeps chunk bodies outside the database, as an S3-compatible object store would: each
 * body is written once under its content hash (here a file in a directory) and the row keeps only that key.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChunkBodies } from '../../src/store/chunk-bodies.js';

export function fileChunkBodies(directory: string): ChunkBodies & { directory: string } {
  const pathOf = (key: Buffer): string => join(directory, key.toString('utf8'));
  return {
    kind: 'files',
    directory,
    async write(encoded) {
      const key = `sha256-${createHash('sha256').update(encoded).digest('hex')}`;
      await mkdir(directory, { recursive: true });
      await writeFile(join(directory, key), encoded);
      return Buffer.from(key, 'utf8');
    },
    read: async (kept) => readFile(pathOf(kept)),
    async remove(kept) {
      await Promise.all(kept.map((key) => rm(pathOf(key), { force: true })));
    },
  };
}
