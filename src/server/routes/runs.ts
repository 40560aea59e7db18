/** Runs: one run, and its events as Server-Sent Events (stored ones first, then live ones until the run ends). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { isFinishedRunStatus } from '../../model/run-status.js';
import type { SqlStore } from '../../store/sql-store.js';
import type { StoredRunEvent } from '../../store/store.js';
import { ownRun, security, type ApiEnv } from '../auth.js';
import { ApiError } from '../errors.js';
import { errors, iso, json, runJson } from '../responses.js';
import type { RunChangeFeed } from '../../store/change-feed.js';
import { IdParam, RunBody } from '../schemas.js';

export function runRoutes(app: OpenAPIHono<ApiEnv>, options: { store: SqlStore; changes: RunChangeFeed }): void {
  const { store, changes } = options;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/runs/{id}',
      summary: 'one run',
      security,
      request: { params: IdParam },
      responses: { 200: json(RunBody, 'the run'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const run = await ownRun(store, c, c.req.valid('param').id);
      return c.json(runJson(run, await store.getConversation(run.conversationId)), 200);
    },
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
    const run = await ownRun(store, c, c.req.param('id'));
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
            // The hint of a failure depends on whether the conversation has a session by now.
            await stream.writeSSE({ event: 'end', data: JSON.stringify(runJson(current, await store.getConversation(current.conversationId))) });
            return;
          }
          await stream.writeSSE({ event: 'status', data: JSON.stringify(runJson(current, undefined)) });
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
}

function eventJson(event: StoredRunEvent): Record<string, unknown> {
  // The stored fields last: an event's data (an import's, say) cannot pass for another sequence, time or type.
  return { ...(event.data && typeof event.data === 'object' && !Array.isArray(event.data) ? (event.data as object) : { data: event.data }), sequence: event.sequence, at: iso(event.at) ?? '', type: event.type };
}
