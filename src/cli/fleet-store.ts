/** The stores of the service commands: `baton worker` needs PostgreSQL; `baton serve` and the tokens take either SQL store. */
import type { BatonConfig } from '../config.js';
import { BatonError } from '../errors.js';
import type { PostgresStore } from '../store/postgres.js';
import type { SqlStore } from '../store/sql-store.js';
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

/** A store `baton serve` can serve, and its tokens live in: this machine's SQLite file or the fleet's PostgreSQL, never another server's. */
export async function openServedStore(globals: GlobalOptions, command = 'serve'): Promise<{ store: SqlStore; config: BatonConfig }> {
  const { store, config } = await openContext(globals);
  const { SqlStore } = await import('../store/sql-store.js');
  if (store instanceof SqlStore) return { store, config };
  await store.close();
  throw new BatonError('USAGE', `baton ${command} needs a store of its own, and ${store.location} is not one`, { hint: 'set BATON_STORE to a SQLite file or a postgres:// URL' });
}
