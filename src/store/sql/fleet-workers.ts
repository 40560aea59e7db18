/** The fleet's worker registry (fleet_workers): one row per running `baton worker`. */
import type { Kysely } from 'kysely';
import type { FleetWorkerRecord, FleetWorkerStore } from '../fleet-workers.js';
import type { Database } from '../schema.js';

export class SqlFleetWorkers implements FleetWorkerStore {
  constructor(private readonly db: Kysely<Database>) {}

  async register(worker: { id: string; host: string; pid: number; startedAt: number }): Promise<void> {
    await this.db.insertInto('fleet_workers').values({ id: worker.id, host: worker.host, pid: worker.pid, started_at: worker.startedAt, heartbeat_at: worker.startedAt, queue_worker_ids: '[]' }).execute();
  }

  async heartbeat(id: string, queueWorkerIds: string[], at: number): Promise<void> {
    await this.db.updateTable('fleet_workers').set({ heartbeat_at: at, queue_worker_ids: JSON.stringify(queueWorkerIds) }).where('id', '=', id).execute();
  }

  async silentSince(before: number): Promise<FleetWorkerRecord[]> {
    const rows = await this.db.selectFrom('fleet_workers').selectAll().where('heartbeat_at', '<', before).execute();
    return rows.map((row) => ({ id: row.id, host: row.host, queueWorkerIds: JSON.parse(row.queue_worker_ids) as string[] }));
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('fleet_workers').where('id', '=', id).execute();
  }
}
