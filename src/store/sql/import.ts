/**
 * An imported conversation (`baton import`): its rows, runs, events, newest workspace snapshot and transcript,
 * written in one transaction under a fresh data key. It arrives untrusted unless the export says otherwise.
 */
import { BatonError } from '../../errors.js';
import { encodeRedaction } from '../../redact/redactor.js';
import { conversationKeyOwner, plaintextCipher } from '../encryption.js';
import type { ImportedConversation } from '../store.js';
import type { SqlContext } from './context.js';
import { encodeOptions, eventIdentity, sealConversationColumns, sealRunColumns, usageColumns } from './rows.js';
import type { SqlTranscripts } from './transcripts.js';
import type { SqlWorkspaceSnapshots } from './workspace-snapshots.js';

export async function importConversation(
  context: SqlContext,
  aggregates: { transcripts: SqlTranscripts; workspaceSnapshots: SqlWorkspaceSnapshots },
  imported: ImportedConversation,
): Promise<void> {
  const { db, encryption, location } = context;
  const { conversation } = imported;
  if (await db.selectFrom('conversations').select('id').where('id', '=', conversation.id).executeTakeFirst()) {
    throw new BatonError('IMPORT_INVALID', `conversation ${conversation.id} already exists in ${location}`, {
      hint: `it was imported before (see \`baton show ${conversation.id}\`); import a second copy under a fresh id with --as-new`,
    });
  }
  const runIds = imported.runs.map((run) => run.id);
  const taken = runIds.length === 0 ? [] : await db.selectFrom('runs').select('id').where('id', 'in', runIds).limit(1).execute();
  if (taken.length > 0) {
    throw new BatonError('IMPORT_INVALID', `run ${taken[0]!.id} of the imported conversation already exists in ${location}, in another conversation`, {
      hint: 'import it under fresh ids with --as-new',
    });
  }
  const key = encryption.newDataKey();
  if (!key) await encryption.assertStillPlaintext(db);
  const cipher = key?.cipher ?? plaintextCipher;
  const owner = conversationKeyOwner(conversation.id);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('conversations')
      .values(
        sealConversationColumns(
          {
            id: conversation.id,
            harness: conversation.harness,
            session_id: conversation.sessionId ?? null,
            title: conversation.title,
            cwd: conversation.cwd,
            created_at: conversation.createdAt,
            updated_at: conversation.updatedAt,
            active_run_id: null,
            lease_expires_at: null,
            tenant: conversation.tenant ?? null,
            options: encodeOptions(conversation.options),
            forked_from: conversation.forkedFrom ? JSON.stringify(conversation.forkedFrom) : null,
            adopted_from: conversation.adoptedFrom ? JSON.stringify(conversation.adoptedFrom) : null,
            trust: conversation.trust ?? 'untrusted',
          },
          cipher,
        ),
      )
      .execute();
    if (key) await encryption.saveDataKey(trx, owner, key);
    for (const run of imported.runs) {
      await trx
        .insertInto('runs')
        .values(
          sealRunColumns(
            {
              id: run.id,
              conversation_id: conversation.id,
              sequence: run.sequence,
              kind: run.kind,
              prompt: run.prompt,
              // A run that was still running (or waiting) when exported cannot be running here.
              status: run.status === 'running' || run.status === 'queued' ? 'interrupted' : run.status,
              host: run.host,
              cwd: run.cwd,
              started_at: run.startedAt,
              ended_at: run.endedAt ?? null,
              exit_code: run.exitCode ?? null,
              error: run.error ?? null,
              queued_at: run.queuedAt ?? null,
              handoffs: run.handoffs ?? 0,
              redaction: encodeRedaction(run.redaction),
              ...usageColumns(run.usage),
              error_code: run.errorCode ?? null,
            },
            cipher,
          ),
        )
        .execute();
    }
    for (const event of imported.events) {
      const data = JSON.stringify(event.data ?? null);
      await trx
        .insertInto('run_events')
        .values({ run_id: event.runId, sequence: event.sequence, at: event.at, type: event.type, data: cipher.sealText(eventIdentity(conversation.id, event.runId, event.sequence), data) })
        .execute();
    }
    if (imported.workspace) await aggregates.workspaceSnapshots.saveIn(trx, { conversationId: conversation.id, ...imported.workspace, transcript: undefined }, cipher);
    for (const file of imported.files) {
      await aggregates.transcripts.appendIn(
        trx,
        {
          conversationId: conversation.id,
          fileKey: file.key,
          runId: undefined,
          base: undefined,
          bytes: file.content,
          after: { lineCount: file.lineCount, byteLength: file.content.length, sha256: file.sha256 },
          meta: file.key === 'main' ? imported.meta : undefined,
        },
        cipher,
      );
    }
  });
  if (key) encryption.remember(owner, cipher);
}
