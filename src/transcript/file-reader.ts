/**
 * Reading a stored transcript file without holding it whole: a resume streams each file from the store into a
 * temporary file beside where the CLI looks for it (src/fs/streamed-file.ts), and renames it into place only once
 * every byte has verified. A 50 MB transcript then never sits in one fresh 50 MB buffer (faulting that memory in
 * cost about as much as writing the file), and the write overlaps the decoding of the next piece.
 *
 * The types keep apart what has verified and what has not: a piece handed out while the file is read is an
 * `UnverifiedPiece` (its bytes only go to a temporary file, or to a scan whose answer is used once the read has
 * verified); content is a `TranscriptFile`, and only `whole()` gives one.
 */
import { createHash, type Hash } from 'node:crypto';
import { BatonError } from '../errors.js';
import type { EnvelopeHeader, Envelope, TranscriptFile } from './envelope.js';
import { countNewlines } from './jsonl.js';

/** Bytes of a file read from the store before the whole file has verified: never content. */
export interface UnverifiedPiece {
  readonly unverifiedBytes: Buffer;
}

/** How many bytes at each end of a file a verified read keeps by default (what a saver compares; see saver.ts). */
export const EDGE_BYTES = 4096;

/** What reading a whole file proved: its totals, its sha256 state, and its first and last bytes. */
export interface VerifiedRead {
  key: string;
  lineCount: number;
  byteLength: number;
  sha256: string;
  /**
   * The sha256 state after every byte: copy() it before updating. A stored file's stream may compute this and
   * `sha256` only when first read (its chunks' checksums verified it; TRANSCRIPT_CORRUPT then if its sha256 chain
   * does not hold): read them once the file is in use, not on the way to putting it in place.
   */
  hash: Hash;
  /** The first ≤ EDGE_BYTES bytes. */
  head: Buffer;
  /** The last ≤ max(EDGE_BYTES, the `tailBytes` asked) bytes. */
  tail: Buffer;
}

export interface StreamOptions {
  /** Keep this many of the file's last bytes in `tail` (default EDGE_BYTES). */
  tailBytes?: number;
}

/**
 * One transcript file, read on demand. `byteLength` and `lineCount` are what the store says it holds: checked by
 * every read, like the sha256 (TRANSCRIPT_CORRUPT on any mismatch).
 */
export interface TranscriptFileReader {
  readonly key: string;
  readonly byteLength: number;
  readonly lineCount: number;
  /** The whole file in one buffer, verified. Read once; later calls answer the same. */
  whole(): Promise<TranscriptFile>;
  /**
   * The file piece by piece, in order. `each` may use a piece until the promise it returns settles (its buffer is
   * reused then), so a write can run while the next piece decodes. Resolves once every byte has verified; rejects
   * (TRANSCRIPT_CORRUPT, or what `each` threw) after every promise `each` returned has settled.
   */
  stream(each: (piece: UnverifiedPiece) => Promise<void> | void, options?: StreamOptions): Promise<VerifiedRead>;
  /** What the last read that verified proved; a read without a reader of the pieces when none has yet. */
  verified(): Promise<VerifiedRead>;
}

/** An envelope whose files are read as the rehydrate writes them. */
export interface StoredEnvelope extends EnvelopeHeader {
  files: TranscriptFileReader[];
}

/** Keeps the first and the last bytes of a file as it goes by, and totals its newlines. */
export class EdgeKeeper {
  private readonly headParts: Buffer[] = [];
  private headLength = 0;
  private tailParts: Buffer[] = [];
  private tailLength = 0;
  newlines = 0;
  lastByte: number | undefined;

  private seen = 0;

  /**
   * `totalBytes`, where known, spares copying pieces that end before the tail begins (1 MB each for Claude's).
   * `countLines: false` leaves the newlines uncounted (a stream that counts them later, off the way to the file).
   */
  constructor(
    private readonly tailBytes: number,
    private readonly totalBytes?: number,
    private readonly countLines = true,
  ) {}

  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const start = this.seen;
    this.seen += bytes.length;
    if (this.countLines) this.newlines += countNewlines(bytes);
    this.lastByte = bytes[bytes.length - 1];
    if (this.headLength < EDGE_BYTES) {
      const part = Buffer.from(bytes.subarray(0, EDGE_BYTES - this.headLength));
      this.headParts.push(part);
      this.headLength += part.length;
    }
    if (this.totalBytes !== undefined && this.seen <= this.totalBytes - this.tailBytes) return;
    // Copies: the bytes' buffer is reused for the next piece.
    const from = Math.max(0, bytes.length - this.tailBytes, this.totalBytes === undefined ? 0 : this.totalBytes - this.tailBytes - start);
    const kept = Buffer.from(bytes.subarray(from));
    this.tailParts.push(kept);
    this.tailLength += kept.length;
    while (this.tailParts.length > 1 && this.tailLength - this.tailParts[0]!.length >= this.tailBytes) this.tailLength -= this.tailParts.shift()!.length;
  }

  /** Lines as countLines counts them: every newline ends one, and a tail without one is one more. */
  lineCount(): number {
    return this.lastByte === undefined || this.lastByte === 0x0a ? this.newlines : this.newlines + 1;
  }

  head(): Buffer {
    return Buffer.concat(this.headParts);
  }

  tail(): Buffer {
    const joined = Buffer.concat(this.tailParts);
    return joined.subarray(Math.max(0, joined.length - this.tailBytes));
  }
}

function mismatch(file: { key: string; lineCount: number; byteLength: number }, found: { lineCount: number; byteLength: number }, where: string): BatonError {
  return new BatonError(
    'TRANSCRIPT_CORRUPT',
    `transcript file "${file.key}" of ${where} does not verify (expected ${file.lineCount} lines and ${file.byteLength} bytes; found ${found.lineCount} lines and ${found.byteLength} bytes, or another sha256)`,
    { hint: 'the stored copy is damaged; restore the store from a backup or re-import an export of this conversation' },
  );
}

/**
 * A reader of content already in memory (an export, a server's answer, a test's envelope): one piece, the whole
 * content, checked against the file's own line count and sha256 like a stored file.
 */
export function memoryFileReader(file: TranscriptFile, where = 'this transcript', known?: Hash): TranscriptFileReader {
  let proved: VerifiedRead | undefined;
  const prove = (tailBytes = EDGE_BYTES): VerifiedRead => {
    if (proved && proved.tail.length >= Math.min(tailBytes, file.content.length)) return proved;
    const edges = new EdgeKeeper(Math.max(EDGE_BYTES, tailBytes));
    edges.add(file.content);
    const hash = known?.copy() ?? createHash('sha256').update(file.content);
    const sha256 = hash.copy().digest('hex');
    const found = { lineCount: edges.lineCount(), byteLength: file.content.length };
    if (sha256 !== file.sha256 || found.lineCount !== file.lineCount) throw mismatch({ ...file, byteLength: file.content.length }, found, where);
    proved = { key: file.key, lineCount: file.lineCount, byteLength: file.content.length, sha256, hash, head: edges.head(), tail: edges.tail() };
    return proved;
  };
  return {
    key: file.key,
    byteLength: file.content.length,
    lineCount: file.lineCount,
    whole: async () => {
      prove();
      return file;
    },
    stream: async (each, options) => {
      const read = prove(options?.tailBytes);
      await each({ unverifiedBytes: file.content });
      return read;
    },
    verified: async () => prove(),
  };
}

/** The envelope's files as readers: the stored envelope's own, or readers of the contents in memory. */
export function fileReaders(envelope: Envelope | StoredEnvelope): TranscriptFileReader[] {
  return envelope.files.map((file) => ('content' in file ? memoryFileReader(file) : file));
}

/** The envelope with every file read whole (verified): for a rehydrate that needs the whole content. */
export async function wholeEnvelope(envelope: Envelope | StoredEnvelope): Promise<Envelope> {
  const files = await Promise.all(envelope.files.map((file) => ('content' in file ? file : file.whole())));
  return { harness: envelope.harness, sessionId: envelope.sessionId, meta: envelope.meta, files };
}

/** The main file's reader; TRANSCRIPT_CORRUPT when there is none. */
export function mainFileReader(envelope: Envelope | StoredEnvelope): TranscriptFileReader {
  const main = fileReaders(envelope).find((file) => file.key === 'main');
  if (!main) {
    throw new BatonError('TRANSCRIPT_CORRUPT', `the transcript of session ${envelope.sessionId} has no main file`, {
      hint: 're-import an export of this conversation',
    });
  }
  return main;
}
