/**
 * The PostgreSQL store: the shared store contract, plus what only a server database shows — migrations on a
 * real server, int8/bytea types, and races between stores with separate connection pools (as separate
 * machines would have) under READ COMMITTED. One throwaway cluster for the file; a fresh database per test,
 * copied from a template that was migrated once.
 */
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBatonError } from '../../src/errors.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import type { ChunkBodies } from '../../src/store/chunk-bodies.js';
import { decodeChunk, encodeChunk } from '../../src/store/chunk-codec.js';
import { generateKeyText, parseKey } from '../../src/store/master-key.js';
import { openPostgresStore, redactPostgresUrl } from '../../src/store/postgres.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import type { TranscriptCursor } from '../../src/store/store.js';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { useS3Server } from '../helpers/s3-server.js';
import { appendAfter, expectBatonError, jsonLines, sha256, sleep, storeContract, type OpenedStore } from './store-contract.js';

const TEMPLATE = 'baton_template';
/** Migrated once and first opened with ENCRYPTED_KEY, so it is an encrypted store (the contract's encrypted run). */
const ENCRYPTED_TEMPLATE = 'baton_template_encrypted';
const ENCRYPTED_KEY = generateKeyText();
let started: PostgresCluster | undefined;
let startError: unknown;
let databases = 0;

beforeAll(async () => {
  // A cluster that cannot start fails every test with the reason (through `cluster()`), rather than
  // failing this hook, which vitest would report as 63 skipped tests.
  try {
    const begun = performance.now();
    started = await startPostgresCluster();
    const clusterMs = performance.now() - begun;
    // Migrated once; every test's database is a copy of it (opening it then finds nothing to migrate).
    const store = await openPostgresStore(await started.createDatabase(TEMPLATE));
    await store.close();
    await (await openPostgresStore(await started.createDatabase(ENCRYPTED_TEMPLATE), { masterKey: parseKey(ENCRYPTED_KEY, 'test key') })).close();
    console.info(`PostgreSQL test cluster started in ${Math.round(clusterMs)} ms (${started.url}); template migrated in ${Math.round(performance.now() - begun - clusterMs)} ms`);
  } catch (error) {
    startError = error;
    console.error(`PostgreSQL test cluster: ${error instanceof Error ? error.message : String(error)}`);
  }
}, 120_000);

afterAll(async () => {
  await started?.stop();
});

function cluster(): PostgresCluster {
  if (!started) throw startError instanceof Error ? startError : new Error(`PostgreSQL test cluster did not start: ${String(startError)}`);
  return started;
}

/** A new database: a copy of the migrated template, or empty (`template1`). */
async function freshDatabase(template: string = TEMPLATE): Promise<{ name: string; url: string }> {
  const name = `baton_${process.pid}_${++databases}`;
  return { name, url: await cluster().createDatabase(name, { template }) };
}

storeContract('PostgreSQL', async () => {
  const database = await freshDatabase();
  const store = await openPostgresStore(database.url);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await cluster().dropDatabase(database.name);
    },
  };
});

/** A fresh database first opened with a master key (an encrypted store), its bodies where `chunkBodies` keeps them. */
async function encryptedStore(chunkBodies?: ChunkBodies): Promise<OpenedStore> {
  const database = await freshDatabase(ENCRYPTED_TEMPLATE);
  const store = await openPostgresStore(database.url, { masterKey: parseKey(ENCRYPTED_KEY, 'test key'), ...(chunkBodies ? { chunkBodies } : {}) });
  expect(store.encryptionStatus.encrypted).toBe(true);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await cluster().dropDatabase(database.name);
    },
  };
}

// The same contract on an encrypted store.
storeContract('PostgreSQL, encrypted', () => encryptedStore());

// The same contract with chunk bodies and workspace blobs in object storage (s3rver on loopback), on an encrypted
// store: sealed bodies through the one-statement delta save; sqlite.test.ts runs it plaintext and encrypted.
const s3 = useS3Server();

storeContract('PostgreSQL, encrypted, bodies in S3', async () => encryptedStore(await s3().bodies()));

describe('bodies in S3 on PostgreSQL', () => {
  it('a sweep waits for the save that holds an object\'s claim, then keeps the object that save names', async () => {
    const database = await freshDatabase();
    const clock = { now: 1_000_000 };
    const graceMs = 60_000;
    const location = s3().freshLocation();
    const bodies = await s3().bodies(location, { graceMs, now: () => clock.now });
    const store = await openPostgresStore(database.url, { chunkBodies: bodies });
    const watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
    try {
      const content = jsonLines(20);
      const one = newConversationId();
      await store.createConversation({ id: one, harness: 'codex', title: 't', cwd: '/w' });
      await appendAfter(store, { conversationId: one, base: undefined, before: Buffer.alloc(0), bytes: content });
      const two = newConversationId();
      await store.createConversation({ id: two, harness: 'codex', title: 't', cwd: '/w' });
      const cursor = await appendAfter(store, { conversationId: two, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(3, 0, 'other') });
      const kept = Buffer.from((await store.db.selectFrom('transcript_chunks').innerJoin('transcript_versions', 'transcript_versions.id', 'transcript_chunks.version_id').select('data').where('conversation_id', '=', one).executeTakeFirstOrThrow()).data);
      const encoded = await bodies.read(kept);
      // A one-statement delta save of the same bytes that failed after its claim and upload: a lone claim, so the
      // deletion below releases the object but leaves it for the grace period.
      await bodies.write(encoded, store.db);
      await store.deleteConversation(one);
      expect(await s3().objectKeys(location)).toHaveLength(2);

      let sweep: Promise<number> | undefined;
      await store.db.transaction().execute(async (trx) => {
        // A save of the same bytes into conversation two: its claim (and lock) taken, the object uploaded.
        await bodies.write(encoded, trx);
        // Far past the grace period: only the claim's lock stands between the sweep and the object.
        clock.now += 10 * graceMs;
        sweep = store.collectUnnamedBodies();
        for (let waited = 0; ; waited++) {
          const blocked = await watcher.query("select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
          if (blocked.rowCount! > 0) break;
          if (waited > 500) throw new Error('the sweep never waited for the claim');
          await sleep(10);
        }
        await trx.insertInto('transcript_chunks').values({ version_id: cursor.versionId, sequence: 99, codec: 'br', data: kept, byte_length: content.length, line_count_after: 0, sha256_after: 'x' }).execute();
      });
      expect(await sweep).toBe(0);
      expect(await s3().objectKeys(location)).toHaveLength(2);
      expect((await bodies.read(kept)).equals(encoded)).toBe(true);
    } finally {
      await watcher.end();
      await store.close();
      await cluster().dropDatabase(database.name);
    }
  });
});

/** A few hundred KB of real Codex rollouts: every fixture, repeated. */
async function realisticTranscript(): Promise<Buffer> {
  const root = new URL('../fixtures/codex/', import.meta.url);
  const parts: Buffer[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const folder = new URL(`${entry.name}/`, root);
    for (const name of await readdir(folder)) if (name.endsWith('.jsonl')) parts.push(await readFile(new URL(name, folder)));
  }
  expect(parts.length).toBeGreaterThan(0);
  const once = Buffer.concat(parts);
  const copies: Buffer[] = [];
  for (let length = 0; length < 400_000; length += once.length) copies.push(once);
  return Buffer.concat(copies);
}

/** Saves `content` in `chunks` appends split at line ends; returns the final cursor. */
async function saveInChunks(store: SqlStore, conversationId: string, content: Buffer, chunks: number): Promise<TranscriptCursor> {
  const boundaries: number[] = [];
  for (let part = 1; part < chunks; part++) {
    const newline = content.indexOf(0x0a, Math.floor((content.length * part) / chunks));
    if (newline !== -1 && newline + 1 < content.length) boundaries.push(newline + 1);
  }
  boundaries.push(content.length);
  let cursor: TranscriptCursor | undefined;
  let start = 0;
  for (const end of boundaries) {
    cursor = await appendAfter(store, { conversationId, base: cursor, before: content.subarray(0, start), bytes: content.subarray(start, end) });
    start = end;
  }
  return cursor!;
}

describe('postgres store', () => {
  let database: { name: string; url: string };
  const toClose: Array<{ close(): Promise<unknown> } | pg.Client> = [];

  beforeEach(async () => {
    database = await freshDatabase();
  });

  afterEach(async () => {
    for (const handle of toClose.splice(0).reverse()) await ('end' in handle ? handle.end() : handle.close());
    await cluster().dropDatabase(database.name);
  });

  async function openStore(url = database.url): Promise<SqlStore> {
    const store = await openPostgresStore(url);
    toClose.push(store);
    return store;
  }

  /** A plain pg connection to the test's database, for raw SQL behind the store's back. */
  async function raw(url = database.url): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    toClose.push(client);
    return client;
  }

  async function conversationWithRun(store: SqlStore): Promise<{ conversationId: string; runId: string }> {
    const conversationId = newConversationId();
    await store.createConversation({ id: conversationId, harness: 'codex', title: 't', cwd: '/work' });
    const run = await store.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host: 'h', cwd: '/work', leaseMs: 60_000 });
    return { conversationId, runId: run.id };
  }

  describe('opening', () => {
    it('migrates an empty database, records the migrations in baton_migrations, and re-opens without migrating again', async () => {
      const empty = await freshDatabase('template1');
      try {
        const first = await openPostgresStore(empty.url);
        const conversationId = newConversationId();
        await first.createConversation({ id: conversationId, harness: 'codex', title: 'kept', cwd: '/work' });
        const cursor = await appendAfter(first, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(3) });
        await first.close();

        const client = await raw(empty.url);
        const names = (await client.query<{ name: string }>('SELECT name FROM baton_migrations ORDER BY name')).rows.map((row) => row.name);
        expect(names).toEqual(['0001_initial', '0002_workspace_snapshots', '0003_fleet', '0004_forks', '0005_trust', '0006_token_revocation', '0007_redaction', '0008_run_usage', '0009_encryption', '0010_adoption', '0011_object_bodies', '0012_run_limits']);
        // The PostgreSQL column types of the migration dialect.
        const columns = await client.query<{ table_name: string; column_name: string; data_type: string; column_default: string | null }>(
          `SELECT table_name, column_name, data_type, column_default FROM information_schema.columns
            WHERE table_schema = 'public' AND (table_name, column_name) IN
              (('transcript_chunks', 'data'), ('transcript_versions', 'id'), ('conversations', 'created_at'), ('workspace_blobs', 'data'))
            ORDER BY table_name`,
        );
        expect(columns.rows.map((row) => [row.table_name, row.column_name, row.data_type])).toEqual([
          ['conversations', 'created_at', 'bigint'],
          ['transcript_chunks', 'data', 'bytea'],
          ['transcript_versions', 'id', 'bigint'],
          ['workspace_blobs', 'data', 'bytea'],
        ]);
        expect(columns.rows.find((row) => row.table_name === 'transcript_versions')?.column_default).toMatch(/^nextval\(/);

        const again = await openStore(empty.url);
        expect((await again.getConversation(conversationId))?.title).toBe('kept');
        expect((await again.loadTranscript(conversationId))?.files[0]?.cursor).toEqual(cursor);
        expect((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM baton_migrations')).rows[0]!.n).toBe(12);
      } finally {
        for (const handle of toClose.splice(0).reverse()) await ('end' in handle ? handle.end() : handle.close());
        await cluster().dropDatabase(empty.name);
      }
    });

    it('two stores opening one empty database at once migrate it once', async () => {
      const empty = await freshDatabase('template1');
      try {
        const stores = await Promise.all([openPostgresStore(empty.url), openPostgresStore(empty.url), openPostgresStore(empty.url)]);
        for (const store of stores) toClose.push(store);
        expect(await stores[0]!.listConversations()).toEqual([]);
        const client = await raw(empty.url);
        expect((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM baton_migrations')).rows[0]!.n).toBe(12);
      } finally {
        for (const handle of toClose.splice(0).reverse()) await ('end' in handle ? handle.end() : handle.close());
        await cluster().dropDatabase(empty.name);
      }
    });

    it('names the store by its URL without the password', async () => {
      const url = new URL(database.url);
      url.password = 's3cret-pw';
      const store = await openStore(url.toString());
      expect(store.location).toBe(database.url);
      expect(store.location).not.toContain('s3cret-pw');
      const error = await expectBatonError(store.startRun({ conversationId: 'missing', runId: newRunId(), kind: 'new', prompt: 'p', host: 'h', cwd: '/', leaseMs: 1 }), 'CONVERSATION_NOT_FOUND');
      expect(error.message).toContain(database.url);
      expect(error.message).not.toContain('s3cret-pw');
    });

    it('redacts passwords in the userinfo and in a password parameter', () => {
      expect(redactPostgresUrl('postgres://baton:hunter2@db.example:5433/baton')).toBe('postgres://baton@db.example:5433/baton');
      expect(redactPostgresUrl('postgresql://baton@db/baton?password=hunter2&sslmode=require')).toBe('postgresql://baton@db/baton?sslmode=require');
    });

    it('fails with STORE_ERROR naming the URL without the password when the server is unreachable', async () => {
      const error = await expectBatonError(openPostgresStore('postgres://baton:hunter2@127.0.0.1:1/baton'), 'STORE_ERROR');
      expect(error.message).toContain('postgres://baton@127.0.0.1:1/baton');
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(error.message).not.toContain('hunter2');
      expect(error.hint).toMatch(/BATON_STORE/);
    });

    it('fails with STORE_ERROR for a database that does not exist', async () => {
      const url = database.url.replace(/\/[^/]+$/, '/no_such_database');
      const error = await expectBatonError(openPostgresStore(url), 'STORE_ERROR');
      expect(error.message).toContain(url);
      expect(error.message).toMatch(/does not exist/);
    });

    it('reports a query on a lost connection as STORE_ERROR naming the store', async () => {
      const url = new URL(database.url);
      url.password = 'pw-not-shown';
      const store = await openStore(url.toString());
      await store.listConversations();
      await cluster().dropDatabase(database.name); // WITH (FORCE): terminates the store's connections
      const error = await expectBatonError(store.listConversations(), 'STORE_ERROR');
      expect(error.message).toContain(`PostgreSQL store at ${database.url}`);
      expect(error.message).not.toContain('pw-not-shown');
    });
  });

  describe('types', () => {
    it('returns bigint columns as numbers, beyond 32 bits too', async () => {
      const store = await openStore();
      const id = newConversationId();
      const runId = newRunId();
      const late = 4_102_444_800_123; // 2100-01-01, far beyond 2^31
      await store.importConversation({
        conversation: { id, harness: 'codex', sessionId: undefined, title: 'far future', cwd: '/w', createdAt: late, updatedAt: late + 1 },
        runs: [{ id: runId, conversationId: id, sequence: 1, kind: 'new', prompt: 'p', status: 'succeeded', host: 'h', cwd: '/w', startedAt: late, endedAt: late + 2, exitCode: 0, error: undefined, queuedAt: undefined, handoffs: 0, redaction: undefined }],
        events: [{ runId, sequence: 1, at: late + 3, type: 'x', data: { n: 1 } }],
        meta: undefined,
        files: [{ key: 'main', content: jsonLines(2), lineCount: 2, sha256: sha256(jsonLines(2)) }],
        workspace: undefined,
      });
      const conversation = (await store.getConversation(id))!;
      expect(conversation).toMatchObject({ createdAt: late, updatedAt: late + 1 });
      expect(typeof conversation.createdAt).toBe('number');
      const [run] = await store.listRuns(id);
      expect(run).toMatchObject({ startedAt: late, endedAt: late + 2, sequence: 1, exitCode: 0 });
      expect((await store.listRunEvents(runId))[0]).toMatchObject({ at: late + 3, sequence: 1 });
      const cursor = (await store.loadTranscript(id))!.files[0]!.cursor;
      for (const value of [cursor.versionId, cursor.byteLength, cursor.lineCount]) expect(typeof value).toBe('number');
    });

    it('does not change pg’s global int8 parser (other pg users in the process keep strings)', async () => {
      await openStore();
      const client = await raw();
      expect((await client.query<{ n: unknown }>('SELECT 5::int8 AS n')).rows[0]!.n).toBe('5');
    });

    it('stores chunks zstd-compressed in bytea and reads every byte back', async () => {
      const store = await openStore();
      const { conversationId } = await conversationWithRun(store);
      const content = await realisticTranscript();
      await saveInChunks(store, conversationId, content, 4);
      const client = await raw();
      const chunks = (await client.query<{ codec: string; stored: number; byte_length: string }>('SELECT codec, octet_length(data) AS stored, byte_length FROM transcript_chunks ORDER BY sequence')).rows;
      expect(chunks).toHaveLength(4);
      for (const chunk of chunks) expect(chunk.codec).toBe('zstd');
      expect(chunks.reduce((sum, chunk) => sum + Number(chunk.byte_length), 0)).toBe(content.length);
      expect(chunks.reduce((sum, chunk) => sum + chunk.stored, 0)).toBeLessThan(content.length / 4);
      const main = (await store.loadTranscript(conversationId))!.files[0]!;
      expect(main.content.equals(content)).toBe(true);
    });

    it('keeps every byte value, NUL included', async () => {
      const store = await openStore();
      const { conversationId } = await conversationWithRun(store);
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
      await appendAfter(store, { conversationId, base: undefined, before: Buffer.alloc(0), bytes });
      expect((await store.loadTranscript(conversationId))!.files[0]!.content.equals(bytes)).toBe(true);
    });
  });

  describe('corruption of stored chunks is detected on load', () => {
    let store: SqlStore;
    let conversationId: string;
    let client: pg.Client;

    beforeEach(async () => {
      store = await openStore();
      ({ conversationId } = await conversationWithRun(store));
      await saveInChunks(store, conversationId, await realisticTranscript(), 3);
      expect((await store.loadTranscript(conversationId))!.files[0]!.lineCount).toBeGreaterThan(0);
      client = await raw();
    });

    const chunkData = async (sequence: number): Promise<Buffer> =>
      (await client.query<{ data: Buffer }>('SELECT data FROM transcript_chunks WHERE sequence = $1', [sequence])).rows[0]!.data;
    const setChunkData = async (sequence: number, data: Buffer): Promise<void> => {
      expect((await client.query('UPDATE transcript_chunks SET data = $1 WHERE sequence = $2', [data, sequence])).rowCount).toBe(1);
    };

    it.each([0, 1, 2])('a flipped byte in the compressed data of chunk %i → TRANSCRIPT_CORRUPT', async (sequence) => {
      const data = Buffer.from(await chunkData(sequence));
      const middle = Math.floor(data.length / 2);
      data[middle] = data[middle]! ^ 0x5a;
      await setChunkData(sequence, data);
      const error = await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
      expect(error.message).toContain(conversationId);
    });

    it('validly compressed but different content → TRANSCRIPT_CORRUPT', async () => {
      await setChunkData(1, encodeChunk(jsonLines(50, 0, 'forged')).data);
      await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
    });

    it('a deleted chunk → TRANSCRIPT_CORRUPT', async () => {
      expect((await client.query('DELETE FROM transcript_chunks WHERE sequence = 1')).rowCount).toBe(1);
      await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
    });

    it('an unknown codec → TRANSCRIPT_CORRUPT', async () => {
      await client.query("UPDATE transcript_chunks SET codec = 'xz' WHERE sequence = 2");
      await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
    });

    it('brotli chunks (written before zstd) beside zstd ones load byte for byte', async () => {
      const content = (await store.loadTranscript(conversationId))!.files[0]!.content;
      const row = (await client.query<{ codec: 'zstd'; data: Buffer }>('SELECT codec, data FROM transcript_chunks WHERE sequence = 1')).rows[0]!;
      expect(row.codec).toBe('zstd');
      await client.query("UPDATE transcript_chunks SET codec = 'br', data = $1 WHERE sequence = 1", [encodeChunk(decodeChunk(row), 'br').data]);
      expect((await store.loadTranscript(conversationId))!.files[0]!.content.equals(content)).toBe(true);
    });
  });

  describe('two stores (two pools) on one database', () => {
    it('racing startRun for one conversation: exactly one wins, the other gets CONVERSATION_BUSY', async () => {
      const one = await openStore();
      const two = await openStore();
      for (let round = 0; round < 10; round++) {
        const conversationId = newConversationId();
        await one.createConversation({ id: conversationId, harness: 'codex', title: 'race', cwd: '/work' });
        const start = (store: SqlStore, host: string) => store.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host, cwd: '/work', leaseMs: 60_000 });
        const results = await Promise.allSettled([start(one, 'machine-a'), start(two, 'machine-b')]);

        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toMatchObject({ name: 'BatonError', code: 'CONVERSATION_BUSY' });
        const winner = (won[0] as PromiseFulfilledResult<{ id: string; sequence: number }>).value;
        expect(winner.sequence).toBe(1);
        expect((lost[0]!.reason as Error).message).toContain(winner.id);
        expect((await one.listRuns(conversationId)).map((run) => run.id)).toEqual([winner.id]);
        expect((await two.getConversation(conversationId))?.activeRunId).toBe(winner.id);
      }
    });

    it('racing takeovers of an expired lease: one new run, the stale run failed once', async () => {
      const stores = [await openStore(), await openStore(), await openStore()];
      for (let round = 0; round < 5; round++) {
        const conversationId = newConversationId();
        await stores[0]!.createConversation({ id: conversationId, harness: 'codex', title: 'race', cwd: '/work' });
        const stale = await stores[0]!.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host: 'dead', cwd: '/work', leaseMs: 1 });
        await sleep(5);
        const results = await Promise.allSettled(
          stores.map((store, index) => store.startRun({ conversationId, runId: newRunId(), kind: 'resume', prompt: 'p', host: `m${index}`, cwd: '/work', leaseMs: 60_000 })),
        );
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of results) if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'CONVERSATION_BUSY' });
        const runs = await stores[1]!.listRuns(conversationId);
        expect(runs.map((run) => [run.sequence, run.status])).toEqual([
          [1, 'failed'],
          [2, 'running'],
        ]);
        expect(runs[0]!.id).toBe(stale.id);
      }
    });

    it('a takeover racing the stale run’s own finishRun neither deadlocks nor loses the new lease', async () => {
      const one = await openStore();
      const two = await openStore();
      for (let round = 0; round < 15; round++) {
        const conversationId = newConversationId();
        await one.createConversation({ id: conversationId, harness: 'codex', title: 'race', cwd: '/work' });
        const stale = await one.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host: 'slow', cwd: '/work', leaseMs: 1 });
        await sleep(3);
        const nextId = newRunId();
        const [finished, taken] = await Promise.allSettled([
          one.finishRun(stale.id, { status: 'succeeded', exitCode: 0, error: undefined }),
          two.startRun({ conversationId, runId: nextId, kind: 'resume', prompt: 'p', host: 'fresh', cwd: '/work', leaseMs: 60_000 }),
        ]);
        expect(finished.status, String((finished as PromiseRejectedResult).reason)).toBe('fulfilled');
        expect(taken.status, String((taken as PromiseRejectedResult).reason)).toBe('fulfilled');
        expect((await one.getConversation(conversationId))?.activeRunId).toBe(nextId);
        expect((await one.getRun(stale.id))?.endedAt).toBeDefined();
      }
    });

    it('racing appends on one base: exactly one lands, the other gets STORE_ERROR, the version stays whole', async () => {
      const one = await openStore();
      const two = await openStore();
      const { conversationId } = await conversationWithRun(one);
      let before = jsonLines(5);
      let cursor = await appendAfter(one, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: before });
      for (let round = 0; round < 10; round++) {
        const candidates = [jsonLines(2, 100 * round, 'one'), jsonLines(3, 100 * round, 'two')];
        const results = await Promise.allSettled([
          appendAfter(one, { conversationId, base: cursor, before, bytes: candidates[0]! }),
          appendAfter(two, { conversationId, base: cursor, before, bytes: candidates[1]! }),
        ]);
        const won = results.findIndex((result) => result.status === 'fulfilled');
        expect(won).not.toBe(-1);
        const lost = results[1 - won]!;
        expect(lost.status).toBe('rejected');
        expect((lost as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_ERROR' });
        before = Buffer.concat([before, candidates[won]!]);
        cursor = (results[won] as PromiseFulfilledResult<TranscriptCursor>).value;
        const main = (await two.loadTranscript(conversationId))!.files[0]!;
        expect(main.content.equals(before)).toBe(true);
        expect(main.cursor).toEqual(cursor);
      }
    });

    it('concurrent appendRunEvents from several stores number the events 1…n without gaps or clashes', async () => {
      const stores = [await openStore(), await openStore(), await openStore()];
      const { runId } = await conversationWithRun(stores[0]!);
      await Promise.all(
        stores.flatMap((store, index) =>
          Array.from({ length: 10 }, (_, batch) => store.appendRunEvents(runId, [{ at: batch, type: `s${index}`, data: batch }, { at: batch, type: `s${index}`, data: batch }])),
        ),
      );
      const events = await stores[1]!.listRunEvents(runId);
      expect(events.map((event) => event.sequence)).toEqual(Array.from({ length: 60 }, (_, index) => index + 1));
    });

    it('loadTranscript reads one snapshot: an append + compaction committed between its version and chunk reads does not tear it', async () => {
      const store = await openStore();
      const { conversationId } = await conversationWithRun(store);
      const first = jsonLines(5);
      const cursor = await appendAfter(store, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: first });
      const whole = Buffer.concat([first, jsonLines(4, 5)]);

      // Hold the chunks table, so the load reads the version row and then waits at its chunk read.
      const writer = await raw();
      await writer.query('BEGIN');
      await writer.query('LOCK TABLE transcript_chunks IN ACCESS EXCLUSIVE MODE');
      const loading = store.loadTranscript(conversationId);
      const watcher = await raw();
      for (let waited = 0; ; waited += 10) {
        const blocked = await watcher.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        if (blocked.rowCount) break;
        if (waited > 10_000) throw new Error('the load never reached its chunk read');
        await sleep(10);
      }
      // What an append followed by compactTranscript commits: the version grows and its chunks merge into one.
      await writer.query('DELETE FROM transcript_chunks WHERE version_id = $1', [cursor.versionId]);
      await writer.query(
        `INSERT INTO transcript_chunks (version_id, sequence, codec, data, byte_length, line_count_after, sha256_after) VALUES ($1, 0, 'none', $2, $3, 9, $4)`,
        [cursor.versionId, whole, whole.length, sha256(whole)],
      );
      await writer.query('UPDATE transcript_versions SET byte_length = $2, line_count = 9, sha256 = $3 WHERE id = $1', [cursor.versionId, whole.length, sha256(whole)]);
      await writer.query('COMMIT');

      const loaded = (await loading)!.files[0]!;
      expect(loaded.content.equals(first)).toBe(true);
      expect(loaded.cursor).toEqual(cursor);
      expect((await store.loadTranscript(conversationId))!.files[0]!.content.equals(whole)).toBe(true);
    });

    it('loadTranscript never sees a torn version while another store appends and compacts', async () => {
      const writer = await openStore();
      const reader = await openStore();
      const { conversationId } = await conversationWithRun(writer);
      let content = jsonLines(20);
      let cursor = await appendAfter(writer, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: content });
      let writing = true;
      const write = (async () => {
        for (let index = 0; index < 60; index++) {
          const more = jsonLines(3, 1000 + index * 3);
          cursor = await appendAfter(writer, { conversationId, base: cursor, before: content, bytes: more });
          content = Buffer.concat([content, more]);
          if (index % 4 === 3) await writer.compactTranscript(cursor.versionId);
        }
        writing = false;
      })();
      const seen: Buffer[] = [];
      const read = (async () => {
        while (writing) {
          // Verified on load: a torn version (say, chunks merged after the version row was read) is TRANSCRIPT_CORRUPT.
          const main = (await reader.loadTranscript(conversationId))!.files[0]!;
          expect(main.cursor.byteLength).toBe(main.content.length);
          seen.push(main.content);
        }
      })();
      await Promise.all([write, read]);
      expect(seen.length).toBeGreaterThan(5);
      // Whatever a load saw is a prefix of what the writer wrote.
      for (const loaded of seen) expect(loaded.equals(content.subarray(0, loaded.length))).toBe(true);
      expect((await reader.loadTranscript(conversationId))!.files[0]!.content.equals(content)).toBe(true);
    });
  });

  it('a duplicate conversation id is a STORE_ERROR (not a raw pg error)', async () => {
    const store = await openStore();
    const id = newConversationId();
    await store.createConversation({ id, harness: 'codex', title: 'a', cwd: '/' });
    let caught: unknown;
    await store.createConversation({ id, harness: 'codex', title: 'b', cwd: '/' }).catch((error: unknown) => (caught = error));
    expect(isBatonError(caught, 'STORE_ERROR')).toBe(true);
    expect((caught as Error).message).toMatch(/duplicate key/);
  });
});
