/**
 * `baton keys enable`: a plaintext store encrypted in place, in one transaction, so that it is never half
 * encrypted (a store never holds a mix): either every row is sealed and store_encryption says so, or nothing
 * changed. Chunk and blob bodies are sealed as they are stored (already compressed); nothing is decompressed.
 */
import type { Kysely } from 'kysely';
import { BatonError } from '../errors.js';
import type { ChunkBodies } from './chunk-bodies.js';
import { conversationKeyOwner, freshDataKey, type StoreEncryption } from './encryption.js';
import type { Database } from './schema.js';
import { blobIdentity, chunkIdentity, eventIdentity, manifestIdentity, metaIdentity, sealConversationColumns, sealRunColumns } from './sql/rows.js';
import { BLOB_REFERENCE, sealBody } from './sql/sealed-bodies.js';

export async function encryptStoreInPlace(db: Kysely<Database>, bodies: ChunkBodies, encryption: StoreEncryption, location: string): Promise<{ conversations: number; keyId: string }> {
  const master = encryption.offered;
  if (encryption.encrypted) throw new BatonError('USAGE', `the store ${location} is encrypted already (key ${encryption.keyId})`, { hint: 'rotate its key with `baton keys rotate --new-key-file FILE`' });
  if (!master) throw new BatonError('USAGE', 'baton keys enable needs the key to encrypt the store with', { hint: 'set BATON_MASTER_KEY or pass --master-key-file FILE (make one with `baton keys generate --output FILE`)' });
  const replaced: Buffer[] = [];
  const written: Buffer[] = [];
  let conversations = 0;
  try {
    await db.transaction().execute(async (trx) => {
      // The write first: it takes the write lock, and fails if another process encrypted the store meanwhile.
      const switched = await trx.updateTable('store_encryption').set({ mode: 'encrypted', key_check: master.check, rotated_at: Date.now() }).where('id', '=', 1).where('mode', '=', 'plaintext').executeTakeFirst();
      if (Number(switched.numUpdatedRows) === 0) throw new BatonError('USAGE', `the store ${location} was encrypted by another process`, { hint: 'open it with its key' });
      for (const conversation of await trx.selectFrom('conversations').selectAll().execute()) {
        conversations++;
        const id = conversation.id;
        const key = freshDataKey();
        const cipher = key.cipher;
        const sealed = sealConversationColumns(conversation, cipher);
        await trx.updateTable('conversations').set({ title: sealed.title, cwd: sealed.cwd, options: sealed.options, adopted_from: sealed.adopted_from }).where('id', '=', id).execute();
        await encryption.saveDataKeyUnder(trx, master, conversationKeyOwner(id), key);

        for (const run of await trx.selectFrom('runs').selectAll().where('conversation_id', '=', id).execute()) {
          const sealedRun = sealRunColumns(run, cipher);
          await trx.updateTable('runs').set({ prompt: sealedRun.prompt, cwd: sealedRun.cwd, error: sealedRun.error }).where('id', '=', run.id).execute();
          for (const event of await trx.selectFrom('run_events').select(['sequence', 'data']).where('run_id', '=', run.id).execute()) {
            const sequence = Number(event.sequence);
            await trx.updateTable('run_events').set({ data: cipher.sealText(eventIdentity(id, run.id, sequence), event.data) }).where('run_id', '=', run.id).where('sequence', '=', sequence).execute();
          }
        }

        for (const version of await trx.selectFrom('transcript_versions').selectAll().where('conversation_id', '=', id).execute()) {
          const versionId = Number(version.id);
          await trx
            .updateTable('transcript_versions')
            .set({ sha256: cipher.digest(version.sha256), meta: version.meta === null ? null : cipher.sealText(metaIdentity(id, versionId), version.meta) })
            .where('id', '=', versionId)
            .execute();
          let offset = 0;
          for (const chunk of await trx.selectFrom('transcript_chunks').selectAll().where('version_id', '=', versionId).orderBy('sequence').execute()) {
            const byteLength = Number(chunk.byte_length);
            const kept = Buffer.from(chunk.data);
            const body = await bodies.read(kept);
            const sealedBody = sealBody(cipher, { codec: chunk.codec as 'br' | 'none', data: body }, chunkIdentity(id, versionId, offset, byteLength));
            const data = await bodies.write(sealedBody.data, trx);
            if (bodies.kind !== 'inline') {
              written.push(data);
              replaced.push(kept);
            }
            await trx
              .updateTable('transcript_chunks')
              .set({ codec: sealedBody.codec, data, sha256_after: cipher.digest(chunk.sha256_after) })
              .where('version_id', '=', versionId)
              .where('sequence', '=', chunk.sequence)
              .execute();
            offset += byteLength;
          }
        }

        for (const snapshot of await trx.selectFrom('workspace_snapshots').selectAll().where('conversation_id', '=', id).execute()) {
          const snapshotId = Number(snapshot.id);
          await trx
            .updateTable('workspace_snapshots')
            .set({ fingerprint: cipher.digest(snapshot.fingerprint), manifest: cipher.sealText(manifestIdentity(id, snapshotId), snapshot.manifest) })
            .where('id', '=', snapshotId)
            .execute();
          for (const blob of await trx.selectFrom('workspace_blobs').selectAll().where('snapshot_id', '=', snapshotId).execute()) {
            let sealedBlob: { codec: string; data: Buffer } = { codec: blob.codec, data: Buffer.from(blob.data) };
            if (blob.codec !== BLOB_REFERENCE) {
              const kept = Buffer.from(blob.data);
              const sealed = sealBody(cipher, { codec: blob.codec as 'br' | 'none', data: await bodies.read(kept) }, blobIdentity(id, snapshotId, blob.name, Number(blob.byte_length)));
              sealedBlob = { codec: sealed.codec, data: await bodies.write(sealed.data, trx) };
              if (bodies.kind !== 'inline') {
                written.push(sealedBlob.data);
                replaced.push(kept);
              }
            }
            await trx
              .updateTable('workspace_blobs')
              .set({ codec: sealedBlob.codec, data: sealedBlob.data, sha256: cipher.digest(blob.sha256) })
              .where('snapshot_id', '=', snapshotId)
              .where('name', '=', blob.name)
              .execute();
          }
        }
      }
      // Tenant secrets cannot exist in a plaintext store (setTenantSecret refuses), so there is nothing else to seal.
    });
  } catch (error) {
    await bodies.remove(written, db).catch(() => undefined);
    throw error;
  }
  await bodies.remove(replaced, db);
  encryption.adopt(master);
  return { conversations, keyId: master.id };
}
