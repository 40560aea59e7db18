/** The embedded store: one SQLite file (WAL, busy timeout), shared safely by processes on one machine. */
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import { BatonError, errorMessage } from '../errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../fs/private-files.js';
import { isFullyMigrated, migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { inlineChunkBodies, type ChunkBodies } from './chunk-bodies.js';
import { checkBodiesLocation } from './sql/object-bodies.js';
import { StoreEncryption } from './encryption.js';
import type { KeyMaterial } from './master-key.js';
import { SqlStore } from './sql-store.js';

const BUSY_TIMEOUT_MS = 10_000;

/**
 * One connection per file within a process, shared by every store opened on it. better-sqlite3 is
 * synchronous: a second connection in the same process that waits for the first one's write lock blocks the
 * event loop the first needs to commit, so both stall for the whole busy timeout and one fails with
 * SQLITE_BUSY. Sharing the connection lets kysely's driver serialise the transactions instead.
 */
const sharedDatabases = new Map<string, Promise<{ db: Kysely<Database>; users: number }>>();

export interface OpenSqliteOptions {
  /** Where chunk bodies and workspace blobs go (object storage: s3-bodies.ts); in the rows by default. The store closes it. */
  chunkBodies?: ChunkBodies;
  /** The master key (BATON_MASTER_KEY): a store first opened with one is encrypted; an encrypted store needs it. */
  masterKey?: KeyMaterial | undefined;
  /** For `baton keys enable` only: open a plaintext store although a key was given. */
  allowPlaintextWithKey?: boolean;
}

export async function openSqliteStore(path: string, options: OpenSqliteOptions = {}): Promise<SqlStore> {
  const absolute = path === ':memory:' ? path : resolve(path);
  const openEncryption = async (db: Kysely<Database>): Promise<StoreEncryption> =>
    StoreEncryption.open(db, options.masterKey, { location: absolute, lockingReads: false, allowPlaintextWithKey: options.allowPlaintextWithKey === true });
  if (absolute === ':memory:') {
    const db = await openDatabase(absolute);
    const encryption = await openEncryption(db).catch(async (error: unknown) => {
      await db.destroy();
      throw error;
    });
    await checkBodiesLocation(db, options.chunkBodies ?? inlineChunkBodies, absolute);
    return new SqlStore(db, absolute, undefined, options.chunkBodies, encryption);
  }
  let shared = sharedDatabases.get(absolute);
  if (!shared) {
    shared = openDatabase(absolute).then((db) => ({ db, users: 0 }));
    sharedDatabases.set(absolute, shared);
    shared.catch(() => sharedDatabases.delete(absolute));
  }
  const entry = await shared;
  entry.users++;
  let closed = false;
  const release = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (--entry.users > 0) return;
    if (sharedDatabases.get(absolute) === shared) sharedDatabases.delete(absolute);
    await entry.db.destroy();
  };
  let encryption: StoreEncryption;
  try {
    encryption = await openEncryption(entry.db);
    await checkBodiesLocation(entry.db, options.chunkBodies ?? inlineChunkBodies, absolute);
  } catch (error) {
    await release();
    options.chunkBodies?.close?.();
    throw error;
  }
  return new SqlStore(entry.db, absolute, release, options.chunkBodies, encryption);
}

/** Creates the store's directory, and any missing parents, 0700 whatever the umask; an existing one is left as it is. */
function createStoreDirectory(directory: string): void {
  const first = mkdirSync(directory, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  // mkdir's mode is narrowed by the umask (a umask of 0277 would leave 0500, where the file cannot be made).
  let path = first;
  chmodSync(path, PRIVATE_DIR_MODE);
  for (const part of relative(first, directory).split(sep).filter(Boolean)) {
    path = join(path, part);
    chmodSync(path, PRIVATE_DIR_MODE);
  }
}

/**
 * Creates a missing store file 0600, whatever the umask. SQLite would create it 0644 less the umask (so 0644,
 * readable by everyone, under the usual 022 or under 000), and gives the -wal and -shm files the main file's
 * mode; so making the main file private first makes all three private. An existing file keeps its mode.
 * verified with better-sqlite3 12.11.1 (SQLite 3.53.2): umask 000 gives 0644 for all three without this, and
 * 0600 for all three with it.
 */
function createStoreFile(path: string): void {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    fchmodSync(descriptor, PRIVATE_FILE_MODE);
  } finally {
    closeSync(descriptor);
  }
}

/**
 * One read of the migration table, instead of kysely's migrator (its lock table and several queries) on every
 * open: a store that has applied exactly baton's migrations needs none. A new store (no table yet), an older one
 * and one a newer baton migrated further all go through the migrator, which migrates or refuses as before.
 */
function hasEveryMigration(database: Sqlite.Database): boolean {
  try {
    return isFullyMigrated(database.prepare('SELECT name FROM baton_migrations').pluck().all() as string[]);
  } catch {
    return false;
  }
}

/**
 * The connection as kysely sees it, with SQLite's "database is locked" (the busy timeout spent waiting for
 * another process's write lock) told as what it is: on one machine, the holder is a baton process that is
 * stopped (SIGSTOP, Ctrl-Z, a suspended VM) or hung in the middle of a write.
 */
export function reportingLockedStore(database: Sqlite.Database, location: string): SqliteDatabase {
  const translate = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
      throw new BatonError('STORE_BUSY', `the store at ${location} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s`, {
        hint: `a stopped or hung baton process on this machine holds its write lock: find it with \`fuser ${location}-shm\`, let it go on (kill -CONT) or end it, then retry`,
        cause: error,
      });
    }
  };
  return {
    close: () => database.close(),
    prepare: (sql) => {
      const statement = translate(() => database.prepare(sql));
      return {
        reader: statement.reader,
        all: (parameters) => translate(() => statement.all(parameters)),
        run: (parameters) => translate(() => statement.run(parameters)),
        iterate: (parameters) => {
          const rows = translate(() => statement.iterate(parameters));
          return {
            next: () => translate(() => rows.next()),
            return: (value?: unknown) => rows.return?.(value) ?? { done: true, value },
            [Symbol.iterator]() {
              return this;
            },
          };
        },
      };
    },
  };
}

async function openDatabase(absolute: string): Promise<Kysely<Database>> {
  let database: Sqlite.Database;
  try {
    if (absolute !== ':memory:') {
      createStoreDirectory(dirname(absolute));
      createStoreFile(absolute);
    }
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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: reportingLockedStore(database, absolute) }) });
  if (!hasEveryMigration(database)) await migrateToLatest(db, { bytes: 'blob', bigInteger: 'integer', serialKey: 'integer' });
  return db;
}
