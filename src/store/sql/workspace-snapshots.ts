/**
 * Workspace snapshots: a manifest per save, tied to the transcript version it belongs to, and its blobs (git
 * bundle, patch, or archive). A blob the conversation stored before (the same bundle at every save of a run)
 * is stored once and referenced after that.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { BatonError, isBatonError } from '../../errors.js';
import type { WorkspaceBlobs, WorkspaceSnapshot } from '../../workspace/workspace.js';
import { decodeChunkAsync, encodeChunk } from '../chunk-codec.js';
import type { RowCipher } from '../encryption.js';
import type { Database } from '../schema.js';
import type { StoredWorkspaceSnapshot, WorkspaceSnapshotSummary } from '../store.js';
import type { SqlContext } from './context.js';
import { blobIdentity, manifestIdentity, num, toSnapshotSummary } from './rows.js';
import { assertLeaseHolder } from './runs.js';
import { BLOB_REFERENCE, openBody, sealBody } from './sealed-bodies.js';

export interface NewWorkspaceSnapshot {
  conversationId: string;
  runId: string;
  snapshot: WorkspaceSnapshot;
  transcript: { versionId: number; byteLength: number } | undefined;
  asLeaseHolder?: boolean;
}

export class SqlWorkspaceSnapshots {
  constructor(private readonly context: SqlContext) {}

  async save(input: NewWorkspaceSnapshot): Promise<number> {
    const { db } = this.context;
    const cipher = await this.context.cipherFor(db, input.conversationId);
    return db.transaction().execute(async (trx) => this.saveIn(trx, input, cipher));
  }

  async saveIn(trx: Transaction<Database>, input: NewWorkspaceSnapshot, cipher: RowCipher): Promise<number> {
    if (input.asLeaseHolder) await assertLeaseHolder(trx, input.conversationId, input.runId);
    const manifest = JSON.stringify(input.snapshot.manifest);
    const inserted = await trx
      .insertInto('workspace_snapshots')
      .values({
        conversation_id: input.conversationId,
        run_id: input.runId,
        created_at: Date.now(),
        kind: input.snapshot.manifest.kind,
        fingerprint: cipher.digest(input.snapshot.manifest.fingerprint),
        // Sealed below, once the row's id (part of its associated data) is known.
        manifest: cipher.encrypted ? '' : manifest,
        transcript_version_id: input.transcript?.versionId ?? null,
        transcript_byte_length: input.transcript?.byteLength ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const snapshotId = num(inserted.id);
    if (cipher.encrypted) {
      await trx.updateTable('workspace_snapshots').set({ manifest: cipher.sealText(manifestIdentity(input.conversationId, snapshotId), manifest) }).where('id', '=', snapshotId).execute();
    }
    for (const [name, bytes] of Object.entries(input.snapshot.blobs) as Array<[string, Buffer | undefined]>) {
      if (!bytes) continue;
      const sha256 = cipher.digest(createHash('sha256').update(bytes).digest('hex'));
      // The same bundle (same HEAD) at every save of a run: stored once per conversation, then referenced.
      const same = await trx
        .selectFrom('workspace_blobs')
        .innerJoin('workspace_snapshots', 'workspace_snapshots.id', 'workspace_blobs.snapshot_id')
        .select('workspace_blobs.snapshot_id')
        .where('workspace_snapshots.conversation_id', '=', input.conversationId)
        .where('workspace_blobs.name', '=', name)
        .where('workspace_blobs.sha256', '=', sha256)
        .where('workspace_blobs.codec', '!=', BLOB_REFERENCE)
        .limit(1)
        .executeTakeFirst();
      // A git bundle is already compressed: brotli would spend time for nothing.
      const encoded = same
        ? { codec: BLOB_REFERENCE, data: Buffer.from(String(num(same.snapshot_id))) }
        : sealBody(cipher, name === 'bundle' ? { codec: 'none' as const, data: bytes } : encodeChunk(bytes), blobIdentity(input.conversationId, snapshotId, name, bytes.length));
      // A stored blob goes where chunk bodies go (object storage keeps it and the row a reference); a reference stays in the row.
      const data = same ? encoded.data : await this.context.bodies.write(encoded.data, trx);
      await trx
        .insertInto('workspace_blobs')
        .values({ snapshot_id: snapshotId, name, codec: encoded.codec, data, byte_length: bytes.length, sha256 })
        .execute();
    }
    return snapshotId;
  }

  async list(conversationId: string): Promise<WorkspaceSnapshotSummary[]> {
    const { db } = this.context;
    const rows = await db.selectFrom('workspace_snapshots').selectAll().where('conversation_id', '=', conversationId).orderBy('id').execute();
    if (rows.length === 0) return [];
    const cipher = await this.context.cipherFor(db, conversationId);
    return rows.map((row) => toSnapshotSummary(row, cipher));
  }

  async load(conversationId: string, atRunId?: string): Promise<StoredWorkspaceSnapshot | undefined> {
    const { db } = this.context;
    let query = db.selectFrom('workspace_snapshots').selectAll().where('conversation_id', '=', conversationId);
    if (atRunId !== undefined) query = query.where('run_id', '=', atRunId);
    const row = await query.orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (!row) return undefined;
    const cipher = await this.context.cipherFor(db, conversationId);
    const summary = toSnapshotSummary(row, cipher);
    const blobRows = await db.selectFrom('workspace_blobs').selectAll().where('snapshot_id', '=', summary.id).execute();
    const blobs: WorkspaceBlobs = {};
    for (const row of blobRows) {
      const blob =
        row.codec === BLOB_REFERENCE
          ? ((await db
              .selectFrom('workspace_blobs')
              .selectAll()
              .where('snapshot_id', '=', Number(Buffer.from(row.data).toString()))
              .where('name', '=', row.name)
              .where('sha256', '=', row.sha256)
              .executeTakeFirst()) ?? row)
          : row;
      const damaged = (): BatonError =>
        new BatonError('WORKSPACE_ERROR', `the stored workspace ${blob.name} of conversation ${conversationId} is damaged`, {
          hint: 'resume with --no-workspace to continue without the files',
        });
      if (blob.name !== 'bundle' && blob.name !== 'patch' && blob.name !== 'archive') throw damaged();
      // Sealed for this conversation and the snapshot that stored it: a reference to another conversation's blob fails here.
      const kept = await this.context.bodies.read(Buffer.from(blob.data)).catch((error: unknown) => {
        throw isBatonError(error) && error.code === 'BLOB_STORE_ERROR' ? error : damaged();
      });
      const body = openBody(cipher, blob.codec, kept, blobIdentity(conversationId, num(blob.snapshot_id), blob.name, num(blob.byte_length)));
      if (!body) throw damaged();
      // Decoded into a buffer of the row's length: a damaged frame cannot make zstd allocate what it claims.
      const bytes = await decodeChunkAsync(body, num(blob.byte_length)).catch(() => {
        throw damaged();
      });
      if (bytes.length !== num(blob.byte_length) || cipher.digest(createHash('sha256').update(bytes).digest('hex')) !== blob.sha256) throw damaged();
      blobs[blob.name] = bytes;
    }
    return { ...summary, blobs };
  }
}
