/**
 * Reading one stored version of a transcript file from its chunk rows (fetched, still compressed, by
 * SqlTranscripts.open in one read transaction): whole, into one buffer, or streamed through a few reused buffers
 * while the caller writes each piece out. Either way every chunk is checked in order (its decoded length, the
 * running sha256 against its row) and the whole version at the end (length, line count, sha256).
 */
import { createHash } from 'node:crypto';
import { BatonError } from '../../errors.js';
import { EdgeKeeper, EDGE_BYTES, type StreamOptions, type UnverifiedPiece } from '../../transcript/file-reader.js';
import { decodeChunkAsync, decodeChunkInto, isChunkCodec, type EncodedChunk } from '../chunk-codec.js';
import { SEALED_CODEC_SUFFIX, type RowCipher } from '../encryption.js';
import type { StoredFileReader, StoredTranscriptFile, VerifiedStoredRead } from '../store.js';
import { chunkIdentity } from './rows.js';
import { bodyProblem, openBody } from './sealed-bodies.js';

/** A bound on one version's length, so that damaged lengths fail as damage rather than as a failed allocation. */
const MAX_VERSION_BYTES = 2 ** 32;

/**
 * How many decoded pieces a stream keeps: one being decoded while up to two are still being written. Measured at
 * 50 MB (a scratch bench of 4 MB zstd chunks, on a busy machine): three buffers beat two (wall 256 vs 332 ms, 670
 * vs 716 ms); decoding into 1 MB or 256 KB pieces (zstd's streaming call) cost more CPU (175–212 vs 141–151 ms).
 */
const STREAM_BUFFERS = 3;

/** One chunk row as read: its body (from the row or object storage), still sealed and compressed. */
export interface FetchedChunk {
  sequence: number;
  codec: string;
  body: Buffer;
  byteLength: number;
  /** As stored: the keyed digest of the running sha256 in an encrypted store. */
  sha256After: string;
  /** Where the chunk starts in the version: part of its body's associated data. */
  offset: number;
}

/** The version row's totals, as stored. */
export interface StoredVersion {
  conversationId: string;
  versionId: number;
  fileKey: string;
  lineCount: number;
  byteLength: number;
  /** As stored (keyed digest in an encrypted store). */
  sha256: string;
}

export function corrupt(conversationId: string, fileKey: string, detail: string, hint = 'the store is damaged; restore it from a backup or re-import an export of this conversation'): BatonError {
  return new BatonError('TRANSCRIPT_CORRUPT', `stored transcript "${fileKey}" of conversation ${conversationId} is corrupt: ${detail}`, { hint });
}

/** An unknown codec is most likely a newer baton's: say so, rather than only that the store is damaged. */
function bodyHint(codec: string): string | undefined {
  const compression = codec.endsWith(SEALED_CODEC_SUFFIX) ? codec.slice(0, -SEALED_CODEC_SUFFIX.length) : codec;
  return isChunkCodec(compression) ? undefined : 'a newer baton may have written it: upgrade baton to read this conversation (or restore the store from a backup if none did)';
}

/** Where a decoded chunk goes: a buffer of exactly `length` bytes (the whole file's slice, or a stream's reused buffer). */
type Place = (index: number, length: number, offset: number) => Buffer | Promise<Buffer>;

export class StoredVersionReader implements StoredFileReader {
  readonly key: string;
  readonly byteLength: number;
  readonly lineCount: number;
  private wholeRead: Promise<StoredTranscriptFile> | undefined;
  private lastVerified: VerifiedStoredRead | undefined;

  constructor(
    private readonly version: StoredVersion,
    private readonly chunks: FetchedChunk[],
    private readonly cipher: RowCipher,
  ) {
    this.key = version.fileKey;
    this.byteLength = version.byteLength;
    this.lineCount = version.lineCount;
  }

  whole(): Promise<StoredTranscriptFile> {
    this.wholeRead ??= this.readWhole();
    return this.wholeRead;
  }

  async stream(each: (piece: UnverifiedPiece) => Promise<void> | void, options: StreamOptions = {}): Promise<VerifiedStoredRead> {
    const buffers: Buffer[] = [];
    // What `each` still does with each buffer: awaited before the buffer takes the next piece.
    const inUse: Array<Promise<void> | undefined> = [];
    const place: Place = async (index, length) => {
      const slot = index % STREAM_BUFFERS;
      const busy = inUse[slot];
      inUse[slot] = undefined;
      await busy;
      if (!buffers[slot] || buffers[slot]!.length < length) buffers[slot] = Buffer.allocUnsafe(length);
      return buffers[slot]!.subarray(0, length);
    };
    const handed: Array<Promise<void>> = [];
    const read = await this.decode('stream', place, options.tailBytes ?? EDGE_BYTES, (bytes, index) => {
      let done: Promise<void>;
      try {
        done = Promise.resolve(each({ unverifiedBytes: bytes }));
      } catch (error) {
        done = Promise.reject(error);
      }
      // Settled below in any case; a rejection is reported once, by that await.
      done.catch(() => undefined);
      inUse[index % STREAM_BUFFERS] = done;
      handed.push(done);
    }).catch(async (error: unknown) => {
      await Promise.allSettled(handed);
      throw error;
    });
    await Promise.all(handed);
    return read;
  }

  async verified(): Promise<VerifiedStoredRead> {
    return this.lastVerified ?? this.stream(() => undefined);
  }

  private async readWhole(): Promise<StoredTranscriptFile> {
    const { chunks } = this;
    // One chunk that is not zstd is its own buffer; otherwise every chunk is decoded or copied into one buffer.
    const single = chunks.length === 1 && !chunks[0]!.codec.startsWith('zstd');
    let content: Buffer | undefined;
    const read = await this.decode(
      'whole',
      (_index, length, offset) => {
        content ??= Buffer.allocUnsafe(this.total());
        return content.subarray(offset, offset + length);
      },
      EDGE_BYTES,
      (bytes) => {
        if (single) content = bytes;
      },
    );
    content ??= Buffer.alloc(0);
    const file: StoredTranscriptFile = { key: this.key, content, lineCount: read.lineCount, sha256: read.sha256, cursor: read.cursor };
    // Not enumerable: a copy, JSON or a comparison of loaded files sees only the transcript.
    Object.defineProperty(file, 'verifiedHash', { value: { of: content, state: read.hash.copy() }, enumerable: false });
    return file;
  }

  private total(): number {
    const { conversationId, fileKey } = this.version;
    const total = this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    if (!Number.isSafeInteger(total) || total < 0 || total > MAX_VERSION_BYTES) throw corrupt(conversationId, fileKey, `its chunks claim ${total} bytes`);
    return total;
  }

  /**
   * Decodes the chunks in order, each checked, handing each chunk's bytes to `each`. zstd chunks decode on this
   * thread into the buffer `place` gives; brotli chunks (written before zstd) decode on the thread pool, all at
   * once, and are handed out as they are by a stream (and by a whole read of one chunk), else copied into place.
   */
  private async decode(mode: 'whole' | 'stream', place: Place, tailBytes: number, each: (bytes: Buffer, index: number) => void): Promise<VerifiedStoredRead> {
    const { conversationId, versionId, fileKey } = this.version;
    const { cipher, chunks } = this;
    this.total();
    const bodies = chunks.map((chunk) => {
      const body = openBody(cipher, chunk.codec, chunk.body, chunkIdentity(conversationId, versionId, chunk.offset, chunk.byteLength));
      if (!body) throw corrupt(conversationId, fileKey, `chunk ${chunk.sequence} ${bodyProblem(cipher, chunk.codec)}`, bodyHint(chunk.codec));
      return body;
    });
    const brotli = bodies.map((body, index) =>
      body.codec !== 'br'
        ? undefined
        : decodeChunkAsync(body, chunks[index]!.byteLength).catch(() => {
            throw corrupt(conversationId, fileKey, `chunk ${chunks[index]!.sequence} does not decompress`);
          }),
    );
    // Each is awaited in order below; one that fails first must not leave the others' rejections unhandled.
    for (const promise of brotli) promise?.catch(() => undefined);

    const hash = createHash('sha256');
    const edges = new EdgeKeeper(Math.max(EDGE_BYTES, tailBytes), this.total());
    for (const [index, chunk] of chunks.entries()) {
      const body: EncodedChunk = bodies[index]!;
      const length = chunk.byteLength;
      let bytes: Buffer;
      if (body.codec === 'zstd') {
        bytes = await place(index, length, chunk.offset);
        try {
          decodeChunkInto(body, bytes);
        } catch (error) {
          if (error instanceof BatonError) throw error;
          throw corrupt(conversationId, fileKey, `chunk ${chunk.sequence} does not decompress to its ${length} bytes`);
        }
      } else {
        const decoded = (await brotli[index]) ?? body.data;
        if (decoded.length !== length) throw corrupt(conversationId, fileKey, `chunk ${chunk.sequence} has ${decoded.length} bytes, expected ${length}`);
        if (mode === 'stream' || chunks.length === 1) bytes = decoded;
        else {
          bytes = await place(index, length, chunk.offset);
          decoded.copy(bytes);
        }
      }
      hash.update(bytes);
      edges.add(bytes);
      if (cipher.digest(hash.copy().digest('hex')) !== chunk.sha256After) throw corrupt(conversationId, fileKey, `sha256 mismatch after chunk ${chunk.sequence}`);
      each(bytes, index);
    }
    const sha256 = hash.copy().digest('hex');
    const byteLength = this.total();
    const lineCount = edges.lineCount();
    if (cipher.digest(sha256) !== this.version.sha256 || byteLength !== this.version.byteLength || lineCount !== this.version.lineCount) {
      throw corrupt(conversationId, fileKey, `expected ${this.version.lineCount} lines and sha256 ${this.version.sha256.slice(0, 12)}…, found ${lineCount} lines and sha256 ${cipher.digest(sha256).slice(0, 12)}…`);
    }
    const read: VerifiedStoredRead = { key: fileKey, lineCount, byteLength, sha256, hash, head: edges.head(), tail: edges.tail(), cursor: { versionId, lineCount, byteLength, sha256 } };
    this.lastVerified = read;
    return read;
  }
}
