/**
 * The run queue: graphile-worker on the store's own PostgreSQL (no other service to run). A run row and its
 * job are written in one transaction, so a run is never queued without a job nor a job left without its run.
 * Jobs share a queue named after their conversation, and graphile-worker runs a queue's jobs one at a time in
 * order: one conversation never runs on two workers at once, and a follow-up waits behind the active run.
 */
import { makeWorkerUtils, runMigrations, Logger, type LogLevel, type WorkerUtils } from 'graphile-worker';
import { sql, type Transaction } from 'kysely';
import { BatonError, errorMessage } from '../errors.js';
import { newRunId } from '../ids.js';
import type { PostgresStore } from '../store/postgres.js';
import type { Database } from '../store/schema.js';
import type { Run } from '../store/store.js';

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
export async function enqueueRun(store: PostgresStore, input: { conversationId: string; prompt: string; runId?: string }): Promise<Run> {
  const runId = input.runId ?? newRunId();
  const run = await store.db.transaction().execute(async (trx) => {
    const queued = await store.queueRunInTransaction(trx, { conversationId: input.conversationId, runId, prompt: input.prompt }, () =>
      new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${input.conversationId}`, { hint: 'list conversations with GET /v1/conversations' }),
    );
    await addRunJob(trx, queued);
    return queued;
  });
  await store.announce(run.id);
  return run;
}

/**
 * Puts a run that a stopping worker interrupted back in the queue, ahead of the follow-ups behind it, so that
 * another worker continues it. Does nothing unless the run ended interrupted.
 */
export async function handBackRun(store: PostgresStore, run: Run): Promise<boolean> {
  const handedBack = await store.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('runs')
      .set((eb) => ({ status: 'queued', handoffs: eb('handoffs', '+', 1), ended_at: null, exit_code: null, error: null }))
      .where('id', '=', run.id)
      .where('status', '=', 'interrupted')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await addRunJob(trx, run, HANDED_BACK_PRIORITY);
    return true;
  });
  if (handedBack) await store.announce(run.id);
  return handedBack;
}

async function addRunJob(trx: Transaction<Database>, run: Pick<Run, 'id' | 'conversationId'>, priority = 0): Promise<void> {
  const payload: RunJobPayload = { runId: run.id };
  await sql`select graphile_worker.add_job(${RUN_TASK}, ${JSON.stringify(payload)}::json, queue_name := ${run.conversationId}, max_attempts := 25, priority := ${priority})`.execute(trx);
}
