/**
 * Who is asking: every /v1 route needs a tenant's bearer token (`baton token create --tenant T`), and a tenant sees
 * only its own conversations and runs — another tenant's are 404, not 403, so that their existence is not revealed.
 * On a `baton serve` of this machine's own store (SQLite, loopback) a browser signed in with the printed sign-in URL
 * (local-sign-in.ts) is the machine's owner instead: it sees the conversations without a tenant — `baton run`'s.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { tokenChecker } from '../fleet/tokens.js';
import type { SqlStore } from '../store/sql-store.js';
import type { Conversation, Run } from '../store/store.js';
import { ApiError } from './errors.js';

/**
 * What a request carries once its token is checked: the token's tenant, or null for the machine's owner (a local
 * sign-in), who sees the conversations without a tenant. Never undefined: no request sees every tenant's.
 */
export type ApiEnv = { Variables: { tenant: string | null } };

/** Tells the owner's session tokens (a local sign-in) from the rest; absent on a server of tenants only. */
export interface OwnerSessions {
  isOwnerSession(token: string): boolean;
}

/** The OpenAPI security requirement of every /v1 route. */
export const security = [{ bearer: [] as string[] }];

export function registerBearerScheme(app: OpenAPIHono<ApiEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'a token from `baton token create --tenant T`' });
}

/** Refuses (401) a request without a valid bearer token; sets the token's tenant on the context. */
export function bearerAuth(store: SqlStore, owner?: OwnerSessions): MiddlewareHandler<ApiEnv> {
  const tenantOfToken = tokenChecker(store);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const token = match?.[1];
    const tenant = token === undefined ? undefined : owner?.isOwnerSession(token) ? null : await tenantOfToken(token);
    if (tenant === undefined) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new ApiError(401, 'UNAUTHORIZED', match ? 'the bearer token is not valid' : 'this route needs a bearer token', 'send Authorization: Bearer TOKEN, with a token from `baton token create --tenant T`');
    }
    c.set('tenant', tenant);
    await next();
  };
}

/** The tenant's conversation, or 404 (also for another tenant's: its existence is not revealed). */
export async function ownConversation(store: SqlStore, c: Context<ApiEnv>, id: string): Promise<Conversation> {
  const conversation = await store.getConversation(id);
  if (!conversation || (conversation.tenant ?? null) !== c.get('tenant')) throw new ApiError(404, 'CONVERSATION_NOT_FOUND', `no conversation ${id}`, 'list yours with GET /v1/conversations');
  return conversation;
}

/** The tenant's run, or 404 (also for a run of another tenant's conversation). */
export async function ownRun(store: SqlStore, c: Context<ApiEnv>, id: string): Promise<Run> {
  const run = await store.getRun(id);
  const conversation = run && (await store.getConversation(run.conversationId));
  if (!run || !conversation || (conversation.tenant ?? null) !== c.get('tenant')) throw new ApiError(404, 'RUN_NOT_FOUND', `no run ${id}`, 'runs are listed in GET /v1/conversations/{id}');
  return run;
}
