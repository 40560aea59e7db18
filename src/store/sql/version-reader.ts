/**
 * Reading one stored version of a transcript file from its chunk rows (fetched, still compressed, by
 * SqlTranscripts.open in one read transaction): whole, into one buffer, or streamed through a few reused buffers
 * while the caller writes each piece out. Either way every chunk is checked in order (its decoded length, the
 * running sha256 against its row) and the whole version at the end (length, line count, sha256); a stream of
 * chunks that carry zstd's content checksum is checked by those and its length as it goes, and its sha256 chain
 * and line count once they are asked for (see decode).
 */
import { createHash, type Hash } from 'node:crypto';
import { BatonError } from '../../errors.js';
import { countNewlines } from '../../transcript/jsonl.js';
import { EdgeKeeper, EDGE_BYTES, type StreamOptions, type UnverifiedPiece } from '../../transcript/file-reader.js';
import { decodeChunkAsync, decodeChunkInto, isChunkCodec, zstdFrameChecksummed, type EncodedChunk } from '../chunk-codec.js';
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

/**
 * Stream buffers a finished stream leaves for the next one (one set, at most STREAM_BUFFERS × 4 MB): a worker or a
 * server streams many transcripts, and each 4 MB allocation counts towards the external memory that starts V8's
 * full collections — in a bench process resuming a 50 MB transcript a dozen times, a mark-compact every other
 * resume, 15–25 ms of marking on this thread each.
 */
let spareBuffers: Buffer[] | undefined;

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
  private proved: { sha256: string; hash: Hash; lineCount: number } | { error: unknown } | undefined;

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
    const buffers: Buffer[] = spareBuffers ?? [];
    spareBuffers = undefined;
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
      spareBuffers = buffers;
      throw error;
    });
    await Promise.allSettled(handed);
    // Nothing holds them now: every piece handed out was written (or failed) before this.
    spareBuffers = buffers;
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
   *
   * A stream whose every chunk is a zstd frame with its content checksum (what baton writes now) is checked by
   * those checksums as it is decoded, and by its length at the end: damage to any chunk fails it before the caller
   * puts the file where a CLI reads it. The sha256 chain (each chunk's running sha256 and the version's), which
   * costs about as much as decoding, and the line count (13 ms at 50 MB), which checks the row rather than the
   * bytes, are proved from the same fetched chunks when the read's `sha256`, `hash`, `lineCount` or its cursor's are
   * first asked for: by the resumed saver, once the CLI is running.
   */
  private async decode(mode: 'whole' | 'stream', place: Place, tailBytes: number, each: (bytes: Buffer, index: number) => void): Promise<VerifiedStoredRead> {
    const { conversationId, versionId, fileKey } = this.version;
    const { chunks } = this;
    this.total();
    const bodies = this.openBodies();
    const brotli = bodies.map((body, index) =>
      body.codec !== 'br'
        ? undefined
        : decodeChunkAsync(body, chunks[index]!.byteLength).catch(() => {
            throw corrupt(conversationId, fileKey, `chunk ${chunks[index]!.sequence} does not decompress`);
          }),
    );
    // Each is awaited in order below; one that fails first must not leave the others' rejections unhandled.
    for (const promise of brotli) promise?.catch(() => undefined);

    const deferChain = mode === 'stream' && bodies.every((body) => body.codec === 'zstd' && zstdFrameChecksummed(body.data));
    const hash = deferChain ? undefined : createHash('sha256');
    // Counting 50 MB of lines costs 13 ms (Codex's ~2 KB lines): a deferred chain counts them with its proof.
    const edges = new EdgeKeeper(Math.max(EDGE_BYTES, tailBytes), this.total(), !deferChain);
    for (const [index, chunk] of chunks.entries()) {
      const body: EncodedChunk = bodies[index]!;
      const length = chunk.byteLength;
      let bytes: Buffer;
      if (body.codec === 'zstd') {
        bytes = await place(index, length, chunk.offset);
        this.decodeZstd(body, chunk, bytes);
      } else {
        const decoded = (await brotli[index]) ?? body.data;
        if (decoded.length !== length) throw corrupt(conversationId, fileKey, `chunk ${chunk.sequence} has ${decoded.length} bytes, expected ${length}`);
        if (mode === 'stream' || chunks.length === 1) bytes = decoded;
        else {
          bytes = await place(index, length, chunk.offset);
          decoded.copy(bytes);
        }
      }
      if (hash) this.checkChain(hash, chunk, bytes);
      edges.add(bytes);
      each(bytes, index);
    }
    const byteLength = this.total();
    let read: VerifiedStoredRead;
    if (hash) {
      const lineCount = edges.lineCount();
      const sha256 = this.checkTotals(hash, lineCount);
      read = { key: fileKey, lineCount, byteLength, sha256, hash, head: edges.head(), tail: edges.tail(), cursor: { versionId, lineCount, byteLength, sha256 } };
    } else {
      if (byteLength !== this.version.byteLength) {
        throw corrupt(conversationId, fileKey, `expected ${this.version.byteLength} bytes, found ${byteLength} bytes`);
      }
      // What the chunks' checksums did not prove (their order, the rows' line count and sha256 chain) is proved
      // from the same fetched chunks when first asked for: by the resumed saver, once the CLI runs.
      const proof = (): { sha256: string; hash: Hash; lineCount: number } => this.chainProof(bodies);
      read = {
        key: fileKey,
        get lineCount() {
          return proof().lineCount;
        },
        byteLength,
        get sha256() {
          return proof().sha256;
        },
        get hash() {
          return proof().hash;
        },
        head: edges.head(),
        tail: edges.tail(),
        cursor: {
          versionId,
          byteLength,
          get lineCount() {
            return proof().lineCount;
          },
          get sha256() {
            return proof().sha256;
          },
        },
      };
    }
    this.lastVerified = read;
    return read;
  }

  private openBodies(): EncodedChunk[] {
    const { conversationId, versionId, fileKey } = this.version;
    return this.chunks.map((chunk) => {
      const body = openBody(this.cipher, chunk.codec, chunk.body, chunkIdentity(conversationId, versionId, chunk.offset, chunk.byteLength));
      if (!body) throw corrupt(conversationId, fileKey, `chunk ${chunk.sequence} ${bodyProblem(this.cipher, chunk.codec)}`, bodyHint(chunk.codec));
      return body;
    });
  }

  private decodeZstd(body: EncodedChunk, chunk: FetchedChunk, target: Buffer): void {
    try {
      decodeChunkInto(body, target);
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw corrupt(this.version.conversationId, this.version.fileKey, `chunk ${chunk.sequence} does not decompress to its ${chunk.byteLength} bytes`);
    }
  }

  /** Adds a chunk's bytes to the running sha256 and checks it against the chunk's row. */
  private checkChain(hash: Hash, chunk: FetchedChunk, bytes: Buffer): void {
    hash.update(bytes);
    if (this.cipher.digest(hash.copy().digest('hex')) !== chunk.sha256After) throw corrupt(this.version.conversationId, this.version.fileKey, `sha256 mismatch after chunk ${chunk.sequence}`);
  }

  /** Checks the whole version's sha256, length and line count against its row; returns the sha256. */
  private checkTotals(hash: Hash, lineCount: number): string {
    const sha256 = hash.copy().digest('hex');
    const byteLength = this.total();
    if (this.cipher.digest(sha256) !== this.version.sha256 || byteLength !== this.version.byteLength || lineCount !== this.version.lineCount) {
      throw corrupt(this.version.conversationId, this.version.fileKey, `expected ${this.version.lineCount} lines and sha256 ${this.version.sha256.slice(0, 12)}…, found ${lineCount} lines and sha256 ${this.cipher.digest(sha256).slice(0, 12)}…`);
    }
    return sha256;
  }

  /**
   * The sha256 chain of a stream that left it for later: every chunk decoded again (on this thread, into one
   * reused buffer), hashed and checked like a whole read. Once; a failure is thrown again on every later ask.
   */
  private chainProof(bodies: EncodedChunk[]): { sha256: string; hash: Hash; lineCount: number } {
    if (this.proved) {
      if ('error' in this.proved) throw this.proved.error;
      return this.proved;
    }
    try {
      const hash = createHash('sha256');
      let newlines = 0;
      let lastByte: number | undefined;
      const scratch = Buffer.allocUnsafe(Math.max(0, ...this.chunks.map((chunk) => chunk.byteLength)));
      for (const [index, chunk] of this.chunks.entries()) {
        const bytes = scratch.subarray(0, chunk.byteLength);
        this.decodeZstd(bodies[index]!, chunk, bytes);
        this.checkChain(hash, chunk, bytes);
        newlines += countNewlines(bytes);
        lastByte = bytes.length > 0 ? bytes[bytes.length - 1] : lastByte;
      }
      // As countLines counts them: a last line without its newline is a line too.
      const lineCount = lastByte === undefined || lastByte === 0x0a ? newlines : newlines + 1;
      this.proved = { sha256: this.checkTotals(hash, lineCount), hash, lineCount };
      return this.proved;
    } catch (error) {
      this.proved = { error };
      throw error;
    }
  }
}
