/** Conversations: start one (its first run is queued), queue a follow-up, list, show and delete them. */
import { checkSetup, redactSetup } from '../../run/agent-setup.js';
import { agentSetupOf } from '../../model/agent-setup.js';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { assertCloneSource } from '../../fleet/clone-source.js';
import type { RunQueue } from '../../fleet/run-queue.js';
import { getHarness } from '../../harness/registry.js';
import { newConversationId } from '../../ids.js';
import { createRedactor } from '../../redact/redactor.js';
import { titleFrom } from '../../run/runner.js';
import { tallyRuns } from '../../store/conversation-status.js';
import type { SqlStore } from '../../store/sql-store.js';
import type { Conversation, ConversationOptions } from '../../store/store.js';
import { sumUsage } from '../../store/store.js';
import { ownConversation, security, type ApiEnv } from '../auth.js';
import { conversationJson, errors, json, runJson } from '../responses.js';
import { forkConversation } from '../../run/fork-conversation.js';
import { Accepted, ConversationDetail, ConversationList, ErrorBody, FollowupBody, ForkBody, ForkCreated, IdParam, ListQuery, NewConversationBody, runLimitsOf } from '../schemas.js';

export function conversationRoutes(app: OpenAPIHono<ApiEnv>, options: { store: SqlStore; queue: RunQueue; allowLocalClone?: boolean | undefined }): void {
  const { store, queue } = options;
  // Credential shapes only: the server knows no run's environment.
  const redactor = createRedactor([]);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/conversations',
      summary: 'start a conversation: its first run is queued for a worker',
      security,
      request: { body: { content: { 'application/json': { schema: NewConversationBody } }, required: true } },
      responses: { 202: json(Accepted, 'queued'), 401: errors[401], 413: json(ErrorBody, 'prompt or body too large'), 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const harness = getHarness(body.harness as Conversation['harness']);
      if (body.workspace && 'git' in body.workspace) assertCloneSource(body.workspace.git, { allowLocal: options.allowLocalClone === true }, body.workspace.ref);
      // Nothing a tenant sends is stored with a credential in it (a worker's run redacts the rest): pass secrets to
      // runs with `baton secret set`, not in prompts.
      const { model, effort, systemPrompt, mcpServers, skills } = body;
      const setup = await redactSetup(checkSetup(harness, agentSetupOf({ model, effort, systemPrompt, mcpServers, skills })), redactor);
      const conversationOptions: ConversationOptions = { ...setup, workspace: body.workspace === false ? { enabled: false } : body.workspace };
      const conversation = await store.createConversation({
        id: newConversationId(),
        harness: harness.id,
        title: await redactor.redactText(titleFrom(body.prompt)),
        cwd: '',
        tenant: c.get('tenant') ?? undefined,
        options: conversationOptions,
      });
      const run = await queue.enqueue({ conversationId: conversation.id, prompt: await redactor.redactText(body.prompt), limits: runLimitsOf(body) });
      return c.json({ conversationId: conversation.id, runId: run.id }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/conversations/{id}/followups',
      summary: 'queue a follow-up: it runs after any active or queued run, resuming the conversation',
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: FollowupBody } }, required: true } },
      responses: { 202: json(Accepted, 'queued'), 401: errors[401], 404: errors[404], 413: json(ErrorBody, 'prompt too large'), 422: json(ErrorBody, 'invalid request') },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const followup = c.req.valid('json');
      const run = await queue.enqueue({ conversationId: conversation.id, prompt: await redactor.redactText(followup.prompt), limits: runLimitsOf(followup) });
      return c.json({ conversationId: conversation.id, runId: run.id }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/conversations/{id}/forks',
      summary: "fork a conversation after a turn or at a run's end: a new conversation with the saved transcript cut there and that point's workspace; the original is untouched",
      security,
      request: { params: IdParam, body: { content: { 'application/json': { schema: ForkBody } }, required: true } },
      responses: {
        201: json(ForkCreated, 'the fork (and the follow-up queued for it, with prompt)'),
        401: errors[401],
        404: json(ErrorBody, 'no such conversation, or nothing saved to fork from yet'),
        413: json(ErrorBody, 'prompt too large'),
        422: json(ErrorBody, 'invalid request: a turn out of range, a run of another conversation, both turn and runId'),
      },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const body = c.req.valid('json');
      const forked = await forkConversation(store, conversation.id, { turn: body.turn, runId: body.runId });
      const run = body.prompt === undefined ? undefined : await queue.enqueue({ conversationId: forked.conversation.id, prompt: await redactor.redactText(body.prompt) });
      const runs = await store.listRuns(forked.conversation.id);
      return c.json({ conversation: { ...conversationJson(forked.conversation, tallyRuns(runs)), runs: runs.length }, turn: forked.turn, turns: forked.turns, workspaceRunId: forked.workspaceRunId ?? null, runId: run?.id ?? null }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/conversations',
      summary: "the tenant's conversations, newest activity first",
      security,
      request: { query: ListQuery },
      responses: { 200: json(ConversationList, 'conversations'), 401: errors[401] },
    }),
    async (c) => {
      const filter = c.req.valid('query');
      const rows = (await store.listConversationSummaries({ tenant: c.get('tenant') }))
        .filter(({ conversation }) => !filter.harness || conversation.harness === filter.harness)
        .map(({ conversation, runs }) => ({ ...conversationJson(conversation, runs), runs: runs.count }));
      return c.json({ conversations: rows.filter((row) => !filter.status || row.status === filter.status) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/conversations/{id}',
      summary: 'a conversation with its runs',
      security,
      request: { params: IdParam },
      responses: { 200: json(ConversationDetail, 'the conversation'), 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      const runs = await store.listRuns(conversation.id);
      return c.json({ ...conversationJson(conversation, tallyRuns(runs)), runs: runs.map((run) => runJson(run, conversation)), usage: sumUsage(runs.map((run) => run.usage)) ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/conversations/{id}',
      summary: 'delete a conversation with its runs, transcript and workspace snapshots',
      security,
      request: { params: IdParam },
      responses: { 204: { description: 'deleted' }, 401: errors[401], 404: errors[404], 409: json(ErrorBody, 'a run is active') },
    }),
    async (c) => {
      const conversation = await ownConversation(store, c, c.req.valid('param').id);
      await store.deleteConversation(conversation.id);
      return c.body(null, 204);
    },
  );
}
