/** The store of `baton worker`: PostgreSQL only, since SQLite cannot carry a job queue between machines. */
import type { BatonConfig } from '../config.js';
import { BatonError } from '../errors.js';
import type { PostgresStore } from '../store/postgres.js';
import { openContext, type GlobalOptions } from './context.js';

export async function openFleetStore(globals: GlobalOptions, command: string): Promise<{ store: PostgresStore; config: BatonConfig }> {
  const { store, config } = await openContext(globals);
  const { PostgresStore } = await import('../store/postgres.js');
  if (!(store instanceof PostgresStore)) {
    await store.close();
    throw new BatonError('USAGE', `baton ${command} needs a PostgreSQL store, and ${store.location} is a SQLite file`, {
      hint: 'on one machine, `baton serve` runs queued runs itself (--runs N); for a fleet set BATON_STORE=postgres://user:password@host:5432/db (or pass --store postgres://…)',
    });
  }
  return { store, config };
}
