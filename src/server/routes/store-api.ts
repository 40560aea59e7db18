/**
 * The store API (`/v1/store/…`): the few Store operations that an interactive run on a person's machine needs, so
 * that `baton open ID --server URL` keeps the conversation in the server's store (src/cli/remote-store.ts is the
 * client), and `baton adopt … --server URL` sends a session run with the bare CLI to the server's store. Nothing else
 * of the Store is reachable: a client creates a conversation only as an adoption (with `adoptedFrom` and its session
 * id), deletes only an adoption that failed (no run but its own failed `adopt` run), never trusts one, and starts only
 * runs of kind `interactive` or `adopt`.
 *
 * A client holds a tenant's token and is treated as hostile. Every call is confined to that tenant's conversations
 * (another tenant's are 404, as on every route); it writes only through its own interactive or adopt run, and every write of
 * a transcript or a workspace snapshot goes through the store as the lease holder (LEASE_LOST otherwise), so it
 * is stored exactly like a worker's save — redacted by the client, sealed at rest when the store is encrypted.
 * Inputs are checked by the schemas of the export file (manifests, file keys), bodies are bounded.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import type { SqlStore } from '../../store/sql-store.js';
import type { Conversation, Run, StoredTranscript, StoredWorkspaceSnapshot } from '../../store/store.js';
import { ownConversation, ownRun, security, type ApiEnv } from '../auth.js';
import { ApiError } from '../errors.js';
import { errors, json } from '../responses.js';
import { ErrorBody, IdParam } from '../schemas.js';
import { SessionConversationsQuery, StoreCreateAdoptedConversationBody, CompactBody, count, Cursor, EventsBody, FinishBody, LeaseBody, SnapshotBody, SnapshotQuery, StoreStartRunBody, StoreValue, TranscriptAppendBody } from '../store-api-schemas.js';
import { STORE_API_MAX_BODY_BYTES } from '../store-api-limits.js';

export function storeApiRoutes(app: OpenAPIHono<ApiEnv>, store: SqlStore): void {
  // Transcripts and snapshots are larger than other bodies: app.ts leaves /v1/store/* to this limit.
  app.use(
    '/v1/store/*',
    bodyLimit({
      maxSize: STORE_API_MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'BODY_TOO_LARGE', `the request body is larger than ${STORE_API_MAX_BODY_BYTES} bytes`, 'a workspace snapshot this large is recorded as too large by the client');
      },
    }),
  );

  /**
   * The tenant's interactive or adopt run of conversation `conversationId`: the kinds a client starts (any other run
   * is a worker's, not this client's to write). Holding the lease is checked by the store on every write.
   */
  const ownInteractiveRun = async (c: Context<ApiEnv>, id: string, conversationId?: string): Promise<Run> => {
    const run = await ownRun(store, c, id);
    if (!CLIENT_RUN_KINDS.has(run.kind) || (conversationId !== undefined && run.conversationId !== conversationId)) {
      throw new ApiError(409, 'NOT_INTERACTIVE', `run ${id} is not an interactive or adopt run of this conversation`, 'a client writes only through the interactive or adopt run it started');
    }
    return run;
  };
  const runningInteractiveRun = async (c: Context<ApiEnv>, id: string, conversationId?: string): Promise<Run> => {
    const run = await ownInteractiveRun(c, id, conversationId);
    if (run.status !== 'running') throw new ApiError(409, 'LEASE_LOST', `run ${id} has ended (${run.status})`, 'open the conversation again with `baton open`');
    return run;
  };
  /** The version must be one of the conversation's own, newest ones (a version id is a number anyone can guess). */
  const assertOwnLatestVersion = async (conversation: Conversation, versionId: number): Promise<void> => {
    const ends = await store.latestTranscriptVersionEnds(conversation.id);
    if (!ends.some((end) => end.versionId === versionId)) {
      throw new ApiError(422, 'INVALID_REQUEST', `transcript version ${versionId} is not a current version of conversation ${conversation.id}`, 'name the version the last append returned');
    }
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/conversations',
      summary: "store API: create a conversation of a session run with the bare CLI, with its session id (for `baton adopt --server`); the token's tenant owns it",
      security,
      request: { body: { content: { 'application/json': { schema: StoreCreateAdoptedConversationBody } }, required: true } },
      responses: { 201: json(StoreValue('StoreConversation'), 'the conversation, without runs'), 401: errors[401], 409: json(ErrorBody, 'the conversation id is taken'), 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const body = c.req.valid('json');
      // Taken by anyone (another tenant's too) is the same answer: the id is the client's to choose anew.
      const taken = (): ApiError => new ApiError(409, 'CONVERSATION_EXISTS', `conversation ${body.id} already exists`, 'create it with a new conversation id');
      if (await store.getConversation(body.id)) throw taken();
      // Trusted, as a conversation a worker or `baton open --server` made: the tenant uploads its own session and
      // workspace, the same power as sending a prompt to its own sandboxed worker. Nobody else's files are in it
      // (untrusted is for an import, whose workspace nobody here saw being made), and it is confined to the tenant.
      const created = await store.createConversation({ id: body.id, harness: body.harness, title: body.title, cwd: body.cwd, tenant: c.get('tenant') ?? undefined, adoptedFrom: body.adoptedFrom }).catch(async (failure: unknown) => {
        // Created by another request meanwhile: the same answer as above, not a server error.
        if (await store.getConversation(body.id)) throw taken();
        throw failure;
      });
      try {
        await store.setSessionId(created.id, body.sessionId);
      } catch (failure) {
        await store.deleteConversation(created.id).catch(() => undefined);
        throw failure;
      }
      return c.json((await store.getConversation(created.id)) as unknown as Record<string, unknown>, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/conversations',
      summary: "store API: the tenant's conversations holding one CLI session (for `baton adopt --server`: the duplicate check and --sync)",
      security,
      request: { query: SessionConversationsQuery },
      responses: { 200: json(z.object({ conversations: z.array(StoreValue('StoreConversation')) }), 'newest activity first'), 401: errors[401], 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const { harness, sessionId } = c.req.valid('query');
      const conversations = await store.listConversations({ tenant: c.get('tenant'), session: { harness, sessionId } });
      return c.json({ conversations: conversations as unknown as Array<Record<string, unknown>> }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/store/conversations/{id}',
      summary: 'store API: delete an adoption that failed: an adopted conversation whose only run (if any) is a failed `adopt` run',
      security,
      request: { params: IdParam },
      responses: { 204: { description: 'deleted' }, 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'not a failed adoption') },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const runs = await store.listRuns(conversation.id);
      const failedAdoption = conversation.adoptedFrom !== undefined && runs.every((run) => run.kind === 'adopt' && run.status === 'failed') && runs.length <= 1;
      if (!failedAdoption) {
        throw new ApiError(409, 'NOT_A_FAILED_ADOPTION', `conversation ${conversation.id} is not an adoption that failed`, 'a client deletes only the conversation its failed `baton adopt --server` left; delete others with `baton rm --server URL ID`');
      }
      await store.deleteConversation(conversation.id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/conversations/{id}',
      summary: 'store API: the conversation as the store keeps it (for `baton open --server`)',
      security,
      request: { params: IdParam },
      responses: { 200: json(StoreValue('StoreConversation'), 'the conversation'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json(await ownConversation(store, c, c.req.valid('param').id) as unknown as Record<string, unknown>, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/conversations/{id}/runs',
      summary: "store API: the conversation's runs, in order",
      security,
      request: { params: IdParam },
      responses: { 200: json(z.object({ runs: z.array(StoreValue('StoreRun')) }), 'the runs'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      return c.json({ runs: (await store.listRuns(conversation.id)) as unknown as Array<Record<string, unknown>> }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/conversations/{id}/runs',
      summary: "store API: start an interactive or adopt run, taking the conversation's lease (409 CONVERSATION_BUSY while another run holds it)",
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: StoreStartRunBody } }, required: true } },
      responses: { 201: json(StoreValue('StoreRun'), 'the run, holding the lease'), 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'busy, or the run id is taken'), 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const body = c.req.valid('json');
      // startRun claims a queued run of that id: a client must never take over a run queued for a worker.
      if (await store.getRun(body.runId)) throw new ApiError(409, 'RUN_EXISTS', `run ${body.runId} already exists`, 'start the run with a new run id');
      const run = await store.startRun({ conversationId: conversation.id, runId: body.runId, kind: body.kind, prompt: body.prompt, host: body.host, cwd: body.cwd, leaseMs: body.leaseMs, redaction: body.redaction });
      return c.json(run as unknown as Record<string, unknown>, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/runs/{id}',
      summary: 'store API: one run',
      security,
      request: { params: IdParam },
      responses: { 200: json(StoreValue('StoreRun'), 'the run'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json((await ownRun(store, c, c.req.valid('param').id)) as unknown as Record<string, unknown>, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/runs/{id}/lease',
      summary: "store API: renew an interactive run's lease; held: false once it was lost",
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: LeaseBody } }, required: true } },
      responses: { 200: json(z.object({ held: z.boolean() }), 'whether the run still holds the lease'), 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'not an interactive run') },
    }),
    async (c) => {
      const run = await ownInteractiveRun(c, c.req.valid('param').id);
      return c.json({ held: await store.renewLease(run.id, c.req.valid('json').leaseMs) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/runs/{id}/finish',
      summary: 'store API: record how an interactive run ended and release the lease',
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: FinishBody } }, required: true } },
      responses: { 200: json(StoreValue('StoreRun'), 'the finished run'), 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'not a running interactive run') },
    }),
    async (c) => {
      const run = await runningInteractiveRun(c, c.req.valid('param').id);
      const body = c.req.valid('json');
      // No usage: what a run used is counted by a model proxy, never taken from the client's word.
      const finished = await store.finishRun(run.id, { status: body.status, exitCode: body.exitCode ?? undefined, error: body.error, errorCode: body.errorCode ?? undefined });
      return c.json(finished as unknown as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/runs/{id}/events',
      summary: "store API: append an interactive run's events (followers of GET /v1/runs/{id}/events get them live)",
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: EventsBody } }, required: true } },
      responses: { 204: { description: 'stored' }, 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'not a running interactive run') },
    }),
    async (c) => {
      const run = await runningInteractiveRun(c, c.req.valid('param').id);
      // SqlStore announces them: every `baton serve` streaming this run wakes up (run-changes.ts).
      await store.appendRunEvents(run.id, c.req.valid('json').events);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/runs/{id}/events',
      summary: "store API: a run's stored events, after a sequence number",
      security,
      request: { params: IdParam, query: z.object({ after: z.coerce.number().int().nonnegative().optional() }) },
      responses: { 200: json(z.object({ events: z.array(StoreValue('StoreRunEvent')) }), 'the events'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const run = await ownRun(store, c, c.req.valid('param').id);
      return c.json({ events: (await store.listRunEvents(run.id, c.req.valid('query').after ?? 0)) as unknown as Array<Record<string, unknown>> }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/conversations/{id}/transcript',
      summary: "store API: append a chunk to a transcript file, as the interactive run that holds the conversation's lease",
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: TranscriptAppendBody } }, required: true } },
      responses: { 200: json(Cursor, 'where the stored file ends now'), 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'the lease is lost'), 422: json(ErrorBody, 'invalid request'), 503: json(ErrorBody, 'a stale base') },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const body = c.req.valid('json');
      await ownInteractiveRun(c, body.runId, conversation.id);
      const bytes = Buffer.from(body.bytes, 'base64');
      const expectedLength = (body.base?.byteLength ?? 0) + bytes.length;
      if (body.after.byteLength !== expectedLength) throw new ApiError(422, 'INVALID_REQUEST', `after.byteLength is ${body.after.byteLength}, but the version would hold ${expectedLength} bytes`, 'send the totals of the version after this chunk');
      if (body.meta && conversation.sessionId !== undefined && body.meta.sessionId !== conversation.sessionId) {
        throw new ApiError(422, 'INVALID_REQUEST', "meta.sessionId is not the conversation's session id", 'a conversation keeps its session for ever');
      }
      const cursor = await store.appendTranscript({
        conversationId: conversation.id,
        fileKey: body.fileKey,
        runId: body.runId,
        base: body.base ?? undefined,
        bytes,
        after: body.after,
        meta: body.meta ? { sessionId: body.meta.sessionId, sessionStartedAt: body.meta.sessionStartedAt, cwd: body.meta.cwd, cliVersion: body.meta.cliVersion } : undefined,
        asLeaseHolder: true,
      });
      return c.json(cursor, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/conversations/{id}/transcript/compact',
      summary: "store API: merge a current transcript version's small chunks (contents unchanged)",
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: CompactBody } }, required: true } },
      responses: { 200: json(z.object({ chunksBefore: count, chunksAfter: count }), 'compacted'), 401: errors[401], 404: errors[404], 422: json(ErrorBody, 'not a current version of this conversation') },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const { versionId } = c.req.valid('json');
      await assertOwnLatestVersion(conversation, versionId);
      return c.json(await store.compactTranscript(versionId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/conversations/{id}/transcript',
      summary: 'store API: the latest version of every transcript file, verified, contents base64 (404 TRANSCRIPT_NOT_FOUND without one)',
      security,
      request: { params: IdParam },
      responses: { 200: json(StoreValue('StoreTranscript'), 'the transcript'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const transcript = await store.loadTranscript(conversation.id);
      if (!transcript) throw new ApiError(404, 'TRANSCRIPT_NOT_FOUND', `conversation ${conversation.id} has no stored transcript`);
      return c.json(transcriptJson(transcript), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/store/conversations/{id}/workspace-snapshots',
      summary: "store API: save a workspace snapshot (blobs base64), as the interactive run that holds the conversation's lease",
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: SnapshotBody } }, required: true } },
      responses: { 201: json(z.object({ id: count }), 'saved'), 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'the lease is lost'), 413: json(ErrorBody, 'too large'), 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const body = c.req.valid('json');
      await ownInteractiveRun(c, body.runId, conversation.id);
      if (body.transcript) await assertOwnLatestVersion(conversation, body.transcript.versionId);
      const blobs = Object.fromEntries(Object.entries(body.snapshot.blobs).filter(([, value]) => value !== undefined).map(([name, value]) => [name, Buffer.from(value!, 'base64')]));
      const id = await store.saveWorkspaceSnapshot({
        conversationId: conversation.id,
        runId: body.runId,
        snapshot: { manifest: body.snapshot.manifest as StoredWorkspaceSnapshot['manifest'], blobs },
        transcript: body.transcript ?? undefined,
        asLeaseHolder: true,
      });
      return c.json({ id }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/conversations/{id}/workspace-snapshots',
      summary: "store API: every workspace snapshot's manifest, oldest first, without blobs",
      security,
      request: { params: IdParam },
      responses: { 200: json(z.object({ snapshots: z.array(StoreValue('StoreWorkspaceSnapshotSummary')) }), 'the snapshots'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      return c.json({ snapshots: (await store.listWorkspaceSnapshots(conversation.id)) as unknown as Array<Record<string, unknown>> }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/store/conversations/{id}/workspace-snapshots/latest',
      summary: 'store API: the newest workspace snapshot (or the newest of one run), blobs base64 and verified; 404 WORKSPACE_SNAPSHOT_NOT_FOUND without one',
      security,
      request: { params: IdParam, query: SnapshotQuery },
      responses: { 200: json(StoreValue('StoreWorkspaceSnapshot'), 'the snapshot'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const snapshot = await store.loadWorkspaceSnapshot(conversation.id, c.req.valid('query').atRunId);
      if (!snapshot) throw new ApiError(404, 'WORKSPACE_SNAPSHOT_NOT_FOUND', `conversation ${conversation.id} has no such workspace snapshot`);
      const blobs = Object.fromEntries(Object.entries(snapshot.blobs).filter(([, value]) => value !== undefined).map(([name, value]) => [name, (value as Buffer).toString('base64')]));
      return c.json({ ...snapshot, blobs } as unknown as Record<string, unknown>, 200);
    },
  );
}

/** The kinds of run a client starts and then writes through: `baton open --server` and `baton adopt --server`. */
const CLIENT_RUN_KINDS: ReadonlySet<Run['kind']> = new Set<Run['kind']>(['interactive', 'adopt']);

function transcriptJson(transcript: StoredTranscript): Record<string, unknown> {
  return {
    conversationId: transcript.conversationId,
    meta: transcript.meta ?? null,
    files: transcript.files.map((file) => ({ key: file.key, lineCount: file.lineCount, sha256: file.sha256, cursor: file.cursor, content: file.content.toString('base64') })),
  };
}
