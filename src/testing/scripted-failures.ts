/**
 * Model turns that go wrong, as a real provider's API answers them: an HTTP error (401 bad key, 429 rate limit or
 * quota, 404 unknown model, 400 context too long …) with each API's own error body, or a reply cut off mid-stream
 * (the connection drops after the first event). Tests use them to see what each real CLI makes of a failure, and
 * that baton classifies it (src/run/failure-classes.ts).
 */
import type { ModelApi } from './scripted-reply.js';
import type { JsonObject } from './wire.js';

export type ScriptedFailure =
  | {
      kind: 'error';
      /** The HTTP status: 401, 403, 404, 429, 400, 500 … */
      status: number;
      /** The error's message; default: what the real API says for that status. */
      message?: string;
      /** Sent as `retry-after` (seconds), as a rate limit is. */
      retryAfterSeconds?: number;
    }
  | {
      /** The stream starts (its first event is sent), then the connection is dropped. */
      kind: 'disconnect';
      /** How long after the first event; default 0. */
      delayMs?: number;
    };

export function isScriptedFailure(value: { kind: string }): value is ScriptedFailure {
  return value.kind === 'error' || value.kind === 'disconnect';
}

/** The message each API sends for a status, close to the real one's. */
function defaultMessage(api: ModelApi, status: number): string {
  if (status === 401) return api === 'anthropic-messages' ? 'invalid x-api-key' : api === 'gemini-generate-content' ? 'API key not valid. Please pass a valid API key.' : 'Incorrect API key provided: scripted-key. You can find your API key at https://platform.openai.com/account/api-keys.';
  if (status === 429) return api === 'anthropic-messages' ? 'Number of request tokens has exceeded your per-minute rate limit' : api === 'gemini-generate-content' ? 'You exceeded your current quota, please check your plan and billing details.' : 'Rate limit reached for scripted-model on tokens per min (TPM): Limit 30000, Used 30000, Requested 1000.';
  if (status === 404) return api === 'anthropic-messages' ? 'model: scripted-model' : api === 'gemini-generate-content' ? 'models/scripted-model is not found for API version v1beta' : 'The model `scripted-model` does not exist or you do not have access to it.';
  if (status === 400) return api === 'anthropic-messages' ? 'prompt is too long: 210000 tokens > 200000 maximum' : api === 'gemini-generate-content' ? 'The input token count (1100000) exceeds the maximum number of tokens allowed (1048576).' : 'Your input exceeds the context window of this model. Please adjust your input and try again.';
  return 'The server had an error while processing your request.';
}

/** The error body, in the shape of each API (OpenAI `{error:{message,type,code}}`, Anthropic `{type:"error",error:{type,message}}`, Gemini `{error:{code,message,status}}`). */
export function scriptedErrorBody(api: ModelApi, failure: Extract<ScriptedFailure, { kind: 'error' }>): JsonObject {
  const message = failure.message ?? defaultMessage(api, failure.status);
  const { status } = failure;
  if (api === 'anthropic-messages') {
    const type = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error', 529: 'overloaded_error' }[status] ?? 'api_error';
    return { type: 'error', error: { type, message } };
  }
  if (api === 'gemini-generate-content') {
    const statusName = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE' }[status] ?? 'INTERNAL';
    return { error: { code: status, message, status: statusName } };
  }
  const code = { 400: 'context_length_exceeded', 401: 'invalid_api_key', 404: 'model_not_found', 429: 'rate_limit_exceeded' }[status] ?? null;
  const type = status === 429 ? 'tokens' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code } };
}

/** The answer to a model request that fails with an HTTP error. */
export function scriptedErrorResponse(api: ModelApi, failure: Extract<ScriptedFailure, { kind: 'error' }>): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
  return new Response(JSON.stringify(scriptedErrorBody(api, failure)), { status: failure.status, headers });
}

/**
 * A stream that sends `head` (the reply's first event), then errors: the server drops the connection without
 * ending the chunked body, as a proxy or a network that goes away does.
 */
export function disconnectingEventStream(head: string, delayMs: number, timers: Set<NodeJS.Timeout>, dropConnection: () => void): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head !== '') controller.enqueue(encoder.encode(head));
      const timer = setTimeout(() => {
        timers.delete(timer);
        // The socket goes (no last chunk); erroring the stream instead would also do, but logs a stack trace.
        dropConnection();
      }, Math.max(delayMs, 20));
      timers.add(timer);
    },
  });
  return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
}
