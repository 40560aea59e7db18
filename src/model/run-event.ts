/**
 * Run events, defined once and typed per event: what a harness's output parser reports, what the runner records
 * and hands to a live subscriber, what GET /v1/runs/{id}/events streams, and what the CLI and the web UI render.
 *
 * The store keeps an event as its type plus the other fields as data (src/store/store.ts, StoredRunEvent): an
 * imported conversation may hold event types this version does not know, kept as they are, and a server may be
 * newer than its client. So the CLI's remote mode parses what a server streams with RunEvent and skips what does
 * not parse; the web UI takes its own server's stream as StreamedRunEvents (it imports the types only, which keeps
 * zod out of the page) and shows the types it knows.
 */
import { z } from 'zod';

export const RunEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session.started'), sessionId: z.string() }),
  z.object({ type: z.literal('turn.started') }),
  z.object({ type: z.literal('turn.completed'), inputTokens: z.number().optional(), outputTokens: z.number().optional() }),
  z.object({ type: z.literal('turn.failed'), message: z.string() }),
  /** A turn a person typed in the CLI's interactive UI (`baton open`); a headless run's prompt is the run's. */
  z.object({ type: z.literal('prompt'), text: z.string() }),
  z.object({ type: z.literal('message'), text: z.string() }),
  z.object({ type: z.literal('reasoning'), text: z.string() }),
  z.object({ type: z.literal('command.started'), command: z.string() }),
  z.object({ type: z.literal('command.completed'), command: z.string(), exitCode: z.number().optional(), output: z.string() }),
  z.object({ type: z.literal('file.changed'), paths: z.array(z.string()) }),
  z.object({ type: z.literal('warning'), message: z.string() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type RunEvent = z.infer<typeof RunEvent>;
export type RunEventType = RunEvent['type'];

/** One `event: run-event` of GET /v1/runs/{id}/events: the event's fields, its sequence number and its time (ISO 8601). */
export type StreamedRunEvent = RunEvent & { sequence: number; at: string };
