/**
 * Chunk bodies and workspace blobs in object storage, against a real S3-protocol server (s3rver on loopback):
 * what the rows and the bucket hold (no plaintext of an encrypted store), collection of objects no row names
 * (with a save in flight), a store that names objects opened without them, and the errors of a wrong bucket,
 * endpoint or credentials. The store contract itself runs with S3 bodies in sqlite.test.ts and postgres.test.ts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newConversationId } from '../../src/ids.js';
import { decodeChunk } from '../../src/store/chunk-codec.js';
import { generateKeyText, parseKey } from '../../src/store/master-key.js';
import { openS3ChunkBodies, parseBlobsUrl } from '../../src/store/s3-bodies.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { DEFAULT_INLINE_BELOW_BYTES, isObjectReference, type ObjectBodiesOptions } from '../../src/store/sql/object-bodies.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { startS3Server, TEST_BUCKET, type S3Server } from '../helpers/s3-server.js';
import { appendAfter, expectBatonError, jsonLines } from './store-contract.js';

let s3: S3Server;
let directory: string;
let stores = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  directory = await mkdtemp(join(tmpdir(), 'baton-s3-bodies-'));
}, 30_000);

afterAll(async () => {
  await s3?.stop();
  await rm(directory, { recursive: true, force: true });
});

const MARKER = 'PLAINTEXT-MARKER-7f3a';
const GRACE_MS = 60_000;

/** A SQLite store with bodies in a fresh prefix, on a clock the test moves. */
async function openStore(options: { encrypted?: boolean; location?: string; path?: string; bodies?: ObjectBodiesOptions } = {}) {
  const clock = { now: 1_000_000 };
  const location = options.location ?? s3.freshLocation();
  const bodies = await s3.bodies(location, { graceMs: GRACE_MS, now: () => clock.now, ...(options.bodies ?? { inlineBelowBytes: 0 }) });
  const path = options.path ?? join(directory, `store-${++stores}.db`);
  const store = (await openSqliteStore(path, { chunkBodies: bodies, ...(options.encrypted ? { masterKey: parseKey(generateKeyText(), 'test key') } : {}) })) as SqlStore;
  return { store, bodies, clock, location, path };
}

async function saved(store: Store, bytes: Buffer): Promise<{ id: string; versionId: number }> {
  const { id } = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '/w' });
  const cursor = await appendAfter(store, { conversationId: id, base: undefined, before: Buffer.alloc(0), bytes });
  return { id, versionId: cursor.versionId };
}

const transcript = (): Buffer => Buffer.from(`${jsonLines(50).toString()}${JSON.stringify({ type: 'secret', text: MARKER })}\n`);
const bundle = (): Buffer => Buffer.from(`# v2 git bundle\n${MARKER}\n`.repeat(20));
const manifest = { kind: 'git' as const, fingerprint: 'f', baseCommit: 'a'.repeat(40), tree: 'b'.repeat(40), branch: 'main', remoteName: undefined, remoteUrl: undefined, bundleIsComplete: true, changedFiles: ['x.txt'], excludedSecrets: [] };

async function objectsOf(location: string): Promise<Buffer[]> {
  const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(location)!;
  return Promise.all((await s3.objectKeys(location)).map((key) => readFile(join(s3.directory, bucket!, prefix!, `${key}._S3rver_object`))));
}

describe('bodies in S3', () => {
  for (const encrypted of [false, true]) {
    it(`keeps references in the rows and the bodies in the bucket, ${encrypted ? 'sealed: no plaintext in the bucket' : 'compressed'}`, async () => {
      const { store, location } = await openStore({ encrypted });
      try {
        const { id } = await saved(store, transcript());
        await store.saveWorkspaceSnapshot({ conversationId: id, runId: 'r1', snapshot: { manifest, blobs: { bundle: bundle(), patch: Buffer.from(`patch ${MARKER}`) } }, transcript: undefined });
        for (const row of await store.db.selectFrom('transcript_chunks').select('data').execute()) expect(isObjectReference(Buffer.from(row.data))).toBe(true);
        for (const row of await store.db.selectFrom('workspace_blobs').select('data').execute()) expect(isObjectReference(Buffer.from(row.data))).toBe(true);
        const objects = await objectsOf(location);
        expect(objects).toHaveLength(3); // the chunk, the bundle, the patch
        const visible = objects.map((object) => {
          let text = object.toString('latin1');
          for (const codec of ['zstd', 'br'] as const) {
            try {
              text += decodeChunk({ codec, data: object }).toString('latin1');
            } catch {
              // not in this codec (the bundle is stored as it is, a sealed body is in none)
            }
          }
          return text.includes(MARKER);
        });
        // Compressed (and the bundle raw) in a plaintext store; sealed after compression in an encrypted one.
        expect(visible.every((seen) => seen === !encrypted)).toBe(true);
        expect((await store.loadTranscript(id))!.files[0]!.content.equals(transcript())).toBe(true);
        const snapshot = await store.loadWorkspaceSnapshot(id);
        expect(snapshot!.blobs.bundle!.equals(bundle())).toBe(true);
      } finally {
        await store.close();
      }
    });
  }

  it('fails a load whose object was altered with TRANSCRIPT_CORRUPT, and a workspace whose blob was with WORKSPACE_ERROR', async () => {
    const { store, location } = await openStore();
    try {
      const { id } = await saved(store, transcript());
      const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(location)!;
      const [key] = await s3.objectKeys(location);
      await writeFile(join(s3.directory, bucket!, prefix!, `${key}._S3rver_object`), Buffer.from('tampered'));
      await expectBatonError(store.loadTranscript(id), 'TRANSCRIPT_CORRUPT');
      await store.saveWorkspaceSnapshot({ conversationId: id, runId: 'r1', snapshot: { manifest, blobs: { patch: Buffer.from('patch') } }, transcript: undefined });
      const blob = (await store.db.selectFrom('workspace_blobs').select('data').executeTakeFirstOrThrow()).data;
      const blobKey = Buffer.from(blob).toString('latin1').slice('object:sha256:'.length);
      await writeFile(join(s3.directory, bucket!, prefix!, `${blobKey}._S3rver_object`), Buffer.from('tampered'));
      await expectBatonError(store.loadWorkspaceSnapshot(id), 'BLOB_STORE_ERROR');
    } finally {
      await store.close();
    }
  });

  it('fails a load whose object the bucket lost, or whose object storage does not answer, with BLOB_STORE_ERROR saying which', async () => {
    const { store, location } = await openStore();
    try {
      const { id } = await saved(store, transcript());
      const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(location)!;
      const [key] = await s3.objectKeys(location);
      await rm(join(s3.directory, bucket!, prefix!, `${key}._S3rver_object`));
      const lost = await expectBatonError(store.loadTranscript(id), 'BLOB_STORE_ERROR');
      expect(lost.message).toMatch(/the object is missing/);
    } finally {
      await store.close();
    }
  });
});

describe('small bodies stay in the rows', () => {
  it('below 64 KB (the default) a body stays in its row; a whole version goes to the bucket; ?inline-below= sets it', async () => {
    const { store, location } = await openStore({ bodies: { inlineBelowBytes: DEFAULT_INLINE_BELOW_BYTES } });
    try {
      const { id } = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '/w' });
      // Incompressible enough to stay above 64 KB after brotli.
      const big = Buffer.from(`${Array.from({ length: 3000 }, (_, index) => JSON.stringify({ index, noise: randomBytes(24).toString('base64') })).join('\n')}\n`);
      const cursor = await appendAfter(store, { conversationId: id, base: undefined, before: Buffer.alloc(0), bytes: big });
      await appendAfter(store, { conversationId: id, base: cursor, before: big, bytes: jsonLines(10) });
      const rows = await store.db.selectFrom('transcript_chunks').select(['sequence', 'data']).orderBy('sequence').execute();
      expect(rows.map((row) => isObjectReference(Buffer.from(row.data)))).toEqual([true, false]);
      expect(await s3.objectKeys(location)).toHaveLength(1);
      expect((await store.loadTranscript(id))!.files[0]!.content.equals(Buffer.concat([big, jsonLines(10)]))).toBe(true);
    } finally {
      await store.close();
    }
    expect(parseBlobsUrl('s3://bucket/a/b?inline-below=0')).toEqual({ bucket: 'bucket', prefix: 'a/b', inlineBelowBytes: 0 });
    expect(parseBlobsUrl('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '', inlineBelowBytes: undefined });
    expect(() => parseBlobsUrl('s3://bucket/x?other=1')).toThrow(/not an s3:\/\/bucket\/prefix URL/);
  });
});

describe('collecting objects no row names', () => {
  it('deleting a conversation deletes its objects, but not those another conversation names', async () => {
    const { store, clock, location } = await openStore();
    try {
      // A plaintext store: the same bytes give the same object, named by both conversations.
      const one = await saved(store, transcript());
      const two = await saved(store, transcript());
      await store.saveWorkspaceSnapshot({ conversationId: one.id, runId: 'r1', snapshot: { manifest, blobs: { bundle: bundle() } }, transcript: undefined });
      expect(await s3.objectKeys(location)).toHaveLength(2);
      await store.deleteConversation(one.id);
      expect(await s3.objectKeys(location)).toHaveLength(1); // the bundle went, the shared chunk stays
      expect((await store.loadTranscript(two.id))!.files[0]!.content.equals(transcript())).toBe(true);
      await store.deleteConversation(two.id);
      expect(await s3.objectKeys(location)).toEqual([]);
      expect(await store.db.selectFrom('body_objects').selectAll().execute()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('compaction deletes the objects of the chunks it merged, and keeps the merged one', async () => {
    const { store, location } = await openStore();
    try {
      const { id } = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '/w' });
      let content = jsonLines(100);
      let cursor = await appendAfter(store, { conversationId: id, base: undefined, before: Buffer.alloc(0), bytes: content });
      for (let delta = 0; delta < 3; delta++) {
        const bytes = jsonLines(5, 100 + delta * 5);
        cursor = await appendAfter(store, { conversationId: id, base: cursor, before: content, bytes });
        content = Buffer.concat([content, bytes]);
      }
      expect(await s3.objectKeys(location)).toHaveLength(4);
      // Claimed in the transactions that wrote their rows (SQLite): no save can be in flight with a claim of its own.
      await store.compactTranscript(cursor.versionId);
      expect(await s3.objectKeys(location)).toHaveLength(1);
      expect((await store.loadTranscript(id))!.files[0]!.content.equals(content)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('a save in flight (uploaded and claimed, its row not yet committed) keeps the object a deletion released', async () => {
    const { store, bodies, clock, location } = await openStore();
    try {
      const one = await saved(store, transcript());
      const kept = Buffer.from((await store.db.selectFrom('transcript_chunks').select('data').executeTakeFirstOrThrow()).data);
      const encoded = await bodies.read(kept);
      clock.now += GRACE_MS + 1;
      // Another conversation's save of the same bytes, the way PostgreSQL's one-statement delta save does it:
      // its claim committed and the object uploaded, the statement that writes its row still to come.
      expect((await bodies.write(encoded, store.db)).equals(kept)).toBe(true);
      await store.deleteConversation(one.id); // releases the object and sweeps
      expect(await s3.objectKeys(location)).toHaveLength(1);
      // The save's row commits: named again, never collected.
      const two = await saved(store, transcript());
      clock.now += GRACE_MS + 1;
      expect(await store.collectUnnamedBodies()).toBe(0);
      expect((await store.loadTranscript(two.id))!.files[0]!.content.equals(transcript())).toBe(true);
      // A save whose row never came (its statement failed): collected once the grace period is over.
      await store.deleteConversation(two.id);
      expect(await s3.objectKeys(location)).toEqual([]);
      await bodies.write(encoded, store.db);
      expect(await store.collectUnnamedBodies()).toBe(0);
      clock.now += GRACE_MS + 1;
      expect(await store.collectUnnamedBodies()).toBe(1);
      expect(await s3.objectKeys(location)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('opening', () => {
  it('a store whose rows name objects refuses to open without them, or with other object storage (BLOB_STORE_MISSING)', async () => {
    const { store, location, path } = await openStore();
    await saved(store, transcript());
    await store.close();
    const missing = await expectBatonError(openSqliteStore(path), 'BLOB_STORE_MISSING');
    expect(missing.message).toContain(location);
    expect(missing.hint).toContain(`--blobs ${location}`);
    await expectBatonError(openSqliteStore(path, { chunkBodies: await s3.bodies() }), 'BLOB_STORE_MISSING');
    const reopened = await openSqliteStore(path, { chunkBodies: await s3.bodies(location) });
    expect(await reopened.listConversations()).toHaveLength(1);
    await reopened.close();
  });

  it('the command line says so in one line with a hint, and reads BATON_BLOBS', async () => {
    const { store, location, path } = await openStore();
    await saved(store, transcript());
    await store.close();
    const baton = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'baton.mjs');
    const run = (args: string[], env: Record<string, string> = {}) =>
      promisify(execFile)(process.execPath, [baton, '--store', path, ...args], { env: { ...process.env, ...s3.env, HOME: directory, ...env } }).then(
        (done) => ({ code: 0, ...done }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    const refused = await run(['ls']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: the store .* keeps transcript and workspace bodies in s3:\/\//), `hint: pass --blobs ${location} or set BATON_BLOBS=${location} (with AWS_ENDPOINT_URL, AWS_REGION and credentials for it)`]);
    const listed = await run(['ls', '--json'], { BATON_BLOBS: location });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
    expect(listed.stderr).toBe(''); // not even the AWS SDK's warning about Node versions
    const flagged = await run(['--blobs', `${location}?inline-below=0`, 'ls', '--json']);
    expect(flagged.code).toBe(0);
  });

  it('a wrong bucket, an endpoint that does not answer, or wrong credentials fail with BLOB_STORE_ERROR naming which', async () => {
    const env = { ...process.env, ...s3.env };
    const noBucket = await expectBatonError(openS3ChunkBodies('s3://no-such-bucket/x', env), 'BLOB_STORE_ERROR');
    expect(noBucket.message).toMatch(/there is no bucket no-such-bucket/);
    expect(noBucket.hint).toMatch(/create the bucket/);
    const closedPort = await freePort();
    const unreachable = await expectBatonError(openS3ChunkBodies(`s3://${TEST_BUCKET}/x`, { ...env, AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}` }), 'BLOB_STORE_ERROR');
    expect(unreachable.message).toMatch(/the endpoint does not answer \(ECONNREFUSED\)/);
    const denied = await expectBatonError(openS3ChunkBodies(`s3://${TEST_BUCKET}/x`, { ...env, AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' }), 'BLOB_STORE_ERROR');
    expect(denied.message).toMatch(/access denied/);
    await expectBatonError(openS3ChunkBodies('https://bucket/x', env), 'USAGE');
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

