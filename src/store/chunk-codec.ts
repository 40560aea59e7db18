/**
 * Compression of stored transcript chunks and workspace blobs. The codec is recorded per chunk, so a chunk
 * written with one codec stays readable after the default changes: `br` chunks written before zstd load as
 * they always did.
 *
 * zstd at level 3 (zstd-napi, built from its bundled libzstd at install) is the default: measured on the bench's
 * synthetic sessions of every harness (bench/lib/codecs.ts), it decodes 3–4× faster than brotli q4 and
 * compresses 2–4× faster, at stored/raw 0.12–0.16 where brotli q4 gets 0.11–0.15. Decoding is what a resume
 * waits for, and zstd decodes straight into the caller's buffer (no 16 KB pieces joined afterwards).
 * Brotli q4 remains the fallback writer where the native module does not load, and the reader of `br` chunks.
 *
 * The native module is loaded on first use, never at import: `baton run` starts the CLI before any save.
 */
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { brotliCompressSync, brotliDecompress, brotliDecompressSync, constants } from 'node:zlib';
import { BatonError, errorMessage } from '../errors.js';

const brotliDecompressAsync = promisify(brotliDecompress);

export type ChunkCodec = 'none' | 'br' | 'zstd';

export interface EncodedChunk {
  codec: ChunkCodec;
  data: Buffer;
}

const BROTLI_QUALITY = 4;
const ZSTD_LEVEL = 3;

/** The part of zstd-napi's low-level binding used here (zstd-napi/binding.d.ts). */
interface ZstdBinding {
  CCtx: new () => { setParameter(parameter: number, value: number): void; compress2(dst: Uint8Array, src: Uint8Array): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  CParameter: { compressionLevel: number; checksumFlag: number };
  compressBound(size: number): number;
  getFrameContentSize(frame: Uint8Array): number | null;
}

/** The first four bytes of every zstd frame (little-endian), and the Content_Checksum_flag of its header descriptor. */
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_CHECKSUM_FLAG = 0x04;

let zstd: { binding: ZstdBinding; cctx: InstanceType<ZstdBinding['CCtx']>; dctx: InstanceType<ZstdBinding['DCtx']> } | Error | undefined;

/** zstd-napi's binding and one reusable context each way (the calls are synchronous, so one of each is enough). */
function loadZstd(): Exclude<typeof zstd, undefined> {
  if (zstd === undefined) {
    try {
      const binding = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;
      const cctx = new binding.CCtx();
      cctx.setParameter(binding.CParameter.compressionLevel, ZSTD_LEVEL);
      // Each frame ends with the XXH64 of its content (4 bytes), which decompression checks: damage to a chunk is
      // caught as it is decoded, so a resume can put the file in place before the slower sha256 chain is re-checked.
      cctx.setParameter(binding.CParameter.checksumFlag, 1);
      zstd = { binding, cctx, dctx: new binding.DCtx() };
    } catch (error) {
      zstd = error instanceof Error ? error : new Error(String(error));
    }
  }
  return zstd;
}

/** Whether new chunks are written with zstd here (false where zstd-napi's native module does not load). */
export function zstdAvailable(): boolean {
  return !(loadZstd() instanceof Error);
}

function zstdOrThrow(): Exclude<typeof zstd, Error | undefined> {
  const loaded = loadZstd();
  if (loaded instanceof Error) {
    throw new BatonError('STORE_ERROR', `this store holds zstd-compressed data, and zstd-napi does not load here: ${errorMessage(loaded).split('\n')[0]}`, {
      hint: 'reinstall baton so that its zstd-napi dependency builds (`npm rebuild zstd-napi` needs a C++ compiler and Python)',
    });
  }
  return loaded;
}

function brotliEncode(bytes: Buffer): Buffer {
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
}

function zstdEncode(bytes: Buffer, loaded: Exclude<typeof zstd, Error | undefined>): Buffer {
  const out = Buffer.allocUnsafe(loaded.binding.compressBound(bytes.length));
  const written = loaded.cctx.compress2(out, bytes);
  // A copy of the exact size: the bound is larger than the input, and the row keeps what it is handed.
  return Buffer.from(out.subarray(0, written));
}

export function encodeChunk(bytes: Buffer, codec: 'zstd' | 'br' = 'zstd'): EncodedChunk {
  if (bytes.length < 64) return { codec: 'none', data: bytes };
  const loaded = codec === 'zstd' ? loadZstd() : undefined;
  const encoded: EncodedChunk = loaded && !(loaded instanceof Error) ? { codec: 'zstd', data: zstdEncode(bytes, loaded) } : { codec: 'br', data: brotliEncode(bytes) };
  return encoded.data.length < bytes.length ? encoded : { codec: 'none', data: bytes };
}

/**
 * Decodes into `target`, which must be exactly the decoded size; throws when the chunk does not decode to exactly
 * that many bytes, or (a frame with a checksum) to other bytes than were compressed. zstd writes into `target`
 * itself; the others decode and copy.
 */
export function decodeChunkInto(chunk: EncodedChunk, target: Buffer): void {
  if (chunk.codec === 'zstd') {
    const { binding, dctx } = zstdOrThrow();
    // The frame names its size; a frame that claims another one is refused before anything is decoded.
    if (binding.getFrameContentSize(chunk.data) !== target.length) throw new Error(`the zstd frame does not hold ${target.length} bytes`);
    if (dctx.decompress(target, chunk.data) !== target.length) throw new Error(`the zstd frame decoded to other than ${target.length} bytes`);
    return;
  }
  const decoded = decodeChunk(chunk);
  if (decoded.length !== target.length) throw new Error(`the chunk decoded to ${decoded.length} bytes, not ${target.length}`);
  decoded.copy(target);
}

/**
 * Whether a zstd chunk's frame carries its content checksum (chunks written since baton set the flag; earlier ones
 * do not), which decodeChunkInto then checks. Read from the frame header: magic number, then the descriptor byte.
 */
export function zstdFrameChecksummed(data: Buffer): boolean {
  return data.length > 5 && data.readUInt32LE(0) === ZSTD_MAGIC && (data[4]! & ZSTD_CHECKSUM_FLAG) !== 0;
}

export function decodeChunk(chunk: EncodedChunk): Buffer {
  switch (chunk.codec) {
    case 'none':
      return chunk.data;
    case 'br':
      return brotliDecompressSync(chunk.data);
    case 'zstd': {
      const size = zstdOrThrow().binding.getFrameContentSize(chunk.data);
      if (size === null) throw new Error('the zstd frame does not name its size');
      const target = Buffer.allocUnsafe(size);
      decodeChunkInto(chunk, target);
      return target;
    }
  }
}

export function isChunkCodec(value: string): value is ChunkCodec {
  return value === 'none' || value === 'br' || value === 'zstd';
}

/**
 * Brotli decodes on libuv's thread pool, so the chunks of one transcript decompress in parallel; knowing the
 * decoded size lets zlib write into one buffer instead of 16 KB pieces joined afterwards (about 2.5× faster).
 * zstd decodes on the calling thread (zstd-napi has no asynchronous call; it is fast enough not to need one), into
 * a buffer of `decodedBytes` when that is known.
 */
export async function decodeChunkAsync(chunk: EncodedChunk, decodedBytes?: number): Promise<Buffer> {
  switch (chunk.codec) {
    case 'none':
      return chunk.data;
    case 'br':
      return brotliDecompressAsync(chunk.data, decodedBytes && decodedBytes > 0 ? { chunkSize: Math.max(decodedBytes, 64) } : {});
    case 'zstd': {
      if (decodedBytes === undefined) return decodeChunk(chunk);
      const target = Buffer.allocUnsafe(decodedBytes);
      decodeChunkInto(chunk, target);
      return target;
    }
  }
}

/** Largest piece a new version is stored in: big transcripts become several chunks (each decoded on its own). */
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
