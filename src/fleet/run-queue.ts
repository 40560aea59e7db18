/**
 * Where `baton serve` puts the runs its API queues. On PostgreSQL a run row and its graphile-worker job go in
 * one transaction, for any worker of the fleet (queue.ts: jobRunQueue); on the embedded store the row alone is
 * the queue, which the server's in-process worker reads (local-worker.ts).
 */
import { newRunId } from '../ids.js';
import type { Run, RunLimits, Store } from '../store/store.js';

export interface RunToQueue {
  conversationId: string;
  prompt: string;
  runId?: string;
  /** The run's own stall timeout and time cap (the worker's caps still apply). */
  limits?: RunLimits | undefined;
}

export interface RunQueue {
  /** Records a queued run of the conversation (CONVERSATION_NOT_FOUND without it); a worker runs it later. */
  enqueue(input: RunToQueue): Promise<Run>;
}

/** The embedded store's queue: the queued run's row. */
export function storeRunQueue(store: Pick<Store, 'queueRun'>): RunQueue {
  return { enqueue: (input) => store.queueRun({ conversationId: input.conversationId, runId: input.runId ?? newRunId(), prompt: input.prompt, limits: input.limits }) };
}
