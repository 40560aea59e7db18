/** A conversation's transcript: the readable view, the raw envelope, and the export file. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { getHarness } from '../../harness/registry.js';
import { exportConversation } from '../../store/export-file.js';
import type { SqlStore } from '../../store/sql-store.js';
import { ownConversation, security, type ApiEnv } from '../auth.js';
import { RawTranscripts } from '../raw-transcripts.js';
import { errors, json } from '../responses.js';
import { IdParam, RawTranscriptBody, TranscriptBody } from '../schemas.js';

export function transcriptRoutes(app: OpenAPIHono<ApiEnv>, store: SqlStore): void {
  const rawTranscripts = new RawTranscripts(store);

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
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
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
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
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
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const text = await exportConversation(store, conversation.id);
      c.header('Content-Type', 'application/json');
      c.header('Content-Disposition', `attachment; filename="${conversation.id}.baton.json"`);
      return c.body(text, 200) as never;
    },
  );
}
