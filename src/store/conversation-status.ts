/** A conversation's status at a glance, the same in `baton ls`, the HTTP API and the web UI. */
import type { Conversation, Run } from './store.js';

/**
 * idle: ready for a follow-up; queued: a run waits for a worker; running: a run holds the lease;
 * failed / interrupted: how the last run ended (a follow-up resumes from the last save);
 * stale: a run's process died and its lease expired, not yet taken over.
 */
export type ConversationStatus = 'idle' | 'queued' | 'running' | 'failed' | 'interrupted' | 'stale';

export function conversationStatus(conversation: Conversation, runs: readonly Run[], now = Date.now()): ConversationStatus {
  if (conversation.activeRunId && (conversation.leaseExpiresAt ?? 0) > now) return 'running';
  if (runs.some((run) => run.status === 'queued')) return 'queued';
  const last = runs.at(-1);
  if (!last || last.status === 'succeeded') return 'idle';
  if (last.status === 'running') return 'stale';
  return last.status;
}
