/**
 * Counting a response's token usage as its bytes pass through the proxy: the bytes are never held back or
 * changed; a copy is parsed on the side (eventsource-parser for SSE, JSON for a plain body).
 *
 * Where each provider reports usage (normalised to RunUsage, see src/store/store.ts):
 * - OpenAI Responses: `response.completed` (also `response.incomplete` / `response.failed`) carries
 *   `response.usage {input_tokens, output_tokens, input_tokens_details.cached_tokens}`, final values; a
 *   non-streaming response has the same `usage` at the top level.
 * - Anthropic Messages: `message_start.message.usage` (input, cache reads and writes, a first output count) and
 *   `message_delta.usage` (the final output count; newer API versions repeat the input fields there). Every
 *   field is cumulative: the latest value of each wins. A non-streaming message has `usage` at the top level.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { ModelApiId } from '../../harness/ids.js';
import type { RunUsage } from '../../store/store.js';

/** What one response used so far; the meter reports each change as a delta to add to the run's total. */
interface ResponseUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** The SSE event names that carry usage, per API (both APIs name every event after its `type`). */
const USAGE_EVENTS: Record<ModelApiId, ReadonlySet<string>> = {
  'openai-responses': new Set(['response.completed', 'response.incomplete', 'response.failed']),
  'anthropic-messages': new Set(['message_start', 'message_delta']),
  'gemini-generate-content': new Set(),
};

/** A plain (non-SSE) body is parsed for its usage only up to this size; a larger one is passed on uncounted. */
const MAX_JSON_BODY_BYTES = 8 * 1024 * 1024;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined);

/** A usage object of either API → the fields it holds, normalised (undefined for a field it does not hold). */
export function readUsage(api: ModelApiId, usage: unknown): Partial<ResponseUsage> & { anthropic?: { uncached?: number; cacheWrite?: number; cacheRead?: number } } {
  if (!isRecord(usage)) return {};
  if (api === 'openai-responses') {
    const details = isRecord(usage.input_tokens_details) ? usage.input_tokens_details : {};
    return { inputTokens: count(usage.input_tokens), cachedInputTokens: count(details.cached_tokens), outputTokens: count(usage.output_tokens) };
  }
  return {
    outputTokens: count(usage.output_tokens),
    anthropic: { uncached: count(usage.input_tokens), cacheWrite: count(usage.cache_creation_input_tokens), cacheRead: count(usage.cache_read_input_tokens) },
  };
}

/**
 * Meters one response. `onChange(delta)` is called whenever the response's usage grows (a delta of every
 * field, requests 1 on the first report), so that the run's total is right even for a stream cut short.
 */
export class UsageMeter {
  private readonly current: ResponseUsage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
  /** Anthropic's input parts, kept apart: the input is their sum. */
  private readonly anthropic = { uncached: 0, cacheWrite: 0, cacheRead: 0 };
  private reported = false;
  private readonly pending: Uint8Array[] = [];
  private readonly decoder = new TextDecoder();
  private readonly parser;
  private json: Uint8Array[] | undefined;
  private jsonBytes = 0;

  constructor(
    private readonly api: ModelApiId,
    contentType: string | undefined,
    private readonly onChange: (delta: RunUsage) => void,
  ) {
    const type = contentType?.toLowerCase() ?? '';
    this.parser = type.includes('text/event-stream') ? createParser({ onEvent: (event) => this.onEvent(event) }) : undefined;
    if (!this.parser && type.includes('json')) this.json = [];
  }

  /**
   * A chunk as it passed to the client. Parsed on the next turn of the event loop, after the chunk was written
   * on: counting never delays the bytes. Never throws: counting must not break the stream.
   */
  feed(chunk: Uint8Array): void {
    this.pending.push(chunk);
    if (this.pending.length === 1) setImmediate(() => this.drain());
  }

  private drain(): void {
    for (const chunk of this.pending.splice(0)) this.parse(chunk);
  }

  private parse(chunk: Uint8Array): void {
    try {
      if (this.parser) this.parser.feed(this.decoder.decode(chunk, { stream: true }));
      else if (this.json) {
        this.jsonBytes += chunk.byteLength;
        if (this.jsonBytes > MAX_JSON_BODY_BYTES) this.json = undefined;
        else this.json.push(chunk);
      }
    } catch {
      // An event that is not JSON, or not the shape we know: no usage from it.
    }
  }

  /** The body ended: whatever is pending is counted now. */
  end(): void {
    this.drain();
    const chunks = this.json;
    this.json = undefined;
    if (!chunks) return;
    try {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (isRecord(body)) this.apply(body.usage);
    } catch {
      // not JSON
    }
  }

  private onEvent(event: EventSourceMessage): void {
    // Only the events that carry usage are parsed: a large reply's other events (its text, its output items) are
    // as large as the reply, and parsing them would cost as much as the reply is long.
    if (event.event !== undefined && !USAGE_EVENTS[this.api].has(event.event)) return;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!isRecord(data)) return;
    if (this.api === 'openai-responses') {
      if ((data.type === 'response.completed' || data.type === 'response.incomplete' || data.type === 'response.failed') && isRecord(data.response)) this.apply(data.response.usage);
    } else if (data.type === 'message_start' && isRecord(data.message)) this.apply(data.message.usage);
    else if (data.type === 'message_delta') this.apply(data.usage);
  }

  private apply(usage: unknown): void {
    if (!isRecord(usage)) return;
    const read = readUsage(this.api, usage);
    const next: ResponseUsage = { ...this.current };
    if (read.anthropic) {
      this.anthropic.uncached = read.anthropic.uncached ?? this.anthropic.uncached;
      this.anthropic.cacheWrite = read.anthropic.cacheWrite ?? this.anthropic.cacheWrite;
      this.anthropic.cacheRead = read.anthropic.cacheRead ?? this.anthropic.cacheRead;
      next.inputTokens = this.anthropic.uncached + this.anthropic.cacheWrite + this.anthropic.cacheRead;
      next.cachedInputTokens = this.anthropic.cacheRead;
    } else {
      next.inputTokens = read.inputTokens ?? next.inputTokens;
      next.cachedInputTokens = read.cachedInputTokens ?? next.cachedInputTokens;
    }
    next.outputTokens = read.outputTokens ?? next.outputTokens;
    const delta: RunUsage = {
      inputTokens: next.inputTokens - this.current.inputTokens,
      cachedInputTokens: next.cachedInputTokens - this.current.cachedInputTokens,
      outputTokens: next.outputTokens - this.current.outputTokens,
      requests: this.reported ? 0 : 1,
    };
    this.reported = true;
    Object.assign(this.current, next);
    this.onChange(delta);
  }
}
