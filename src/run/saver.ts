/**
 * Incremental transcript saves. Each save appends only the bytes the CLI added since the last save, after
 * checking that what was saved is still the file's prefix; if the CLI rewrote earlier lines, the save stores a
 * complete new version instead. Periodic saves check the prefix cheaply (same length or longer, and the saved
 * head and tail bytes unchanged); the final save re-hashes the whole prefix.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { SessionMeta } from '../transcript/envelope.js';
import { countNewlines, splitCompleteLines } from '../transcript/jsonl.js';
import type { Store, StoredTranscriptFile, TranscriptCursor } from '../store/store.js';

/** How many bytes at each end of the saved prefix a periodic save compares with the file. */
const EDGE_BYTES = 4096;
const NEWLINE = 0x0a;

interface SavedFile {
  cursor: TranscriptCursor;
  /** sha256 over every saved byte, continued as bytes are appended. */
  hash: Hash;
  head: Buffer;
  tail: Buffer;
  /** The saved bytes end without a newline (only after a final save of a file cut mid-line). */
  endsMidLine: boolean;
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
}

export class TranscriptSaver {
  private readonly saved = new Map<string, SavedFile>();

  constructor(private readonly target: SaverTarget, initial: StoredTranscriptFile[] = []) {
    for (const file of initial) {
      this.saved.set(file.key, {
        cursor: file.cursor,
        hash: createHash('sha256').update(file.content),
        head: Buffer.from(file.content.subarray(0, EDGE_BYTES)),
        tail: Buffer.from(file.content.subarray(Math.max(0, file.content.length - EDGE_BYTES))),
        endsMidLine: file.content.length > 0 && file.content[file.content.length - 1] !== NEWLINE,
      });
    }
  }

  /** True when a file on disk holds bytes this saver has not stored (it is longer, or was never saved). */
  async hasUnsaved(files: Array<{ key: string; path: string }>): Promise<boolean> {
    for (const file of files) {
      const saved = this.saved.get(file.key);
      const size = (await stat(file.path).catch(() => undefined))?.size ?? 0;
      if (size > 0 && (!saved || size !== saved.cursor.byteLength)) return true;
    }
    return false;
  }

  /** Where the stored copy of a file ends, once it has been saved. */
  cursor(key: string): TranscriptCursor | undefined {
    return this.saved.get(key)?.cursor;
  }

  /**
   * Saves every file. A periodic save stores complete lines only (the CLI may be mid-write); the final save
   * stores everything on disk, byte for byte.
   */
  async save(files: Array<{ key: string; path: string }>, options: { final: boolean; meta: (mainContent: Buffer) => SessionMeta | undefined }): Promise<SaveOutcome> {
    const outcome: SaveOutcome = { bytesSaved: 0, newVersions: [] };
    for (const file of files) {
      const saved = this.saved.get(file.key);
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
    }
    return outcome;
  }

  /** Appends the new bytes; undefined when the saved prefix no longer matches the file. */
  private async appendIfPrefixHolds(file: { key: string; path: string }, saved: SavedFile, options: { final: boolean }): Promise<number | undefined> {
    const handle = await open(file.path, 'r');
    try {
      const size = (await handle.stat()).size;
      const savedBytes = saved.cursor.byteLength;
      if (size < savedBytes) return undefined;
      if (options.final) {
        const prefix = await readRange(handle, 0, savedBytes);
        if (createHash('sha256').update(prefix).digest('hex') !== saved.cursor.sha256) return undefined;
      } else {
        const head = await readRange(handle, 0, saved.head.length);
        const tail = await readRange(handle, savedBytes - saved.tail.length, saved.tail.length);
        if (!head.equals(saved.head) || !tail.equals(saved.tail)) return undefined;
      }
      const rest = await readRange(handle, savedBytes, size - savedBytes);
      const bytes = options.final ? rest : splitCompleteLines(rest).complete;
      if (bytes.length === 0) return 0;
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
      saved.hash.update(bytes);
      saved.cursor = cursor;
      saved.tail = Buffer.concat([saved.tail, bytes]).subarray(-EDGE_BYTES);
      if (saved.head.length < EDGE_BYTES) saved.head = Buffer.concat([saved.head, bytes]).subarray(0, EDGE_BYTES);
      saved.endsMidLine = bytes[bytes.length - 1] !== NEWLINE;
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
    return { lineCount, byteLength: saved.cursor.byteLength + bytes.length, sha256: saved.hash.copy().update(bytes).digest('hex') };
  }

  private async saveNewVersion(file: { key: string; path: string }, options: { final: boolean; meta: (mainContent: Buffer) => SessionMeta | undefined }): Promise<number> {
    const handle = await open(file.path, 'r');
    let content: Buffer;
    try {
      content = await handle.readFile();
    } finally {
      await handle.close();
    }
    const bytes = options.final ? content : splitCompleteLines(content).complete;
    if (bytes.length === 0) return 0;
    const fresh: SavedFile = { cursor: { versionId: 0, lineCount: 0, byteLength: 0, sha256: '' }, hash: createHash('sha256'), head: Buffer.alloc(0), tail: Buffer.alloc(0), endsMidLine: false };
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
    fresh.hash.update(bytes);
    this.saved.set(file.key, {
      cursor,
      hash: fresh.hash,
      head: Buffer.from(bytes.subarray(0, EDGE_BYTES)),
      tail: Buffer.from(bytes.subarray(-EDGE_BYTES)),
      endsMidLine: bytes[bytes.length - 1] !== NEWLINE,
    });
    return bytes.length;
  }
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
