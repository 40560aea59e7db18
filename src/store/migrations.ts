/** Versioned schema migrations, applied in name order by kysely's Migrator. Never edit a released one. */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { BatonError } from '../errors.js';

export interface MigrationDialect {
  /** Column type for raw bytes. */
  bytes: 'blob' | 'bytea';
  /** Column type for millisecond timestamps and byte counts. */
  bigInteger: 'integer' | 'bigint';
  /** Column type for the auto-increment key of transcript versions. */
  serialKey: 'integer' | 'bigserial';
}

function migrations(dialect: MigrationDialect): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('conversations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('harness', 'text', (c) => c.notNull())
          .addColumn('session_id', 'text')
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('cwd', 'text', (c) => c.notNull())
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('updated_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('active_run_id', 'text')
          .addColumn('lease_expires_at', dialect.bigInteger)
          .execute();
        await db.schema.createIndex('conversations_updated_at').on('conversations').column('updated_at').execute();

        await db.schema
          .createTable('runs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
          .addColumn('sequence', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('prompt', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('cwd', 'text', (c) => c.notNull())
          .addColumn('started_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('ended_at', dialect.bigInteger)
          .addColumn('exit_code', 'integer')
          .addColumn('error', 'text')
          .addUniqueConstraint('runs_conversation_sequence', ['conversation_id', 'sequence'])
          .execute();

        await db.schema
          .createTable('run_events')
          .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
          .addColumn('sequence', 'integer', (c) => c.notNull())
          .addColumn('at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('run_events_pk', ['run_id', 'sequence'])
          .execute();

        await db.schema
          .createTable('transcript_versions')
          .addColumn('id', dialect.serialKey, (c) =>
            dialect.serialKey === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
          .addColumn('file_key', 'text', (c) => c.notNull())
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('created_by_run_id', 'text')
          .addColumn('line_count', dialect.bigInteger, (c) => c.notNull())
          .addColumn('byte_length', dialect.bigInteger, (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('meta', 'text')
          .execute();
        await db.schema
          .createIndex('transcript_versions_by_file')
          .on('transcript_versions')
          .columns(['conversation_id', 'file_key', 'id'])
          .execute();

        await db.schema
          .createTable('transcript_chunks')
          .addColumn('version_id', dialect.bigInteger, (c) =>
            c.notNull().references('transcript_versions.id').onDelete('cascade'),
          )
          .addColumn('sequence', 'integer', (c) => c.notNull())
          .addColumn('codec', 'text', (c) => c.notNull())
          .addColumn('data', dialect.bytes, (c) => c.notNull())
          .addColumn('byte_length', dialect.bigInteger, (c) => c.notNull())
          .addColumn('line_count_after', dialect.bigInteger, (c) => c.notNull())
          .addColumn('sha256_after', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('transcript_chunks_pk', ['version_id', 'sequence'])
          .execute();
      },
    },
    '0002_workspace_snapshots': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('workspace_snapshots')
          .addColumn('id', dialect.serialKey, (c) => (dialect.serialKey === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('manifest', 'text', (c) => c.notNull())
          // The transcript this snapshot belongs to: its main file's version and length at the save.
          .addColumn('transcript_version_id', dialect.bigInteger)
          .addColumn('transcript_byte_length', dialect.bigInteger)
          .execute();
        await db.schema.createIndex('workspace_snapshots_by_conversation').on('workspace_snapshots').columns(['conversation_id', 'id']).execute();
        await db.schema
          .createTable('workspace_blobs')
          .addColumn('snapshot_id', dialect.bigInteger, (c) => c.notNull().references('workspace_snapshots.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('codec', 'text', (c) => c.notNull())
          .addColumn('data', dialect.bytes, (c) => c.notNull())
          .addColumn('byte_length', dialect.bigInteger, (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('workspace_blobs_pk', ['snapshot_id', 'name'])
          .execute();
      },
    },
    '0003_fleet': {
      async up(db: Kysely<any>) {
        // Conversations started through `baton serve` belong to a tenant; local ones have none.
        await db.schema.alterTable('conversations').addColumn('tenant', 'text').execute();
        // What every run of the conversation launches with (model, system prompt), as JSON.
        await db.schema.alterTable('conversations').addColumn('options', 'text').execute();
        await db.schema.createIndex('conversations_by_tenant').on('conversations').columns(['tenant', 'updated_at']).execute();
        // A queued run waits for a worker; it is handed back (and counted here) when its worker shuts down.
        await db.schema.alterTable('runs').addColumn('queued_at', dialect.bigInteger).execute();
        await db.schema.alterTable('runs').addColumn('handoffs', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('fleet_workers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('started_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('heartbeat_at', dialect.bigInteger, (c) => c.notNull())
          // The job queue's own ids for this worker's job slots (JSON array), to unlock their jobs if it dies.
          .addColumn('queue_worker_ids', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0004_forks': {
      async up(db: Kysely<any>) {
        // A conversation made from another one's work (e.g. a run that lost its lease): where from and why, as JSON.
        await db.schema.alterTable('conversations').addColumn('forked_from', 'text').execute();
      },
    },
    '0005_trust': {
      async up(db: Kysely<any>) {
        // Conversations that arrived by import are 'untrusted' until the user says otherwise; the rest, as before.
        await db.schema.alterTable('conversations').addColumn('trust', 'text', (c) => c.notNull().defaultTo('trusted')).execute();
      },
    },
    '0006_token_revocation': {
      async up(db: Kysely<any>) {
        // A revoked token keeps its row (for `baton token list`); the server refuses it from then on.
        await db.schema.alterTable('api_tokens').addColumn('revoked_at', dialect.bigInteger).execute();
        // When a server last let the token in, recorded at most once a minute per token and server.
        await db.schema.alterTable('api_tokens').addColumn('last_used_at', dialect.bigInteger).execute();
        // One row, bumped by every revocation: a server that caches known tokens asks for it (once a second)
        // instead of asking about every token on every request. See tokenChecker in src/fleet/tokens.ts.
        await db.schema
          .createTable('api_token_generation')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('generation', dialect.bigInteger, (c) => c.notNull())
          .execute();
        await db.insertInto('api_token_generation').values({ id: 1, generation: 0 }).execute();
      },
    },
    '0007_redaction': {
      async up(db: Kysely<any>) {
        // Which redaction ran on what each run saved (src/redact/): JSON, or null for runs saved before it existed.
        await db.schema.alterTable('runs').addColumn('redaction', 'text').execute();
      },
    },
    '0008_run_usage': {
      async up(db: Kysely<any>) {
        // Model tokens a run used, as a worker's model proxy counted them (see RunUsage); null when nothing did.
        for (const column of ['usage_input_tokens', 'usage_cached_input_tokens', 'usage_output_tokens', 'usage_requests']) {
          await db.schema.alterTable('runs').addColumn(column, dialect.bigInteger).execute();
        }
        // The stable code of a failure baton names (TOKEN_LIMIT_EXCEEDED when a run used up its tokens …).
        await db.schema.alterTable('runs').addColumn('error_code', 'text').execute();
      },
    },
    '0009_encryption': {
      async up(db: Kysely<any>) {
        // Whether the store is encrypted: one row, written when the store is first opened after this migration
        // (encrypted if a master key was given and the store holds no conversation yet), never changed after
        // except by `baton keys enable` and `baton keys rotate`. See src/store/encryption.ts.
        await db.schema
          .createTable('store_encryption')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('key_check', 'text')
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('rotated_at', dialect.bigInteger)
          .execute();
        // Data keys, wrapped by the master key: one per conversation (deleted with it) and one per tenant with secrets.
        await db.schema
          .createTable('data_keys')
          .addColumn('owner', 'text', (c) => c.primaryKey())
          .addColumn('wrapped', dialect.bytes, (c) => c.notNull())
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('tenant_secrets')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('updated_at', dialect.bigInteger, (c) => c.notNull())
          .addPrimaryKeyConstraint('tenant_secrets_pk', ['tenant', 'name'])
          .execute();
      },
    },
    '0010_adoption': {
      async up(db: Kysely<any>) {
        // A conversation taken in from a session started outside baton (`baton adopt`): the session's harness, id,
        // host, path and when, as JSON (sealed in an encrypted store). Adoptions are found by session_id.
        await db.schema.alterTable('conversations').addColumn('adopted_from', 'text').execute();
        await db.schema.createIndex('conversations_by_session').on('conversations').columns(['harness', 'session_id']).execute();
      },
    },
    '0011_object_bodies': {
      async up(db: Kysely<any>) {
        // Where the store's bodies live when they are in object storage (--blobs): one row, see sql/object-bodies.ts.
        await db.schema
          .createTable('blob_storage')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('location', 'text', (c) => c.notNull())
          .addColumn('created_at', dialect.bigInteger, (c) => c.notNull())
          .execute();
        // The objects bodies were written to, with the claims that keep collection safe against saves in flight.
        await db.schema
          .createTable('body_objects')
          .addColumn('reference', dialect.bytes, (c) => c.primaryKey())
          .addColumn('claimed_at', dialect.bigInteger, (c) => c.notNull())
          .addColumn('released_at', dialect.bigInteger)
          .execute();
        await db.schema.createIndex('body_objects_released').on('body_objects').columns(['released_at', 'claimed_at']).execute();
        // Rows that name an object keep a reference of exactly 78 bytes (OBJECT_REFERENCE_LENGTH): a partial index
        // over those finds the rows naming an object without indexing inline bodies (megabytes, too large for a
        // PostgreSQL btree entry). Literal, not a parameter, so that SQLite's planner matches the queries' term.
        for (const table of ['transcript_chunks', 'workspace_blobs']) {
          await sql`create index ${sql.id(`${table}_by_object`)} on ${sql.table(table)} (data) where length(data) = 78`.execute(db);
        }
      },
    },
    '0012_run_limits': {
      async up(db: Kysely<any>) {
        // A queued run's own stall timeout and time cap (POST …/conversations, …/followups), for the worker that runs it.
        await db.schema.alterTable('runs').addColumn('limits', 'text').execute();
      },
    },
  };
}

/** Every migration's name, in the order they apply (which the names' order is). */
export function migrationNames(): string[] {
  return Object.keys(migrations({ bytes: 'blob', bigInteger: 'integer', serialKey: 'integer' })).sort();
}

/** The names of the migrations a store has applied (its migration table's rows) are all of them, none unknown. */
export function isFullyMigrated(applied: readonly string[]): boolean {
  const names = migrationNames();
  const sorted = [...applied].sort();
  return sorted.length === names.length && sorted.every((name, index) => name === names[index]);
}

export async function migrateToLatest(db: Kysely<any>, dialect: MigrationDialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, migrationTableName: 'baton_migrations', migrationLockTableName: 'baton_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new BatonError('STORE_ERROR', `store migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'check that the store is writable and was not created by a newer baton',
      cause: error,
    });
  }
}
