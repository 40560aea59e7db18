/** How stored conversations and runs look in the API's responses, and the OpenAPI declarations of those responses. */
import type { z } from '@hono/zod-openapi';
import { getHarness } from '../harness/registry.js';
import { isHarnessId } from '../harness/ids.js';
import { failureHint } from '../run/failure-hints.js';
import { conversationStatus } from '../store/conversation-status.js';
import type { Conversation, Run, RunTally } from '../store/store.js';
import { ErrorBody, type RunBody } from './schemas.js';

/** A stored time as ISO 8601; null when absent or not a valid date (a damaged or hostile row never fails a response). */
export const iso = (ms: number | undefined): string | null => (ms === undefined || !Number.isFinite(new Date(ms).getTime()) ? null : new Date(ms).toISOString());

/** What a run's failure hint depends on: the conversation's harness and whether it has a session to resume. */
export type RunConversation = Pick<Conversation, 'id' | 'harness' | 'sessionId'>;

export function runJson(run: Run, conversation: RunConversation | undefined): z.infer<typeof RunBody> {
  const queued = run.status === 'queued';
  const ended = run.status === 'failed' || run.status === 'interrupted';
  return {
    id: run.id,
    conversationId: run.conversationId,
    sequence: run.sequence,
    kind: run.kind,
    prompt: run.prompt,
    status: run.status,
    host: queued || !run.host ? null : run.host,
    queuedAt: iso(run.queuedAt),
    startedAt: queued ? null : iso(run.startedAt),
    endedAt: iso(run.endedAt),
    exitCode: run.exitCode ?? null,
    error: run.error ?? null,
    handoffs: run.handoffs,
    errorCode: run.errorCode ?? null,
    failure: ended
      ? {
          code: run.errorCode ?? null,
          message: run.error ?? `the run ${run.status}`,
          hint: failureHint({ errorCode: run.errorCode, harness: conversation?.harness ?? '', conversationId: run.conversationId, resumable: conversation?.sessionId !== undefined, followUp: run.kind === 'resume', loginFix: conversation && isHarnessId(conversation.harness) ? getHarness(conversation.harness).preflight.loginFix : undefined }),
        }
      : null,
    usage: run.usage ?? null,
    limits: run.limits
      ? {
          ...(run.limits.stallTimeoutMs !== undefined ? { stallTimeoutSeconds: Math.round(run.limits.stallTimeoutMs / 1000) } : {}),
          ...(run.limits.maxRunTimeMs !== undefined ? { maxRunTimeSeconds: Math.round(run.limits.maxRunTimeMs / 1000) } : {}),
        }
      : null,
    redaction: run.redaction ?? null,
  };
}

export function conversationJson(conversation: Conversation, runs: RunTally) {
  return {
    id: conversation.id,
    harness: conversation.harness,
    title: conversation.title,
    status: conversationStatus(conversation, runs),
    sessionId: conversation.sessionId ?? null,
    model: conversation.options.model ?? null,
    effort: conversation.options.effort ?? null,
    mcpServers: Object.keys(conversation.options.mcpServers ?? {}),
    skills: (conversation.options.skills ?? []).map((skill) => skill.name),
    createdAt: iso(conversation.createdAt),
    updatedAt: iso(conversation.updatedAt),
    activeRunId: conversation.activeRunId ?? null,
    forkedFrom: conversation.forkedFrom ?? null,
    adoptedFrom: conversation.adoptedFrom ? { ...conversation.adoptedFrom, adoptedAt: iso(conversation.adoptedFrom.adoptedAt) } : null,
  };
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
export const errors = {
  401: json(ErrorBody, 'no valid bearer token'),
  404: json(ErrorBody, 'no such conversation or run for this tenant'),
};
