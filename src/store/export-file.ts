/**
 * The export file: one self-contained JSON document holding a conversation, its runs and events, and every
 * transcript file byte for byte, so `baton import` on another machine (another store) can resume it.
 */
import { AgentSetup, agentSetupOf } from '../model/agent-setup.js';
import { describeIssue } from '../model/describe-issue.js';
import { z } from 'zod';
import { BatonError, errorSummary, quoted } from '../errors.js';
import { getHarness } from '../harness/registry.js';
import { HARNESS_IDS, isHarnessId } from '../harness/ids.js';
import { RunKind, RunStatus } from '../model/run-status.js';
import { deserialiseFile, serialiseFile, verifyTranscriptFile } from '../transcript/envelope.js';
import type { WorkspaceManifest } from '../workspace/workspace.js';
import { isObjectId } from '../workspace/git-values.js';
import { CONVERSATION_ID_PATTERN, newConversationId, newRunId, RUN_ID_PATTERN } from '../ids.js';
import type { ImportedConversation, Store } from './store.js';

export const EXPORT_FORMAT = 'baton-conversation';

/*
 * An export file is hostile input: it may come from anyone. One schema says everything baton relies on later —
 * ids in baton's own shapes, every run, event and snapshot belonging to the imported conversation, times that
 * are dates, integers that are safe, manifests complete — so nothing that passes can break a listing, reach
 * another conversation or hand git an option. Bounds are generous for anything baton writes.
 */
const MAX_TIME = Date.UTC(2200, 0, 1);
/** Milliseconds since the epoch, up to the year 2200: always a date every display and `toISOString` can show. */
const timestamp = z.int().min(0, 'is before 1970').max(MAX_TIME, 'is after the year 2200');
const count = z.int().nonnegative();
const text = (max: number) => z.string().max(max);
export const withoutNul = (max: number) => z.string().max(max).regex(/^[^\0]*$/, 'holds a NUL character');
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
const runId = z.string().regex(RUN_ID_PATTERN, 'is not a baton run id (r_ and 26 letters or digits)');
/** Files in a workspace, as the manifest lists them: relative, no NUL, bounded. */
const relativePaths = z.array(withoutNul(4096)).max(1_000_000);
const objectId = z.string().refine(isObjectId, 'is not a git object id (40 or 64 hex digits)');
const gitName = withoutNul(1024).regex(/^[^-\s][^\s\u0000-\u001f\u007f]*$/, 'is not a git ref or remote name (no leading dash, no spaces or control characters)');

/** An event's data is a small object baton wrote; deeper than this, storing it (JSON.stringify) would overflow the stack. */
export const MAX_EVENT_DATA_DEPTH = 64;

/** Whether arrays and objects in `value` nest at most `limit` levels (walked without recursion). */
export function nestedAtMost(limit: number): (value: unknown) => boolean {
  return (value) => {
    const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
    while (pending.length > 0) {
      const { value: next, depth } = pending.pop()!;
      if (next === null || typeof next !== 'object') continue;
      if (depth >= limit) return false;
      for (const child of Object.values(next)) pending.push({ value: child, depth: depth + 1 });
    }
    return true;
  };
}

/** A workspace snapshot's manifest, as hostile input (an import, a `baton open --server` client) is checked. */
export const manifestSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('git'),
    fingerprint: withoutNul(200).min(1),
    baseCommit: objectId,
    tree: objectId,
    branch: optional(gitName),
    remoteName: optional(gitName),
    remoteUrl: optional(
      withoutNul(4096)
        .regex(/^[^-]/, 'must not start with a dash')
        .regex(/^[^\u0000-\u001f\u007f]*$/, 'holds a control character')
        .regex(/^(?![A-Za-z0-9+.-]+::)/, 'names a git remote helper (<helper>::…), which would run a program'),
    ),
    bundleIsComplete: z.boolean(),
    changedFiles: relativePaths,
    excludedSecrets: relativePaths,
  }),
  z.object({ kind: z.literal('directory'), fingerprint: withoutNul(200).min(1), fileCount: count, changedFiles: relativePaths, excludedSecrets: relativePaths }),
  z.object({ kind: z.literal('too-large'), fingerprint: withoutNul(200).min(1), bytes: count, limitBytes: count, changedFiles: relativePaths }),
]);

/** `main`, or a kind and one plain file name (`subagents/agent-1.jsonl` …); the harness refuses keys it does not keep. */
export const transcriptFileKeySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,199})?$/, 'is not a transcript file key (main, or kind/name; plain names under 200 characters)');

const serialisedFileSchema = z.object({
  key: transcriptFileKeySchema,
  lineCount: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  encoding: z.enum(['utf8', 'base64']),
  content: z.string(),
});

const runSchema = z.object({
  id: runId,
  sequence: z.int().positive(),
  kind: RunKind,
  prompt: z.string(),
  status: RunStatus,
  queuedAt: optional(timestamp),
  handoffs: count.default(0),
  host: withoutNul(1024),
  cwd: withoutNul(4096),
  startedAt: timestamp,
  endedAt: optional(timestamp),
  exitCode: optional(z.int().min(-1).max(255)),
  error: optional(text(100_000)),
  // What redaction ran where the run was saved, as that store recorded it (informational: an export can say anything).
  redaction: optional(
    z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('off') }),
      z.strictObject({ kind: z.literal('on'), rules: withoutNul(200), variables: z.array(withoutNul(200)).max(1000) }),
    ]),
  ),
  errorCode: optional(z.string().regex(/^[A-Z][A-Z_]{0,63}$/)),
  usage: optional(z.object({ inputTokens: count, cachedInputTokens: count, outputTokens: count, requests: count })),
});

const exportSchema = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    version: z.literal(1),
    exportedAt: z.string(),
    conversation: z.object({
      id: z.string().regex(CONVERSATION_ID_PATTERN, 'is not a baton conversation id (c_ and 26 letters or digits)'),
      harness: z.string(),
      sessionId: optional(z.string()),
      // Control characters are kept (a prompt's first line may hold an ESC): every terminal view escapes them.
      title: withoutNul(1000),
      cwd: withoutNul(4096),
      createdAt: timestamp,
      updatedAt: timestamp,
      /**
       * The agent setup every run inherits (model, effort, system prompt, MCP servers, skills); the tenant is not
       * exported. Checked by the setup's own schema: no NUL for argv or config, no skill file outside its folder.
       * An import is untrusted: its MCP servers and skills are applied only once the user trusts it.
       */
      options: AgentSetup.optional(),
    }),
    runs: z.array(runSchema).max(100_000),
    events: z
      .array(z.object({ runId, sequence: count, at: timestamp, type: withoutNul(100).min(1), data: z.unknown().refine(nestedAtMost(MAX_EVENT_DATA_DEPTH), `is nested more than ${MAX_EVENT_DATA_DEPTH} levels deep`) }))
      .max(10_000_000),
    workspace: z
      .object({
        runId,
        manifest: manifestSchema,
        blobs: z.object({ bundle: z.base64().optional(), patch: z.base64().optional(), archive: z.base64().optional() }).strict(),
      })
      .nullable()
      .optional(),
    transcript: z.object({
      /** The harness that wrote the files; must be the conversation's. */
      harness: z.string(),
      meta: z
        .object({ sessionId: z.string(), sessionStartedAt: optional(withoutNul(100)), cwd: optional(withoutNul(4096)), cliVersion: optional(withoutNul(100)) })
        .nullable(),
      files: z.array(serialisedFileSchema).max(10_000),
    }),
  })
  .superRefine((file, context) => {
    const problem = (path: Array<string | number>, message: string): void => context.addIssue({ code: 'custom', path, message });
    const runIds = new Set<string>();
    const sequences = new Set<number>();
    file.runs.forEach((run, index) => {
      if (runIds.has(run.id)) problem(['runs', index, 'id'], `run ${run.id} appears twice`);
      if (sequences.has(run.sequence)) problem(['runs', index, 'sequence'], `two runs are number ${run.sequence}`);
      if (run.endedAt !== undefined && run.endedAt < run.startedAt) problem(['runs', index, 'endedAt'], 'is before the run started');
      runIds.add(run.id);
      sequences.add(run.sequence);
    });
    const eventKeys = new Set<string>();
    file.events.forEach((event, index) => {
      if (!runIds.has(event.runId)) problem(['events', index, 'runId'], `names run ${event.runId}, which is not a run of this conversation`);
      const key = `${event.runId}#${event.sequence}`;
      if (eventKeys.has(key)) problem(['events', index, 'sequence'], `run ${event.runId} has two events number ${event.sequence}`);
      eventKeys.add(key);
    });
    if (file.workspace && !runIds.has(file.workspace.runId)) problem(['workspace', 'runId'], `names run ${file.workspace.runId}, which is not a run of this conversation`);
    const fileKeys = new Set<string>();
    file.transcript.files.forEach((transcriptFile, index) => {
      if (fileKeys.has(transcriptFile.key)) problem(['transcript', 'files', index, 'key'], `file ${transcriptFile.key} appears twice`);
      fileKeys.add(transcriptFile.key);
    });
    if (file.transcript.meta && file.conversation.sessionId !== undefined && file.transcript.meta.sessionId !== file.conversation.sessionId) {
      problem(['transcript', 'meta', 'sessionId'], 'is not the conversation\'s session id');
    }
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
      options: agentSetupOf(conversation.options),
    },
    runs: runs.map((run) => ({ ...run, endedAt: nullable(run.endedAt), exitCode: nullable(run.exitCode), error: nullable(run.error), queuedAt: nullable(run.queuedAt), usage: nullable(run.usage), errorCode: nullable(run.errorCode) })),
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
    throw new BatonError('IMPORT_INVALID', `${source} is not a baton export (not JSON: ${errorSummary(error)})`, {
      hint: 'create export files with `baton export CONVERSATION_ID -o FILE`',
    });
  }
  const parsed = exportSchema.safeParse(json);
  if (!parsed.success) {
    throw new BatonError('IMPORT_INVALID', `${source} is not a valid baton export: ${describeIssue(parsed.error, '(top level)')}`, {
      hint: 'the file may be truncated, edited, or from a newer baton; export it again with `baton export`',
    });
  }
  const { conversation, runs, events, transcript, workspace } = parsed.data;
  if (!isHarnessId(conversation.harness)) {
    throw new BatonError('HARNESS_UNKNOWN', `${source} holds a ${quoted(conversation.harness)} conversation, which this baton cannot run`, {
      hint: `this baton knows: ${HARNESS_IDS.join(', ')}; upgrade baton to import it`,
    });
  }
  if (transcript.harness !== conversation.harness) {
    throw new BatonError('HARNESS_MISMATCH', `${source} pairs a ${conversation.harness} conversation with a transcript written by ${isHarnessId(transcript.harness) ? transcript.harness : quoted(transcript.harness)}`, {
      hint: 'the file was edited or assembled by hand; export the conversation again with `baton export`',
    });
  }
  // Each harness checks its own session ids (UUIDs for Codex and Claude Code, ses_… for OpenCode): INVALID_SESSION_ID.
  const harnessId = conversation.harness;
  const assertSessionId = (sessionId: string): void => {
    getHarness(harnessId).resumeInfo({ harness: harnessId, sessionId, meta: { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined } });
  };
  if (conversation.sessionId !== undefined) assertSessionId(conversation.sessionId);
  if (transcript.meta) assertSessionId(transcript.meta.sessionId);
  if (transcript.files.length > 0 && conversation.sessionId === undefined) {
    throw new BatonError('IMPORT_INVALID', `${source} holds transcript files but no session id`, { hint: 'the file was edited by hand; export the conversation again with `baton export`' });
  }
  const files = transcript.files.map(deserialiseFile);
  for (const file of files) verifyTranscriptFile(file, source);
  return {
    conversation: { ...conversation, harness: conversation.harness, trust: 'untrusted' },
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

/**
 * The same conversation under fresh ids (`baton import --as-new`): a new conversation id, a new id for every run,
 * and every reference (events, workspace) moved along. The CLI's session id and the transcript stay as they are.
 */
export function withFreshIds(imported: ImportedConversation): ImportedConversation {
  const conversationId = newConversationId();
  const runIds = new Map(imported.runs.map((run) => [run.id, newRunId()]));
  const renamed = (id: string): string => runIds.get(id) ?? id;
  return {
    ...imported,
    conversation: { ...imported.conversation, id: conversationId },
    runs: imported.runs.map((run) => ({ ...run, id: renamed(run.id), conversationId })),
    events: imported.events.map((event) => ({ ...event, runId: renamed(event.runId) })),
    workspace: imported.workspace ? { ...imported.workspace, runId: renamed(imported.workspace.runId) } : undefined,
  };
}
