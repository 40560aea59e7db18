/** The embedded store: one SQLite file (WAL, busy timeout), shared safely by processes on one machine. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { BatonError, errorMessage } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';

const BUSY_TIMEOUT_MS = 10_000;

export async function openSqliteStore(path: string): Promise<SqlStore> {
  const absolute = path === ':memory:' ? path : resolve(path);
  let database: Sqlite.Database;
  try {
    if (absolute !== ':memory:') mkdirSync(dirname(absolute), { recursive: true, mode: 0o700 });
    database = new Sqlite(absolute);
    database.pragma('journal_mode = WAL');
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
  } catch (error) {
    throw new BatonError('STORE_ERROR', `cannot open the SQLite store at ${absolute}: ${errorMessage(error)}`, {
      hint: 'check the path given by --store or BATON_STORE and that its directory is writable',
      cause: error,
    });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  await migrateToLatest(db, { bytes: 'blob', bigInteger: 'integer', serialKey: 'integer' });
  return new SqlStore(db, absolute);
}
