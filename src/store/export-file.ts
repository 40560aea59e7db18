/**
 * The export file: one self-contained JSON document holding a conversation, its runs and events, and every
 * transcript file byte for byte, so `baton import` on another machine (another store) can resume it.
 */
import { z } from 'zod';
import { BatonError, errorMessage } from '../errors.js';
import { assertSessionId } from '../harness/harness.js';
import { HARNESS_IDS, isHarnessId } from '../harness/ids.js';
import { deserialiseFile, serialiseFile, verifyTranscriptFile } from '../transcript/envelope.js';
import type { WorkspaceManifest } from '../workspace/workspace.js';
import type { ImportedConversation, Store } from './store.js';

export const EXPORT_FORMAT = 'baton-conversation';

const serialisedFileSchema = z.object({
  key: z.string().min(1),
  lineCount: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  encoding: z.enum(['utf8', 'base64']),
  content: z.string(),
});

const optionalString = z.string().nullable().transform((value) => value ?? undefined);
const optionalNumber = z.number().nullable().transform((value) => value ?? undefined);

const exportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(1),
  exportedAt: z.string(),
  conversation: z.object({
    id: z.string().min(1),
    harness: z.string(),
    sessionId: optionalString,
    title: z.string(),
    cwd: z.string(),
    createdAt: z.number(),
    updatedAt: z.number(),
    /** Launch options every run inherits (model, system prompt); the tenant is not exported. */
    options: z
      .object({ model: z.string().optional(), systemPrompt: z.string().optional() })
      .optional(),
  }),
  runs: z.array(
    z.object({
      id: z.string(),
      sequence: z.number().int().positive(),
      kind: z.enum(['new', 'resume']),
      prompt: z.string(),
      status: z.enum(['queued', 'running', 'succeeded', 'failed', 'interrupted']),
      queuedAt: z.number().nullish().transform((value) => value ?? undefined),
      handoffs: z.number().int().nonnegative().default(0),
      host: z.string(),
      cwd: z.string(),
      startedAt: z.number(),
      endedAt: optionalNumber,
      exitCode: optionalNumber,
      error: optionalString,
    }),
  ),
  events: z.array(z.object({ runId: z.string(), sequence: z.number().int(), at: z.number(), type: z.string(), data: z.unknown() })),
  workspace: z
    .object({
      runId: z.string(),
      manifest: z.object({ kind: z.enum(['git', 'directory', 'too-large']), fingerprint: z.string() }).passthrough(),
      blobs: z.object({ bundle: z.string().optional(), patch: z.string().optional(), archive: z.string().optional() }).strict(),
    })
    .nullable()
    .optional(),
  transcript: z.object({
    /** The harness that wrote the files; must be the conversation's. */
    harness: z.string(),
    meta: z
      .object({ sessionId: z.string(), sessionStartedAt: optionalString, cwd: optionalString, cliVersion: optionalString })
      .nullable(),
    files: z.array(serialisedFileSchema),
  }),
});

export async function exportConversation(store: Store, conversationId: string): Promise<string> {
  const conversation = await store.getConversation(conversationId);
  if (!conversation) {
    throw new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${conversationId} in ${store.location}`, {
      hint: 'list conversations with `baton ls`',
    });
  }
  const runs = await store.listRuns(conversationId);
  const events = (await Promise.all(runs.map((run) => store.listRunEvents(run.id)))).flat();
  const transcript = await store.loadTranscript(conversationId);
  const workspace = await store.loadWorkspaceSnapshot(conversationId);
  const nullable = <T>(value: T | undefined): T | null => value ?? null;
  const document = {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date().toISOString(),
    conversation: {
      id: conversation.id,
      harness: conversation.harness,
      sessionId: nullable(conversation.sessionId),
      title: conversation.title,
      cwd: conversation.cwd,
      createdAt: conversation.createdAt,
      updatedAt: conversation.updatedAt,
      options: { model: conversation.options.model, systemPrompt: conversation.options.systemPrompt },
    },
    runs: runs.map((run) => ({ ...run, endedAt: nullable(run.endedAt), exitCode: nullable(run.exitCode), error: nullable(run.error), queuedAt: nullable(run.queuedAt) })),
    events,
    workspace: workspace
      ? { runId: workspace.runId, manifest: workspace.manifest, blobs: Object.fromEntries(Object.entries(workspace.blobs).map(([name, bytes]) => [name, (bytes as Buffer).toString('base64')])) }
      : null,
    transcript: {
      harness: conversation.harness,
      meta: transcript?.meta
        ? { sessionId: transcript.meta.sessionId, sessionStartedAt: nullable(transcript.meta.sessionStartedAt), cwd: nullable(transcript.meta.cwd), cliVersion: nullable(transcript.meta.cliVersion) }
        : null,
      files: (transcript?.files ?? []).map(serialiseFile),
    },
  };
  return `${JSON.stringify(document)}\n`;
}

export function parseExport(text: string, source: string): ImportedConversation {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BatonError('IMPORT_INVALID', `${source} is not a baton export (not JSON: ${errorMessage(error)})`, {
      hint: 'create export files with `baton export CONVERSATION_ID -o FILE`',
    });
  }
  const parsed = exportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BatonError('IMPORT_INVALID', `${source} is not a valid baton export: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, {
      hint: 'the file may be truncated or from a newer baton; export it again',
    });
  }
  const { conversation, runs, events, transcript, workspace } = parsed.data;
  if (!isHarnessId(conversation.harness)) {
    throw new BatonError('HARNESS_UNKNOWN', `${source} holds a ${conversation.harness} conversation, which this baton cannot run`, {
      hint: `this baton knows: ${HARNESS_IDS.join(', ')}; upgrade baton to import it`,
    });
  }
  if (transcript.harness !== conversation.harness) {
    throw new BatonError('HARNESS_MISMATCH', `${source} pairs a ${conversation.harness} conversation with a transcript written by ${transcript.harness}`, {
      hint: 'the file was edited or assembled by hand; export the conversation again with `baton export`',
    });
  }
  if (conversation.sessionId !== undefined) assertSessionId(conversation.sessionId);
  const files = transcript.files.map(deserialiseFile);
  for (const file of files) verifyTranscriptFile(file, source);
  return {
    conversation: { ...conversation, harness: conversation.harness },
    runs: runs.map((run) => ({ ...run, conversationId: conversation.id })),
    events,
    meta: transcript.meta ?? undefined,
    files,
    workspace: workspace
      ? {
          runId: workspace.runId,
          snapshot: {
            manifest: workspace.manifest as unknown as WorkspaceManifest,
            blobs: Object.fromEntries(Object.entries(workspace.blobs).flatMap(([name, base64]) => (base64 === undefined ? [] : [[name, Buffer.from(base64, 'base64')]]))),
          },
        }
      : undefined,
  };
}
