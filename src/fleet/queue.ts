/**
 * The run queue: graphile-worker on the store's own PostgreSQL (no other service to run). A run row and its
 * job are written in one transaction, so a run is never queued without a job nor a job left without its run.
 * Jobs share a queue named after their conversation, and graphile-worker runs a queue's jobs one at a time in
 * order: one conversation never runs on two workers at once, and a follow-up waits behind the active run.
 */
import { makeWorkerUtils, runMigrations, Logger, type LogLevel, type WorkerUtils } from 'graphile-worker';
import { BatonError, errorMessage } from '../errors.js';
import { newRunId } from '../ids.js';
import type { PostgresStore, QueueJob } from '../store/postgres.js';
import type { Run, RunLimits } from '../store/store.js';
import type { RunQueue } from './run-queue.js';

/** The graphile-worker task that runs one queued baton run; its payload is `{ runId }`. */
export const RUN_TASK = 'baton_run';

export interface RunJobPayload {
  runId: string;
}

/** A run handed back by a stopping worker goes before the follow-ups queued behind it. */
const HANDED_BACK_PRIORITY = -1;

/** graphile-worker's messages at warning and above, one line each on stderr; its chatter is dropped. */
export const queueLogger = new Logger(() => (level: LogLevel, message: string) => {
  if (level === 'warning' || level === 'error') process.stderr.write(`queue ${level}: ${message}\n`);
});

/** Creates or upgrades the queue's schema (graphile_worker) next to the store's tables. */
export async function migrateQueue(store: PostgresStore): Promise<void> {
  try {
    await runMigrations({ connectionString: store.url, logger: queueLogger });
  } catch (error) {
    throw new BatonError('STORE_ERROR', `cannot set up the job queue in ${store.location}: ${errorMessage(error)}`, {
      hint: 'the PostgreSQL user needs the right to create a schema in this database',
      cause: error,
    });
  }
}

export async function queueUtils(store: PostgresStore): Promise<WorkerUtils> {
  return makeWorkerUtils({ connectionString: store.url, logger: queueLogger });
}

/** Records a queued run of the conversation and enqueues its job, atomically. */
export async function enqueueRun(store: PostgresStore, input: { conversationId: string; prompt: string; runId?: string; limits?: RunLimits | undefined }): Promise<Run> {
  const runId = input.runId ?? newRunId();
  return store.queueRunWithJob({ conversationId: input.conversationId, runId, prompt: input.prompt, limits: input.limits }, runJob({ id: runId, conversationId: input.conversationId }), () =>
    new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${input.conversationId}`, { hint: 'list conversations with GET /v1/conversations' }),
  );
}

/** The fleet's queue for `baton serve`: every queued run gets its job. */
export function jobRunQueue(store: PostgresStore): RunQueue {
  return { enqueue: (input) => enqueueRun(store, input) };
}

/**
 * Puts a run that a stopping worker interrupted back in the queue, ahead of the follow-ups behind it, so that
 * another worker continues it. Does nothing unless the run ended interrupted.
 */
export async function handBackRun(store: PostgresStore, run: Run): Promise<boolean> {
  return store.handBackRun(run.id, runJob(run, HANDED_BACK_PRIORITY));
}

/** The job of a run: in its conversation's queue, so that the conversation's runs go one at a time, in order. */
function runJob(run: Pick<Run, 'id' | 'conversationId'>, priority = 0): QueueJob {
  const payload: RunJobPayload = { runId: run.id };
  return { task: RUN_TASK, payload, queueName: run.conversationId, maxAttempts: 25, priority };
}
