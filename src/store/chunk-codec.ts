/**
 * Compression of stored transcript chunks. The codec is recorded per chunk, so a chunk written with one
 * codec stays readable after the default changes (zstd can come later).
 *
 * Brotli at quality 4 was measured on real Codex rollouts (see bench/): about ×10 smaller at 70–100 MB/s,
 * several times better than gzip -6 at a similar speed.
 */
import { promisify } from 'node:util';
import { brotliCompressSync, brotliDecompress, brotliDecompressSync, constants } from 'node:zlib';

const brotliDecompressAsync = promisify(brotliDecompress);

export type ChunkCodec = 'none' | 'br';

export interface EncodedChunk {
  codec: ChunkCodec;
  data: Buffer;
}

const BROTLI_QUALITY = 4;

export function encodeChunk(bytes: Buffer): EncodedChunk {
  if (bytes.length < 64) return { codec: 'none', data: bytes };
  const compressed = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  return compressed.length < bytes.length ? { codec: 'br', data: compressed } : { codec: 'none', data: bytes };
}

export function decodeChunk(chunk: EncodedChunk): Buffer {
  switch (chunk.codec) {
    case 'none':
      return chunk.data;
    case 'br':
      return brotliDecompressSync(chunk.data);
  }
}

export function isChunkCodec(value: string): value is ChunkCodec {
  return value === 'none' || value === 'br';
}

/**
 * Decodes on libuv's thread pool, so the chunks of one transcript decompress in parallel. Knowing the decoded
 * size lets zlib write into one buffer instead of 16 KB pieces joined afterwards (about 2.5× faster).
 */
export async function decodeChunkAsync(chunk: EncodedChunk, decodedBytes?: number): Promise<Buffer> {
  switch (chunk.codec) {
    case 'none':
      return chunk.data;
    case 'br':
      return brotliDecompressAsync(chunk.data, decodedBytes && decodedBytes > 0 ? { chunkSize: Math.max(decodedBytes, 64) } : {});
  }
}

/** Largest piece a new version is stored in: big transcripts become several chunks that decode in parallel. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/** Splits bytes into pieces of at most `max` bytes, at line ends where possible. */
export function splitAtLines(bytes: Buffer, max = MAX_CHUNK_BYTES): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  while (bytes.length - start > max) {
    const newline = bytes.lastIndexOf(0x0a, start + max - 1);
    const end = newline >= start ? newline + 1 : start + max;
    pieces.push(bytes.subarray(start, end));
    start = end;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}
