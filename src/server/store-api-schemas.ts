/**
 * The store API's request bodies (routes/store-api.ts): what a client of a server's store may send, checked as
 * hostile input with the export file's own schemas for manifests and transcript file keys, and bounded.
 */
import { z } from '@hono/zod-openapi';
import { HARNESS_IDS } from '../harness/ids.js';
import { CONVERSATION_ID_PATTERN, RUN_ID_PATTERN } from '../ids.js';
import { FinishedRunStatus } from '../model/run-status.js';
import { manifestSchema, MAX_EVENT_DATA_DEPTH, nestedAtMost, transcriptFileKeySchema, withoutNul } from '../store/export-file.js';
import { MAX_PROMPT_CHARS } from './schemas.js';

/** The longest lease a client may hold without renewing it. */
const MAX_LEASE_MS = 10 * 60_000;
const MAX_EVENTS_PER_CALL = 10_000;
const MAX_EVENT_DATA_CHARS = 1024 * 1024;

export const count = z.number().int().nonnegative();
export const runId = z.string().regex(RUN_ID_PATTERN, 'is not a baton run id (r_ and 26 letters or digits)');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'is not a sha256 in hex');
const optionalText = (max: number) => withoutNul(max).nullish().transform((value) => value ?? undefined);
const base64 = z.base64();

export const Cursor = z.object({ versionId: count, lineCount: count, byteLength: count, sha256 }).strict();
const Redaction = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('off') }),
  z.strictObject({ kind: z.literal('on'), rules: withoutNul(200), variables: z.array(withoutNul(200)).max(1000) }),
]);

export const StoreStartRunBody = z
  .object({
    runId,
    kind: z.enum(['interactive', 'adopt']).openapi({ description: 'a client starts only interactive runs (`baton open`) and adopt runs (`baton adopt --server`); runs of other kinds are queued for workers' }),
    prompt: z.string().max(MAX_PROMPT_CHARS),
    host: withoutNul(1024),
    cwd: withoutNul(4096),
    leaseMs: z.number().int().min(1).max(MAX_LEASE_MS),
    redaction: Redaction.optional(),
  })
  .strict()
  .openapi('StoreStartRun');

const harness = z.enum(HARNESS_IDS);
/**
 * A CLI session id, in a shape every harness's ids take (UUIDs, and `ses_…` ids): letters, digits, `-` and `_`, no
 * path separator, dot or NUL. Which shape a harness's CLI gives is the harness's business (it checks its own ids
 * when it resumes one); the server only keeps the id from naming anything but a session.
 */
const sessionId = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z_-]{0,199}$/, 'is not a CLI session id (letters, digits, - and _)');

/**
 * `baton adopt --server`: a conversation made of a session the tenant ran with the bare CLI. No tenant field (strict:
 * the server sets the token's), no options, no fork origin, no trust: only what an adoption records.
 */
export const StoreCreateAdoptedConversationBody = z
  .object({
    id: z.string().regex(CONVERSATION_ID_PATTERN, 'is not a baton conversation id (c_ and 26 letters or digits)'),
    harness,
    title: withoutNul(1000),
    cwd: withoutNul(4096).min(1),
    sessionId,
    adoptedFrom: z
      .object({ harness, sessionId, host: withoutNul(1024), path: withoutNul(4096), adoptedAt: count })
      .strict()
      .openapi({ description: 'required: only an adoption creates a conversation through the store API' }),
  })
  .strict()
  .refine((body) => body.adoptedFrom.harness === body.harness && body.adoptedFrom.sessionId === body.sessionId, { message: "adoptedFrom must name the conversation's own harness and session id", path: ['adoptedFrom'] })
  .openapi('StoreCreateAdoptedConversation');

export const SessionConversationsQuery = z.object({ harness, sessionId });

export const LeaseBody = z.object({ leaseMs: z.number().int().min(1).max(MAX_LEASE_MS) }).strict();

export const FinishBody = z
  .object({
    status: FinishedRunStatus,
    exitCode: z.number().int().min(-1).max(255).nullish(),
    error: optionalText(100_000),
    errorCode: z.string().regex(/^[A-Z][A-Z_]{0,63}$/).nullish(),
  })
  .strict();

export const EventsBody = z
  .object({
    events: z
      .array(
        z
          .object({
            at: count,
            type: withoutNul(100).min(1),
            data: z
              .unknown()
              .refine(nestedAtMost(MAX_EVENT_DATA_DEPTH), { message: `an event's data must nest at most ${MAX_EVENT_DATA_DEPTH} levels deep`, abort: true })
              .refine((data) => JSON.stringify(data ?? null).length <= MAX_EVENT_DATA_CHARS, `an event's data must be at most ${MAX_EVENT_DATA_CHARS} characters of JSON`),
          })
          .strict(),
      )
      .max(MAX_EVENTS_PER_CALL),
  })
  .strict();

export const TranscriptAppendBody = z
  .object({
    runId,
    fileKey: transcriptFileKeySchema,
    base: Cursor.nullable(),
    bytes: base64.openapi({ description: 'the chunk, base64' }),
    after: z.object({ lineCount: count, byteLength: count, sha256 }).strict(),
    meta: z
      .object({ sessionId: withoutNul(200), sessionStartedAt: optionalText(100), cwd: optionalText(4096), cliVersion: optionalText(100) })
      .strict()
      .nullable(),
  })
  .strict();

export const CompactBody = z.object({ versionId: count }).strict();

export const SnapshotBody = z
  .object({
    runId,
    snapshot: z
      .object({
        manifest: manifestSchema,
        blobs: z.object({ bundle: base64.optional(), patch: base64.optional(), archive: base64.optional() }).strict(),
      })
      .strict(),
    transcript: z.object({ versionId: count, byteLength: count }).strict().nullable(),
  })
  .strict();

export const SnapshotQuery = z.object({ atRunId: runId.optional() });

/** Loosely declared: these answers are the Store's own types (src/store/store.ts), times in epoch milliseconds. */
export const StoreValue = (name: string) => z.object({}).passthrough().openapi(name);
