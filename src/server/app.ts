/**
 * `baton serve`'s HTTP API (Hono + zod-openapi; the document is served at /openapi.json). Every route but
 * /healthz and /openapi.json needs a tenant's bearer token; a tenant sees only its own conversations (others'
 * are 404, not 403). Errors are `{error: {code, message, hint?}}` with the right status, never a stack trace.
 */
import { assertCloneSource } from '../fleet/clone-source.js';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { serveStatic } from '@hono/node-server/serve-static';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import { HTTPException } from 'hono/http-exception';
import { streamSSE } from 'hono/streaming';
import type { Context } from 'hono';
import { errorMessage, isBatonError, type ErrorCode } from '../errors.js';
import { enqueueRun } from '../fleet/queue.js';
import { tokenChecker } from '../fleet/tokens.js';
import { getHarness, listHarnesses } from '../harness/registry.js';
import { isFinishedRunStatus } from '../model/run-status.js';
import { newConversationId } from '../ids.js';
import { titleFrom } from '../run/runner.js';
import { createRedactor } from '../redact/redactor.js';
import { conversationStatus, tallyRuns } from '../store/conversation-status.js';
import type { PostgresStore } from '../store/postgres.js';
import type { Conversation, ConversationOptions, Run, RunTally, StoredRunEvent } from '../store/store.js';
import { sumUsage } from '../store/store.js';
import { exportConversation } from '../store/export-file.js';
import { RawTranscripts } from './raw-transcripts.js';
import type { RunChanges } from './run-changes.js';
import {
  Accepted,
  ConversationDetail,
  ConversationList,
  ErrorBody,
  FollowupBody,
  HarnessList,
  IdParam,
  ListQuery,
  MAX_BODY_BYTES,
  NewConversationBody,
  RawTranscriptBody,
  RunBody,
  TranscriptBody,
} from './schemas.js';

type Env = { Variables: { tenant: string } };

/** An oversized body up to this size is read to its end before the 413, so that the client sees the 413. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

export interface ApiOptions {
  store: PostgresStore;
  changes: RunChanges;
  version: string;
  /** Where unexpected errors are reported (never to the client). */
  log?: (line: string) => void;
  /** The built web UI (dist/web), served at /; without it, / says how to build it. */
  webRoot?: string | undefined;
  /** Accept `workspace.git` paths and file:// URLs on the workers (`--allow-local-clone`); default: remote URLs only. */
  allowLocalClone?: boolean;
}

/** An error the API reports as is: status, code and message for the client. */
class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 422 | 500 | 503,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const STATUS_OF: Partial<Record<ErrorCode, ApiError['status']>> = {
  CONVERSATION_NOT_FOUND: 404,
  TRANSCRIPT_NOT_FOUND: 404,
  CONVERSATION_BUSY: 409,
  WORKSPACE_UNTRUSTED: 409,
  USAGE: 422,
  HARNESS_UNKNOWN: 422,
  STORE_ERROR: 503,
};

/** A stored time as ISO 8601; null when absent or not a valid date (a damaged or hostile row never fails a response). */
const iso = (ms: number | undefined): string | null => (ms === undefined || !Number.isFinite(new Date(ms).getTime()) ? null : new Date(ms).toISOString());

function runJson(run: Run): z.infer<typeof RunBody> {
  const queued = run.status === 'queued';
  return {
    id: run.id,
    conversationId: run.conversationId,
    sequence: run.sequence,
    kind: run.kind,
    prompt: run.prompt,
    status: run.status,
    host: queued || !run.host ? null : run.host,
    queuedAt: iso(run.queuedAt),
    startedAt: queued ? null : iso(run.startedAt),
    endedAt: iso(run.endedAt),
    exitCode: run.exitCode ?? null,
    error: run.error ?? null,
    handoffs: run.handoffs,
    errorCode: run.errorCode ?? null,
    usage: run.usage ?? null,
    redaction: run.redaction ?? null,
  };
}

function conversationJson(conversation: Conversation, runs: RunTally) {
  return {
    id: conversation.id,
    harness: conversation.harness,
    title: conversation.title,
    status: conversationStatus(conversation, runs),
    sessionId: conversation.sessionId ?? null,
    model: conversation.options.model ?? null,
    createdAt: iso(conversation.createdAt),
    updatedAt: iso(conversation.updatedAt),
    activeRunId: conversation.activeRunId ?? null,
    forkedFrom: conversation.forkedFrom ?? null,
  };
}

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  401: json(ErrorBody, 'no valid bearer token'),
  404: json(ErrorBody, 'no such conversation or run for this tenant'),
};
const security = [{ bearer: [] as string[] }];

export function createApi(options: ApiOptions): OpenAPIHono<Env> {
  const { store, changes } = options;
  const rawTranscripts = new RawTranscripts(store);
  // Credential shapes only: the server knows no run's environment.
  const redactor = createRedactor([]);
  const tenantOfToken = tokenChecker(store);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const app = new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (result.success) return;
      const issue = result.error.issues[0]!;
      const where = issue.path.join('.') || 'body';
      if (issue.code === 'too_big' && (where === 'prompt' || where === 'systemPrompt')) {
        throw new ApiError(413, 'PROMPT_TOO_LARGE', `${where}: ${issue.message}`, 'shorten the prompt, or put long material in the workspace');
      }
      throw new ApiError(422, 'INVALID_REQUEST', `${where}: ${issue.message}`, 'see /openapi.json for the request shapes');
    },
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'a token from `baton token create --tenant T`' });

  app.onError((error, c) => {
    if (error instanceof ApiError || isBatonError(error)) {
      const status = error instanceof ApiError ? error.status : (STATUS_OF[error.code] ?? 400);
      return c.json({ error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } }, status);
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      const code = status === 400 ? 'BAD_REQUEST' : status === 413 ? 'BODY_TOO_LARGE' : 'HTTP_ERROR';
      const message = status === 400 && /JSON/i.test(error.message) ? 'the request body is not valid JSON' : error.message || 'bad request';
      return c.json({ error: { code, message } }, status);
    }
    log(`baton serve: unexpected error on ${c.req.method} ${c.req.path}: ${errorMessage(error)}`);
    return c.json({ error: { code: 'INTERNAL', message: 'internal error; the server log has the details' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}`, hint: 'see /openapi.json' } }, 404));

  app.get('/healthz', async (c) => {
    await store.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
    return c.json({ ok: true, version: options.version });
  });
  if (options.webRoot) {
    const root = options.webRoot;
    // The page runs only its own bundled code: transcripts it shows are untrusted input.
    const pageHeaders = secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        // A form planted in a transcript must not post anywhere, even if it got past the sanitiser.
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    });
    app.use('/', pageHeaders);
    app.use('/assets/*', pageHeaders);
    // Hashed file names: cached for good. index.html is looked at on every visit.
    app.use('/assets/*', serveStatic({ root, onFound: (_path, c) => c.header('Cache-Control', 'public, max-age=31536000, immutable') }));
    app.get('/', serveStatic({ root, path: 'index.html', onFound: (_path, c) => c.header('Cache-Control', 'no-cache') }));
  } else {
    app.get('/', (c) => c.text('The baton web UI is not built here: run `npm run build` in the baton checkout, then restart `baton serve`.\n', 404));
  }
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'baton', version: options.version, description: 'Run coding-agent CLIs as cloud agents; every conversation resumable anywhere.' } });

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const tenant = match ? await tenantOfToken(match[1]!) : undefined;
    if (!tenant) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new ApiError(401, 'UNAUTHORIZED', match ? 'the bearer token is not valid' : 'this route needs a bearer token', 'send Authorization: Bearer TOKEN, with a token from `baton token create --tenant T`');
    }
    c.set('tenant', tenant);
    await next();
  });
  app.use('/v1/*', async (c, next) => {
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > MAX_BODY_BYTES) {
      // Read and drop what the client sends, so that it gets this answer rather than a reset connection.
      if (length <= DRAIN_LIMIT_BYTES && c.req.raw.body) for await (const _ of c.req.raw.body as unknown as AsyncIterable<Uint8Array>);
      throw new ApiError(413, 'BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`, 'shorten the prompt');
    }
    await next();
  });
  // Bodies sent without a length are cut off at the limit while they are read.
  app.use('/v1/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new ApiError(413, 'BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`, 'shorten the prompt'); } }));

  /** The tenant's conversation, or 404 (also for another tenant's: its existence is not revealed). */
  const ownConversation = async (c: Context<Env>, id: string): Promise<Conversation> => {
    const conversation = await store.getConversation(id);
    if (!conversation || conversation.tenant !== c.get('tenant')) throw new ApiError(404, 'CONVERSATION_NOT_FOUND', `no conversation ${id}`, 'list yours with GET /v1/conversations');
    return conversation;
  };
  const ownRun = async (c: Context<Env>, id: string): Promise<Run> => {
    const run = await store.getRun(id);
    const conversation = run && (await store.getConversation(run.conversationId));
    if (!run || !conversation || conversation.tenant !== c.get('tenant')) throw new ApiError(404, 'RUN_NOT_FOUND', `no run ${id}`, 'runs are listed in GET /v1/conversations/{id}');
    return run;
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/conversations',
      summary: 'start a conversation: its first run is queued for a worker',
      security,
      request: { body: { content: { 'application/json': { schema: NewConversationBody } }, required: true } },
      responses: { 202: json(Accepted, 'queued'), 401: errors[401], 413: json(ErrorBody, 'prompt or body too large'), 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const harness = getHarness(body.harness as Conversation['harness']);
      if (body.workspace && 'git' in body.workspace) assertCloneSource(body.workspace.git, { allowLocal: options.allowLocalClone === true }, body.workspace.ref);
      // Nothing a tenant sends is stored with a credential in it (a worker's run redacts the rest): pass secrets to
      // runs with `baton secret set`, not in prompts.
      const conversationOptions: ConversationOptions = {
        model: body.model,
        systemPrompt: body.systemPrompt === undefined ? undefined : await redactor.redactText(body.systemPrompt),
        workspace: body.workspace === false ? { enabled: false } : body.workspace,
      };
      const conversation = await store.createConversation({
        id: newConversationId(),
        harness: harness.id,
        title: await redactor.redactText(titleFrom(body.prompt)),
        cwd: '',
        tenant: c.get('tenant'),
        options: conversationOptions,
      });
      const run = await enqueueRun(store, { conversationId: conversation.id, prompt: await redactor.redactText(body.prompt) });
      return c.json({ conversationId: conversation.id, runId: run.id }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/conversations/{id}/followups',
      summary: 'queue a follow-up: it runs after any active or queued run, resuming the conversation',
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: FollowupBody } }, required: true } },
      responses: { 202: json(Accepted, 'queued'), 401: errors[401], 404: errors[404], 413: json(ErrorBody, 'prompt too large'), 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const conversation = await ownConversation(c, c.req.valid('param').id);
      const run = await enqueueRun(store, { conversationId: conversation.id, prompt: await redactor.redactText(c.req.valid('json').prompt) });
      return c.json({ conversationId: conversation.id, runId: run.id }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/conversations',
      summary: "the tenant's conversations, newest activity first",
      security,
      request: { query: ListQuery },
      responses: { 200: json(ConversationList, 'conversations'), 401: errors[401] },
    }),
    async (c) => {
      const filter = c.req.valid('query');
      const rows = (await store.listConversationSummaries({ tenant: c.get('tenant') }))
        .filter(({ conversation }) => !filter.harness || conversation.harness === filter.harness)
        .map(({ conversation, runs }) => ({ ...conversationJson(conversation, runs), runs: runs.count }));
      return c.json({ conversations: rows.filter((row) => !filter.status || row.status === filter.status) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/conversations/{id}',
      summary: 'a conversation with its runs',
      security,
      request: { params: IdParam },
      responses: { 200: json(ConversationDetail, 'the conversation'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(c, c.req.valid('param').id);
      const runs = await store.listRuns(conversation.id);
      return c.json({ ...conversationJson(conversation, tallyRuns(runs)), runs: runs.map(runJson), usage: sumUsage(runs.map((run) => run.usage)) ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/conversations/{id}',
      summary: 'delete a conversation with its runs, transcript and workspace snapshots',
      security,
      request: { params: IdParam },
      responses: { 204: { description: 'deleted' }, 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'a run is active') },
    }),
    async (c) => {
      const conversation = await ownConversation(c, c.req.valid('param').id);
      await store.deleteConversation(conversation.id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/conversations/{id}/transcript',
      summary: 'the readable transcript (one view model for every harness)',
      security,
      request: { params: IdParam },
      responses: { 200: json(TranscriptBody, 'the transcript view'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(c, c.req.valid('param').id);
      const transcript = await store.loadTranscript(conversation.id);
      const view = getHarness(conversation.harness).viewTranscript(transcript?.files ?? []);
      return c.json({ conversationId: conversation.id, harness: conversation.harness, items: view.items, unparsedLines: view.unparsedLines }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/conversations/{id}/transcript/raw',
      summary: "the envelope: the CLI's native transcript files, byte for byte",
      security,
      request: { params: IdParam },
      responses: { 200: json(RawTranscriptBody, 'the envelope (with an ETag: send If-None-Match to get 304 when unchanged)'), 304: { description: 'unchanged since the ETag sent' }, 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(c, c.req.valid('param').id);
      const { body, etag } = await rawTranscripts.body(conversation);
      c.header('ETag', etag);
      c.header('Cache-Control', 'private, no-cache');
      if (c.req.header('if-none-match') === etag) return c.body(null, 304);
      c.header('Content-Type', 'application/json');
      return c.body(body as unknown as ArrayBuffer, 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/conversations/{id}/export',
      summary: 'the export file of a conversation (`baton import` reads it), as a download',
      security,
      request: { params: IdParam },
      responses: { 200: { description: 'the export file (JSON)', content: { 'application/json': { schema: z.object({ format: z.literal('baton-conversation') }).passthrough() } } }, 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(c, c.req.valid('param').id);
      const text = await exportConversation(store, conversation.id);
      c.header('Content-Type', 'application/json');
      c.header('Content-Disposition', `attachment; filename="${conversation.id}.baton.json"`);
      return c.body(text, 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/harnesses',
      summary: 'the agent CLIs this server runs',
      security,
      responses: { 200: json(HarnessList, 'every harness, in the order to offer them'), 401: errors[401] },
    }),
    async (c) => c.json({ harnesses: listHarnesses().map((harness) => ({ id: harness.id, displayName: harness.displayName })) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/runs/{id}',
      summary: 'one run',
      security,
      request: { params: IdParam },
      responses: { 200: json(RunBody, 'the run'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json(runJson(await ownRun(c, c.req.valid('param').id)), 200),
  );

  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/runs/{id}/events',
    summary: "the run's events as Server-Sent Events: stored ones first, then live ones until the run ends",
    description:
      'Each `event: run-event` has `id:` = its sequence number; reconnect with `Last-Event-ID` (or `?after=N`) to resume after it. ' +
      '`event: status` carries the run (no id) whenever its status changes; `event: end` carries the finished run, then the stream closes.',
    security,
    request: { params: IdParam },
    responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, 401: errors[401], 404: errors[404] },
  });
  app.get('/v1/runs/:id/events', async (c) => {
    const run = await ownRun(c, c.req.param('id'));
    const resumeFrom = c.req.header('last-event-id') ?? c.req.query('after') ?? '0';
    let after = Number.parseInt(resumeFrom, 10);
    if (!Number.isSafeInteger(after) || after < 0) throw new ApiError(400, 'BAD_REQUEST', `Last-Event-ID must be an event sequence number, not "${resumeFrom}"`);
    return streamSSE(c, async (stream) => {
      const closed = new AbortController();
      stream.onAbort(() => closed.abort());
      let lastStatus: string | undefined;
      const sendEvents = async (): Promise<void> => {
        for (const event of await store.listRunEvents(run.id, after)) {
          await stream.writeSSE({ id: String(event.sequence), event: 'run-event', data: JSON.stringify(eventJson(event)) });
          after = event.sequence;
        }
      };
      let lastWrite = Date.now();
      while (!closed.signal.aborted) {
        await sendEvents();
        const current = await store.getRun(run.id);
        if (!current) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ deleted: true }) });
          return;
        }
        if (current.status !== lastStatus) {
          lastStatus = current.status;
          if (isFinishedRunStatus(current.status)) {
            await sendEvents(); // anything stored with the final save
            await stream.writeSSE({ event: 'end', data: JSON.stringify(runJson(current)) });
            return;
          }
          await stream.writeSSE({ event: 'status', data: JSON.stringify(runJson(current)) });
          lastWrite = Date.now();
        }
        if (Date.now() - lastWrite > 15_000) {
          await stream.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await changes.waitForChange(run.id, closed.signal);
      }
    });
  });

  return app;
}

function eventJson(event: StoredRunEvent): Record<string, unknown> {
  // The stored fields last: an event's data (an import's, say) cannot pass for another sequence, time or type.
  return { ...(event.data && typeof event.data === 'object' && !Array.isArray(event.data) ? (event.data as object) : { data: event.data }), sequence: event.sequence, at: iso(event.at) ?? '', type: event.type };
}
