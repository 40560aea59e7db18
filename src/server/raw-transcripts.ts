/**
 * GET …/transcript/raw, served from a cache of ready-made response bodies. Transcripts only grow by appends,
 * and a stored version is identified by (id, length, sha256), so a body built for the current versions of a
 * conversation's files stays right until one of them changes; checking that costs one indexed query, instead
 * of decompressing, verifying and serialising megabytes per request. The signature is also the ETag.
 */
import { createHash } from 'node:crypto';
import type { SqlStore } from '../store/sql-store.js';
import { serialiseFile } from '../transcript/envelope.js';
import type { Conversation } from '../store/store.js';

/** Bodies kept at most, in bytes; the least recently used go first. */
const DEFAULT_CACHE_BYTES = 128 * 1024 * 1024;

export interface RawTranscriptBody {
  body: Buffer;
  etag: string;
}

export class RawTranscripts {
  private readonly cache = new Map<string, RawTranscriptBody>();
  private cachedBytes = 0;

  constructor(
    private readonly store: Pick<SqlStore, 'loadTranscript' | 'latestTranscriptVersionEnds'>,
    private readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {}

  async body(conversation: Conversation): Promise<RawTranscriptBody> {
    const etag = await this.signature(conversation);
    const cached = this.cache.get(conversation.id);
    if (cached?.etag === etag) {
      // Most recently used last.
      this.cache.delete(conversation.id);
      this.cache.set(conversation.id, cached);
      return cached;
    }
    const transcript = await this.store.loadTranscript(conversation.id);
    const envelope = {
      harness: conversation.harness,
      sessionId: conversation.sessionId ?? null,
      meta: transcript?.meta ?? null,
      files: (transcript?.files ?? []).map(serialiseFile),
    };
    // The ETag names the versions loaded, which may be newer than those the signature saw: sign what was sent.
    const loadedEtag = transcript ? etagOf(conversation, transcript.files.map((file) => ({ key: file.key, ...file.cursor }))) : etag;
    const entry = { body: Buffer.from(JSON.stringify(envelope)), etag: loadedEtag };
    this.remember(conversation.id, entry);
    return entry;
  }

  private async signature(conversation: Conversation): Promise<string> {
    return etagOf(conversation, await this.store.latestTranscriptVersionEnds(conversation.id));
  }

  private remember(id: string, entry: RawTranscriptBody): void {
    const previous = this.cache.get(id);
    if (previous) {
      this.cache.delete(id);
      this.cachedBytes -= previous.body.length;
    }
    if (entry.body.length > this.maxBytes / 4) return; // too big to be worth keeping
    this.cache.set(id, entry);
    this.cachedBytes += entry.body.length;
    for (const [key, value] of this.cache) {
      if (this.cachedBytes <= this.maxBytes) break;
      this.cache.delete(key);
      this.cachedBytes -= value.body.length;
    }
  }
}

function etagOf(conversation: Conversation, files: Array<{ key: string; versionId: number; byteLength: number; sha256: string }>): string {
  const parts = [conversation.id, conversation.sessionId ?? '', ...files.sort((a, b) => a.key.localeCompare(b.key)).map((file) => `${file.key}:${file.versionId}:${file.byteLength}:${file.sha256}`)];
  return `"${createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 32)}"`;
}
