/**
 * An offline stand-in for a model endpoint. It speaks the OpenAI Responses API (what the Codex
 * CLI calls), the Anthropic Messages API (what Claude Code calls) and the Gemini API (what Gemini CLI calls) on 127.0.0.1, answers each
 * model turn from a script — a text reply or a shell tool call — and records every request, so
 * end-to-end tests can drive the real CLIs and assert on what the model was sent, and
 * `baton demo` can run without a network or an API key.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { openAIModelList, openAIReplyFrames, openAIReplyUsage, openAIResponseObject, shellToolOf, viewOpenAIRequest } from './openai-responses.js';
import {
  anthropicReplyFrames,
  anthropicReplyMessage,
  anthropicReplyUsage,
  anthropicTokenCount,
  isAnthropicTurn,
  viewAnthropicRequest,
} from './anthropic-messages.js';
import { geminiModelOf, geminiReplyFrames, geminiReplyObject, geminiReplyUsage, geminiSideCallReply, isGeminiTurn, viewGeminiRequest } from './gemini-generate-content.js';
import { isRecord } from './wire.js';
import type { ModelApi, ModelRequestView, RecordedRequest, ReportedUsage, Script, ScriptedReply, ScriptedTurn, ScriptedUsage } from './scripted-reply.js';
import { disconnectingEventStream, isScriptedFailure, scriptedErrorResponse, type ScriptedFailure } from './scripted-failures.js';

export type { ModelApi, ModelRequestView, RecordedRequest, ReportedUsage, Script, ScriptedFailure, ScriptedReply, ScriptedTurn, ScriptedUsage } from './scripted-reply.js';
export { DEFAULT_SCRIPTED_USAGE } from './scripted-reply.js';
export { demoScript } from './demo-script.js';

/** The reply once a list script has run out. */
export const SCRIPT_EXHAUSTED_TEXT = '(script exhausted)';

/** The model id the server reports; any model name a CLI asks for is accepted. */
export const SCRIPTED_MODEL = 'scripted-model';

export interface ScriptedModelServerOptions {
  /** A function choosing each reply, or a list played in order (one entry per model turn). */
  script: Script | ScriptedTurn[];
  /**
   * Milliseconds to hold each reply after its first event, so a test can kill a CLI while a turn
   * is in flight. A reply's own `delayMs` wins. Default 0.
   */
  delayMs?: number;
}

export interface ScriptedModelServer {
  /** `http://127.0.0.1:PORT`: the Anthropic base URL (`ANTHROPIC_BASE_URL`) and the Gemini one (`GOOGLE_GEMINI_BASE_URL`). */
  url: string;
  /** `http://127.0.0.1:PORT/v1`: the OpenAI base URL (Codex `base_url`). */
  openaiBaseUrl: string;
  /** Every request received, in arrival order (live array). */
  requests: RecordedRequest[];
  /** Every usage the server sent, in the order the replies completed (a reply cut off before its end sent none). */
  reportedUsage: ReportedUsage[];
  /** Stops listening, drops open connections and cancels pending delayed replies. */
  close(): Promise<void>;
}

const decompressors: Record<string, (input: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

async function readBody(c: Context): Promise<unknown> {
  let bytes: Buffer = Buffer.from(await c.req.arrayBuffer());
  if (bytes.length === 0) return null;
  const encoding = c.req.header('content-encoding')?.toLowerCase();
  const decompress = encoding === undefined ? undefined : decompressors[encoding];
  if (decompress !== undefined) bytes = await decompress(bytes);
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Which client sent a request off the model routes: Anthropic clients send their own headers. */
function guessApi(c: Context): ModelApi {
  const userAgent = c.req.header('user-agent')?.toLowerCase() ?? '';
  const anthropic =
    c.req.header('anthropic-version') !== undefined || c.req.header('x-api-key') !== undefined || userAgent.includes('claude');
  return anthropic ? 'anthropic-messages' : 'openai-responses';
}

/** Starts a scripted model server on an ephemeral port of 127.0.0.1. */
export async function startScriptedModelServer(options: ScriptedModelServerOptions): Promise<ScriptedModelServer> {
  const requests: RecordedRequest[] = [];
  const reportedUsage: ReportedUsage[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();
  const encoder = new TextEncoder();
  let turnsAnswered = 0;
  let sequence = 0;
  let closed = false;

  const nextReply = (view: ModelRequestView): ScriptedTurn => {
    const index = turnsAnswered++;
    if (typeof options.script === 'function') return options.script(view, index);
    return options.script[index] ?? { kind: 'text', text: SCRIPT_EXHAUSTED_TEXT };
  };

  // Ids carry a per-server random part: Claude Code drops a tool call from the history when a later turn (another
  // machine's server) reuses an earlier tool_use id (verified with Claude Code 2.1.332).
  const serverTag = randomBytes(4).toString('hex');
  const nextId = (prefix: string): string => `${prefix}_scripted_${serverTag}_${++sequence}`;

  const record = (c: Context, api: ModelApi, body: unknown, turn: boolean): void => {
    const url = new URL(c.req.url);
    requests.push({ api, method: c.req.method, path: url.pathname + url.search, body, turn, receivedAt: Date.now(), headers: c.req.header() });
  };
  const reported = (c: Context, api: ModelApi, usage: ScriptedUsage) => (): void => {
    const url = new URL(c.req.url);
    reportedUsage.push({ api, path: url.pathname + url.search, ...usage });
  };

  /**
   * An event stream that sends `head` now and `tail` after `delayMs` (or never, if the server closes first);
   * `onTail` runs once the tail is sent.
   */
  const delayedEventStream = (head: string, tail: string, delayMs: number, onTail: () => void): Response => {
    let timer: NodeJS.Timeout | undefined;
    const forget = (): void => {
      if (timer !== undefined) {
        clearTimeout(timer);
        pendingTimers.delete(timer);
      }
    };
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(head));
        const finish = (): void => {
          forget();
          try {
            controller.enqueue(encoder.encode(tail));
            controller.close();
            onTail();
          } catch {
            // The client went away while the reply was held back: nothing to send it to.
          }
        };
        if (delayMs <= 0) {
          finish();
          return;
        }
        timer = setTimeout(finish, delayMs);
        pendingTimers.add(timer);
      },
      cancel: forget,
    });
    return new Response(stream, {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' },
    });
  };

  const delayFor = (reply: ScriptedReply): number => reply.delayMs ?? options.delayMs ?? 0;

  /** A failed turn: the API's error answer, or a stream that starts with `head` and is cut off. */
  const failed = (c: Context, api: ModelApi, failure: ScriptedFailure, head: string): Response =>
    failure.kind === 'error' ? scriptedErrorResponse(api, failure) : disconnectingEventStream(head, failure.delayMs ?? 0, pendingTimers, () => socketOf(c)?.destroy());

  const app = new Hono();

  const openAIIds = (body: unknown, reply: ScriptedReply) => ({ responseId: nextId('resp'), itemId: nextId(reply.kind === 'text' ? 'msg' : 'fc'), callId: nextId('call'), shellTool: shellToolOf(body) });
  const answerResponses = async (c: Context): Promise<Response> => {
    const body = await readBody(c);
    record(c, 'openai-responses', body, true);
    const answer = nextReply(viewOpenAIRequest(body));
    if (isScriptedFailure(answer)) return failed(c, 'openai-responses', answer, openAIReplyFrames({ kind: 'text', text: '' }, openAIIds(body, { kind: 'text', text: '' })).head);
    const reply = answer;
    const ids = openAIIds(body, reply);
    const onSent = reported(c, 'openai-responses', openAIReplyUsage(reply, ids));
    if (isRecord(body) && body['stream'] === false) {
      await sleep(delayFor(reply), pendingTimers);
      onSent();
      return c.json(openAIResponseObject(reply, ids));
    }
    const { head, tail } = openAIReplyFrames(reply, ids);
    return delayedEventStream(head, tail, delayFor(reply), onSent);
  };
  app.post('/v1/responses', answerResponses);
  app.post('/responses', answerResponses);

  app.get('/v1/models', (c) => {
    record(c, 'openai-responses', null, false);
    return c.json(openAIModelList([SCRIPTED_MODEL]));
  });

  app.post('/v1/messages/count_tokens', async (c) => {
    const body = await readBody(c);
    record(c, 'anthropic-messages', body, false);
    return c.json(anthropicTokenCount(body));
  });

  app.post('/v1/messages', async (c) => {
    const body = await readBody(c);
    const turn = isAnthropicTurn(body);
    record(c, 'anthropic-messages', body, turn);
    // Side calls (quota probe, titles) get a short text so they never use up the script.
    const answer: ScriptedTurn = turn ? nextReply(viewAnthropicRequest(body)) : { kind: 'text', text: 'Scripted session' };
    const model = isRecord(body) && typeof body['model'] === 'string' ? body['model'] : SCRIPTED_MODEL;
    const ids = { messageId: nextId('msg'), toolUseId: nextId('toolu') };
    if (isScriptedFailure(answer)) return failed(c, 'anthropic-messages', answer, anthropicReplyFrames({ kind: 'text', text: '' }, model, ids).head);
    const reply = answer;
    const onSent = reported(c, 'anthropic-messages', anthropicReplyUsage(reply, ids));
    if (isRecord(body) && body['stream'] === true) {
      const { head, tail } = anthropicReplyFrames(reply, model, ids);
      return delayedEventStream(head, tail, turn ? delayFor(reply) : 0, onSent);
    }
    if (turn) await sleep(delayFor(reply), pendingTimers);
    onSent();
    return c.json(anthropicReplyMessage(reply, model, ids));
  });

  // Gemini CLI: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` for turns, `:generateContent` for side calls.
  app.post('/v1beta/models/:modelAction', async (c) => {
    const body = await readBody(c);
    const modelAction = c.req.param('modelAction');
    const turn = isGeminiTurn(modelAction, body);
    record(c, 'gemini-generate-content', body, turn);
    const answer: ScriptedTurn = turn ? nextReply(viewGeminiRequest(body)) : geminiSideCallReply(body);
    const model = geminiModelOf(modelAction);
    if (isScriptedFailure(answer)) return failed(c, 'gemini-generate-content', answer, geminiReplyFrames({ kind: 'text', text: 'Partial reply, cut off' }, model).head);
    const reply = answer;
    const onSent = reported(c, 'gemini-generate-content', geminiReplyUsage(reply));
    if (modelAction.endsWith(':streamGenerateContent')) {
      const { head, tail } = geminiReplyFrames(reply, model);
      return delayedEventStream(head, tail, turn ? delayFor(reply) : 0, onSent);
    }
    if (turn) await sleep(delayFor(reply), pendingTimers);
    onSent();
    return c.json(geminiReplyObject(reply, model));
  });

  // Claude Code checks that the base URL answers with `HEAD /` before its first call.
  app.on(['HEAD', 'GET'], '/', (c) => {
    record(c, guessApi(c), null, false);
    return c.body(null, 200);
  });

  app.all('*', async (c) => {
    const body = await readBody(c);
    record(c, guessApi(c), body, false);
    return c.json({ error: { type: 'not_found', message: `scripted model server: no route for ${c.req.method} ${c.req.path}` } }, 404);
  });

  app.onError((error, c) =>
    c.json({ error: { type: 'scripted_server_error', message: error instanceof Error ? error.message : String(error) } }, 500),
  );

  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started as Server)) as Server;
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    reportedUsage,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      // Dropping the connections aborts held-back replies rather than ending them cleanly, so a
      // client never mistakes a cut-off reply for a complete one.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The connection a request came on (@hono/node-server hands the Node request over as `c.env.incoming`). */
function socketOf(c: Context): import('node:net').Socket | undefined {
  const env = c.env as { incoming?: { socket?: import('node:net').Socket } } | undefined;
  return env?.incoming?.socket;
}

/** Waits `ms` milliseconds; the timer is tracked so `close()` can cancel it (the wait then never ends). */
function sleep(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
  });
}
