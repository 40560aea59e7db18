/** The embedded store: one SQLite file (WAL, busy timeout), shared safely by processes on one machine. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { BatonError, errorMessage } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import type { ChunkBodies } from './chunk-bodies.js';
import { SqlStore } from './sql-store.js';

const BUSY_TIMEOUT_MS = 10_000;

/**
 * One connection per file within a process, shared by every store opened on it. better-sqlite3 is
 * synchronous: a second connection in the same process that waits for the first one's write lock blocks the
 * event loop the first needs to commit, so both stall for the whole busy timeout and one fails with
 * SQLITE_BUSY. Sharing the connection lets kysely's driver serialise the transactions instead.
 */
const sharedDatabases = new Map<string, Promise<{ db: Kysely<Database>; users: number }>>();

export async function openSqliteStore(path: string, options: { chunkBodies?: ChunkBodies } = {}): Promise<SqlStore> {
  const absolute = path === ':memory:' ? path : resolve(path);
  if (absolute === ':memory:') return new SqlStore(await openDatabase(absolute), absolute, undefined, options.chunkBodies);
  let shared = sharedDatabases.get(absolute);
  if (!shared) {
    shared = openDatabase(absolute).then((db) => ({ db, users: 0 }));
    sharedDatabases.set(absolute, shared);
    shared.catch(() => sharedDatabases.delete(absolute));
  }
  const entry = await shared;
  entry.users++;
  let closed = false;
  return new SqlStore(entry.db, absolute, async () => {
    if (closed) return;
    closed = true;
    if (--entry.users > 0) return;
    if (sharedDatabases.get(absolute) === shared) sharedDatabases.delete(absolute);
    await entry.db.destroy();
  }, options.chunkBodies);
}

async function openDatabase(absolute: string): Promise<Kysely<Database>> {
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
  return db;
}
