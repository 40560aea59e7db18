/**
 * Incremental transcript saves. Each save appends only the bytes the CLI added since the last save, after
 * checking that what was saved is still the file's prefix; if the CLI rewrote earlier lines, the save stores a
 * complete new version instead. Periodic saves check the prefix cheaply (same length or longer, and the saved
 * head and tail bytes unchanged); the final save re-hashes the whole prefix.
 *
 * What is stored is the redacted form of the file (src/redact/): the saver follows two things per file — the
 * bytes of the file on disk it has saved (`source`: their length, hash and edges, for the prefix checks) and the
 * redacted bytes the store holds (`cursor`). Redaction is per line, so appending the redacted new lines to the
 * stored version is the redaction of the whole file: a 10-line delta costs 10 lines of redaction.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { SessionMeta } from '../transcript/envelope.js';
import { countNewlines, splitCompleteLines } from '../transcript/jsonl.js';
import type { Store, StoredTranscriptFile, TranscriptCursor, VerifiedStoredRead } from '../store/store.js';
import { EDGE_BYTES } from '../transcript/file-reader.js';
import { noRedaction, type Redactor } from '../redact/redactor.js';

const NEWLINE = 0x0a;

interface SavedFile {
  /** Where the stored (redacted) copy ends. */
  cursor: TranscriptCursor;
  /** sha256 over every stored byte, continued as bytes are appended. */
  storedHash: Hash;
  /** The stored bytes end without a newline (only after a final save of a file cut mid-line). */
  endsMidLine: boolean;
  /** The file's bytes on disk that are saved: a prefix of the file while the CLI only appends. */
  source: { byteLength: number; hash: Hash; head: Buffer; tail: Buffer };
}

export interface SaveOutcome {
  /** Bytes appended to the store by this save, over all files. */
  bytesSaved: number;
  /** Files stored as a complete new version because their prefix had changed. */
  newVersions: string[];
}

export interface SaverTarget {
  store: Store;
  conversationId: string;
  runId: string;
  /** What every stored byte passes through; default none (tests of the store's own behaviour). */
  redactor?: Redactor;
}

export class TranscriptSaver {
  private readonly saved = new Map<string, SavedFile>();
  /**
   * Streamed reads not yet taken over: a stream may leave its sha256 chain to be re-checked when its hash is first
   * asked for (version-reader.ts), which is left to the first save, once the CLI is running.
   */
  private readonly pending = new Map<string, VerifiedStoredRead>();

  /**
   * `initial`: where a resume starts, as stored, rehydrated byte for byte (on disk and in the store the same bytes):
   * loaded files, or what streaming them proved (their sha256 state and edges, without their bytes).
   */
  constructor(private readonly target: SaverTarget, initial: ReadonlyArray<StoredTranscriptFile | VerifiedStoredRead> = []) {
    for (const file of initial) {
      if ('content' in file) this.saved.set(file.key, savedFromContent(file));
      else this.pending.set(file.key, file);
    }
  }

  /** What is saved of a file; a pending read is taken over now (its hash asked for: see `pending`). */
  private savedFile(key: string): SavedFile | undefined {
    const read = this.pending.get(key);
    if (read) {
      this.saved.set(key, savedFromRead(read));
      this.pending.delete(key);
    }
    return this.saved.get(key);
  }

  /** The saved bytes of a file on disk, without taking a pending read over. */
  private savedSourceBytes(key: string): number | undefined {
    return this.pending.get(key)?.byteLength ?? this.saved.get(key)?.source.byteLength;
  }

  private get redactor(): Redactor {
    return this.target.redactor ?? noRedaction;
  }

  /** True when a file on disk holds bytes this saver has not stored (it is longer, or was never saved). */
  async hasUnsaved(files: Array<{ key: string; path: string }>): Promise<boolean> {
    for (const file of files) {
      const savedBytes = this.savedSourceBytes(file.key);
      const size = (await stat(file.path).catch(() => undefined))?.size ?? 0;
      if (size > 0 && size !== savedBytes) return true;
    }
    return false;
  }

  /** The bytes stored of every file so far (the source bytes the saves covered). */
  savedByteLength(): number {
    let total = 0;
    for (const saved of this.saved.values()) total += saved.source.byteLength;
    for (const read of this.pending.values()) total += read.byteLength;
    return total;
  }

  /** Where the stored copy of a file ends, once it has been saved. */
  cursor(key: string): TranscriptCursor | undefined {
    return this.savedFile(key)?.cursor;
  }

  /**
   * Saves every file. A periodic save stores complete lines only (the CLI may be mid-write); the final save
   * stores everything on disk, byte for byte.
   */
  async save(files: Array<{ key: string; path: string }>, options: { final: boolean; meta: (mainContent: Buffer) => SessionMeta | undefined }): Promise<SaveOutcome> {
    const outcome: SaveOutcome = { bytesSaved: 0, newVersions: [] };
    for (const file of files) {
      const saved = this.savedFile(file.key);
      const appended = saved ? await this.appendIfPrefixHolds(file, saved, options) : undefined;
      if (appended !== undefined) {
        outcome.bytesSaved += appended;
        continue;
      }
      const written = await this.saveNewVersion(file, options);
      outcome.bytesSaved += written;
      if (saved && written > 0) outcome.newVersions.push(file.key);
    }
    if (options.final) {
      // A finished run's deltas are merged into a few chunks: stored about as small as one full save.
      for (const saved of this.saved.values()) await this.target.store.compactTranscript(saved.cursor.versionId);
      for (const read of this.pending.values()) await this.target.store.compactTranscript(read.cursor.versionId);
    }
    return outcome;
  }

  /** Appends the new bytes; undefined when the saved prefix no longer matches the file. */
  private async appendIfPrefixHolds(file: { key: string; path: string }, saved: SavedFile, options: { final: boolean }): Promise<number | undefined> {
    const handle = await open(file.path, 'r');
    try {
      const size = (await handle.stat()).size;
      const { source } = saved;
      const savedBytes = source.byteLength;
      if (size < savedBytes) return undefined;
      if (options.final) {
        const prefix = await readRange(handle, 0, savedBytes);
        if (createHash('sha256').update(prefix).digest('hex') !== source.hash.copy().digest('hex')) return undefined;
      } else {
        const head = await readRange(handle, 0, source.head.length);
        const tail = await readRange(handle, savedBytes - source.tail.length, source.tail.length);
        if (!head.equals(source.head) || !tail.equals(source.tail)) return undefined;
      }
      const rest = await readRange(handle, savedBytes, size - savedBytes);
      const raw = options.final ? rest : splitCompleteLines(rest).complete;
      if (raw.length === 0) return 0;
      // A line left open by a final save is finished now: redacted as a whole it could differ, so start anew.
      if (saved.endsMidLine && this.redactor !== noRedaction) return undefined;
      const bytes = await this.redactor.redactLines(raw);
      const cursor = await this.target.store.appendTranscript({
        conversationId: this.target.conversationId,
        fileKey: file.key,
        runId: this.target.runId,
        base: saved.cursor,
        bytes,
        after: this.totalsAfter(saved, bytes),
        meta: undefined,
        asLeaseHolder: true,
      });
      saved.storedHash.update(bytes);
      saved.cursor = cursor;
      saved.endsMidLine = bytes[bytes.length - 1] !== NEWLINE;
      source.hash.update(raw);
      source.byteLength += raw.length;
      source.tail = Buffer.concat([source.tail, raw]).subarray(-EDGE_BYTES);
      if (source.head.length < EDGE_BYTES) source.head = Buffer.concat([source.head, raw]).subarray(0, EDGE_BYTES);
      return bytes.length;
    } finally {
      await handle.close();
    }
  }

  private totalsAfter(saved: SavedFile, bytes: Buffer): Omit<TranscriptCursor, 'versionId'> {
    const newlines = countNewlines(bytes);
    const endsMidLine = bytes[bytes.length - 1] !== NEWLINE;
    // A line left open by the previous save and closed now was already counted once.
    const lineCount = saved.cursor.lineCount + newlines + (endsMidLine ? 1 : 0) - (saved.endsMidLine ? 1 : 0);
    return { lineCount, byteLength: saved.cursor.byteLength + bytes.length, sha256: saved.storedHash.copy().update(bytes).digest('hex') };
  }

  private async saveNewVersion(file: { key: string; path: string }, options: { final: boolean; meta: (mainContent: Buffer) => SessionMeta | undefined }): Promise<number> {
    const handle = await open(file.path, 'r');
    let content: Buffer;
    try {
      content = await handle.readFile();
    } finally {
      await handle.close();
    }
    const raw = options.final ? content : splitCompleteLines(content).complete;
    if (raw.length === 0) return 0;
    const bytes = await this.redactor.redactLines(raw);
    const fresh: SavedFile = {
      cursor: { versionId: 0, lineCount: 0, byteLength: 0, sha256: '' },
      storedHash: createHash('sha256'),
      endsMidLine: false,
      source: { byteLength: 0, hash: createHash('sha256'), head: Buffer.alloc(0), tail: Buffer.alloc(0) },
    };
    const after = this.totalsAfter(fresh, bytes);
    const cursor = await this.target.store.appendTranscript({
      conversationId: this.target.conversationId,
      fileKey: file.key,
      runId: this.target.runId,
      base: undefined,
      bytes,
      after,
      meta: file.key === 'main' ? options.meta(bytes) : undefined,
      asLeaseHolder: true,
    });
    this.saved.set(file.key, {
      cursor,
      storedHash: fresh.storedHash.update(bytes),
      endsMidLine: bytes[bytes.length - 1] !== NEWLINE,
      source: { byteLength: raw.length, hash: createHash('sha256').update(raw), head: Buffer.from(raw.subarray(0, EDGE_BYTES)), tail: Buffer.from(raw.subarray(-EDGE_BYTES)) },
    });
    return bytes.length;
  }
}

function savedFromContent(file: StoredTranscriptFile): SavedFile {
  // The load's own hash state where it is still of this content: hashing 50 MB twice more costs ~70 ms.
  const verified = file.verifiedHash?.of === file.content ? file.verifiedHash.state : undefined;
  const hashed = (): Hash => (verified ? verified.copy() : createHash('sha256').update(file.content));
  return {
    cursor: file.cursor,
    storedHash: hashed(),
    endsMidLine: file.content.length > 0 && file.content[file.content.length - 1] !== NEWLINE,
    source: {
      byteLength: file.content.length,
      hash: hashed(),
      head: Buffer.from(file.content.subarray(0, EDGE_BYTES)),
      tail: Buffer.from(file.content.subarray(Math.max(0, file.content.length - EDGE_BYTES))),
    },
  };
}

function savedFromRead(read: VerifiedStoredRead): SavedFile {
  const { tail } = read;
  return {
    cursor: read.cursor,
    storedHash: read.hash.copy(),
    endsMidLine: tail.length > 0 && tail[tail.length - 1] !== NEWLINE,
    source: { byteLength: read.byteLength, hash: read.hash.copy(), head: Buffer.from(read.head.subarray(0, EDGE_BYTES)), tail: Buffer.from(tail.subarray(Math.max(0, tail.length - EDGE_BYTES))) },
  };
}

async function readRange(handle: import('node:fs/promises').FileHandle, position: number, length: number): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const buffer = Buffer.alloc(length);
  let offset = 0;
  while (offset < length) {
    const { bytesRead } = await handle.read(buffer, offset, length - offset, position + offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return buffer.subarray(0, offset);
}
