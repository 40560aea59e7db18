/**
 * Following a run's event stream (GET /v1/runs/{id}/events) from a client — the CLI's remote mode and the web UI
 * both use this. Stored events come first, then live ones until `end`; a dropped connection is resumed after
 * the last event id received. Only web-platform APIs (fetch, streams), so the browser bundle imports it as is;
 * EventSource itself cannot send a bearer token.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One event of a run as the server streams it: `type` plus that type's fields. */
export interface StreamedEvent {
  sequence: number;
  at: string;
  type: string;
  [field: string]: unknown;
}

/** The server answered the stream with an error (not a dropped connection): its status and JSON body. */
export class RunStreamRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`the server answered ${status}`);
  }
}

export interface FollowRunOptions<R> {
  /** The server's base URL; '' for the page's own origin. */
  url: string;
  token: string;
  runId: string;
  onEvent: (event: StreamedEvent) => void;
  /** The run, whenever its status changes (not for the end: that is the result). */
  onStatus?: (run: R) => void;
  /** Stops following (the run goes on); the result is then undefined. */
  signal?: AbortSignal;
  /** After this long without reaching the server, the last connection error is thrown; default: keep trying. */
  giveUpMs?: number;
  reconnectMs?: number;
}

/** Resolves with the finished run, or undefined when it was deleted or `signal` aborted; rejects with RunStreamRefused. */
export async function followRunEvents<R>(options: FollowRunOptions<R>): Promise<R | undefined> {
  const { signal } = options;
  let lastEventId: string | undefined;
  let unreachableSince: number | undefined;
  while (!signal?.aborted) {
    let finished: R | undefined;
    let ended = false;
    const parser = createParser({
      onEvent: (message: EventSourceMessage) => {
        if (message.event === 'run-event') {
          lastEventId = message.id ?? lastEventId;
          options.onEvent(JSON.parse(message.data) as StreamedEvent);
        } else if (message.event === 'status') options.onStatus?.(JSON.parse(message.data) as R);
        else if (message.event === 'end') {
          ended = true;
          const data = JSON.parse(message.data) as R | { deleted: true };
          finished = data && typeof data === 'object' && 'deleted' in data ? undefined : (data as R);
        }
      },
    });
    try {
      const response = await fetch(`${options.url}/v1/runs/${encodeURIComponent(options.runId)}/events`, {
        headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        ...(signal ? { signal } : {}),
      });
      unreachableSince = undefined;
      if (!response.ok || !response.body) {
        const body: unknown = await response.json().catch(() => undefined);
        throw new RunStreamRefused(response.status, body);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        if (ended) {
          await reader.cancel().catch(() => undefined);
          return finished;
        }
      }
      if (ended) return finished;
    } catch (error) {
      if (signal?.aborted) return undefined;
      if (error instanceof RunStreamRefused) throw error;
      // The connection dropped: reconnect and resume after the last event received, for a while.
      unreachableSince ??= Date.now();
      if (options.giveUpMs !== undefined && Date.now() - unreachableSince > options.giveUpMs) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.reconnectMs ?? 1_000));
  }
  return undefined;
}
