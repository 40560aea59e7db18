/**
 * The run queue's writes on PostgreSQL: a run row and its graphile-worker job (graphile_worker.add_job, in the
 * same database) in one transaction, so a run is never queued without a job nor a job left without its run.
 * What goes in the job (task, queue, priority) is the fleet's decision: src/fleet/queue.ts.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../schema.js';
import type { QueueRunInput, Run } from '../store.js';
import type { SqlContext } from './context.js';
import type { SqlRuns } from './runs.js';

/** A graphile-worker job: the task that runs it, its JSON payload, and the queue (run one job at a time) it joins. */
export interface QueueJob {
  task: string;
  payload: unknown;
  queueName: string;
  maxAttempts: number;
  priority: number;
}

async function addJobIn(trx: Transaction<Database>, job: QueueJob): Promise<void> {
  await sql`select graphile_worker.add_job(${job.task}, ${JSON.stringify(job.payload)}::json, queue_name := ${job.queueName}, max_attempts := ${job.maxAttempts}, priority := ${job.priority})`.execute(trx);
}

export class SqlRunQueue {
  constructor(
    private readonly context: SqlContext,
    private readonly runs: SqlRuns,
  ) {}

  /** Records a queued run and adds its job, atomically; `notFound()` when there is no such conversation. */
  async enqueue(input: QueueRunInput, job: QueueJob, notFound: () => Error): Promise<Run> {
    return this.context.db.transaction().execute(async (trx) => {
      const queued = await this.runs.queueInTransaction(trx, input, notFound);
      await addJobIn(trx, job);
      return queued;
    });
  }

  /** Puts an interrupted run back to queued with its job, atomically; false (nothing changed) unless it ended interrupted. */
  async handBack(runId: string, job: QueueJob): Promise<boolean> {
    return this.context.db.transaction().execute(async (trx) => {
      if (!(await this.runs.requeueInterruptedInTransaction(trx, runId))) return false;
      await addJobIn(trx, job);
      return true;
    });
  }
}
