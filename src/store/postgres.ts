/**
 * The shared store: PostgreSQL through kysely's PostgresDialect and a `pg` Pool, with the same queries as the
 * SQLite store (sql-store.ts). Transactions run at READ COMMITTED: every multi-row write starts with a write
 * that takes the row lock its reads depend on (the conversation for startRun, the run for appendRunEvents, the
 * transcript version for appendTranscript and compactTranscript), so concurrent writers queue on that lock and
 * then read what the previous one committed. loadTranscript reads in one REPEATABLE READ snapshot.
 *
 * Every error from the server or the connection becomes a STORE_ERROR naming the store's URL, password removed.
 */
import pg from 'pg';
import {
  Kysely,
  PostgresDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
  sql,
} from 'kysely';
import { BatonError, isBatonError } from '../errors.js';
import { migrateToLatest, type MigrationDialect } from './migrations.js';
import type { Database } from './schema.js';
import { inlineChunkBodies, type ChunkBodies } from './chunk-bodies.js';
import { StoreEncryption } from './encryption.js';
import { checkBodiesLocation } from './sql/object-bodies.js';
import type { FleetWorkerStore } from './fleet-workers.js';
import type { KeyMaterial } from './master-key.js';
import { SqlFleetWorkers } from './sql/fleet-workers.js';
import { SqlRunQueue, type QueueJob } from './sql/run-queue.js';
import { SqlStore } from './sql-store.js';
import type { FinishRunInput, NewRunEvent, QueueRunInput, Run, StartRunInput, TranscriptAppend, TranscriptCursor } from './store.js';

export type { QueueJob } from './sql/run-queue.js';

export const POSTGRES_MIGRATION_DIALECT: MigrationDialect = { bytes: 'bytea', bigInteger: 'bigint', serialKey: 'bigserial' };

const CONNECT_TIMEOUT_MS = 10_000;
const HINT = 'check the URL given by --store or BATON_STORE, and that the PostgreSQL server is running and reachable';

/**
 * pg returns int8 (bigint, bigserial, count(*)) as strings so that no precision is lost. The store keeps
 * millisecond times, byte counts and row ids in them: all far below 2^53, so they are parsed as numbers.
 * Scoped to this store's pool; pg's global parsers stay untouched for other users of `pg` in the process.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** The channel on which every change to a run (status, new events) is announced with the run's id. */
export const RUN_CHANGES_CHANNEL = 'baton_run_changes';

/**
 * The SQL store on PostgreSQL, announcing each change to a run on RUN_CHANGES_CHANNEL (LISTEN/NOTIFY), so that
 * `baton serve` streams a run's events live whichever worker runs it. It also gives the fleet (src/fleet/) the
 * database URL, for the job queue that lives in the same database, the queue's writes that go with a run's
 * (sql/run-queue.ts), and the worker registry.
 */
export class PostgresStore extends SqlStore {
  /** The fleet's workers and their heartbeats (src/fleet/worker.ts). */
  readonly fleetWorkers: FleetWorkerStore;
  private readonly runQueue: SqlRunQueue;

  constructor(
    db: Kysely<Database>,
    location: string,
    /** The URL with its password: for the job queue's own connections, never for messages. */
    readonly url: string,
    encryption: StoreEncryption = StoreEncryption.plaintext(location),
    bodies: ChunkBodies = inlineChunkBodies,
  ) {
    super(db, location, undefined, bodies, encryption);
    this.fleetWorkers = new SqlFleetWorkers(db);
    this.runQueue = new SqlRunQueue(this.context, this.runs);
  }

  /**
   * The jobs graphile-worker's queue holds (waiting or running), for `baton doctor`; undefined while its schema is
   * not set up yet (`baton migrate` or the first `baton serve` / `baton worker` makes it).
   */
  async queuedJobCount(): Promise<number | undefined> {
    const rows = await sql<{ jobs: string }>`select count(*)::text as jobs from graphile_worker.jobs`.execute(this.db).catch(() => undefined);
    return rows ? Number(rows.rows[0]?.jobs ?? 0) : undefined;
  }

  override async startRun(input: StartRunInput): Promise<Run> {
    const run = await super.startRun(input);
    await this.announce(run.id);
    return run;
  }

  override async queueRun(input: QueueRunInput): Promise<Run> {
    const run = await super.queueRun(input);
    await this.announce(run.id);
    return run;
  }

  /** queueRun and the run's job in the queue (graphile-worker), in one transaction; `notFound()` without the conversation. */
  async queueRunWithJob(input: QueueRunInput, job: QueueJob, notFound: () => Error): Promise<Run> {
    const run = await this.runQueue.enqueue(input, job, notFound);
    await this.announce(run.id);
    return run;
  }

  /**
   * Puts run `runId`, which a stopping worker interrupted, back in the queue with `job`, in one transaction;
   * false (nothing changed) unless the run ended interrupted.
   */
  async handBackRun(runId: string, job: QueueJob): Promise<boolean> {
    const handedBack = await this.runQueue.handBack(runId, job);
    if (handedBack) await this.announce(runId);
    return handedBack;
  }

  override async finishRun(runId: string, result: FinishRunInput): Promise<Run> {
    const run = await super.finishRun(runId, result);
    await this.announce(runId);
    return run;
  }

  /** A delta append in one statement, one round trip, since it is every periodic save of every worker. */
  override async appendTranscript(input: TranscriptAppend): Promise<TranscriptCursor> {
    const base = input.base;
    if (!base) return super.appendTranscript(input);
    return this.transcripts.appendDeltaInOneStatement({ ...input, base });
  }

  override async appendRunEvents(runId: string, events: NewRunEvent[]): Promise<void> {
    await super.appendRunEvents(runId, events);
    if (events.length > 0) await this.announce(runId);
  }

  /** Tells listeners that run `runId` changed; best effort (a follower also polls). */
  async announce(runId: string): Promise<void> {
    await sql`select pg_notify(${RUN_CHANGES_CHANNEL}, ${runId})`.execute(this.db).catch(() => undefined);
  }

  /** PostgreSQL keeps old row versions until VACUUM FULL, which locks every table: that is the operator's to run. */
  override async discardFreedPages(): Promise<boolean> {
    return false;
  }
}

export interface OpenPostgresOptions {
  /** Where chunk bodies and workspace blobs go (object storage: s3-bodies.ts); in the rows by default. The store closes it. */
  chunkBodies?: ChunkBodies;
  /** The master key (BATON_MASTER_KEY): a store first opened with one is encrypted; an encrypted store needs it. */
  masterKey?: KeyMaterial | undefined;
  /** For `baton keys enable` only: open a plaintext store although a key was given. */
  allowPlaintextWithKey?: boolean;
}

/** Opens (and migrates) the PostgreSQL store at `url` (`postgres://user:password@host:port/database`). */
export async function openPostgresStore(url: string, options: OpenPostgresOptions = {}): Promise<PostgresStore> {
  const location = redactPostgresUrl(url);
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      types,
      application_name: 'baton',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // An idle pool does not keep a CLI process alive.
      allowExitOnIdle: true,
    });
  } catch (error) {
    throw new BatonError('STORE_ERROR', `cannot open the PostgreSQL store at ${location}: ${describe(error)}`, { hint: HINT, cause: error });
  }
  // An idle client whose connection drops (server restart) is reported here; without a listener the process
  // would die. The pool discards that client and the next query reports the problem as a STORE_ERROR.
  pool.on('error', () => {});

  const db = new Kysely<Database>({ dialect: new LocatedPostgresDialect({ pool }, location) });
  try {
    // Connect once first, so an unreachable server is reported as such rather than as a failed migration.
    await db.connection().execute(async () => undefined);
    await migrateToLatest(db, POSTGRES_MIGRATION_DIALECT);
  } catch (error) {
    options.masterKey?.bytes.fill(0);
    await db.destroy().catch(() => undefined);
    const detail = isBatonError(error) && error.code === 'STORE_ERROR' ? error.message.replace(`PostgreSQL store at ${location}: `, '') : describe(error);
    throw new BatonError('STORE_ERROR', `cannot open the PostgreSQL store at ${location}: ${detail}`, {
      hint: isBatonError(error) && error.hint ? error.hint : HINT,
      cause: error,
    });
  }
  let encryption: StoreEncryption;
  try {
    encryption = await StoreEncryption.open(db, options.masterKey, { location, lockingReads: true, allowPlaintextWithKey: options.allowPlaintextWithKey === true });
    await checkBodiesLocation(db, options.chunkBodies ?? inlineChunkBodies, location);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    options.chunkBodies?.close?.();
    throw error;
  }
  return new PostgresStore(db, location, url, encryption, options.chunkBodies);
}

/** The URL without its password (in the userinfo or as a `password` parameter), for messages and logs. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1@').replace(/([?&]password=)[^&]*/i, '$1***');
  }
}

/** A PostgresDialect whose errors (connecting, and every query) are STORE_ERRORs that name the store. */
class LocatedPostgresDialect extends PostgresDialect {
  constructor(
    config: ConstructorParameters<typeof PostgresDialect>[0],
    private readonly location: string,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new LocatedDriver(super.createDriver(), this.location);
  }
}

class LocatedDriver implements Driver {
  private readonly located = new WeakSet<DatabaseConnection>();

  constructor(
    private readonly inner: Driver,
    private readonly location: string,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection().catch((error: unknown) => {
      throw this.storeError(error);
    });
    if (!this.located.has(connection)) {
      this.located.add(connection);
      // kysely's PostgresDriver keeps one connection object per pg client: wrap its queries once.
      const executeQuery = connection.executeQuery.bind(connection);
      connection.executeQuery = async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        try {
          return await executeQuery<R>(query);
        } catch (error) {
          throw this.storeError(error);
        }
      };
    }
    return connection;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.savepoint!(connection, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.rollbackToSavepoint!(connection, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.releaseSavepoint!(connection, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }

  private storeError(error: unknown): unknown {
    if (isBatonError(error)) return error;
    return new BatonError('STORE_ERROR', `PostgreSQL store at ${this.location}: ${describe(error)}`, { hint: HINT, cause: error });
  }
}

/** pg's message, with its SQLSTATE; an AggregateError (every address refused) has an empty message of its own. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(describe).join('; ') || 'connection failed';
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message || (typeof code === 'string' ? code : error.name);
  return error instanceof pg.DatabaseError && code ? `${message} (SQLSTATE ${String(code)})` : message;
}
