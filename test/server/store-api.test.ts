/**
 * The store API (`/v1/store/…`) of a real `baton serve` app on loopback, through its client RemoteStore and by
 * hand: what a client holding one tenant's token can do (an interactive run's saves, its events reaching the
 * server's store) and what it cannot (another tenant's conversations, runs of another kind, a queued run, writes
 * without the lease, trusting an untrusted conversation). Saves through it are sealed in an encrypted store.
 */
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteStore } from '../../src/cli/remote-store.js';
import { createToken } from '../../src/fleet/tokens.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { generateKeyText, parseKey } from '../../src/store/master-key.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.js';
import type { Conversation, StartRunInput, TranscriptCursor } from '../../src/store/store.js';
import { countLines } from '../../src/transcript/jsonl.js';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { expectBatonError, jsonLines, sleep, storeContract } from '../store/store-contract.js';

interface Served {
  store: PostgresStore;
  server: RunningServer;
  tokens: Record<'acme' | 'globex', string>;
  client: Record<'acme' | 'globex', RemoteStore>;
  url: string;
}

let cluster: PostgresCluster;
const served: Served[] = [];

async function serve(name: string, masterKey?: string): Promise<Served> {
  const url = await cluster.createDatabase(name);
  const store = await openPostgresStore(url, masterKey ? { masterKey: parseKey(masterKey, 'test key') } : {});
  const server = await startServer({ store, port: 0, host: '127.0.0.1', version: 'test' });
  const tokens = { acme: (await createToken(store, 'acme')).token, globex: (await createToken(store, 'globex')).token };
  const client = { acme: new RemoteStore({ url: server.url, token: tokens.acme }), globex: new RemoteStore({ url: server.url, token: tokens.globex }) };
  const result = { store, server, tokens, client, url };
  served.push(result);
  return result;
}

let plain: Served;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  plain = await serve('baton_store_api');
}, 120_000);

afterAll(async () => {
  for (const { server, store } of served) {
    await server.close();
    await store.close();
  }
  await cluster?.stop();
});

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A conversation of `tenant` on the server, with a session, as a worker's first run leaves it. */
async function serverConversation(on: Served, tenant = 'acme'): Promise<Conversation> {
  const conversation = await on.store.createConversation({ id: newConversationId(), harness: 'claude', title: 'started on a worker', cwd: '', tenant });
  await on.store.setSessionId(conversation.id, randomUUID());
  return (await on.store.getConversation(conversation.id))!;
}

const interactive = (conversationId: string, overrides: Partial<StartRunInput> = {}): StartRunInput => ({
  conversationId,
  runId: newRunId(),
  kind: 'interactive',
  prompt: '',
  host: 'laptop',
  cwd: '/home/me/project',
  leaseMs: 60_000,
  ...overrides,
});

async function append(client: RemoteStore, conversationId: string, runId: string, base: TranscriptCursor | undefined, before: Buffer, bytes: Buffer): Promise<TranscriptCursor> {
  const whole = Buffer.concat([before, bytes]);
  return client.appendTranscript({ conversationId, fileKey: 'main', runId, base, bytes, after: { lineCount: countLines(whole), byteLength: whole.length, sha256: sha256(whole) }, meta: undefined, asLeaseHolder: true });
}

async function raw(on: Served, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${on.server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

// The store contract, as far as a client of a server's store takes part in it: the cases that need what only the
// store's owner does (tenants' conversations, queues, import …) are skipped, each naming why.
storeContract(
  'RemoteStore, through the store API of baton serve',
  async () => ({ store: plain.client.acme, server: { store: plain.store, tenant: 'acme' }, cleanup: async () => undefined }),
  { client: true },
);

describe('store API through RemoteStore', () => {
  it("keeps an interactive run's lease, events, transcript and workspace in the server's store", async () => {
    const conversation = await serverConversation(plain);
    const client = plain.client.acme;
    expect(await client.getConversation(conversation.id)).toEqual(conversation);

    const run = await client.startRun(interactive(conversation.id));
    expect(run).toMatchObject({ kind: 'interactive', status: 'running', sequence: 1, host: 'laptop' });
    expect((await plain.store.getConversation(conversation.id))?.activeRunId).toBe(run.id);
    expect(await client.renewLease(run.id, 60_000)).toBe(true);

    await client.appendRunEvents(run.id, [{ at: 1, type: 'prompt', data: { text: 'typed in the TUI' } }]);
    expect(await plain.store.listRunEvents(run.id)).toEqual([{ runId: run.id, sequence: 1, at: 1, type: 'prompt', data: { text: 'typed in the TUI' } }]);

    // Bigger than the 2 MB prompt limit of the other routes: a first save of a long transcript.
    const first = jsonLines(40_000);
    expect(first.length).toBeGreaterThan(2 * 1024 * 1024);
    const cursor = await append(client, conversation.id, run.id, undefined, Buffer.alloc(0), first);
    const more = jsonLines(3, 40_000);
    const after = await append(client, conversation.id, run.id, cursor, first, more);
    expect(await client.compactTranscript(after.versionId)).toMatchObject({ chunksAfter: expect.any(Number) });
    const loaded = await plain.store.loadTranscript(conversation.id);
    expect(loaded?.files[0]?.content.equals(Buffer.concat([first, more]))).toBe(true);
    expect((await client.loadTranscript(conversation.id))?.files[0]?.content.equals(Buffer.concat([first, more]))).toBe(true);

    const snapshot = { manifest: { kind: 'directory' as const, fingerprint: 'f1', fileCount: 1, changedFiles: ['note.txt'], excludedSecrets: [] }, blobs: { archive: Buffer.from('an archive, byte for byte \x00\xff') } };
    const snapshotId = await client.saveWorkspaceSnapshot({ conversationId: conversation.id, runId: run.id, snapshot, transcript: { versionId: after.versionId, byteLength: after.byteLength }, asLeaseHolder: true });
    const stored = await plain.store.loadWorkspaceSnapshot(conversation.id);
    expect(stored).toMatchObject({ id: snapshotId, runId: run.id, manifest: snapshot.manifest });
    expect(stored?.blobs.archive?.equals(snapshot.blobs.archive)).toBe(true);
    const viaClient = await client.loadWorkspaceSnapshot(conversation.id, run.id);
    expect(viaClient?.blobs.archive?.equals(snapshot.blobs.archive)).toBe(true);
    expect((await client.listWorkspaceSnapshots(conversation.id)).map((summary) => summary.id)).toEqual([snapshotId]);

    const finished = await client.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined, usage: { inputTokens: 10 ** 9, cachedInputTokens: 0, outputTokens: 0, requests: 1 } });
    expect(finished).toMatchObject({ status: 'succeeded', exitCode: 0 });
    // What a run used is counted by a model proxy, never taken from a client.
    expect((await plain.store.getRun(run.id))?.usage).toBeUndefined();
    expect((await plain.store.getConversation(conversation.id))?.activeRunId).toBeUndefined();
    expect((await client.listRuns(conversation.id)).map((listed) => [listed.kind, listed.status])).toEqual([['interactive', 'succeeded']]);
  });

  it('answers undefined for what the server does not have', async () => {
    const conversation = await serverConversation(plain);
    expect(await plain.client.acme.getConversation(newConversationId())).toBeUndefined();
    expect(await plain.client.acme.loadTranscript(conversation.id)).toBeUndefined();
    expect(await plain.client.acme.loadWorkspaceSnapshot(conversation.id)).toBeUndefined();
    expect(await plain.client.acme.getRun(newRunId())).toBeUndefined();
  });

  it('refuses what an interactive run never needs with USAGE, "not available through --server"', async () => {
    const conversation = await serverConversation(plain);
    const client = plain.client.acme;
    for (const refused of [
      client.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '' }),
      client.listConversations(),
      client.listConversations({ tenant: 'acme', session: { harness: 'claude', sessionId: randomUUID() } }),
      client.trustConversation(conversation.id),
      client.setSessionId(conversation.id, randomUUID()),
      client.setConversationOptions(conversation.id, {}),
      client.queueRun({ conversationId: conversation.id, runId: newRunId(), prompt: 'p' }),
      client.tenantSecrets('acme'),
      client.startRun(interactive(conversation.id, { kind: 'resume' })),
    ]) {
      const error = await expectBatonError(refused, 'USAGE');
      expect(error.message).toMatch(/not available through --server/);
      expect(error.hint).toBeTruthy();
    }
  });
});

describe('store API confinement', () => {
  it("gives another tenant's conversations and runs as 404, and writes nothing to them", async () => {
    const conversation = await serverConversation(plain, 'acme');
    const run = await plain.client.acme.startRun(interactive(conversation.id));
    const cursor = await append(plain.client.acme, conversation.id, run.id, undefined, Buffer.alloc(0), jsonLines(2));
    const other = plain.client.globex;

    expect(await other.getConversation(conversation.id)).toBeUndefined();
    expect(await other.loadTranscript(conversation.id)).toBeUndefined();
    expect(await other.getRun(run.id)).toBeUndefined();
    await expectBatonError(other.startRun(interactive(conversation.id)), 'CONVERSATION_NOT_FOUND');
    const token = plain.tokens.globex;
    const whole = Buffer.concat([jsonLines(2), jsonLines(1, 2)]);
    const attempts = [
      await raw(plain, token, 'GET', `/v1/store/conversations/${conversation.id}/runs`),
      await raw(plain, token, 'GET', `/v1/store/conversations/${conversation.id}/workspace-snapshots`),
      await raw(plain, token, 'GET', `/v1/store/runs/${run.id}/events`),
      await raw(plain, token, 'POST', `/v1/store/runs/${run.id}/lease`, { leaseMs: 60_000 }),
      await raw(plain, token, 'POST', `/v1/store/runs/${run.id}/events`, { events: [{ at: 1, type: 'message', data: { text: 'not mine' } }] }),
      await raw(plain, token, 'POST', `/v1/store/runs/${run.id}/finish`, { status: 'failed' }),
      await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/transcript`, { runId: run.id, fileKey: 'main', base: cursor, bytes: jsonLines(1, 2).toString('base64'), after: { lineCount: 3, byteLength: whole.length, sha256: sha256(whole) }, meta: null }),
      await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/transcript/compact`, { versionId: cursor.versionId }),
      await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/workspace-snapshots`, { runId: run.id, snapshot: { manifest: { kind: 'directory', fingerprint: 'x', fileCount: 0, changedFiles: [], excludedSecrets: [] }, blobs: {} }, transcript: null }),
    ];
    expect(attempts.map((attempt) => attempt.status)).toEqual(attempts.map(() => 404));
    expect(await plain.store.listRunEvents(run.id)).toEqual([]);
    expect((await plain.store.getRun(run.id))?.status).toBe('running');
    expect((await plain.store.loadTranscript(conversation.id))?.files[0]?.lineCount).toBe(2);
    expect(await plain.store.listWorkspaceSnapshots(conversation.id)).toEqual([]);

    // A run of one of its own conversations does not reach another conversation's transcript either.
    const mine = await serverConversation(plain, 'globex');
    const myRun = await other.startRun(interactive(mine.id));
    const crossed = await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/transcript`, { runId: myRun.id, fileKey: 'main', base: null, bytes: jsonLines(1).toString('base64'), after: { lineCount: 1, byteLength: jsonLines(1).length, sha256: sha256(jsonLines(1)) }, meta: null });
    expect(crossed.status).toBe(404);
    // …and a version id of another conversation is not one it may compact or tie a snapshot to.
    const compact = await raw(plain, token, 'POST', `/v1/store/conversations/${mine.id}/transcript/compact`, { versionId: cursor.versionId });
    expect(compact.status).toBe(422);
    await plain.client.acme.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined });
  });

  it('refuses a request without a valid token with 401', async () => {
    const conversation = await serverConversation(plain);
    expect((await raw(plain, 'bt_not-a-token', 'GET', `/v1/store/conversations/${conversation.id}`)).status).toBe(401);
    await expectBatonError(new RemoteStore({ url: plain.server.url, token: 'bt_not-a-token' }).getConversation(conversation.id), 'SERVER_ERROR');
  });
});

describe('store API: interactive runs only', () => {
  it('starts only runs of kind interactive or adopt (422 for any other kind)', async () => {
    const conversation = await serverConversation(plain);
    for (const kind of ['new', 'resume', 'queued', 'fork', undefined]) {
      const answer = await raw(plain, plain.tokens.acme, 'POST', `/v1/store/conversations/${conversation.id}/runs`, { runId: newRunId(), kind, prompt: 'rm -rf /', host: 'h', cwd: '/', leaseMs: 60_000 });
      expect(answer.status, String(kind)).toBe(422);
    }
    expect(await plain.store.listRuns(conversation.id)).toEqual([]);
  });

  it('never claims a run queued for a worker, nor writes through a run of another kind', async () => {
    const conversation = await serverConversation(plain);
    const queued = await plain.store.queueRun({ conversationId: conversation.id, runId: newRunId(), prompt: 'for a worker' });
    const claim = await raw(plain, plain.tokens.acme, 'POST', `/v1/store/conversations/${conversation.id}/runs`, { runId: queued.id, kind: 'interactive', prompt: '', host: 'h', cwd: '/', leaseMs: 60_000 });
    expect(claim).toMatchObject({ status: 409, body: { error: { code: 'RUN_EXISTS' } } });
    expect(await plain.store.getRun(queued.id)).toMatchObject({ status: 'queued', kind: 'new' });

    // A worker's run holds the lease: the client may not renew, finish or write through it.
    const worker = await plain.store.startRun({ conversationId: conversation.id, runId: queued.id, kind: 'new', prompt: 'for a worker', host: 'worker-1', cwd: '/w', leaseMs: 60_000 });
    const token = plain.tokens.acme;
    const attempts = [
      await raw(plain, token, 'POST', `/v1/store/runs/${worker.id}/lease`, { leaseMs: 60_000 }),
      await raw(plain, token, 'POST', `/v1/store/runs/${worker.id}/finish`, { status: 'failed', error: 'stopped by a client' }),
      await raw(plain, token, 'POST', `/v1/store/runs/${worker.id}/events`, { events: [{ at: 1, type: 'message', data: {} }] }),
      await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/transcript`, { runId: worker.id, fileKey: 'main', base: null, bytes: jsonLines(1).toString('base64'), after: { lineCount: 1, byteLength: jsonLines(1).length, sha256: sha256(jsonLines(1)) }, meta: null }),
    ];
    expect(attempts.map((attempt) => [attempt.status, attempt.body?.error?.code])).toEqual(attempts.map(() => [409, 'NOT_INTERACTIVE']));
    expect(await plain.store.getRun(worker.id)).toMatchObject({ status: 'running' });
    await expectBatonError(plain.client.acme.startRun(interactive(conversation.id)), 'CONVERSATION_BUSY');
    await plain.store.finishRun(worker.id, { status: 'succeeded', exitCode: 0, error: undefined });
  });

  it('refuses saves from an interactive run that lost the lease with LEASE_LOST', async () => {
    const conversation = await serverConversation(plain);
    const client = plain.client.acme;
    const run = await client.startRun(interactive(conversation.id, { leaseMs: 1 }));
    const cursor = await append(client, conversation.id, run.id, undefined, Buffer.alloc(0), jsonLines(2));
    await sleep(10);
    // A worker takes the conversation over once the laptop's lease expired (it was suspended, say).
    const worker = await plain.store.startRun({ conversationId: conversation.id, runId: newRunId(), kind: 'resume', prompt: 'next', host: 'worker-1', cwd: '/w', leaseMs: 60_000 });
    expect(await client.renewLease(run.id, 60_000)).toBe(false);
    await expectBatonError(append(client, conversation.id, run.id, cursor, jsonLines(2), jsonLines(1, 2)), 'LEASE_LOST');
    await expectBatonError(
      client.saveWorkspaceSnapshot({ conversationId: conversation.id, runId: run.id, snapshot: { manifest: { kind: 'directory', fingerprint: 'late', fileCount: 0, changedFiles: [], excludedSecrets: [] }, blobs: {} }, transcript: undefined }),
      'LEASE_LOST',
    );
    expect((await plain.store.loadTranscript(conversation.id))?.files[0]?.lineCount).toBe(2);
    expect(await plain.store.listWorkspaceSnapshots(conversation.id)).toEqual([]);
    expect((await plain.store.getConversation(conversation.id))?.activeRunId).toBe(worker.id);
    await plain.store.finishRun(worker.id, { status: 'succeeded', exitCode: 0, error: undefined });
  });

  it('keeps an untrusted conversation untrusted for the client, which cannot trust it', async () => {
    const id = newConversationId();
    await plain.store.importConversation({
      conversation: { id, harness: 'claude', sessionId: randomUUID(), title: 'imported', cwd: '/elsewhere', createdAt: Date.now(), updatedAt: Date.now(), tenant: 'acme', trust: 'untrusted' },
      runs: [],
      events: [],
      meta: undefined,
      files: [],
      workspace: undefined,
    });
    expect((await plain.client.acme.getConversation(id))?.trust).toBe('untrusted');
    await expectBatonError(plain.client.acme.trustConversation(id), 'USAGE');
    expect((await plain.store.getConversation(id))?.trust).toBe('untrusted');
  });

  it('refuses a chunk whose totals do not add up, a hostile file key or manifest, and deeply nested event data, with 422', async () => {
    const conversation = await serverConversation(plain);
    const run = await plain.client.acme.startRun(interactive(conversation.id));
    const token = plain.tokens.acme;
    const lying = await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/transcript`, { runId: run.id, fileKey: 'main', base: null, bytes: jsonLines(1).toString('base64'), after: { lineCount: 1, byteLength: 5, sha256: sha256(jsonLines(1)) }, meta: null });
    expect(lying.status).toBe(422);
    const badKey = await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/transcript`, { runId: run.id, fileKey: '../../etc/passwd', base: null, bytes: jsonLines(1).toString('base64'), after: { lineCount: 1, byteLength: jsonLines(1).length, sha256: sha256(jsonLines(1)) }, meta: null });
    expect(badKey.status).toBe(422);
    const helper = await raw(plain, token, 'POST', `/v1/store/conversations/${conversation.id}/workspace-snapshots`, {
      runId: run.id,
      snapshot: { manifest: { kind: 'git', fingerprint: 'x', baseCommit: 'a'.repeat(40), tree: 'b'.repeat(40), remoteUrl: 'ext::sh -c touch% /tmp/pwned', bundleIsComplete: true, changedFiles: [], excludedSecrets: [] }, blobs: {} },
      transcript: null,
    });
    expect(helper.status).toBe(422);
    // Written by hand: too deep for JSON.stringify to write, as it would be for the store to keep.
    const deep = `{"events":[{"at":1,"type":"message","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`;
    const nested = await raw(plain, token, 'POST', `/v1/store/runs/${run.id}/events`, deep);
    expect(nested.status).toBe(422);
    expect(await plain.store.listRunEvents(run.id)).toEqual([]);
    expect(await plain.store.loadTranscript(conversation.id)).toBeUndefined();
    expect(await plain.store.listWorkspaceSnapshots(conversation.id)).toEqual([]);
    await plain.client.acme.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined });
  });
});

const adoption = (overrides: Record<string, unknown> = {}, origin: Record<string, unknown> = {}): Record<string, unknown> => {
  const sessionId = (overrides.sessionId as string | undefined) ?? randomUUID();
  return {
    id: newConversationId(),
    harness: 'claude',
    title: 'typed in the bare CLI',
    cwd: '/home/me/project',
    sessionId,
    adoptedFrom: { harness: 'claude', sessionId, host: 'laptop', path: '/home/me/.claude/projects/x/s.jsonl', adoptedAt: 1_700_000_000_000, ...origin },
    ...overrides,
  };
};

describe('store API: adoptions (`baton adopt --server`)', () => {
  it("creates an adopted conversation for the token's tenant with its session id, trusted, and finds it by its session", async () => {
    const client = plain.client.acme;
    const sessionId = randomUUID();
    const origin = { harness: 'claude' as const, sessionId, host: 'laptop', path: '/home/me/s.jsonl', adoptedAt: 1_700_000_000_000 };
    const created = await client.createConversation({ id: newConversationId(), harness: 'claude', title: 'from the laptop', cwd: '/home/me/project', adoptedFrom: origin });
    expect(created).toMatchObject({ tenant: 'acme', sessionId, adoptedFrom: origin, trust: 'trusted', activeRunId: undefined });
    expect(await plain.store.getConversation(created.id)).toMatchObject({ tenant: 'acme', sessionId, adoptedFrom: origin, trust: 'trusted' });
    // The session id was recorded with it: the same one again is a no-op, another is refused.
    await client.setSessionId(created.id, sessionId);
    await expectBatonError(client.setSessionId(created.id, randomUUID()), 'USAGE');

    expect((await client.listConversations({ session: { harness: 'claude', sessionId } })).map((listed) => listed.id)).toEqual([created.id]);
    expect(await client.listConversations({ session: { harness: 'codex', sessionId } })).toEqual([]);
    // Another tenant holding the same session sees only its own (none), and cannot read acme's.
    expect(await plain.client.globex.listConversations({ session: { harness: 'claude', sessionId } })).toEqual([]);
    expect(await plain.client.globex.getConversation(created.id)).toBeUndefined();

    // The adopt run writes as an interactive run does, and the conversation is left idle.
    const run = await client.startRun(interactive(created.id, { kind: 'adopt' }));
    expect(run).toMatchObject({ kind: 'adopt', status: 'running' });
    const lines = jsonLines(2);
    await client.appendTranscript({ conversationId: created.id, fileKey: 'main', runId: run.id, base: undefined, bytes: lines, after: { lineCount: 2, byteLength: lines.length, sha256: sha256(lines) }, meta: { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined }, asLeaseHolder: true });
    await client.appendRunEvents(run.id, [{ at: 1, type: 'message', data: { text: 'adopted' } }]);
    await client.saveWorkspaceSnapshot({ conversationId: created.id, runId: run.id, snapshot: { manifest: { kind: 'directory', fingerprint: 'f', fileCount: 0, changedFiles: [], excludedSecrets: [] }, blobs: {} }, transcript: undefined });
    expect(await client.finishRun(run.id, { status: 'succeeded', exitCode: undefined, error: undefined })).toMatchObject({ kind: 'adopt', status: 'succeeded' });
    expect((await plain.store.loadTranscript(created.id))?.files[0]?.content).toEqual(lines);
    // setSessionId is a no-op only before any run.
    await expectBatonError(client.setSessionId(created.id, sessionId), 'USAGE');
    // A conversation with a succeeded adopt run is not a failed adoption: the client cannot delete it.
    await expectBatonError(client.deleteConversation(created.id), 'SERVER_ERROR');
    expect(await plain.store.getConversation(created.id)).toBeDefined();
  });

  it('refuses a tenant field, a missing or mismatched adoptedFrom, bad shapes and a taken id (another tenant\'s too), with 422 or 409', async () => {
    const token = plain.tokens.acme;
    const refused = [
      adoption({ tenant: 'globex' }),
      adoption({ tenant: 'acme' }),
      adoption({ trust: 'trusted' }),
      adoption({ options: { model: 'x' } }),
      adoption({ forkedFrom: { conversationId: newConversationId(), runId: newRunId(), reason: 'r' } }),
      adoption({ adoptedFrom: undefined }),
      adoption({}, { sessionId: randomUUID() }),
      adoption({}, { harness: 'codex' }),
      adoption({ sessionId: '../../etc/passwd' }),
      adoption({ harness: 'bash' }),
      adoption({ id: 'c_../x' }),
      adoption({ title: 'a\u0000b' }),
      adoption({ cwd: 'x'.repeat(5000) }),
    ];
    for (const body of refused) {
      const answer = await raw(plain, token, 'POST', '/v1/store/conversations', body);
      expect(answer.status, JSON.stringify(body).slice(0, 200)).toBe(422);
      if (typeof body.id === 'string' && /^c_[0-9a-z]{26}$/.test(body.id)) expect(await plain.store.getConversation(body.id)).toBeUndefined();
    }
    // An id that exists, in another tenant or this one, is refused and left as it was.
    const theirs = await serverConversation(plain, 'globex');
    const taken = await raw(plain, token, 'POST', '/v1/store/conversations', adoption({ id: theirs.id }));
    expect(taken).toMatchObject({ status: 409, body: { error: { code: 'CONVERSATION_EXISTS' } } });
    expect(await plain.store.getConversation(theirs.id)).toEqual(theirs);
    // A session id of another shape than a UUID (OpenCode's) is a session id too.
    const opencode = adoption({ harness: 'opencode', sessionId: 'ses_0123456789abcdefABCDEF' }, { harness: 'opencode', sessionId: 'ses_0123456789abcdefABCDEF' });
    expect((await raw(plain, token, 'POST', '/v1/store/conversations', opencode)).status).toBe(201);
  });

  it("lists only the token's tenant's conversations of a session, and checks the query", async () => {
    const sessionId = randomUUID();
    const ours = (await raw(plain, plain.tokens.acme, 'POST', '/v1/store/conversations', adoption({ sessionId }))).body;
    const theirs = (await raw(plain, plain.tokens.globex, 'POST', '/v1/store/conversations', adoption({ sessionId }))).body;
    expect(theirs.tenant).toBe('globex');
    const listed = await raw(plain, plain.tokens.acme, 'GET', `/v1/store/conversations?harness=claude&sessionId=${sessionId}`);
    expect(listed.status).toBe(200);
    expect(listed.body.conversations.map((conversation: Conversation) => conversation.id)).toEqual([ours.id]);
    expect((await raw(plain, plain.tokens.acme, 'GET', '/v1/store/conversations')).status).toBe(422);
    expect((await raw(plain, plain.tokens.acme, 'GET', '/v1/store/conversations?harness=claude&sessionId=%25')).status).toBe(422);
  });

  it("deletes only an adopted conversation whose only run is a failed adopt run, and only the tenant's own", async () => {
    const client = plain.client.acme;
    const failed = (await raw(plain, plain.tokens.acme, 'POST', '/v1/store/conversations', adoption())).body as Conversation;
    const run = await client.startRun(interactive(failed.id, { kind: 'adopt' }));
    // Running, it holds the lease: not deleted.
    await expectBatonError(client.deleteConversation(failed.id), 'SERVER_ERROR');
    await client.finishRun(run.id, { status: 'failed', exitCode: undefined, error: 'the save failed' });
    // Another tenant gets a 404 and deletes nothing.
    await expectBatonError(plain.client.globex.deleteConversation(failed.id), 'CONVERSATION_NOT_FOUND');
    await client.deleteConversation(failed.id);
    expect(await plain.store.getConversation(failed.id)).toBeUndefined();

    // Not adopted (a worker's), or adopted with a further run: refused with 409, left alone.
    const worker = await serverConversation(plain);
    const notAdopted = await raw(plain, plain.tokens.acme, 'DELETE', `/v1/store/conversations/${worker.id}`);
    expect(notAdopted).toMatchObject({ status: 409, body: { error: { code: 'NOT_A_FAILED_ADOPTION' } } });
    const continued = (await raw(plain, plain.tokens.acme, 'POST', '/v1/store/conversations', adoption())).body as Conversation;
    const first = await client.startRun(interactive(continued.id, { kind: 'adopt' }));
    await client.finishRun(first.id, { status: 'failed', exitCode: undefined, error: 'x' });
    const second = await plain.store.startRun({ conversationId: continued.id, runId: newRunId(), kind: 'resume', prompt: 'go on', host: 'worker-1', cwd: '/w', leaseMs: 60_000 });
    await plain.store.finishRun(second.id, { status: 'failed', exitCode: 1, error: 'x' });
    expect((await raw(plain, plain.tokens.acme, 'DELETE', `/v1/store/conversations/${continued.id}`)).status).toBe(409);
    expect(await plain.store.getConversation(worker.id)).toBeDefined();
    expect(await plain.store.getConversation(continued.id)).toBeDefined();
  });
});

describe('store API on an encrypted server store', () => {
  it("seals what a client saves, as a worker's saves are", async () => {
    const sealed = await serve('baton_store_api_encrypted', generateKeyText());
    const marker = 'MARKER-typed-on-the-laptop';
    const line = Buffer.from(`${JSON.stringify({ t: marker })}\n`);
    expect(line.length).toBeLessThan(64); // stored uncompressed: plaintext would show as it is

    const check = async (on: Served): Promise<boolean> => {
      const conversation = await serverConversation(on);
      const run = await on.client.acme.startRun(interactive(conversation.id));
      await append(on.client.acme, conversation.id, run.id, undefined, Buffer.alloc(0), line);
      await on.client.acme.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined });
      expect((await on.client.acme.loadTranscript(conversation.id))?.files[0]?.content.equals(line)).toBe(true);
      const database = new pg.Client({ connectionString: on.url });
      await database.connect();
      try {
        const rows = await database.query<{ data: Buffer }>('select c.data from transcript_chunks c join transcript_versions v on v.id = c.version_id where v.conversation_id = $1', [conversation.id]);
        expect(rows.rows.length).toBeGreaterThan(0);
        return rows.rows.some((row) => row.data.includes(marker));
      } finally {
        await database.end();
      }
    };
    expect(await check(plain)).toBe(true);
    expect(await check(sealed)).toBe(false);
  });
});
