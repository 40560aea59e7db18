/**
 * Transcripts: each file of a conversation is stored as versions, a version as compressed chunks. A save appends
 * a chunk to the newest version when the writer's base is still where that version ends, or starts a new,
 * complete version; loading re-verifies every chunk and the whole file (line count, length, sha256).
 */
import { createHash, type Hash } from 'node:crypto';
import { sql, type Selectable, type Transaction } from 'kysely';
import { BatonError } from '../../errors.js';
import { MAIN_FILE_KEY, type SessionMeta } from '../../transcript/envelope.js';
import { countLines, countNewlines } from '../../transcript/jsonl.js';
import { decodeChunkAsync, decodeChunkInto, encodeChunk, isChunkCodec, MAX_CHUNK_BYTES, splitAtLines, type EncodedChunk } from '../chunk-codec.js';
import { plaintextCipher, SEALED_CODEC_SUFFIX, type RowCipher } from '../encryption.js';
import type { Database } from '../schema.js';
import type { OpenedTranscript, ReplaceTranscriptInput, StoredTranscript, TranscriptAppend, TranscriptCursor } from '../store.js';
import { inlineChunkBodies } from '../chunk-bodies.js';
import type { SqlContext } from './context.js';
import { chunkIdentity, metaIdentity, num } from './rows.js';
import { assertLeaseHolder, leaseLostError } from './runs.js';
import { bodyProblem, openBody, sealBody } from './sealed-bodies.js';
import { AlteredObjectError } from './object-bodies.js';
import { corrupt, StoredVersionReader, type FetchedChunk, type StoredVersion } from './version-reader.js';

/** Chunks below this size are a run's periodic deltas, merged by compactTranscript. */
const SMALL_CHUNK_BYTES = 256 * 1024;

/** Where a file's newest stored version ends, as stored (`sha256` is the keyed digest of it in an encrypted store). */
export interface StoredVersionEnd {
  key: string;
  versionId: number;
  byteLength: number;
  sha256: string;
}

/** An append whose base is no longer where the file's newest version ends: another writer got there first. */
export function staleBaseError(input: Pick<TranscriptAppend, 'conversationId' | 'fileKey'>): BatonError {
  return new BatonError('STORE_ERROR', `transcript "${input.fileKey}" of conversation ${input.conversationId} changed in the store while this run was saving it`, {
    hint: 'another process wrote this conversation; its lease may have expired — check `baton show` and resume again',
  });
}

type ChunkRow = Selectable<Database['transcript_chunks']>;

/** An append's bytes as its chunks, compressed (not yet sealed: that needs the version's row id) and totalled. */
interface EncodedAppend {
  pieces: Array<{ chunk: EncodedChunk; byteLength: number; lineCountAfter: number; sha256After: string }>;
}

/**
 * A delta is one chunk; a whole version is stored in pieces of a few MB (at line ends) that load in parallel, each
 * with the version's running line count and sha256 after it (the last piece: the writer's totals).
 */
function encodeAppend(input: TranscriptAppend): EncodedAppend {
  if (input.base !== undefined) return { pieces: [{ chunk: encodeChunk(input.bytes), byteLength: input.bytes.length, lineCountAfter: input.after.lineCount, sha256After: input.after.sha256 }] };
  const hash = createHash('sha256');
  let lineCount = 0;
  const split = splitAtLines(input.bytes);
  return {
    pieces: split.map((piece, sequence) => {
      hash.update(piece);
      lineCount += countNewlines(piece);
      const last = sequence === split.length - 1;
      return { chunk: encodeChunk(piece), byteLength: piece.length, lineCountAfter: last ? input.after.lineCount : lineCount, sha256After: last ? input.after.sha256 : hash.copy().digest('hex') };
    }),
  };
}

export class SqlTranscripts {
  constructor(private readonly context: SqlContext) {}

  async append(input: TranscriptAppend): Promise<TranscriptCursor> {
    const { db } = this.context;
    const cipher = await this.context.cipherFor(db, input.conversationId);
    // Compressed before the transaction: on SQLite it holds the store's one write lock (a 50 MB version is ~140 ms
    // of zstd that no other writer — another run's save, a lease renewal — need wait for).
    const encoded = encodeAppend(input);
    return db.transaction().execute(async (trx) => this.appendIn(trx, input, cipher, encoded));
  }

  async appendIn(trx: Transaction<Database>, input: TranscriptAppend, cipher: RowCipher, encoded: EncodedAppend = encodeAppend(input)): Promise<TranscriptCursor> {
    const { bodies } = this.context;
    const meta = input.meta ? JSON.stringify(input.meta) : null;
    if (input.base === undefined) {
      if (input.asLeaseHolder) await assertLeaseHolder(trx, input.conversationId, input.runId);
      const inserted = await trx
        .insertInto('transcript_versions')
        .values({
          conversation_id: input.conversationId,
          file_key: input.fileKey,
          created_at: Date.now(),
          created_by_run_id: input.runId ?? null,
          line_count: input.after.lineCount,
          byte_length: input.after.byteLength,
          sha256: cipher.digest(input.after.sha256),
          // Sealed below, once the row's id (part of its associated data) is known.
          meta: cipher.encrypted ? null : meta,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const versionId = num(inserted.id);
      if (cipher.encrypted && meta !== null) {
        await trx.updateTable('transcript_versions').set({ meta: cipher.sealText(metaIdentity(input.conversationId, versionId), meta) }).where('id', '=', versionId).execute();
      }
      let offset = 0;
      for (const [sequence, piece] of encoded.pieces.entries()) {
        // Sealed here: its associated data names the version row just inserted.
        const sealed = sealBody(cipher, piece.chunk, chunkIdentity(input.conversationId, versionId, offset, piece.byteLength));
        offset += piece.byteLength;
        await trx
          .insertInto('transcript_chunks')
          .values({
            version_id: versionId,
            sequence,
            codec: sealed.codec,
            data: await bodies.write(sealed.data, trx),
            byte_length: piece.byteLength,
            line_count_after: piece.lineCountAfter,
            sha256_after: cipher.digest(piece.sha256After),
          })
          .execute();
      }
      return { versionId, ...input.after };
    }

    const base = input.base;
    // One statement checks that `base` is still the file's newest version and still ends where the writer
    // thinks, and moves its end; a second appends the chunk after the version's last one.
    const updated = await trx
      .updateTable('transcript_versions')
      .set({
        line_count: input.after.lineCount,
        byte_length: input.after.byteLength,
        sha256: cipher.digest(input.after.sha256),
        ...(meta ? { meta: cipher.sealText(metaIdentity(input.conversationId, base.versionId), meta) } : {}),
      })
      .where('id', '=', base.versionId)
      .where('conversation_id', '=', input.conversationId)
      .where('file_key', '=', input.fileKey)
      .where('sha256', '=', cipher.digest(base.sha256))
      .where('byte_length', '=', base.byteLength)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('transcript_versions as newer')
              .select('newer.id')
              .where('newer.conversation_id', '=', input.conversationId)
              .where('newer.file_key', '=', input.fileKey)
              .where('newer.id', '>', base.versionId),
          ),
        ),
      )
      .$if(input.asLeaseHolder === true, (query) =>
        query.where(({ exists, selectFrom }) =>
          exists(selectFrom('conversations').select('conversations.id').where('conversations.id', '=', input.conversationId).where('conversations.active_run_id', '=', input.runId ?? '')),
        ),
      )
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      if (input.asLeaseHolder) await assertLeaseHolder(trx, input.conversationId, input.runId);
      throw staleBaseError(input);
    }
    const sealed = sealBody(cipher, encoded.pieces[0]!.chunk, chunkIdentity(input.conversationId, base.versionId, base.byteLength, input.bytes.length));
    const data = await bodies.write(sealed.data, trx);
    await trx
      .insertInto('transcript_chunks')
      .columns(['version_id', 'sequence', 'codec', 'data', 'byte_length', 'line_count_after', 'sha256_after'])
      .expression((eb) =>
        eb
          .selectFrom('transcript_chunks')
          .select((inner) => [
            inner.val(base.versionId).as('version_id'),
            sql<number>`coalesce(max(${inner.ref('sequence')}), 0) + 1`.as('sequence'),
            inner.val(sealed.codec).as('codec'),
            inner.val(data).as('data'),
            inner.val(input.bytes.length).as('byte_length'),
            inner.val(input.after.lineCount).as('line_count_after'),
            inner.val(cipher.digest(input.after.sha256)).as('sha256_after'),
          ])
          .where('version_id', '=', base.versionId),
      )
      .execute();
    return { versionId: base.versionId, ...input.after };
  }

  /**
   * A delta append (`input.base` set) in one PostgreSQL statement — one round trip, its own transaction — since
   * it is every periodic save of every worker. The checks are appendIn's: the version's end moves only if `base`
   * is still the file's newest version and still ends where the writer thinks (a concurrent writer holds the row
   * lock until it commits, and the condition is then re-checked), and the chunk goes after the version's last one.
   */
  async appendDeltaInOneStatement(input: TranscriptAppend & { base: TranscriptCursor }): Promise<TranscriptCursor> {
    const { db, bodies } = this.context;
    const base = input.base;
    const cipher = await this.context.cipherFor(db, input.conversationId);
    // Sealed for where it goes: this conversation, this version, at the version's current end.
    const encoded = sealBody(cipher, encodeChunk(input.bytes), chunkIdentity(input.conversationId, base.versionId, base.byteLength, input.bytes.length));
    // No transaction around this upload: the claim commits before it (see sql/object-bodies.ts).
    const data = await bodies.write(encoded.data, db);
    const meta = input.meta ? cipher.sealText(metaIdentity(input.conversationId, base.versionId), JSON.stringify(input.meta)) : null;
    const afterSha256 = cipher.digest(input.after.sha256);
    const result = await sql<{ version_id: number }>`
      with moved as (
        update transcript_versions
        set line_count = ${input.after.lineCount}, byte_length = ${input.after.byteLength}, sha256 = ${afterSha256}, meta = coalesce(${meta}::text, meta)
        where id = ${base.versionId} and conversation_id = ${input.conversationId} and file_key = ${input.fileKey}
          and sha256 = ${cipher.digest(base.sha256)} and byte_length = ${base.byteLength}
          and not exists (
            select 1 from transcript_versions newer
            where newer.conversation_id = ${input.conversationId} and newer.file_key = ${input.fileKey} and newer.id > ${base.versionId}
          )
          and (${!input.asLeaseHolder}::boolean or exists (
            select 1 from conversations holder where holder.id = ${input.conversationId} and holder.active_run_id = ${input.runId ?? ''}
          ))
        returning id
      )
      insert into transcript_chunks (version_id, sequence, codec, data, byte_length, line_count_after, sha256_after)
      select moved.id, (select coalesce(max(chunk.sequence), 0) + 1 from transcript_chunks chunk where chunk.version_id = moved.id),
        ${encoded.codec}::text, ${data}::bytea, ${input.bytes.length}::bigint, ${input.after.lineCount}::bigint, ${afterSha256}::text
      from moved
      returning version_id`.execute(db);
    if (result.rows.length === 0) {
      if (input.asLeaseHolder) {
        const holder = await db.selectFrom('conversations').select('active_run_id').where('id', '=', input.conversationId).executeTakeFirst();
        if (holder?.active_run_id !== input.runId) throw leaseLostError(input.conversationId, input.runId);
      }
      throw staleBaseError(input);
    }
    return { versionId: base.versionId, ...input.after };
  }

  async compact(versionId: number): Promise<{ chunksBefore: number; chunksAfter: number }> {
    const { db, bodies } = this.context;
    const version = await db.selectFrom('transcript_versions').select('conversation_id').where('id', '=', versionId).executeTakeFirst();
    const conversationId = version?.conversation_id ?? '';
    const cipher = version ? await this.context.cipherFor(db, conversationId) : plaintextCipher;
    const removed: Buffer[] = [];
    const result = await db.transaction().execute(async (trx) => {
      // A write first, to take the write lock before reading (see sql-store.ts).
      await trx.updateTable('transcript_versions').set((eb) => ({ byte_length: eb.ref('byte_length') })).where('id', '=', versionId).execute();
      const chunks = await trx.selectFrom('transcript_chunks').selectAll().where('version_id', '=', versionId).orderBy('sequence').execute();
      // Where each chunk starts in the version: part of its body's associated data.
      const offsets = new Map<number, number>();
      let start = 0;
      for (const chunk of chunks) {
        offsets.set(chunk.sequence, start);
        start += num(chunk.byte_length);
      }
      // Runs of consecutive small chunks (periodic deltas), each grouped into pieces of at most MAX_CHUNK_BYTES;
      // a large chunk stays as it is and ends the run before it.
      const groups: Array<typeof chunks> = [];
      let open: typeof chunks | undefined;
      let openBytes = 0;
      for (const chunk of chunks) {
        const bytes = num(chunk.byte_length);
        if (bytes >= SMALL_CHUNK_BYTES) {
          groups.push([chunk]);
          open = undefined;
        } else if (open && openBytes + bytes <= MAX_CHUNK_BYTES) {
          open.push(chunk);
          openBytes += bytes;
        } else {
          open = [chunk];
          openBytes = bytes;
          groups.push(open);
        }
      }
      let chunksAfter = 0;
      for (const group of groups) {
        chunksAfter++;
        if (group.length < 2) continue;
        const parts: Buffer[] = [];
        for (const chunk of group) {
          const bytes = await bodies
            .read(Buffer.from(chunk.data))
            .then((data) => {
              const body = openBody(cipher, chunk.codec, data, chunkIdentity(conversationId, versionId, offsets.get(chunk.sequence)!, num(chunk.byte_length)));
              return body ? decodeChunkAsync(body, num(chunk.byte_length)) : undefined;
            })
            .catch(() => undefined);
          // A damaged chunk is left for loadTranscript to report, never merged away.
          if (!bytes || bytes.length !== num(chunk.byte_length)) return { chunksBefore: chunks.length, chunksAfter: chunks.length };
          parts.push(bytes);
        }
        const merged = Buffer.concat(parts);
        const first = group[0]!;
        const last = group.at(-1)!;
        const encoded = sealBody(cipher, encodeChunk(merged), chunkIdentity(conversationId, versionId, offsets.get(first.sequence)!, merged.length));
        await trx.deleteFrom('transcript_chunks').where('version_id', '=', versionId).where('sequence', 'in', group.map((chunk) => chunk.sequence)).execute();
        removed.push(...group.map((chunk) => Buffer.from(chunk.data)));
        await trx
          .insertInto('transcript_chunks')
          .values({ version_id: versionId, sequence: first.sequence, codec: encoded.codec, data: await bodies.write(encoded.data, trx), byte_length: merged.length, line_count_after: last.line_count_after, sha256_after: last.sha256_after })
          .execute();
      }
      return { chunksBefore: chunks.length, chunksAfter };
    });
    await bodies.remove(removed, db);
    return result;
  }

  async replace(input: ReplaceTranscriptInput): Promise<Map<string, TranscriptCursor>> {
    const { db, bodies } = this.context;
    const cipher = await this.context.cipherFor(db, input.conversationId);
    const { cursors, removed } = await db.transaction().execute(async (trx) => {
      await assertLeaseHolder(trx, input.conversationId, input.runId);
      await trx.updateTable('conversations').set({ session_id: input.sessionId, updated_at: Date.now() }).where('id', '=', input.conversationId).execute();
      const keys = new Set(input.files.map((file) => file.key));
      const stale = trx.selectFrom('transcript_versions').select('id').where('conversation_id', '=', input.conversationId).where('file_key', 'not in', [...keys, '']);
      const removed = bodies === inlineChunkBodies ? [] : await trx.selectFrom('transcript_chunks').select('data').where('version_id', 'in', stale).execute();
      await trx.deleteFrom('transcript_chunks').where('version_id', 'in', stale).execute();
      await trx.deleteFrom('transcript_versions').where('conversation_id', '=', input.conversationId).where('file_key', 'not in', [...keys, '']).execute();
      const cursors = new Map<string, TranscriptCursor>();
      for (const file of input.files) {
        const after = { lineCount: file.lineCount, byteLength: file.content.length, sha256: file.sha256 };
        const meta = file.key === MAIN_FILE_KEY ? input.meta : undefined;
        cursors.set(file.key, await this.appendIn(trx, { conversationId: input.conversationId, fileKey: file.key, runId: input.runId, base: undefined, bytes: file.content, after, meta }, cipher));
      }
      return { cursors, removed: removed.map((row) => Buffer.from(row.data)) };
    });
    await bodies.remove(removed, db);
    return cursors;
  }

  async load(conversationId: string): Promise<StoredTranscript | undefined> {
    const opened = await this.open(conversationId);
    if (!opened) return undefined;
    return { conversationId, meta: opened.meta, files: await Promise.all(opened.files.map((file) => file.whole())) };
  }

  /**
   * Every file's latest version with its chunk bodies fetched (still compressed), in one read transaction: a
   * consistent snapshot. SQLite's transactions are snapshots already (kysely's SQLite driver ignores these
   * settings); PostgreSQL needs REPEATABLE READ, or a compaction committed between the version and chunk reads
   * would tear the version. The bodies are fetched inside it too: object storage loses a compacted chunk's
   * object once the compaction commits. Chunks appended after the version row was read are ignored (the version
   * row says where it ends). Decoding and verifying happen as each file is read (version-reader.ts).
   */
  async open(conversationId: string): Promise<OpenedTranscript | undefined> {
    return this.context.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => this.openIn(trx, conversationId));
  }

  /** Where each file's newest version ends, without loading it: one indexed query. */
  async latestVersionEnds(conversationId: string): Promise<StoredVersionEnd[]> {
    const rows = await this.context.db
      .selectFrom('transcript_versions')
      .select(['id', 'file_key', 'byte_length', 'sha256'])
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'desc')
      .execute();
    const latest = new Map<string, StoredVersionEnd>();
    for (const row of rows) if (!latest.has(row.file_key)) latest.set(row.file_key, { key: row.file_key, versionId: num(row.id), byteLength: num(row.byte_length), sha256: row.sha256 });
    return [...latest.values()];
  }

  private async openIn(trx: Transaction<Database>, conversationId: string): Promise<OpenedTranscript | undefined> {
    const { bodies } = this.context;
    const versions = await trx
      .selectFrom('transcript_versions')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'desc')
      .execute();
    const latestByKey = new Map<string, (typeof versions)[number]>();
    for (const version of versions) if (!latestByKey.has(version.file_key)) latestByKey.set(version.file_key, version);
    if (latestByKey.size === 0) return undefined;
    const cipher = await this.context.cipherFor(trx, conversationId);

    const files: StoredVersionReader[] = [];
    let meta: SessionMeta | undefined;
    for (const version of [...latestByKey.values()].sort((a, b) => a.file_key.localeCompare(b.file_key))) {
      const versionId = num(version.id);
      const chunks = await trx.selectFrom('transcript_chunks').selectAll().where('version_id', '=', versionId).orderBy('sequence').execute();
      // Chunks appended after the version row was read (a writer on a backend without snapshot reads) are ignored.
      const versionBytes = num(version.byte_length);
      const wanted: ChunkRow[] = [];
      const offsets: number[] = [];
      for (let covered = 0, index = 0; index < chunks.length && (covered < versionBytes || wanted.length === 0); index++) {
        wanted.push(chunks[index]!);
        offsets.push(covered);
        covered += num(chunks[index]!.byte_length);
      }
      // Fetched together: an object store answers them in parallel.
      const fetched = await Promise.all(
        wanted.map(async (chunk, index): Promise<FetchedChunk> => {
          const body = await bodies.read(Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength)).catch((error: unknown) => {
            // Object storage that does not answer (or lost the object) says so itself; an altered object or row is damage.
            if (error instanceof BatonError && error.code === 'BLOB_STORE_ERROR' && !(error instanceof AlteredObjectError)) throw error;
            throw corrupt(conversationId, version.file_key, `chunk ${chunk.sequence} cannot be read`);
          });
          return { sequence: chunk.sequence, codec: chunk.codec, body, byteLength: num(chunk.byte_length), sha256After: chunk.sha256_after, offset: offsets[index]! };
        }),
      );
      if (version.file_key === 'main' && version.meta) {
        meta = JSON.parse(cipher.openText(metaIdentity(conversationId, versionId), version.meta, `session metadata of conversation ${conversationId}`)) as SessionMeta;
      }
      const stored: StoredVersion = { conversationId, versionId, fileKey: version.file_key, lineCount: num(version.line_count), byteLength: versionBytes, sha256: version.sha256 };
      files.push(new StoredVersionReader(stored, fetched, cipher));
    }
    return { conversationId, meta, files };
  }
}
