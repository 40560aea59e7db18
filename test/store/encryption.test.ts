/**
 * Encryption at rest: what a copy of the store shows (raw SQLite bytes, pg_dump), the key checks at open,
 * rotation, rows moved between places, `keys enable`, tenant secrets and encrypted exports. The plaintext runs
 * of the same checks show the markers, so the checks can fail.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import { decryptExport, encryptExport, isEncryptedExport, readExportSecret } from '../../src/store/export-encryption.js';
import { exportConversation, parseExport } from '../../src/store/export-file.js';
import { generateKeyText, parseKey, readKeyFile, type KeyMaterial } from '../../src/store/master-key.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { pgDump, startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { useS3Server } from '../helpers/s3-server.js';
import { appendAfter, expectBatonError, jsonLines } from './store-contract.js';

const run = promisify(execFile);
const key = (text: string): KeyMaterial => parseKey(text, 'test key');

/** Stores `marker` in a title, a prompt, a run error, an event, a transcript line (a small, uncompressed delta) and a workspace file. */
async function storeMarker(store: SqlStore, marker: string): Promise<{ conversationId: string; transcriptSha256: string }> {
  const conversationId = newConversationId();
  await store.createConversation({ id: conversationId, harness: 'codex', title: `title ${marker}`, cwd: '/work', options: { systemPrompt: `system ${marker}` } });
  await store.setSessionId(conversationId, randomUUID());
  const runId = newRunId();
  await store.startRun({ conversationId, runId, kind: 'new', prompt: `prompt ${marker}`, host: 'h', cwd: '/work', leaseMs: 30_000 });
  await store.appendRunEvents(runId, [{ at: Date.now(), type: 'message', data: { text: `event ${marker}` } }]);
  const first = jsonLines(50);
  const cursor = await appendAfter(store, { conversationId, runId, base: undefined, before: Buffer.alloc(0), bytes: first });
  // Under 64 bytes: stored without compression, so a plaintext store shows the marker as it is.
  const delta = Buffer.from(`{"m":"${marker}"}\n`);
  const after = await appendAfter(store, { conversationId, runId, base: cursor, before: first, bytes: delta });
  // A bundle is stored as it is (no compression), like a workspace file in a git bundle's loose objects.
  await store.saveWorkspaceSnapshot({
    conversationId,
    runId,
    snapshot: { manifest: { kind: 'directory', fingerprint: 'f1', fileCount: 1, changedFiles: [`notes-${marker}.txt`], excludedSecrets: [] }, blobs: { bundle: Buffer.from(`file content ${marker}`) } },
    transcript: undefined,
  });
  await store.finishRun(runId, { status: 'failed', exitCode: 1, error: `error ${marker}` });
  return { conversationId, transcriptSha256: after.sha256 };
}

/** Where `needle` shows in `haystack`: as text, or hex-encoded (how pg_dump writes bytea). */
function shows(haystack: Buffer, needle: string): boolean {
  return haystack.includes(Buffer.from(needle)) || haystack.includes(Buffer.from(Buffer.from(needle).toString('hex')));
}

async function sqliteFileBytes(path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const suffix of ['', '-wal', '-shm', '-journal']) if (existsSync(path + suffix)) parts.push(await readFile(path + suffix));
  return Buffer.concat(parts);
}

describe('encrypted sqlite store: what a copy of the file shows', () => {
  for (const encrypted of [true, false]) {
    it(`${encrypted ? 'holds none' : 'holds every one (the control)'} of a marker stored in a title, system prompt, prompt, error, event, transcript line and workspace file${encrypted ? ', nor the transcript\'s sha256' : ''}`, async () => {
      const directory = await mkdtemp(join(tmpdir(), 'baton-encryption-'));
      try {
        const path = join(directory, 'baton.db');
        const marker = `MARKER${randomBytes(8).toString('hex')}`;
        const store = await openSqliteStore(path, encrypted ? { masterKey: key(generateKeyText()) } : {});
        const { transcriptSha256 } = await storeMarker(store, marker);
        // Before closing: the -wal file holds the newest pages.
        const live = await sqliteFileBytes(path);
        await store.close();
        const closed = await sqliteFileBytes(path);
        for (const bytes of [live, closed]) {
          for (const place of ['title', 'system', 'prompt', 'error', 'event', '"m":"', 'file content', 'notes-']) {
            const needle = place === '"m":"' ? `${place}${marker}` : `${place}${place.endsWith('-') ? '' : ' '}${marker}`;
            expect(shows(bytes, needle), `${place} in the raw store`).toBe(!encrypted);
          }
          expect(shows(bytes, transcriptSha256), 'the transcript sha256 in the raw store').toBe(!encrypted);
        }
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  }
});

describe('encrypted sqlite store: keys', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'baton-encryption-keys-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });
  const fresh = (): string => join(directory, `${randomBytes(4).toString('hex')}.db`);

  it('is encrypted when made with a key; opening it without one, or with another, is refused in one line without the key in it', async () => {
    const path = fresh();
    const text = generateKeyText();
    const store = await openSqliteStore(path, { masterKey: key(text) });
    const { conversationId } = await storeMarker(store, 'x');
    expect(store.encryptionStatus).toEqual({ encrypted: true, keyId: expect.stringMatching(/^mk_[0-9a-f]{16}$/) });
    await store.close();

    const missing = await expectBatonError(openSqliteStore(path), 'STORE_KEY_MISSING');
    expect(missing.message).toContain('BATON_MASTER_KEY');
    expect(missing.message).toContain('--master-key-file');
    const other = generateKeyText();
    const wrong = await expectBatonError(openSqliteStore(path, { masterKey: key(other) }), 'STORE_KEY_WRONG');
    for (const error of [missing, wrong]) {
      expect(`${error.message}${error.hint}`).not.toMatch(/\n/);
      expect(`${error.message}${error.hint}`).not.toContain(text);
      expect(`${error.message}${error.hint}`).not.toContain(other);
    }
    const again = await openSqliteStore(path, { masterKey: key(text) });
    expect((await again.getConversation(conversationId))?.title).toBe('title x');
    await again.close();
  });

  it('a store made without a key stays plaintext: a key given later is refused (never plaintext written under a key)', async () => {
    const path = fresh();
    const store = await openSqliteStore(path);
    await store.close();
    const refused = await expectBatonError(openSqliteStore(path, { masterKey: key(generateKeyText()) }), 'STORE_NOT_ENCRYPTED');
    expect(refused.hint).toContain('baton keys enable');
    const meta = await openSqliteStore(path);
    expect(meta.encryptionStatus.encrypted).toBe(false);
    await meta.close();
  });

  it('refuses a malformed key strictly, naming only where it came from', () => {
    for (const bad of ['', 'short', generateKeyText().slice(0, -1), `${generateKeyText()}x`, randomBytes(32).toString('hex'), `${randomBytes(33).toString('base64')}`]) {
      let caught: unknown;
      try {
        parseKey(bad, '$BATON_MASTER_KEY');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BatonError);
      expect((caught as BatonError).code).toBe('KEY_INVALID');
      if (bad.length > 4) expect((caught as BatonError).message).not.toContain(bad);
    }
    expect(parseKey(`${generateKeyText()}\n`, 'file').bytes).toHaveLength(32);
  });

  it('refuses a key file that group or others can read, with the chmod hint', async () => {
    const file = join(directory, 'key');
    await writeFile(file, `${generateKeyText()}\n`, { mode: 0o644 });
    await chmod(file, 0o644);
    const error = await expectBatonError(readKeyFile(file), 'KEY_INVALID');
    expect(error.hint).toBe(`make it private with \`chmod 600 ${file}\``);
    await chmod(file, 0o600);
    expect((await readKeyFile(file)).bytes).toHaveLength(32);
  });

  it('rotation re-wraps the data keys only: every conversation and secret stays readable under the new key, the chunks are the same bytes, the old key fails', async () => {
    const path = fresh();
    const oldKey = generateKeyText();
    const newKey = generateKeyText();
    const store = await openSqliteStore(path, { masterKey: key(oldKey) });
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) ids.push((await storeMarker(store, `rotation${index}`)).conversationId);
    await store.setTenantSecret('acme', 'OPENAI_API_KEY', 'sk-tenant-secret');
    const chunksBefore = await store.db.selectFrom('transcript_chunks').select(['version_id', 'sequence', 'data']).orderBy('version_id').orderBy('sequence').execute();
    const wrappedBefore = await store.db.selectFrom('data_keys').select(['owner', 'wrapped']).orderBy('owner').execute();

    const rotated = await store.rotateMasterKey(key(newKey));
    expect(rotated.dataKeys).toBe(4); // three conversations and one tenant
    // The same process goes on reading and writing with the new key.
    expect((await store.loadTranscript(ids[0]!))?.files).toHaveLength(1);
    ids.push((await storeMarker(store, 'after-rotation')).conversationId);
    await store.close();

    await expectBatonError(openSqliteStore(path, { masterKey: key(oldKey) }), 'STORE_KEY_WRONG');
    const reopened = await openSqliteStore(path, { masterKey: key(newKey) });
    try {
      for (const [index, id] of ids.entries()) {
        const conversation = await reopened.getConversation(id);
        expect(conversation?.title).toBe(index < 3 ? `title rotation${index}` : 'title after-rotation');
        const runs = await reopened.listRuns(id);
        expect((await reopened.listRunEvents(runs[0]!.id))[0]?.data).toEqual({ text: `event ${index < 3 ? `rotation${index}` : 'after-rotation'}` });
        expect((await reopened.loadTranscript(id))?.files[0]?.content.toString()).toContain('"m":"');
        expect((await reopened.loadWorkspaceSnapshot(id))?.blobs.bundle?.toString()).toMatch(/^file content /);
      }
      expect(await reopened.tenantSecrets('acme')).toEqual({ OPENAI_API_KEY: 'sk-tenant-secret' });
      const chunksAfter = await reopened.db.selectFrom('transcript_chunks').select(['version_id', 'sequence', 'data']).orderBy('version_id').orderBy('sequence').execute();
      expect(chunksAfter.slice(0, chunksBefore.length).map((row) => Buffer.from(row.data).toString('hex'))).toEqual(chunksBefore.map((row) => Buffer.from(row.data).toString('hex')));
      const wrappedAfter = await reopened.db.selectFrom('data_keys').select(['owner', 'wrapped']).where('owner', 'in', wrappedBefore.map((row) => row.owner)).orderBy('owner').execute();
      for (const [index, row] of wrappedAfter.entries()) expect(Buffer.from(row.wrapped).equals(Buffer.from(wrappedBefore[index]!.wrapped))).toBe(false);
    } finally {
      await reopened.close();
    }
  });
});

describe('encrypted sqlite store: a ciphertext moved to another row fails verification, never garbage', () => {
  let directory: string;
  let store: SqlStore;
  let a: string;
  let b: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'baton-encryption-swap-'));
    store = await openSqliteStore(join(directory, 'baton.db'), { masterKey: key(generateKeyText()) });
    a = (await storeMarker(store, 'alpha')).conversationId;
    b = (await storeMarker(store, 'bravo')).conversationId;
  });
  afterAll(async () => {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  /** Swaps column `column` of two rows found by `where` (raw SQL on the store's own connection). */
  async function swap(table: string, column: string, whereA: string, whereB: string): Promise<void> {
    const one = await sql<{ value: unknown }>`select ${sql.ref(column)} as value from ${sql.table(table)} where ${sql.raw(whereA)}`.execute(store.db);
    const two = await sql<{ value: unknown }>`select ${sql.ref(column)} as value from ${sql.table(table)} where ${sql.raw(whereB)}`.execute(store.db);
    await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${two.rows[0]!.value} where ${sql.raw(whereA)}`.execute(store.db);
    await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${one.rows[0]!.value} where ${sql.raw(whereB)}`.execute(store.db);
  }

  it('a transcript chunk of another conversation', async () => {
    const versionOf = async (id: string) => (await store.db.selectFrom('transcript_versions').select('id').where('conversation_id', '=', id).executeTakeFirstOrThrow()).id;
    const [va, vb] = [await versionOf(a), await versionOf(b)];
    await swap('transcript_chunks', 'data', `version_id = ${va} and sequence = 1`, `version_id = ${vb} and sequence = 1`);
    const error = await expectBatonError(store.loadTranscript(a), 'TRANSCRIPT_CORRUPT');
    expect(error.message).toMatch(/chunk 1 fails verification/);
    await expectBatonError(store.loadTranscript(b), 'TRANSCRIPT_CORRUPT');
    await swap('transcript_chunks', 'data', `version_id = ${va} and sequence = 1`, `version_id = ${vb} and sequence = 1`);
    expect((await store.loadTranscript(a))?.files[0]?.content.toString()).toContain('alpha');
  });

  it('two chunks of one version in each other\'s place', async () => {
    const version = (await store.db.selectFrom('transcript_versions').select('id').where('conversation_id', '=', a).executeTakeFirstOrThrow()).id;
    await swap('transcript_chunks', 'data', `version_id = ${version} and sequence = 0`, `version_id = ${version} and sequence = 1`);
    await expectBatonError(store.loadTranscript(a), 'TRANSCRIPT_CORRUPT');
    await swap('transcript_chunks', 'data', `version_id = ${version} and sequence = 0`, `version_id = ${version} and sequence = 1`);
  });

  it('titles, prompts and events of another conversation or column', async () => {
    await swap('conversations', 'title', `id = '${a}'`, `id = '${b}'`);
    await expectBatonError(store.getConversation(a), 'TRANSCRIPT_CORRUPT');
    await expectBatonError(store.listConversations(), 'TRANSCRIPT_CORRUPT');
    await swap('conversations', 'title', `id = '${a}'`, `id = '${b}'`);
    // Another column of the same row: the cwd sealed where the title goes.
    const row = await store.db.selectFrom('conversations').select(['title', 'cwd']).where('id', '=', a).executeTakeFirstOrThrow();
    await store.db.updateTable('conversations').set({ title: row.cwd }).where('id', '=', a).execute();
    await expectBatonError(store.getConversation(a), 'TRANSCRIPT_CORRUPT');
    await store.db.updateTable('conversations').set({ title: row.title }).where('id', '=', a).execute();

    const runA = (await store.listRuns(a))[0]!.id;
    const runB = (await store.listRuns(b))[0]!.id;
    await swap('runs', 'prompt', `id = '${runA}'`, `id = '${runB}'`);
    await expectBatonError(store.getRun(runA), 'TRANSCRIPT_CORRUPT');
    await swap('runs', 'prompt', `id = '${runA}'`, `id = '${runB}'`);
    await swap('run_events', 'data', `run_id = '${runA}' and sequence = 1`, `run_id = '${runB}' and sequence = 1`);
    await expectBatonError(store.listRunEvents(runA), 'TRANSCRIPT_CORRUPT');
    await swap('run_events', 'data', `run_id = '${runA}' and sequence = 1`, `run_id = '${runB}' and sequence = 1`);
    expect((await store.getConversation(a))?.title).toBe('title alpha');
    expect((await store.listRunEvents(runA))[0]?.data).toEqual({ text: 'event alpha' });
  });

  it('a workspace blob of another conversation, and a plaintext value slipped into the encrypted store', async () => {
    const snapshotOf = async (id: string) => (await store.db.selectFrom('workspace_snapshots').select('id').where('conversation_id', '=', id).executeTakeFirstOrThrow()).id;
    const [sa, sb] = [await snapshotOf(a), await snapshotOf(b)];
    await swap('workspace_blobs', 'data', `snapshot_id = ${sa}`, `snapshot_id = ${sb}`);
    await expectBatonError(store.loadWorkspaceSnapshot(a), 'WORKSPACE_ERROR');
    await swap('workspace_blobs', 'data', `snapshot_id = ${sa}`, `snapshot_id = ${sb}`);
    expect((await store.loadWorkspaceSnapshot(a))?.blobs.bundle?.toString()).toBe('file content alpha');

    const stored = await store.db.selectFrom('conversations').select('title').where('id', '=', a).executeTakeFirstOrThrow();
    await store.db.updateTable('conversations').set({ title: 'planted plaintext' }).where('id', '=', a).execute();
    const error = await expectBatonError(store.getConversation(a), 'TRANSCRIPT_CORRUPT');
    expect(error.message).toContain('not encrypted, in an encrypted store');
    await store.db.updateTable('conversations').set({ title: stored.title }).where('id', '=', a).execute();
  });
});

describe('baton keys enable: a plaintext store encrypted in place', () => {
  const s3 = useS3Server();

  it('seals every row and body (inline and in object storage), keeps every conversation readable, and from then on needs the key', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'baton-encryption-enable-'));
    try {
      const path = join(directory, 'baton.db');
      // Bodies in a real S3-protocol server; each store opened gets its own client (the store closes it).
      const location = s3().freshLocation();
      const bodies = () => s3().bodies(location);
      const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(location)!;
      const objectFiles = async () => (await s3().objectKeys(location)).map((key) => join(s3().directory, bucket!, prefix!, `${key}._S3rver_object`));
      const marker = `ENABLE${randomBytes(6).toString('hex')}`;
      const plain = await openSqliteStore(path, { chunkBodies: await bodies() });
      const { conversationId } = await storeMarker(plain, marker);
      // Before: the bucket shows the marker (a small body is stored uncompressed), so "not after" means something.
      expect((await Promise.all((await objectFiles()).map((file) => readFile(file)))).some((object) => shows(object, marker))).toBe(true);
      const before = await plain.loadTranscript(conversationId);
      const exportedBefore = JSON.parse(await exportConversation(plain, conversationId)) as Record<string, unknown>;
      await plain.close();

      // A process that opened the store before, without a key, stops reading and writing once it is encrypted.
      const stale = await openSqliteStore(path, { chunkBodies: await bodies() });
      expect((await stale.getConversation(conversationId))?.title).toBe(`title ${marker}`);
      const text = generateKeyText();
      const store = await openSqliteStore(path, { chunkBodies: await bodies(), masterKey: key(text), allowPlaintextWithKey: true });
      expect((await store.enableEncryption()).conversations).toBe(1);
      expect(store.encryptionStatus.encrypted).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expectBatonError(stale.getConversation(conversationId), 'STORE_KEY_MISSING');
      await expectBatonError(stale.createConversation({ id: newConversationId(), harness: 'codex', title: 'late plaintext', cwd: '/w' }), 'STORE_KEY_MISSING');
      await stale.close();
      await sql`VACUUM`.execute(store.db);
      await store.close();

      const bytes = Buffer.concat([await sqliteFileBytes(path), ...(await objectFiles()).map((name) => Buffer.from(name))]);
      expect((await objectFiles()).length).toBeGreaterThan(0);
      for (const file of await objectFiles()) expect(shows(await readFile(file), marker)).toBe(false);
      expect(shows(bytes, marker)).toBe(false);
      await expectBatonError(openSqliteStore(path, { chunkBodies: await bodies() }), 'STORE_KEY_MISSING');
      const reopened = await openSqliteStore(path, { chunkBodies: await bodies(), masterKey: key(text) });
      try {
        expect((await reopened.loadTranscript(conversationId))?.files[0]?.content.equals(before!.files[0]!.content)).toBe(true);
        const exportedAfter = JSON.parse(await exportConversation(reopened, conversationId)) as Record<string, unknown>;
        expect({ ...exportedAfter, exportedAt: '' }).toEqual({ ...exportedBefore, exportedAt: '' });
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('tenant secrets', () => {
  it('are refused by a plaintext store, and kept encrypted (names listed, values read whole) by an encrypted one', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'baton-encryption-secrets-'));
    try {
      const plain = await openSqliteStore(join(directory, 'plain.db'));
      await expectBatonError(plain.setTenantSecret('acme', 'OPENAI_API_KEY', 'x'), 'STORE_NOT_ENCRYPTED');
      expect(await plain.tenantSecrets('acme')).toEqual({});
      await plain.close();

      const path = join(directory, 'encrypted.db');
      const store = await openSqliteStore(path, { masterKey: key(generateKeyText()) });
      const value = `sk-${randomBytes(12).toString('hex')}`;
      await store.setTenantSecret('acme', 'OPENAI_API_KEY', value);
      await store.setTenantSecret('acme', 'OTHER', 'first');
      await store.setTenantSecret('acme', 'OTHER', 'second');
      await store.setTenantSecret('globex', 'OPENAI_API_KEY', 'globex-value');
      expect(await store.listTenantSecretNames('acme')).toEqual(['OPENAI_API_KEY', 'OTHER']);
      expect(await store.tenantSecrets('acme')).toEqual({ OPENAI_API_KEY: value, OTHER: 'second' });
      expect(await store.tenantSecrets('globex')).toEqual({ OPENAI_API_KEY: 'globex-value' });
      expect(await store.tenantSecrets('nobody')).toEqual({});
      expect(await store.deleteTenantSecret('acme', 'OTHER')).toBe(true);
      expect(await store.deleteTenantSecret('acme', 'OTHER')).toBe(false);
      // One tenant's value moved into another tenant's row does not open there.
      const acme = await store.db.selectFrom('tenant_secrets').select('value').where('tenant', '=', 'acme').executeTakeFirstOrThrow();
      await store.db.updateTable('tenant_secrets').set({ value: acme.value }).where('tenant', '=', 'globex').execute();
      await expectBatonError(store.tenantSecrets('globex'), 'TRANSCRIPT_CORRUPT');
      await store.close();
      expect(shows(await sqliteFileBytes(path), value)).toBe(false);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('encrypted export files', () => {
  it('round-trip with a passphrase or a key file into another store; a wrong passphrase, or none, is a one-line error', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'baton-encryption-export-'));
    try {
      const source = await openSqliteStore(join(directory, 'a.db'), { masterKey: key(generateKeyText()) });
      const marker = `EXPORT${randomBytes(6).toString('hex')}`;
      const { conversationId } = await storeMarker(source, marker);
      const plain = await exportConversation(source, conversationId);
      expect(plain).toContain(marker); // plaintext unless --encrypt
      await source.close();

      const passphraseFile = join(directory, 'passphrase');
      await writeFile(passphraseFile, 'correct horse battery staple\n', { mode: 0o600 });
      const keyFile = join(directory, 'export.key');
      await writeFile(keyFile, `${generateKeyText()}\n`, { mode: 0o600 });
      const wrongFile = join(directory, 'wrong');
      await writeFile(wrongFile, 'incorrect horse battery staple\n', { mode: 0o600 });

      for (const options of [{ passphraseFile }, { keyFile }]) {
        const encrypted = await encryptExport(plain, (await readExportSecret(options))!);
        expect(isEncryptedExport(encrypted)).toBe(true);
        expect(encrypted).not.toContain(marker);
        expect(encrypted).not.toContain(conversationId);
        await expectBatonError(decryptExport(encrypted, undefined, 'f.json'), 'EXPORT_KEY_MISSING');
        const decrypted = await decryptExport(encrypted, await readExportSecret(options), 'f.json');
        expect(decrypted).toBe(plain);
        const target = await openSqliteStore(join(directory, `${randomBytes(3).toString('hex')}.db`), { masterKey: key(generateKeyText()) });
        await target.importConversation(parseExport(decrypted, 'f.json'));
        expect((await target.getConversation(conversationId))?.title).toBe(`title ${marker}`);
        await target.close();
      }
      const encrypted = await encryptExport(plain, (await readExportSecret({ passphraseFile }))!);
      const wrong = await expectBatonError(decryptExport(encrypted, await readExportSecret({ passphraseFile: wrongFile }), 'f.json'), 'EXPORT_KEY_WRONG');
      expect(wrong.message).toBe('cannot decrypt f.json: wrong passphrase, or the file was altered');
      // Parameters edited in the header (they are the associated data) fail the same way.
      const edited = encrypted.replace('"p":1', '"p":2');
      await expectBatonError(decryptExport(edited, await readExportSecret({ passphraseFile }), 'f.json'), 'EXPORT_KEY_WRONG');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('encrypted PostgreSQL store: what pg_dump shows', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });



  for (const encrypted of [true, false]) {
    it(`${encrypted ? 'holds none' : 'holds every one (the control)'} of the marker's places; the wrong key and no key are refused`, async () => {
      const url = await cluster.createDatabase(`enc_${encrypted ? 'on' : 'off'}`);
      const marker = `PGMARKER${randomBytes(8).toString('hex')}`;
      const text = generateKeyText();
      const store = await openPostgresStore(url, encrypted ? { masterKey: key(text) } : {});
      const { conversationId, transcriptSha256 } = await storeMarker(store, marker);
      await store.setTenantSecret('acme', 'TOKEN', `secret ${marker}`).catch(() => undefined);
      await store.close();
      const dump = await pgDump(url);
      expect(dump.length).toBeGreaterThan(1000);
      for (const needle of [`title ${marker}`, `system ${marker}`, `prompt ${marker}`, `error ${marker}`, `event ${marker}`, `"m":"${marker}"`, `file content ${marker}`, `notes-${marker}`, transcriptSha256]) {
        expect(shows(dump, needle), needle).toBe(!encrypted);
      }
      expect(shows(dump, `secret ${marker}`)).toBe(false);
      if (encrypted) {
        await expectBatonError(openPostgresStore(url), 'STORE_KEY_MISSING');
        await expectBatonError(openPostgresStore(url, { masterKey: key(generateKeyText()) }), 'STORE_KEY_WRONG');
        const reopened = await openPostgresStore(url, { masterKey: key(text) });
        expect((await reopened.loadTranscript(conversationId))?.files[0]?.content.toString()).toContain(marker);
        expect(await reopened.tenantSecrets('acme')).toEqual({ TOKEN: `secret ${marker}` });
        await reopened.close();
      }
    }, 60_000);
  }

  it('rotation on PostgreSQL keeps every conversation readable and the old key fails', async () => {
    const url = await cluster.createDatabase('enc_rotate');
    const oldKey = generateKeyText();
    const newKey = generateKeyText();
    const store = await openPostgresStore(url, { masterKey: key(oldKey) });
    const ids = [(await storeMarker(store, 'one')).conversationId, (await storeMarker(store, 'two')).conversationId];
    expect((await store.rotateMasterKey(key(newKey))).dataKeys).toBe(2);
    await store.close();
    await expectBatonError(openPostgresStore(url, { masterKey: key(oldKey) }), 'STORE_KEY_WRONG');
    const reopened = await openPostgresStore(url, { masterKey: key(newKey) });
    for (const id of ids) expect((await reopened.loadTranscript(id))?.files[0]?.lineCount).toBe(51);
    await reopened.close();
  }, 60_000);
});
