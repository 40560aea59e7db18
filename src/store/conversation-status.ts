/** A conversation's status at a glance, the same in `baton ls`, the HTTP API and the web UI. */
import type { Conversation, Run, RunTally } from './store.js';

/**
 * idle: ready for a follow-up; queued: a run waits for a worker; running: a run holds the lease;
 * failed / interrupted: how the last run ended (a follow-up resumes from the last save);
 * stale: a run's process died and its lease expired, not yet taken over.
 */
export type ConversationStatus = 'idle' | 'queued' | 'running' | 'failed' | 'interrupted' | 'stale';

export function conversationStatus(conversation: Conversation, runs: RunTally, now = Date.now()): ConversationStatus {
  if (conversation.activeRunId && (conversation.leaseExpiresAt ?? 0) > now) return 'running';
  if (runs.queued > 0) return 'queued';
  if (runs.lastStatus === undefined || runs.lastStatus === 'succeeded') return 'idle';
  if (runs.lastStatus === 'running') return 'stale';
  return runs.lastStatus;
}

/** The tally of a conversation's runs (in sequence order), for conversationStatus. */
export function tallyRuns(runs: readonly Run[]): RunTally {
  return { count: runs.length, queued: runs.filter((run) => run.status === 'queued').length, lastStatus: runs.at(-1)?.status };
}
