/**
 * How the HTTP API answers errors: always `{error: {code, message, hint?}}` with the right status, never a stack
 * trace. A BatonError's code picks the status (CONVERSATION_NOT_FOUND → 404, CONVERSATION_BUSY → 409 …); an
 * invalid request is a 422 (a too-long prompt a 413); anything unexpected is a 500 whose details go to the log.
 */
import type { Hook } from '@hono/zod-openapi';
import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { errorMessage, isBatonError, type ErrorCode } from '../errors.js';
import type { ApiEnv } from './auth.js';

/** An error the API reports as is: status, code and message for the client. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 421 | 422 | 500 | 503,
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
  LEASE_LOST: 409,
  SESSION_MISMATCH: 409,
  SESSION_NOT_FOUND: 404,
  SESSION_ALREADY_ADOPTED: 409,
  SESSION_DIVERGED: 409,
  SESSION_FILE_INVALID: 422,
  USAGE: 422,
  HARNESS_UNKNOWN: 422,
  STORE_ERROR: 503,
};

/** The OpenAPI app's default hook: a request that does not match its route's schema is refused with its first issue. */
export const refuseInvalidRequest: Hook<unknown, ApiEnv, string, void> = (result) => {
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const where = issue.path.join('.') || 'body';
  if (issue.code === 'too_big' && (where === 'prompt' || where === 'systemPrompt')) {
    throw new ApiError(413, 'PROMPT_TOO_LARGE', `${where}: ${issue.message}`, 'shorten the prompt, or put long material in the workspace');
  }
  throw new ApiError(422, 'INVALID_REQUEST', `${where}: ${issue.message}`, 'see /openapi.json for the request shapes');
};

/** The app's error handler; `log` gets what the client does not (unexpected errors). */
export function apiErrorHandler(log: (line: string) => void): ErrorHandler<ApiEnv> {
  return (error, c) => {
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
  };
}

export const noRoute: NotFoundHandler<ApiEnv> = (c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}`, hint: 'see /openapi.json' } }, 404);
