import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newConversationId, newRunId } from '../../src/ids.js';
import { decodeChunk, encodeChunk, isChunkCodec } from '../../src/store/chunk-codec.js';
import { generateKeyText, parseKey } from '../../src/store/master-key.js';
import { openSqliteStore, reportingLockedStore } from '../../src/store/sqlite.js';
import { BatonError } from '../../src/errors.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import type { TranscriptCursor } from '../../src/store/store.js';
import { useS3Server } from '../helpers/s3-server.js';
import { appendAfter, expectBatonError, jsonLines, sha256, storeContract } from './store-contract.js';

interface ChildOutcome {
  ok: boolean;
  runId?: string;
  sequence?: number;
  code?: string;
  message?: string;
}

/** Opens a store at `path` in a child process with `umask` (octal) and returns the modes it printed. */
async function storeModesInChild(umask: string, path: string, ...directories: string[]): Promise<Record<string, string>> {
  const script = new URL('./store-modes-child.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script, umask, path, ...directories], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`store-modes-child exited with ${code}: ${stderr}`);
  return JSON.parse(stdout);
}

/** Starts start-run-child.ts in its own node process; `ready` resolves once it opened the store. */
function startRunInChild(path: string, conversationId: string, host: string) {
  const script = new URL('./start-run-child.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script, path, conversationId, host], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`child ${host} ended early: ${stderr}`);
    return line.value;
  };
  return {
    ready: next().then((line) => expect(line).toBe('ready')),
    go: async (): Promise<ChildOutcome> => {
      child.stdin.write('go\n');
      const outcome = JSON.parse(await next()) as ChildOutcome;
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
      return outcome;
    },
    kill: () => child.kill(),
  };
}

storeContract('sqlite', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'baton-sqlite-contract-'));
  const store = await openSqliteStore(join(directory, 'baton.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

// The same contract with chunk bodies and workspace blobs in object storage: a real S3-protocol server (s3rver).
const s3 = useS3Server();

storeContract('sqlite, bodies in S3', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'baton-sqlite-s3-'));
  const store = await openSqliteStore(join(directory, 'baton.db'), { chunkBodies: await s3().bodies() });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

// The same contract on an encrypted store (a master key given when the store was made), bodies inline and outside.
storeContract('sqlite, encrypted', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'baton-sqlite-encrypted-'));
  const store = await openSqliteStore(join(directory, 'baton.db'), { masterKey: parseKey(generateKeyText(), 'test key') });
  expect((store as SqlStore).encryptionStatus.encrypted).toBe(true);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

storeContract('sqlite, encrypted, bodies in S3', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'baton-sqlite-encrypted-s3-'));
  const store = await openSqliteStore(join(directory, 'baton.db'), { chunkBodies: await s3().bodies(), masterKey: parseKey(generateKeyText(), 'test key') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
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
  let length = 0;
  while (length < 400_000) {
    copies.push(once);
    length += once.length;
  }
  return Buffer.concat(copies);
}

describe('sqlite store', () => {
  let directory: string;
  let path: string;
  const toClose: Array<{ close(): unknown }> = [];

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'baton-sqlite-'));
    path = join(directory, 'baton.db');
  });

  afterEach(async () => {
    for (const handle of toClose.splice(0).reverse()) await handle.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function openStore(): Promise<SqlStore> {
    const store = await openSqliteStore(path);
    toClose.push(store);
    return store;
  }

  function rawConnection(): Sqlite.Database {
    const raw = new Sqlite(path);
    toClose.push(raw);
    return raw;
  }

  it("tells a write that waited out another process's lock what holds it, not SQLite's bare 'database is locked'", async () => {
    await openStore(); // creates and migrates the file
    const holder = rawConnection();
    holder.exec('BEGIN IMMEDIATE'); // a writer stopped mid-transaction
    const waiter = rawConnection();
    waiter.pragma('busy_timeout = 0'); // the store waits 10 s; this connection gives up at once
    const statement = reportingLockedStore(waiter, path).prepare("INSERT INTO conversations (id) VALUES ('c_1')");
    let caught: unknown;
    try {
      statement.run([]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BatonError);
    expect((caught as BatonError).code).toBe('STORE_BUSY');
    expect((caught as BatonError).message).toContain(path);
    expect((caught as BatonError).hint).toContain(`fuser ${path}-shm`);
    holder.exec('ROLLBACK');
    // Other failures stay as they are.
    expect(() => reportingLockedStore(waiter, path).prepare('SELECT * FROM no_such_table')).toThrow(/no such table/);
  });

  async function conversationWithRun(store: SqlStore): Promise<{ conversationId: string; runId: string }> {
    const conversationId = newConversationId();
    await store.createConversation({ id: conversationId, harness: 'codex', title: 't', cwd: '/work' });
    const run = await store.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host: 'h', cwd: '/work', leaseMs: 60_000 });
    return { conversationId, runId: run.id };
  }

  /** Saves `content` in chunks of `chunks` parts (split on line boundaries), returns the final cursor. */
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

  describe('opening', () => {
    it('puts the database in WAL mode', async () => {
      await openStore();
      const raw = rawConnection();
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    });

    it('creates the directory of the store file', async () => {
      path = join(directory, 'nested', 'deeper', 'baton.db');
      const store = await openStore();
      expect(store.location).toBe(path);
      expect(await store.listConversations()).toEqual([]);
    });

    it('records applied migrations in baton_migrations and re-opens an existing store', async () => {
      const first = await openStore();
      const conversationId = newConversationId();
      await first.createConversation({ id: conversationId, harness: 'codex', title: 'kept', cwd: '/work' });
      const cursor = await appendAfter(first, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(3) });
      await first.close();
      toClose.splice(toClose.indexOf(first), 1);

      const raw = rawConnection();
      const migrations = raw.prepare('SELECT name FROM baton_migrations ORDER BY name').all() as Array<{ name: string }>;
      expect(migrations.map((row) => row.name)).toEqual(['0001_initial', '0002_workspace_snapshots', '0003_fleet', '0004_forks', '0005_trust', '0006_token_revocation', '0007_redaction', '0008_run_usage', '0009_encryption', '0010_adoption', '0011_object_bodies', '0012_run_limits']);

      const again = await openStore();
      expect((await again.getConversation(conversationId))?.title).toBe('kept');
      expect((await again.loadTranscript(conversationId))?.files[0]?.cursor).toEqual(cursor);
      expect((raw.prepare('SELECT count(*) AS n FROM baton_migrations').get() as { n: number }).n).toBe(12); // re-opening applied nothing twice
    });

    it('refuses a store a newer baton migrated further, although every migration it knows is applied', async () => {
      const first = await openStore();
      await first.close();
      toClose.splice(toClose.indexOf(first), 1);
      const raw = rawConnection();
      raw.prepare("INSERT INTO baton_migrations (name, timestamp) VALUES ('9999_from_the_future', '2030-01-01T00:00:00.000Z')").run();
      await expect(openStore()).rejects.toMatchObject({ code: 'STORE_ERROR', message: expect.stringContaining('migration') });
    });

    it('creates the store file, its -wal and -shm 0600 and its directories 0700, even with umask 000', async () => {
      path = join(directory, 'made', 'by-baton', 'baton.db');
      const modes = await storeModesInChild('000', path, join(directory, 'made'), join(directory, 'made', 'by-baton'));
      expect(modes).toEqual({ [path]: '600', [`${path}-wal`]: '600', [`${path}-shm`]: '600', [join(directory, 'made')]: '700', [join(directory, 'made', 'by-baton')]: '700' });
    });

    it('creates the store files 0600 in a directory that already exists, and leaves that directory\'s mode alone', async () => {
      const existing = join(directory, 'shared');
      await mkdir(existing, { mode: 0o755 });
      await chmod(existing, 0o755);
      path = join(existing, 'baton.db');
      for (const umask of ['000', '022']) {
        await rm(path, { force: true });
        expect(await storeModesInChild(umask, path, existing)).toEqual({ [path]: '600', [`${path}-wal`]: '600', [`${path}-shm`]: '600', [existing]: '755' });
      }
    });

    it('makes its directories usable (0700) even under a umask that would leave them unwritable', async () => {
      path = join(directory, 'strict', 'baton.db');
      expect(await storeModesInChild('277', path, join(directory, 'strict'))).toEqual({ [path]: '600', [`${path}-wal`]: '600', [`${path}-shm`]: '600', [join(directory, 'strict')]: '700' });
    });

    it('fails with STORE_ERROR when the path cannot hold a database', async () => {
      await expectBatonError(openSqliteStore(directory), 'STORE_ERROR');
    });
  });

  describe('compression', () => {
    it('stores realistic transcript chunks zstd-compressed, much smaller than the raw bytes', async () => {
      const store = await openStore();
      const { conversationId } = await conversationWithRun(store);
      const content = await realisticTranscript();
      expect(content.length).toBeGreaterThan(300_000);
      await saveInChunks(store, conversationId, content, 4);

      const raw = rawConnection();
      const chunks = raw.prepare('SELECT codec, length(data) AS stored, byte_length FROM transcript_chunks ORDER BY sequence').all() as Array<{ codec: string; stored: number; byte_length: number }>;
      expect(chunks).toHaveLength(4);
      for (const chunk of chunks) expect(chunk.codec).toBe('zstd');
      expect(chunks.reduce((sum, chunk) => sum + chunk.byte_length, 0)).toBe(content.length);
      const stored = chunks.reduce((sum, chunk) => sum + chunk.stored, 0);
      expect(stored).toBeLessThan(content.length / 4);

      const main = (await store.loadTranscript(conversationId))!.files[0]!;
      expect(main.content.equals(content)).toBe(true);
      expect(main.sha256).toBe(sha256(content));
    });

    it('stores a tiny chunk uncompressed and reads it back', async () => {
      const store = await openStore();
      const { conversationId } = await conversationWithRun(store);
      await appendAfter(store, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: Buffer.from('{}\n') });
      const row = rawConnection().prepare('SELECT codec FROM transcript_chunks').get() as { codec: string };
      expect(row.codec).toBe('none');
      expect((await store.loadTranscript(conversationId))!.files[0]!.content.toString()).toBe('{}\n');
    });
  });

  describe('chunks written before zstd (brotli) and after it', () => {
    /** Rewrites the chunks' bodies in another codec, as a store written by an earlier baton holds them. */
    const recodeChunks = (raw: Sqlite.Database, codecOf: (sequence: number) => 'zstd' | 'br'): void => {
      const rows = raw.prepare('SELECT version_id, sequence, codec, data FROM transcript_chunks ORDER BY sequence').all() as Array<{ version_id: number; sequence: number; codec: string; data: Buffer }>;
      for (const row of rows) {
        if (!isChunkCodec(row.codec)) throw new Error(`codec ${row.codec}`);
        const encoded = encodeChunk(decodeChunk({ codec: row.codec, data: row.data }), codecOf(row.sequence));
        expect(encoded.codec).toBe(codecOf(row.sequence));
        raw.prepare('UPDATE transcript_chunks SET codec = ?, data = ? WHERE version_id = ? AND sequence = ?').run(encoded.codec, encoded.data, row.version_id, row.sequence);
      }
    };

    it('a version of several chunks, some brotli and some zstd, loads byte for byte', async () => {
      const store = await openStore();
      const { conversationId } = await conversationWithRun(store);
      const content = await realisticTranscript();
      await saveInChunks(store, conversationId, content, 5);
      const raw = rawConnection();
      recodeChunks(raw, (sequence) => (sequence % 2 === 0 ? 'br' : 'zstd'));
      expect((raw.prepare('SELECT codec FROM transcript_chunks ORDER BY sequence').all() as Array<{ codec: string }>).map((row) => row.codec)).toEqual(['br', 'zstd', 'br', 'zstd', 'br']);
      const main = (await store.loadTranscript(conversationId))!.files[0]!;
      expect(main.content.equals(content)).toBe(true);
      expect(main.sha256).toBe(sha256(content));
      // A save after the load appends a zstd chunk to the brotli ones.
      const more = jsonLines(20, 9000, 'after');
      await appendAfter(store, { conversationId, base: main.cursor, before: content, bytes: more });
      expect((rawConnection().prepare('SELECT codec FROM transcript_chunks ORDER BY sequence DESC LIMIT 1').get() as { codec: string }).codec).toBe('zstd');
      expect((await store.loadTranscript(conversationId))!.files[0]!.content.equals(Buffer.concat([content, more]))).toBe(true);
    });

    it('a whole brotli version (one chunk, as an earlier baton stored a full save) loads byte for byte', async () => {
      const store = await openStore();
      const { conversationId } = await conversationWithRun(store);
      const content = await realisticTranscript();
      await appendAfter(store, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: content });
      recodeChunks(rawConnection(), () => 'br');
      expect((await store.loadTranscript(conversationId))!.files[0]!.content.equals(content)).toBe(true);
    });
  });

  describe.each(['zstd', 'br'] as const)('corruption of stored %s chunks is detected on load', (codec) => {
    let store: SqlStore;
    let conversationId: string;
    let raw: Sqlite.Database;

    beforeEach(async () => {
      store = await openStore();
      ({ conversationId } = await conversationWithRun(store));
      await saveInChunks(store, conversationId, await realisticTranscript(), 3);
      expect((await store.loadTranscript(conversationId))!.files[0]!.lineCount).toBeGreaterThan(0);
      raw = rawConnection();
      if (codec === 'br') {
        for (const row of raw.prepare('SELECT version_id, sequence, codec, data FROM transcript_chunks').all() as Array<{ version_id: number; sequence: number; codec: 'zstd'; data: Buffer }>) {
          raw.prepare("UPDATE transcript_chunks SET codec = 'br', data = ? WHERE version_id = ? AND sequence = ?").run(encodeChunk(decodeChunk(row), 'br').data, row.version_id, row.sequence);
        }
      }
      const rows = raw.prepare('SELECT sequence, codec FROM transcript_chunks ORDER BY sequence').all() as Array<{ sequence: number; codec: string }>;
      expect(rows.map((row) => [row.sequence, row.codec])).toEqual([
        [0, codec],
        [1, codec],
        [2, codec],
      ]);
    });

    const chunkData = (sequence: number): Buffer =>
      (raw.prepare('SELECT data FROM transcript_chunks WHERE sequence = ?').get(sequence) as { data: Buffer }).data;
    const setChunkData = (sequence: number, data: Buffer): void => {
      expect(raw.prepare('UPDATE transcript_chunks SET data = ? WHERE sequence = ?').run(data, sequence).changes).toBe(1);
    };
    const compressed = (bytes: Buffer): Buffer => {
      const encoded = encodeChunk(bytes, codec);
      expect(encoded.codec).toBe(codec);
      return encoded.data;
    };

    it.each([0, 1, 2])('a flipped byte in the compressed data of chunk %i → TRANSCRIPT_CORRUPT', async (sequence) => {
      const data = Buffer.from(chunkData(sequence));
      const middle = Math.floor(data.length / 2);
      data[middle] = data[middle]! ^ 0x5a;
      setChunkData(sequence, data);
      const error = await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
      expect(error.message).toContain(conversationId);
    });

    it('validly compressed but different content → TRANSCRIPT_CORRUPT', async () => {
      setChunkData(1, compressed(jsonLines(50, 0, 'forged')));
      await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
    });

    it('validly compressed content of the same length but changed bytes → TRANSCRIPT_CORRUPT', async () => {
      const original = (await store.loadTranscript(conversationId))!.files[0]!.content;
      const lengths = raw.prepare('SELECT byte_length FROM transcript_chunks ORDER BY sequence').all() as Array<{ byte_length: number }>;
      const start = lengths[0]!.byte_length;
      const plain = Buffer.from(original.subarray(start, start + lengths[1]!.byte_length));
      const quote = plain.indexOf('"');
      plain[quote + 1] = plain[quote + 1] === 0x41 ? 0x42 : 0x41;
      setChunkData(1, compressed(plain));
      const error = await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
      expect(error.message).toContain('sha256 mismatch after chunk 1');
    });

    it('a chunk row that claims another length than its body holds → TRANSCRIPT_CORRUPT', async () => {
      raw.prepare('UPDATE transcript_chunks SET byte_length = byte_length + 1 WHERE sequence = 1').run();
      await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
    });

    it.each([0, 1, 2])('a deleted chunk %i → TRANSCRIPT_CORRUPT', async (sequence) => {
      expect(raw.prepare('DELETE FROM transcript_chunks WHERE sequence = ?').run(sequence).changes).toBe(1);
      await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
    });

    it('the other codec named for the same body → TRANSCRIPT_CORRUPT', async () => {
      raw.prepare('UPDATE transcript_chunks SET codec = ? WHERE sequence = 1').run(codec === 'br' ? 'zstd' : 'br');
      await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
    });

    it('a codec this baton does not know (a newer one wrote it) → TRANSCRIPT_CORRUPT that says so', async () => {
      raw.prepare("UPDATE transcript_chunks SET codec = 'xz' WHERE sequence = 1").run();
      const error = await expectBatonError(store.loadTranscript(conversationId), 'TRANSCRIPT_CORRUPT');
      expect(error.message).toContain('unknown codec "xz"');
      expect(error.hint).toContain('newer baton');
    });
  });

  describe('two stores on one file', () => {
    it('sees each other’s writes', async () => {
      const one = await openStore();
      const two = await openStore();
      const { conversationId } = await conversationWithRun(one);
      const content = jsonLines(10);
      await appendAfter(one, { conversationId, base: undefined, before: Buffer.alloc(0), bytes: content });
      expect((await two.loadTranscript(conversationId))!.files[0]!.content.equals(content)).toBe(true);
      expect((await two.getConversation(conversationId))?.activeRunId).toBeDefined();
    });

    it('racing startRun for one conversation: exactly one wins, the other gets CONVERSATION_BUSY', async () => {
      const one = await openStore();
      const two = await openStore();
      for (let round = 0; round < 5; round++) {
        const conversationId = newConversationId();
        await one.createConversation({ id: conversationId, harness: 'codex', title: 'race', cwd: '/work' });
        const start = (store: SqlStore, host: string) =>
          store.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host, cwd: '/work', leaseMs: 60_000 });
        const results = await Promise.allSettled([start(one, 'machine-a'), start(two, 'machine-b')]);

        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toMatchObject({ name: 'BatonError', code: 'CONVERSATION_BUSY' });
        const winner = (won[0] as PromiseFulfilledResult<{ id: string; sequence: number }>).value;
        expect(winner.sequence).toBe(1);
        expect((await one.listRuns(conversationId)).map((run) => run.id)).toEqual([winner.id]);
        expect((await two.getConversation(conversationId))?.activeRunId).toBe(winner.id);
      }
    });

    it('closing one store leaves the other on the same file working', async () => {
      const one = await openStore();
      const two = await openStore();
      const { conversationId } = await conversationWithRun(one);
      await one.close();
      await one.close();
      expect((await two.getConversation(conversationId))?.id).toBe(conversationId);
      const three = await openStore();
      expect((await three.listConversations()).map((c) => c.id)).toEqual([conversationId]);
    });
  });

  describe('two processes on one file', () => {
    it('racing startRun for one conversation: exactly one process wins, the other gets CONVERSATION_BUSY', async () => {
      const store = await openStore();
      const conversationId = newConversationId();
      await store.createConversation({ id: conversationId, harness: 'codex', title: 'race', cwd: '/work' });
      const children = [startRunInChild(path, conversationId, 'machine-a'), startRunInChild(path, conversationId, 'machine-b')];
      try {
        await Promise.all(children.map((child) => child.ready));
        const outcomes = await Promise.all(children.map((child) => child.go()));

        const won = outcomes.filter((outcome) => outcome.ok);
        const lost = outcomes.filter((outcome) => !outcome.ok);
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toMatchObject({ code: 'CONVERSATION_BUSY' });
        expect(lost[0]!.message).toContain(won[0]!.runId);
        expect((await store.listRuns(conversationId)).map((run) => [run.id, run.sequence])).toEqual([[won[0]!.runId, 1]]);
        expect((await store.getConversation(conversationId))?.activeRunId).toBe(won[0]!.runId);
      } finally {
        for (const child of children) child.kill();
      }
    });
  });
});

describe('sqlite workspace blobs', () => {
  it('stores an identical bundle once per conversation and references it afterwards', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'baton-blobs-'));
    const store = await openSqliteStore(join(directory, 'store.db'));
    try {
      const { id } = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '/w' });
      const bundle = Buffer.from('PACK'.repeat(10_000));
      const manifest = { kind: 'git' as const, fingerprint: 'f', baseCommit: 'a', tree: 'b', branch: undefined, remoteName: undefined, remoteUrl: undefined, bundleIsComplete: true, changedFiles: [], excludedSecrets: [] };
      for (const runId of ['r1', 'r2', 'r3']) await store.saveWorkspaceSnapshot({ conversationId: id, runId, snapshot: { manifest, blobs: { bundle } }, transcript: undefined });
      const raw = new Sqlite(join(directory, 'store.db'));
      const rows = raw.prepare("SELECT codec, length(data) AS stored FROM workspace_blobs WHERE name = 'bundle' ORDER BY snapshot_id").all() as Array<{ codec: string; stored: number }>;
      raw.close();
      expect(rows.map((row) => row.codec)).toEqual(['none', 'ref', 'ref']); // a bundle is already compressed
      expect(rows[0]!.stored).toBe(bundle.length);
      for (const runId of ['r1', 'r2', 'r3']) expect((await store.loadWorkspaceSnapshot(id, runId))?.blobs.bundle?.equals(bundle)).toBe(true);
    } finally {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
