/**
 * `baton serve`'s HTTP API (Hono + zod-openapi; the document is served at /openapi.json). Every route but
 * /healthz and /openapi.json needs a tenant's bearer token; a tenant sees only its own conversations (others'
 * are 404, not 403). Errors are `{error: {code, message, hint?}}` with the right status, never a stack trace.
 *
 * This module puts the app together: errors.ts answers errors, auth.ts checks tokens and tenants, and
 * routes/ holds the routes, one file per resource.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { SqlStore } from '../store/sql-store.js';
import { bearerAuth, registerBearerScheme, type ApiEnv } from './auth.js';
import { ApiError, apiErrorHandler, noRoute, refuseInvalidRequest } from './errors.js';
import { conversationRoutes } from './routes/conversations.js';
import { harnessRoutes } from './routes/harnesses.js';
import { runRoutes } from './routes/runs.js';
import { storeApiRoutes } from './routes/store-api.js';
import { transcriptRoutes } from './routes/transcripts.js';
import { webUiRoutes } from './routes/web-ui.js';
import type { RunChangeFeed } from '../store/change-feed.js';
import type { RunQueue } from '../fleet/run-queue.js';
import { requireHost, SignInBody, type LocalSignIn } from './local-sign-in.js';
import { MAX_BODY_BYTES } from './schemas.js';

/** An oversized body up to this size is read to its end before the 413, so that the client sees the 413. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

const isStoreApi = (path: string): boolean => path.startsWith('/v1/store/');

export interface ApiOptions {
  store: SqlStore;
  changes: RunChangeFeed;
  /** Where queued runs go: graphile-worker's jobs on PostgreSQL, the runs table for an in-process worker on SQLite. */
  queue: RunQueue;
  version: string;
  /**
   * A server of this machine's own store on loopback: browsers sign in with the printed one-time URL (POST
   * /sign-in) as the machine's owner, and every request must name one of `hosts` (DNS rebinding).
   */
  localSignIn?: { signIn: LocalSignIn; hosts: () => Set<string>; baseUrl: () => string } | undefined;
  /** Where unexpected errors are reported (never to the client). */
  log?: (line: string) => void;
  /** The built web UI (dist/web), served at /; without it, / says how to build it. */
  webRoot?: string | undefined;
  /** Accept `workspace.git` paths and file:// URLs on the workers (`--allow-local-clone`); default: remote URLs only. */
  allowLocalClone?: boolean;
}

export function createApi(options: ApiOptions): OpenAPIHono<ApiEnv> {
  const { store, changes } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: refuseInvalidRequest });

  registerBearerScheme(app);

  app.onError(apiErrorHandler(log));
  app.notFound(noRoute);

  const local = options.localSignIn;
  if (local) {
    app.use('*', requireHost(local.hosts));
    app.post('/sign-in', bodyLimit({ maxSize: 1024, onError: () => { throw new ApiError(413, 'BODY_TOO_LARGE', 'a sign-in body is a code only', 'open the sign-in URL that `baton serve` printed'); } }), async (c) => {
      const parsed = SignInBody.safeParse(await c.req.json().catch(() => undefined));
      const token = parsed.success ? local.signIn.redeem(parsed.data.code, local.baseUrl()) : undefined;
      if (!token) throw new ApiError(401, 'SIGN_IN_INVALID', 'this sign-in link was used already, or is not from this server', 'open the newest sign-in URL that `baton serve` printed in its terminal');
      return c.json({ token });
    });
  }

  app.get('/healthz', async (c) => {
    await store.ping();
    return c.json({ ok: true, version: options.version });
  });
  webUiRoutes(app, options.webRoot);
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'baton', version: options.version, description: 'Run coding-agent CLIs as cloud agents; every conversation resumable anywhere.' } });

  app.use('/v1/*', bearerAuth(store, local?.signIn));
  app.use('/v1/*', async (c, next) => {
    // The store API takes transcripts and workspace snapshots: its own, larger limit (routes/store-api.ts).
    if (isStoreApi(c.req.path)) return next();
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > MAX_BODY_BYTES) {
      // Read and drop what the client sends, so that it gets this answer rather than a reset connection.
      if (length <= DRAIN_LIMIT_BYTES && c.req.raw.body) for await (const _ of c.req.raw.body as unknown as AsyncIterable<Uint8Array>);
      throw new ApiError(413, 'BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`, 'shorten the prompt');
    }
    await next();
  });
  // Bodies sent without a length are cut off at the limit while they are read.
  const promptBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new ApiError(413, 'BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`, 'shorten the prompt'); } });
  app.use('/v1/*', async (c, next) => (isStoreApi(c.req.path) ? next() : promptBodyLimit(c, next)));

  conversationRoutes(app, { store, queue: options.queue, allowLocalClone: options.allowLocalClone });
  transcriptRoutes(app, store);
  harnessRoutes(app);
  runRoutes(app, { store, changes });
  storeApiRoutes(app, store);

  return app;
}
