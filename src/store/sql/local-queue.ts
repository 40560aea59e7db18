/**
 * The run queue of one machine: `baton serve` on the embedded (SQLite) store runs queued runs itself, with an
 * in-process worker (src/fleet/local-worker.ts), instead of graphile-worker's jobs on PostgreSQL. The queue is
 * the runs table: a conversation's queued runs go one at a time in the order they were numbered, and only when
 * no live run holds the conversation's lease — the rules graphile-worker's per-conversation queues keep on a
 * fleet. Claiming a run is still `startRun`, whose lease check decides between two claimers.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { SqlRuns } from './runs.js';

/** A queued run that a worker may start now. */
export interface ClaimableRun {
  runId: string;
  conversationId: string;
}

export class SqlLocalQueue {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly runs: SqlRuns,
  ) {}

  /**
   * Up to `limit` runs to start now, the longest-waiting first: each the first queued run of its conversation
   * (a handed-back run keeps its number, so it goes before the follow-ups queued behind it), of a conversation
   * whose lease no live run holds.
   */
  async claimable(limit: number, now = Date.now()): Promise<ClaimableRun[]> {
    const rows = await this.db
      .selectFrom('runs')
      .innerJoin('conversations', 'conversations.id', 'runs.conversation_id')
      .select(['runs.id as runId', 'runs.conversation_id as conversationId'])
      .where('runs.status', '=', 'queued')
      .where((eb) => eb.or([eb('conversations.active_run_id', 'is', null), eb('conversations.lease_expires_at', '<', now)]))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('runs as earlier')
              .select('earlier.id')
              .whereRef('earlier.conversation_id', '=', 'runs.conversation_id')
              .where('earlier.status', '=', 'queued')
              .whereRef('earlier.sequence', '<', 'runs.sequence'),
          ),
        ),
      )
      .orderBy('runs.queued_at')
      .orderBy('runs.id')
      .limit(limit)
      .execute();
    return rows;
  }

  /**
   * Runs still marked running that no live process holds: their conversation's lease expired (or went to
   * another run) — a `baton serve` or a terminal `baton run` that died without its final save.
   */
  async abandoned(now = Date.now()): Promise<ClaimableRun[]> {
    return this.db
      .selectFrom('runs')
      .innerJoin('conversations', 'conversations.id', 'runs.conversation_id')
      .select(['runs.id as runId', 'runs.conversation_id as conversationId'])
      .where('runs.status', '=', 'running')
      .where((eb) =>
        eb.or([
          eb('conversations.active_run_id', 'is', null),
          eb('conversations.active_run_id', '!=', eb.ref('runs.id')),
          eb('conversations.lease_expires_at', '<', now),
        ]),
      )
      .execute();
  }

  /** Puts a run a stopping worker interrupted back in the queue; false (nothing changed) unless it ended interrupted. */
  async handBack(runId: string): Promise<boolean> {
    return this.db.transaction().execute((trx) => this.runs.requeueInterruptedInTransaction(trx, runId));
  }
}
