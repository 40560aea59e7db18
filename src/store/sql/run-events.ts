/** A run's events (what the CLI reported while it ran), numbered in order per run. */
import type { NewRunEvent, StoredRunEvent } from '../store.js';
import type { SqlContext } from './context.js';
import { eventIdentity, num } from './rows.js';

export class SqlRunEvents {
  constructor(private readonly context: SqlContext) {}

  async append(runId: string, events: NewRunEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { conversationId, cipher } = await this.context.cipherForRun(runId);
    await this.context.db.transaction().execute(async (trx) => {
      // A write first (see sql-store.ts), then read the next sequence number under the write lock.
      await trx.updateTable('runs').set({ id: runId }).where('id', '=', runId).execute();
      const last = await trx
        .selectFrom('run_events')
        .select((eb) => eb.fn.max('sequence').as('sequence'))
        .where('run_id', '=', runId)
        .executeTakeFirst();
      let sequence = num(last?.sequence ?? 0);
      await trx
        .insertInto('run_events')
        .values(
          events.map((event) => {
            const data = JSON.stringify(event.data ?? null);
            sequence++;
            return { run_id: runId, sequence, at: event.at, type: event.type, data: conversationId === undefined ? data : cipher.sealText(eventIdentity(conversationId, runId, sequence), data) };
          }),
        )
        .execute();
    });
  }

  async list(runId: string, afterSequence = 0): Promise<StoredRunEvent[]> {
    const rows = await this.context.db.selectFrom('run_events').selectAll().where('run_id', '=', runId).where('sequence', '>', afterSequence).orderBy('sequence').execute();
    if (rows.length === 0) return [];
    const { conversationId, cipher } = await this.context.cipherForRun(runId);
    return rows.map((row) => {
      const sequence = num(row.sequence);
      const data = conversationId === undefined ? row.data : cipher.openText(eventIdentity(conversationId, runId, sequence), row.data, `event ${sequence} of run ${runId}`);
      return { runId: row.run_id, sequence, at: num(row.at), type: row.type, data: JSON.parse(data) as unknown };
    });
  }
}
