/** A conversation's status at a glance (src/model/conversation-status.ts), derived from its lease and its runs. */
import type { ConversationStatus } from '../model/conversation-status.js';
import type { Conversation, Run, RunTally } from './store.js';

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
