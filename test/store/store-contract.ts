/**
 * The behaviour every store backend must show. A backend's test file calls `storeContract(name, open)`, where
 * `open` gives a fresh, empty store and a cleanup that closes it and removes whatever it created.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatonError, type ErrorCode } from '../../src/errors.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import { exportConversation, parseExport } from '../../src/store/export-file.js';
import type { Conversation, StartRunInput, Store, TranscriptCursor } from '../../src/store/store.js';
import { countLines } from '../../src/transcript/jsonl.js';
import type { SessionMeta } from '../../src/transcript/envelope.js';

export interface OpenedStore {
  store: Store;
  cleanup: () => Promise<void>;
  /**
   * For a client of a server's store (RemoteStore): the server's own store, which makes what a client cannot (a
   * tenant's conversations), and the client's tenant.
   */
  server?: { store: Store; tenant: string };
}

export interface ContractProfile {
  /**
   * The store is a client of a server's (`baton open --server`): it starts interactive runs only and writes only
   * through them; the cases that need what only the store's owner does are skipped, each with its reason.
   */
  client?: boolean;
}

/** Resolves once Date.now() has moved past the millisecond it was called in. */
async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() === start) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Awaits a promise that must reject with a BatonError of `code`, and returns that error. */
export async function expectBatonError(promise: Promise<unknown>, code: ErrorCode): Promise<BatonError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a BatonError ${code}`).toBeInstanceOf(BatonError);
  expect((caught as BatonError).code).toBe(code);
  return caught as BatonError;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** JSONL text of `count` records, numbered from `from`. */
export function jsonLines(count: number, from = 0, label = 'line'): Buffer {
  let text = '';
  for (let index = from; index < from + count; index++) text += `${JSON.stringify({ type: label, index, text: `record ${index} of a transcript` })}\n`;
  return Buffer.from(text);
}

/** Appends `bytes` after `base` the way a writer does: totals computed over everything stored so far. */
export async function appendAfter(
  store: Store,
  options: { conversationId: string; fileKey?: string; runId?: string; base: TranscriptCursor | undefined; before: Buffer; bytes: Buffer; meta?: SessionMeta },
): Promise<TranscriptCursor> {
  const whole = Buffer.concat([options.before, options.bytes]);
  return store.appendTranscript({
    conversationId: options.conversationId,
    fileKey: options.fileKey ?? 'main',
    runId: options.runId,
    base: options.base,
    bytes: options.bytes,
    after: { lineCount: countLines(whole), byteLength: whole.length, sha256: sha256(whole) },
    meta: options.meta,
  });
}

export function storeContract(name: string, open: () => Promise<OpenedStore>, profile: ContractProfile = {}): void {
  const client = profile.client === true;
  /** `it` for a case a client of the store cannot run: skipped for it, its name saying why. */
  const serverOnly = (reason: string): typeof it =>
    (client ? (caseName: string, body?: () => Promise<void>) => it.skip(`${caseName} (skipped for a client: ${reason})`, body) : it) as typeof it;
  const serverOnlyDescribe = (reason: string): typeof describe =>
    (client ? (groupName: string, body: () => void) => describe.skip(`${groupName} (skipped for a client: ${reason})`, body) : describe) as typeof describe;
  /** A client starts interactive (and adopt) runs only. */
  const firstKind = client ? 'interactive' : 'new';
  const laterKind = client ? 'interactive' : 'resume';
  describe(`store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });

    afterEach(async () => {
      await opened.cleanup();
    });

    const conversation = (title = 'fix the build'): Promise<Conversation> =>
      (opened.server?.store ?? store).createConversation({ id: newConversationId(), harness: 'codex', title, cwd: '/work/project', ...(opened.server ? { tenant: opened.server.tenant } : {}) });

    /**
     * What an append names as its writer: nothing on a backend (the cases test the store itself); for a client, an
     * interactive run of the conversation holding its lease (started once per conversation), as `baton open` has.
     */
    const writers = new Map<string, string>();
    const writer = async (conversationId: string): Promise<{ runId?: string }> => {
      if (!client) return {};
      if (!writers.has(conversationId)) writers.set(conversationId, (await store.startRun(runInput(conversationId))).id);
      return { runId: writers.get(conversationId)! };
    };

    const runInput = (conversationId: string, overrides: Partial<StartRunInput> = {}): StartRunInput => ({
      conversationId,
      runId: newRunId(),
      kind: firstKind,
      prompt: 'say hello',
      host: 'machine-a',
      cwd: '/work/project',
      leaseMs: 60_000,
      ...overrides,
    });

    serverOnlyDescribe('a worker or `baton resume` starts a session over where the store is')('abandonUnsavedSession (a first run that died before its first save)', () => {
      it('forgets the session for the lease holder when nothing of it is stored, so that a new one can be recorded', async () => {
        const created = await conversation();
        const lost = randomUUID();
        await store.setSessionId(created.id, lost);
        const run = await store.startRun(runInput(created.id, { kind: laterKind }));
        expect(await store.abandonUnsavedSession(created.id, run.id, lost)).toBe(true);
        expect((await store.getConversation(created.id))!.sessionId).toBeUndefined();
        const fresh = randomUUID();
        await store.setSessionId(created.id, fresh);
        expect((await store.getConversation(created.id))!.sessionId).toBe(fresh);
      });

      it('changes nothing when a transcript is stored, for another lease holder, or for another session', async () => {
        const created = await conversation();
        const session = randomUUID();
        await store.setSessionId(created.id, session);
        const run = await store.startRun(runInput(created.id));
        expect(await store.abandonUnsavedSession(created.id, newRunId(), session)).toBe(false);
        expect(await store.abandonUnsavedSession(created.id, run.id, randomUUID())).toBe(false);
        await appendAfter(store, { conversationId: created.id, runId: run.id, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(2) });
        expect(await store.abandonUnsavedSession(created.id, run.id, session)).toBe(false);
        expect((await store.getConversation(created.id))!.sessionId).toBe(session);
      });
    });

    serverOnlyDescribe('a rewind runs where the store is, never through --server')('replaceTranscript (a rewind)', () => {
      it('under the lease: a new session id, a new whole version of each file, and the files it lacks removed', async () => {
        const created = await conversation();
        await store.setSessionId(created.id, randomUUID());
        const run = await store.startRun(runInput(created.id));
        const first = jsonLines(6);
        await appendAfter(store, { conversationId: created.id, runId: run.id, base: undefined, before: Buffer.alloc(0), bytes: first });
        await appendAfter(store, { conversationId: created.id, fileKey: 'todos/old-agent-1.json', runId: run.id, base: undefined, before: Buffer.alloc(0), bytes: Buffer.from('[]\n') });
        const cut = jsonLines(2);
        const sessionId = randomUUID();
        const meta = { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined };
        const cursors = await store.replaceTranscript({
          conversationId: created.id,
          runId: run.id,
          sessionId,
          files: [{ key: 'main', content: cut, lineCount: 2, sha256: sha256(cut) }],
          meta,
        });
        expect(cursors.get('main')).toMatchObject({ lineCount: 2, byteLength: cut.length });
        const loaded = await store.loadTranscript(created.id);
        expect(loaded!.files.map((file) => file.key)).toEqual(['main']);
        expect(loaded!.files[0]!.content.equals(cut)).toBe(true);
        expect(loaded!.meta).toEqual(meta);
        expect((await store.getConversation(created.id))!.sessionId).toBe(sessionId);
        // The next save appends after the new version.
        const more = jsonLines(1, 2);
        await appendAfter(store, { conversationId: created.id, runId: run.id, base: cursors.get('main'), before: cut, bytes: more });
        expect((await store.loadTranscript(created.id))!.files[0]!.content.equals(Buffer.concat([cut, more]))).toBe(true);
      });

      it('is refused (LEASE_LOST) without the lease, changing nothing', async () => {
        const created = await conversation();
        const original = randomUUID();
        await store.setSessionId(created.id, original);
        const run = await store.startRun(runInput(created.id));
        const first = jsonLines(3);
        await appendAfter(store, { conversationId: created.id, runId: run.id, base: undefined, before: Buffer.alloc(0), bytes: first });
        await store.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined });
        const cut = jsonLines(1);
        await expectBatonError(store.replaceTranscript({ conversationId: created.id, runId: run.id, sessionId: randomUUID(), files: [{ key: 'main', content: cut, lineCount: 1, sha256: sha256(cut) }], meta: undefined }), 'LEASE_LOST');
        expect((await store.getConversation(created.id))!.sessionId).toBe(original);
        expect((await store.loadTranscript(created.id))!.files[0]!.content.equals(first)).toBe(true);
      });
    });

    describe('conversations', () => {
      it('creates a conversation and reads it back', async () => {
        const created = await conversation('first task');
        expect(created).toMatchObject({ harness: 'codex', title: 'first task', cwd: '/work/project', sessionId: undefined, activeRunId: undefined, leaseExpiresAt: undefined, tenant: opened.server?.tenant, options: {} });
        expect(await store.getConversation(created.id)).toEqual(created);
      });

      it('returns undefined for an unknown conversation', async () => {
        expect(await store.getConversation(newConversationId())).toBeUndefined();
      });

      serverOnly('listing conversations is not for a client')('lists conversations with the most recently updated first', async () => {
        const older = await conversation('older');
        await sleep(5);
        const newer = await conversation('newer');
        expect((await store.listConversations()).map((c) => c.id)).toEqual([newer.id, older.id]);

        await sleep(5);
        await store.setSessionId(older.id, randomUUID());
        expect((await store.listConversations()).map((c) => c.id)).toEqual([older.id, newer.id]);
      });

      serverOnly("a client never records a session id: it opens conversations that have one")('records the session id once and accepts the same id again', async () => {
        const created = await conversation();
        const sessionId = randomUUID();
        await store.setSessionId(created.id, sessionId);
        await store.setSessionId(created.id, sessionId);
        expect((await store.getConversation(created.id))?.sessionId).toBe(sessionId);
      });

      serverOnly("a client never records a session id: it opens conversations that have one")('refuses a different session id for the same conversation with SESSION_MISMATCH', async () => {
        const created = await conversation();
        const sessionId = randomUUID();
        await store.setSessionId(created.id, sessionId);
        await expectBatonError(store.setSessionId(created.id, randomUUID()), 'SESSION_MISMATCH');
        expect((await store.getConversation(created.id))?.sessionId).toBe(sessionId);
      });

      serverOnly('a client creates only adoptions, each with its session id at once, and lists only by session')('records where an adopted conversation came from, and lists the conversations of a session', async () => {
        const sessionId = randomUUID();
        const adoptedFrom = { harness: 'claude' as const, sessionId, host: 'laptop', path: '/home/me/.claude/projects/-work/x.jsonl', adoptedAt: 1_700_000_000_000 };
        const adopted = await store.createConversation({ id: newConversationId(), harness: 'claude', title: 'adopted', cwd: '/work', adoptedFrom });
        expect(adopted.adoptedFrom).toEqual(adoptedFrom);
        await store.setSessionId(adopted.id, sessionId);
        expect((await store.getConversation(adopted.id))?.adoptedFrom).toEqual(adoptedFrom);
        expect((await conversation()).adoptedFrom).toBeUndefined();
        // The same session id under another harness, and another session of the same harness, are not that session.
        const other = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 'other harness', cwd: '/work' });
        await store.setSessionId(other.id, sessionId);
        const another = await store.createConversation({ id: newConversationId(), harness: 'claude', title: 'another session', cwd: '/work' });
        await store.setSessionId(another.id, randomUUID());
        const listed = await store.listConversations({ session: { harness: 'claude', sessionId } });
        expect(listed.map((c) => c.id)).toEqual([adopted.id]);
        expect(listed[0]?.adoptedFrom).toEqual(adoptedFrom);
        expect(await store.listConversations({ session: { harness: 'gemini', sessionId } })).toEqual([]);
        const summaries = await store.listConversationSummaries();
        expect(summaries.find((row) => row.conversation.id === adopted.id)?.conversation.adoptedFrom).toEqual(adoptedFrom);
      });

      it('keeps a run of kind adopt', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id, { kind: 'adopt', prompt: '' }));
        await store.finishRun(run.id, { status: 'succeeded', exitCode: undefined, error: undefined });
        expect((await store.listRuns(created.id)).map((r) => [r.kind, r.prompt, r.status])).toEqual([['adopt', '', 'succeeded']]);
      });

      serverOnly("a client never records a session id: it opens conversations that have one")('refuses a session id for an unknown conversation with CONVERSATION_NOT_FOUND', async () => {
        await expectBatonError(store.setSessionId(newConversationId(), randomUUID()), 'CONVERSATION_NOT_FOUND');
      });
    });

    describe('runs and the conversation lease', () => {
      it('starts the first run with sequence 1 and takes the lease', async () => {
        const created = await conversation();
        const input = runInput(created.id);
        const run = await store.startRun(input);
        expect(run).toMatchObject({ id: input.runId, conversationId: created.id, sequence: 1, kind: firstKind, status: 'running', host: 'machine-a', endedAt: undefined });
        const held = await store.getConversation(created.id);
        expect(held?.activeRunId).toBe(run.id);
        expect(held?.leaseExpiresAt).toBeGreaterThan(Date.now());
        expect(await store.getRun(run.id)).toEqual(run);
      });

      it('refuses a second run while the lease is held with CONVERSATION_BUSY naming the active run', async () => {
        const created = await conversation();
        const first = await store.startRun(runInput(created.id));
        const second = runInput(created.id, { kind: laterKind });
        const error = await expectBatonError(store.startRun(second), 'CONVERSATION_BUSY');
        expect(error.message).toContain(first.id);
        expect(await store.getRun(second.runId)).toBeUndefined();
        expect((await store.listRuns(created.id)).map((run) => run.id)).toEqual([first.id]);
        expect((await store.getConversation(created.id))?.activeRunId).toBe(first.id);
      });

      it('refuses a run for an unknown conversation with CONVERSATION_NOT_FOUND', async () => {
        await expectBatonError(store.startRun(runInput(newConversationId())), 'CONVERSATION_NOT_FOUND');
      });

      it('releases the lease on finishRun, and the next run gets sequence 2', async () => {
        const created = await conversation();
        const first = await store.startRun(runInput(created.id));
        const finished = await store.finishRun(first.id, { status: 'succeeded', exitCode: 0, error: undefined });
        expect(finished).toMatchObject({ id: first.id, status: 'succeeded', exitCode: 0, error: undefined });
        expect(finished.endedAt).toBeGreaterThanOrEqual(first.startedAt);
        const released = await store.getConversation(created.id);
        expect(released?.activeRunId).toBeUndefined();
        expect(released?.leaseExpiresAt).toBeUndefined();

        const second = await store.startRun(runInput(created.id, { kind: laterKind, prompt: 'and now the tests', cwd: '/elsewhere' }));
        expect(second).toMatchObject({ sequence: 2, kind: laterKind, prompt: 'and now the tests', status: 'running' });
        expect((await store.getConversation(created.id))?.cwd).toBe('/elsewhere');
        expect((await store.listRuns(created.id)).map((run) => [run.sequence, run.status])).toEqual([
          [1, 'succeeded'],
          [2, 'running'],
        ]);
      });

      it('records a failed run with its exit code and error', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id));
        const finished = await store.finishRun(run.id, { status: 'failed', exitCode: 3, error: 'codex exited with 3' });
        expect(finished).toMatchObject({ status: 'failed', exitCode: 3, error: 'codex exited with 3' });
        expect(await store.getRun(run.id)).toEqual(finished);
      });

      serverOnly('usage is counted by a model proxy on the server, never taken from a client')('stores a run\'s model usage, added up over its executions, with the failure\'s code; and exports them', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id));
        expect(run.usage).toBeUndefined();
        const usage = { inputTokens: 1200, cachedInputTokens: 400, outputTokens: 80, requests: 3 };
        const interrupted = await store.finishRun(run.id, { status: 'interrupted', exitCode: undefined, error: 'handed back', usage });
        expect(interrupted.usage).toEqual(usage);
        // A handed-back run executes again under the same id, and is finished again: its usage adds up.
        const failed = await store.finishRun(run.id, { status: 'failed', exitCode: 1, error: 'over the limit', errorCode: 'TOKEN_LIMIT_EXCEEDED', usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 5, requests: 1 } });
        expect(failed).toMatchObject({ errorCode: 'TOKEN_LIMIT_EXCEEDED', usage: { inputTokens: 1210, cachedInputTokens: 400, outputTokens: 85, requests: 4 } });
        expect(await store.getRun(run.id)).toEqual(failed);
        const parsed = parseExport(await exportConversation(store, created.id), 'export.json');
        expect(parsed.runs[0]).toMatchObject({ errorCode: 'TOKEN_LIMIT_EXCEEDED', usage: failed.usage });
      });

      it('takes over a run whose lease expired and marks the old run failed', async () => {
        const created = await conversation();
        const stale = await store.startRun(runInput(created.id, { leaseMs: 1 }));
        await sleep(10);
        const next = await store.startRun(runInput(created.id, { kind: laterKind }));
        expect(next.sequence).toBe(2);
        expect((await store.getConversation(created.id))?.activeRunId).toBe(next.id);
        const old = await store.getRun(stale.id);
        expect(old?.status).toBe('failed');
        expect(old?.endedAt).toBeDefined();
        expect(old?.error).toMatch(/lease/);
      });

      it('renews a held lease, and refuses once the lease was taken over', async () => {
        const created = await conversation();
        const stale = await store.startRun(runInput(created.id, { leaseMs: 1 }));
        expect(await store.renewLease(stale.id, 1)).toBe(true);
        await sleep(10);
        const next = await store.startRun(runInput(created.id));
        expect(await store.renewLease(stale.id, 60_000)).toBe(false);
        expect(await store.renewLease(next.id, 60_000)).toBe(true);
        expect((await store.getConversation(created.id))?.activeRunId).toBe(next.id);
      });

      it('extends the lease on renewLease', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id, { leaseMs: 1 }));
        expect(await store.renewLease(run.id, 60_000)).toBe(true);
        await sleep(10);
        await expectBatonError(store.startRun(runInput(created.id)), 'CONVERSATION_BUSY');
      });

      it('does not renew the lease of a finished run', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id));
        await store.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined });
        expect(await store.renewLease(run.id, 60_000)).toBe(false);
        expect((await store.getConversation(created.id))?.activeRunId).toBeUndefined();
      });
    });

    serverOnlyDescribe("tenants, queues and deletion are the server's (a client sees one tenant's conversations and starts no queued run)")('tenants, queued runs and deletion (the fleet)', () => {
      it('keeps a conversation\'s tenant and options, and lists one tenant\'s conversations only', async () => {
        const options = { model: 'gpt-test', systemPrompt: 'be brief', workspace: { git: 'https://example.com/r.git', ref: 'main' } };
        const mine = await store.createConversation({ id: newConversationId(), harness: 'claude', title: 'mine', cwd: '', tenant: 'acme', options });
        await store.createConversation({ id: newConversationId(), harness: 'codex', title: 'theirs', cwd: '', tenant: 'globex' });
        await conversation('local');
        expect(await store.getConversation(mine.id)).toMatchObject({ tenant: 'acme', options });
        expect((await store.listConversations({ tenant: 'acme' })).map((c) => c.title)).toEqual(['mine']);
        expect(await store.listConversations()).toHaveLength(3);
      });

      it('numbers queued runs in order, and startRun claims a queued run keeping its number', async () => {
        const created = await conversation();
        const first = await store.queueRun({ conversationId: created.id, runId: newRunId(), prompt: 'one' });
        const second = await store.queueRun({ conversationId: created.id, runId: newRunId(), prompt: 'two' });
        expect([first.sequence, first.kind, first.status, second.sequence, second.kind]).toEqual([1, 'new', 'queued', 2, 'resume']);
        expect(first.queuedAt).toBeTypeOf('number');
        const claimed = await store.startRun(runInput(created.id, { runId: first.id, prompt: 'one' }));
        expect(claimed).toMatchObject({ id: first.id, sequence: 1, status: 'running', host: 'machine-a', queuedAt: first.queuedAt });
        expect((await store.getConversation(created.id))?.activeRunId).toBe(first.id);
        await expectBatonError(store.startRun(runInput(created.id, { runId: second.id })), 'CONVERSATION_BUSY');
        expect((await store.getRun(second.id))?.status).toBe('queued');
      });

      it('lists conversations with their run tally in one call, newest first, per tenant', async () => {
        const quiet = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 'no runs', cwd: '', tenant: 'acme' });
        const busy = await store.createConversation({ id: newConversationId(), harness: 'claude', title: 'busy', cwd: '', tenant: 'acme' });
        await store.createConversation({ id: newConversationId(), harness: 'codex', title: 'other tenant', cwd: '', tenant: 'globex' });
        // Times are kept in milliseconds: within one millisecond the order falls back to the id, which is random there.
        await nextMillisecond();
        const first = await store.startRun(runInput(busy.id));
        await store.finishRun(first.id, { status: 'failed', exitCode: 1, error: 'boom' });
        await store.queueRun({ conversationId: busy.id, runId: newRunId(), prompt: 'again' });
        const listed = await store.listConversationSummaries({ tenant: 'acme' });
        expect(listed.map(({ conversation, runs }) => [conversation.id, runs])).toEqual([
          [busy.id, { count: 2, queued: 1, lastStatus: 'queued' }],
          [quiet.id, { count: 0, queued: 0, lastStatus: undefined }],
        ]);
        expect(listed[0]!.conversation).toEqual(await store.getConversation(busy.id));
        expect(await store.listConversationSummaries()).toHaveLength(3);
      });

      it('keeps the time limits a queued run was given, through its claim; a run given none has none', async () => {
        const created = await conversation();
        const limited = await store.queueRun({ conversationId: created.id, runId: newRunId(), prompt: 'one', limits: { stallTimeoutMs: 2_000, maxRunTimeMs: 0 } });
        const plain = await store.queueRun({ conversationId: created.id, runId: newRunId(), prompt: 'two' });
        expect(limited.limits).toEqual({ stallTimeoutMs: 2_000, maxRunTimeMs: 0 });
        expect(plain.limits).toBeUndefined();
        await store.startRun(runInput(created.id, { runId: limited.id, prompt: 'one' }));
        expect((await store.getRun(limited.id))?.limits).toEqual({ stallTimeoutMs: 2_000, maxRunTimeMs: 0 });
        expect((await store.getRun(plain.id))?.limits).toBeUndefined();
      });

      it('refuses a queued run for an unknown conversation with CONVERSATION_NOT_FOUND', async () => {
        await expectBatonError(store.queueRun({ conversationId: newConversationId(), runId: newRunId(), prompt: 'p' }), 'CONVERSATION_NOT_FOUND');
      });

      it('lists only the events after a sequence number', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id));
        await store.appendRunEvents(run.id, [1, 2, 3].map((n) => ({ at: n, type: 'message', data: { n } })));
        expect((await store.listRunEvents(run.id, 1)).map((event) => event.sequence)).toEqual([2, 3]);
        expect(await store.listRunEvents(run.id, 3)).toEqual([]);
      });

      it('deletes a conversation with everything it holds, but not while a run holds its lease', async () => {
        const created = await conversation();
        const kept = await conversation('kept');
        const run = await store.startRun(runInput(created.id));
        await store.appendRunEvents(run.id, [{ at: 1, type: 'message', data: {} }]);
        await appendAfter(store, { conversationId: created.id, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(3) });
        await appendAfter(store, { conversationId: kept.id, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(2) });
        await expectBatonError(store.deleteConversation(created.id), 'CONVERSATION_BUSY');
        await store.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined });
        await store.deleteConversation(created.id);
        expect(await store.getConversation(created.id)).toBeUndefined();
        expect(await store.getRun(run.id)).toBeUndefined();
        expect(await store.listRunEvents(run.id)).toEqual([]);
        expect(await store.loadTranscript(created.id)).toBeUndefined();
        expect((await store.loadTranscript(kept.id))?.files[0]?.lineCount).toBe(2);
        await expectBatonError(store.deleteConversation(created.id), 'CONVERSATION_NOT_FOUND');
      });
    });

    describe('run events', () => {
      it('keeps the order and numbers events across batches', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id));
        await store.appendRunEvents(run.id, [
          { at: 1000, type: 'thread.started', data: { thread_id: 'abc' } },
          { at: 1001, type: 'item.completed', data: { text: 'first' } },
        ]);
        await store.appendRunEvents(run.id, []);
        await store.appendRunEvents(run.id, [{ at: 1002, type: 'turn.completed', data: { usage: { input_tokens: 5 } } }]);
        await store.appendRunEvents(run.id, [{ at: 1003, type: 'note', data: null }, { at: 1004, type: 'list', data: [1, 'two', { three: 3 }] }]);

        expect(await store.listRunEvents(run.id)).toEqual([
          { runId: run.id, sequence: 1, at: 1000, type: 'thread.started', data: { thread_id: 'abc' } },
          { runId: run.id, sequence: 2, at: 1001, type: 'item.completed', data: { text: 'first' } },
          { runId: run.id, sequence: 3, at: 1002, type: 'turn.completed', data: { usage: { input_tokens: 5 } } },
          { runId: run.id, sequence: 4, at: 1003, type: 'note', data: null },
          { runId: run.id, sequence: 5, at: 1004, type: 'list', data: [1, 'two', { three: 3 }] },
        ]);
      });

      it('keeps each run’s events apart', async () => {
        const created = await conversation();
        const first = await store.startRun(runInput(created.id));
        await store.appendRunEvents(first.id, [{ at: 1, type: 'a', data: 1 }]);
        await store.finishRun(first.id, { status: 'succeeded', exitCode: 0, error: undefined });
        const second = await store.startRun(runInput(created.id));
        await store.appendRunEvents(second.id, [{ at: 2, type: 'b', data: 2 }]);
        expect((await store.listRunEvents(first.id)).map((event) => [event.sequence, event.type])).toEqual([[1, 'a']]);
        expect((await store.listRunEvents(second.id)).map((event) => [event.sequence, event.type])).toEqual([[1, 'b']]);
      });
    });

    describe('transcripts', () => {
      it('returns undefined for a conversation without a transcript', async () => {
        const created = await conversation();
        expect(await store.loadTranscript(created.id)).toBeUndefined();
      });

      it('creates a version on the first append and extends it with later appends', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id));
        const meta: SessionMeta = { sessionId: randomUUID(), sessionStartedAt: '2026-11-26T22:36:35.999Z', cwd: '/work/project', cliVersion: '0.171.0' };
        const first = jsonLines(3);
        const second = jsonLines(4, 3);
        const third = jsonLines(1, 7);

        const afterFirst = await appendAfter(store, { conversationId: created.id, runId: run.id, base: undefined, before: Buffer.alloc(0), bytes: first, meta });
        expect(afterFirst).toEqual({ versionId: afterFirst.versionId, lineCount: 3, byteLength: first.length, sha256: sha256(first) });
        const afterSecond = await appendAfter(store, { conversationId: created.id, runId: run.id, base: afterFirst, before: first, bytes: second });
        expect(afterSecond.versionId).toBe(afterFirst.versionId);
        const afterThird = await appendAfter(store, { conversationId: created.id, runId: run.id, base: afterSecond, before: Buffer.concat([first, second]), bytes: third });

        const whole = Buffer.concat([first, second, third]);
        const loaded = await store.loadTranscript(created.id);
        expect(loaded?.conversationId).toBe(created.id);
        expect(loaded?.meta).toEqual(meta);
        expect(loaded?.files).toHaveLength(1);
        const main = loaded!.files[0]!;
        expect(main.key).toBe('main');
        expect(main.content.equals(whole)).toBe(true);
        expect(main.lineCount).toBe(8);
        expect(main.sha256).toBe(sha256(whole));
        expect(main.cursor).toEqual(afterThird);
        expect(main.cursor).toEqual({ versionId: afterFirst.versionId, lineCount: 8, byteLength: whole.length, sha256: sha256(whole) });
      });

      it('keeps bytes exactly: no trailing newline, CRLF, invalid UTF-8 and a non-JSON line', async () => {
        const created = await conversation();
        const first = Buffer.concat([Buffer.from('{"a":1}\r\nnot json at all\n'), Buffer.from([0xff, 0xfe, 0x0a])]);
        const second = Buffer.from('{"unfinished":');
        const cursor = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: undefined, before: Buffer.alloc(0), bytes: first });
        await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: cursor, before: first, bytes: second });
        const main = (await store.loadTranscript(created.id))!.files[0]!;
        expect(main.content.equals(Buffer.concat([first, second]))).toBe(true);
        expect(main.lineCount).toBe(4);
      });

      it('refuses an append on a stale base with STORE_ERROR and changes nothing', async () => {
        const created = await conversation();
        const first = jsonLines(2);
        const second = jsonLines(2, 2);
        const base = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: undefined, before: Buffer.alloc(0), bytes: first });
        const current = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base, before: first, bytes: second });
        const before = await store.loadTranscript(created.id);

        await expectBatonError(appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base, before: first, bytes: jsonLines(5, 100, 'intruder') }), 'STORE_ERROR');

        const after = await store.loadTranscript(created.id);
        expect(after).toEqual(before);
        expect(after!.files[0]!.content.equals(Buffer.concat([first, second]))).toBe(true);
        expect(after!.files[0]!.cursor).toEqual(current);
      });

      it('refuses an append whose base is another file’s version with STORE_ERROR and changes neither file', async () => {
        const one = await conversation('one');
        const two = await conversation('two');
        const main = jsonLines(2, 0, 'main');
        const mainCursor = await appendAfter(store, { ...(await writer(one.id)), conversationId: one.id, fileKey: 'main', base: undefined, before: Buffer.alloc(0), bytes: main });
        const agent = jsonLines(1, 0, 'agent');
        await appendAfter(store, { ...(await writer(one.id)), conversationId: one.id, fileKey: 'subagents/a.jsonl', base: undefined, before: Buffer.alloc(0), bytes: agent });
        const before = await store.loadTranscript(one.id);

        await expectBatonError(appendAfter(store, { ...(await writer(one.id)), conversationId: one.id, fileKey: 'subagents/a.jsonl', base: mainCursor, before: main, bytes: jsonLines(1, 9) }), 'STORE_ERROR');
        await expectBatonError(appendAfter(store, { ...(await writer(two.id)), conversationId: two.id, fileKey: 'main', base: mainCursor, before: main, bytes: jsonLines(1, 9) }), 'STORE_ERROR');

        expect(await store.loadTranscript(one.id)).toEqual(before);
        expect(await store.loadTranscript(two.id)).toBeUndefined();
      });

      it('refuses an append on a version that a newer version superseded', async () => {
        const created = await conversation();
        const old = jsonLines(2);
        const oldCursor = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: undefined, before: Buffer.alloc(0), bytes: old });
        const rewritten = jsonLines(3, 0, 'rewritten');
        await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: undefined, before: Buffer.alloc(0), bytes: rewritten });

        await expectBatonError(appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: oldCursor, before: old, bytes: jsonLines(1, 2) }), 'STORE_ERROR');
        expect((await store.loadTranscript(created.id))!.files[0]!.content.equals(rewritten)).toBe(true);
      });

      it('loads the newest version once a new version (base undefined) supersedes the old', async () => {
        const created = await conversation();
        const old = jsonLines(5);
        const oldCursor = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: undefined, before: Buffer.alloc(0), bytes: old });
        const rewritten = Buffer.from('{"rewritten":true}\n');
        const newCursor = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: undefined, before: Buffer.alloc(0), bytes: rewritten });
        expect(newCursor.versionId).not.toBe(oldCursor.versionId);
        const extra = jsonLines(2, 50);
        await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, base: newCursor, before: rewritten, bytes: extra });

        const main = (await store.loadTranscript(created.id))!.files[0]!;
        expect(main.content.equals(Buffer.concat([rewritten, extra]))).toBe(true);
        expect(main.lineCount).toBe(3);
        expect(main.cursor.versionId).toBe(newCursor.versionId);
      });

      it('keeps several file keys per conversation, each with its own versions', async () => {
        const created = await conversation();
        const main = jsonLines(3, 0, 'main');
        const agent = jsonLines(2, 0, 'agent');
        const mainCursor = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, fileKey: 'main', base: undefined, before: Buffer.alloc(0), bytes: main });
        const agentCursor = await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, fileKey: 'subagents/helper.jsonl', base: undefined, before: Buffer.alloc(0), bytes: agent });
        const mainMore = jsonLines(1, 3, 'main');
        await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, fileKey: 'main', base: mainCursor, before: main, bytes: mainMore });
        const agentMore = jsonLines(2, 2, 'agent');
        await appendAfter(store, { ...(await writer(created.id)), conversationId: created.id, fileKey: 'subagents/helper.jsonl', base: agentCursor, before: agent, bytes: agentMore });

        const loaded = await store.loadTranscript(created.id);
        const byKey = new Map(loaded!.files.map((file) => [file.key, file]));
        expect([...byKey.keys()].sort()).toEqual(['main', 'subagents/helper.jsonl']);
        expect(byKey.get('main')!.content.equals(Buffer.concat([main, mainMore]))).toBe(true);
        expect(byKey.get('main')!.lineCount).toBe(4);
        expect(byKey.get('subagents/helper.jsonl')!.content.equals(Buffer.concat([agent, agentMore]))).toBe(true);
        expect(byKey.get('subagents/helper.jsonl')!.lineCount).toBe(4);
      });

      it('keeps each conversation’s transcript apart', async () => {
        const one = await conversation('one');
        const two = await conversation('two');
        await appendAfter(store, { ...(await writer(one.id)), conversationId: one.id, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(1, 0, 'one') });
        await appendAfter(store, { ...(await writer(two.id)), conversationId: two.id, base: undefined, before: Buffer.alloc(0), bytes: jsonLines(2, 0, 'two') });
        expect((await store.loadTranscript(one.id))!.files[0]!.content.equals(jsonLines(1, 0, 'one'))).toBe(true);
        expect((await store.loadTranscript(two.id))!.files[0]!.content.equals(jsonLines(2, 0, 'two'))).toBe(true);
      });
    });

    describe('workspace snapshots', () => {
      const manifest = (fingerprint: string) => ({ kind: 'git' as const, fingerprint, baseCommit: 'a'.repeat(40), tree: 'b'.repeat(40), branch: 'main', remoteName: undefined, remoteUrl: undefined, bundleIsComplete: true, changedFiles: ['x.txt'], excludedSecrets: [] });

      serverOnly("a client saves a snapshot only through its own interactive run, tied to its own transcript version; the case uses made-up run and version ids")('keeps snapshots in order, loads the newest or one run\'s, and re-checks their blobs', async () => {
        const { id } = await conversation();
        const bundle = Buffer.from('bundle bytes '.repeat(100));
        await store.saveWorkspaceSnapshot({ conversationId: id, runId: 'r1', snapshot: { manifest: manifest('one'), blobs: { bundle, patch: Buffer.from('patch one') } }, transcript: { versionId: 1, byteLength: 10 } });
        await store.saveWorkspaceSnapshot({ conversationId: id, runId: 'r2', snapshot: { manifest: manifest('two'), blobs: { bundle, patch: Buffer.from('patch two') } }, transcript: undefined });
        expect((await store.listWorkspaceSnapshots(id)).map((snapshot) => [snapshot.runId, snapshot.manifest.fingerprint])).toEqual([['r1', 'one'], ['r2', 'two']]);
        const newest = await store.loadWorkspaceSnapshot(id);
        expect(newest?.manifest.fingerprint).toBe('two');
        expect(newest?.blobs.bundle?.equals(bundle)).toBe(true);
        expect(newest?.blobs.patch?.toString()).toBe('patch two');
        const first = await store.loadWorkspaceSnapshot(id, 'r1');
        expect(first?.blobs.patch?.toString()).toBe('patch one');
        expect(first?.transcript).toEqual({ versionId: 1, byteLength: 10 });
        expect(await store.loadWorkspaceSnapshot(id, 'no-such-run')).toBeUndefined();
      });
    });

    serverOnlyDescribe('import and export run on the store itself, not through a client')('import and export', () => {
      /** A finished two-run conversation with events and a two-file transcript. */
      async function populated(target: Store) {
        const id = newConversationId();
        const sessionId = randomUUID();
        await target.createConversation({ id, harness: 'codex', title: 'exported', cwd: '/work/project' });
        await target.setSessionId(id, sessionId);
        const first = await target.startRun(runInput(id));
        await target.appendRunEvents(first.id, [
          { at: 1, type: 'thread.started', data: { thread_id: sessionId } },
          { at: 2, type: 'item.completed', data: { item: { type: 'agent_message', text: 'héllo ✓' } } },
        ]);
        const meta: SessionMeta = { sessionId, sessionStartedAt: '2026-11-26T22:36:35.999Z', cwd: '/work/project', cliVersion: '0.171.0' };
        const main = jsonLines(4, 0, 'main');
        const cursor = await appendAfter(target, { conversationId: id, runId: first.id, base: undefined, before: Buffer.alloc(0), bytes: main, meta });
        await target.finishRun(first.id, { status: 'succeeded', exitCode: 0, error: undefined });
        const second = await target.startRun(runInput(id, { kind: 'resume', prompt: 'continue' }));
        await target.appendRunEvents(second.id, [{ at: 3, type: 'turn.failed', data: { error: 'boom' } }]);
        const more = Buffer.from('{"tail":"no newline"}');
        await appendAfter(target, { conversationId: id, runId: second.id, base: cursor, before: main, bytes: more });
        await appendAfter(target, { conversationId: id, fileKey: 'binary', base: undefined, before: Buffer.alloc(0), bytes: Buffer.from([0x00, 0xff, 0x0a, 0x80]) });
        await target.finishRun(second.id, { status: 'failed', exitCode: 1, error: 'model error' });
        return { id, sessionId, meta };
      }

      async function snapshot(target: Store, id: string) {
        const conversation = await target.getConversation(id);
        const runs = await target.listRuns(id);
        const events = await Promise.all(runs.map((run) => target.listRunEvents(run.id)));
        const transcript = await target.loadTranscript(id);
        return {
          conversation: conversation && { ...conversation },
          runs,
          events,
          meta: transcript?.meta,
          files: transcript?.files.map((file) => ({ key: file.key, content: file.content.toString('base64'), lineCount: file.lineCount, sha256: file.sha256 })),
        };
      }

      it('imports a conversation and reads back the same conversation, runs, events and transcript', async () => {
        const id = newConversationId();
        const sessionId = randomUUID();
        const runId = newRunId();
        const content = jsonLines(3);
        const meta: SessionMeta = { sessionId, sessionStartedAt: undefined, cwd: '/imported', cliVersion: undefined };
        await store.importConversation({
          conversation: { id, harness: 'codex', sessionId, title: 'imported', cwd: '/imported', createdAt: 1_000, updatedAt: 2_000 },
          workspace: undefined,
          runs: [{ id: runId, conversationId: id, sequence: 1, kind: 'new', prompt: 'p', status: 'succeeded', host: 'h', cwd: '/imported', startedAt: 1_100, endedAt: 1_900, exitCode: 0, error: undefined, queuedAt: undefined, handoffs: 0, redaction: undefined }],
          events: [{ runId, sequence: 1, at: 1_200, type: 'thread.started', data: { thread_id: sessionId } }],
          meta,
          files: [{ key: 'main', content, lineCount: 3, sha256: sha256(content) }],
        });

        expect(await store.getConversation(id)).toEqual({ id, harness: 'codex', sessionId, title: 'imported', cwd: '/imported', createdAt: 1_000, updatedAt: 2_000, activeRunId: undefined, leaseExpiresAt: undefined, tenant: undefined, options: {}, trust: 'untrusted' });
        expect(await store.listRuns(id)).toEqual([{ id: runId, conversationId: id, sequence: 1, kind: 'new', prompt: 'p', status: 'succeeded', host: 'h', cwd: '/imported', startedAt: 1_100, endedAt: 1_900, exitCode: 0, error: undefined, queuedAt: undefined, handoffs: 0, redaction: undefined }]);
        expect(await store.listRunEvents(runId)).toEqual([{ runId, sequence: 1, at: 1_200, type: 'thread.started', data: { thread_id: sessionId } }]);
        const loaded = await store.loadTranscript(id);
        expect(loaded?.meta).toEqual(meta);
        expect(loaded?.files[0]?.content.equals(content)).toBe(true);
        expect(loaded?.files[0]?.lineCount).toBe(3);

        // The imported transcript continues like any other: a run appends after the loaded cursor.
        const more = jsonLines(1, 3);
        await appendAfter(store, { conversationId: id, base: loaded!.files[0]!.cursor, before: content, bytes: more });
        expect((await store.loadTranscript(id))!.files[0]!.content.equals(Buffer.concat([content, more]))).toBe(true);
      });

      it('refuses to import a conversation id that already exists with IMPORT_INVALID', async () => {
        const existing = await conversation('already here');
        await expectBatonError(
          store.importConversation({
            conversation: { id: existing.id, harness: 'codex', sessionId: undefined, title: 'other', cwd: '/x', createdAt: 1, updatedAt: 1 },
            workspace: undefined,
            runs: [],
            events: [],
            meta: undefined,
            files: [],
          }),
          'IMPORT_INVALID',
        );
        expect((await store.getConversation(existing.id))?.title).toBe('already here');
      });

      it('round-trips export → parseExport → import into an empty store', async () => {
        const { id } = await populated(store);
        const exported = await exportConversation(store, id);
        const parsed = parseExport(exported, 'export.json');

        const other = await open();
        try {
          await other.store.importConversation(parsed);
          const original = await snapshot(store, id);
          const imported = await snapshot(other.store, id);
          // The same conversation, except that nobody here saw it being made: imported ones start untrusted.
          expect(imported).toEqual({ ...original, conversation: { ...original.conversation, trust: 'untrusted' } });
          expect(original.conversation?.trust).toBe('trusted');
          expect(imported.runs.map((run) => run.status)).toEqual(['succeeded', 'failed']);
          expect(imported.events.flat()).toHaveLength(3);
          expect(imported.files?.map((file) => file.key).sort()).toEqual(['binary', 'main']);
          // Exporting the imported copy gives the same document apart from the export time.
          const again = JSON.parse(await exportConversation(other.store, id)) as Record<string, unknown>;
          expect({ ...again, exportedAt: undefined }).toEqual({ ...(JSON.parse(exported) as Record<string, unknown>), exportedAt: undefined });
        } finally {
          await other.cleanup();
        }
      });

      it('imports a run that was still running when exported as interrupted', async () => {
        const created = await conversation();
        const run = await store.startRun(runInput(created.id));
        const parsed = parseExport(await exportConversation(store, created.id), 'export.json');
        const other = await open();
        try {
          await other.store.importConversation(parsed);
          expect((await other.store.getRun(run.id))?.status).toBe('interrupted');
          expect((await other.store.getConversation(created.id))?.activeRunId).toBeUndefined();
        } finally {
          await other.cleanup();
        }
      });

      it('refuses to export an unknown conversation with CONVERSATION_NOT_FOUND', async () => {
        await expectBatonError(exportConversation(store, newConversationId()), 'CONVERSATION_NOT_FOUND');
      });

      describe('parseExport', () => {
        async function exportedDocument(): Promise<Record<string, any>> {
          const { id } = await populated(store);
          return JSON.parse(await exportConversation(store, id)) as Record<string, any>;
        }
        const parse = (document: unknown) => () => parseExport(typeof document === 'string' ? document : JSON.stringify(document), 'export.json');

        it('rejects text that is not JSON with IMPORT_INVALID', () => {
          for (const garbage of ['', 'not json', '{"format":', '\u0000\u0001']) {
            expect(parse(garbage)).toThrowError(expect.objectContaining({ code: 'IMPORT_INVALID' }) as Error);
          }
        });

        it('rejects JSON that is not an export with IMPORT_INVALID', () => {
          for (const value of [null, 42, [], {}, { hello: 'world' }]) {
            expect(parse(value)).toThrowError(expect.objectContaining({ code: 'IMPORT_INVALID' }) as Error);
          }
        });

        it('rejects a wrong format or version with IMPORT_INVALID', async () => {
          const document = await exportedDocument();
          expect(parse({ ...document, format: 'something-else' })).toThrowError(expect.objectContaining({ code: 'IMPORT_INVALID' }) as Error);
          expect(parse({ ...document, version: 2 })).toThrowError(expect.objectContaining({ code: 'IMPORT_INVALID' }) as Error);
          const { transcript: _transcript, ...truncated } = document;
          expect(parse(truncated)).toThrowError(expect.objectContaining({ code: 'IMPORT_INVALID' }) as Error);
        });

        it('rejects a tampered file content with TRANSCRIPT_CORRUPT', async () => {
          const document = await exportedDocument();
          const main = (document.transcript.files as Array<{ key: string; content: string; encoding: string }>).find((file) => file.key === 'main')!;
          expect(main.encoding).toBe('utf8');
          main.content = main.content.replace('record 1', 'record X');
          expect(parse(document)).toThrowError(expect.objectContaining({ code: 'TRANSCRIPT_CORRUPT' }) as Error);
        });

        it('rejects a tampered line count with TRANSCRIPT_CORRUPT', async () => {
          const document = await exportedDocument();
          const main = (document.transcript.files as Array<{ key: string; lineCount: number }>).find((file) => file.key === 'main')!;
          main.lineCount += 1;
          expect(parse(document)).toThrowError(expect.objectContaining({ code: 'TRANSCRIPT_CORRUPT' }) as Error);
        });

        it('rejects an unknown harness with HARNESS_UNKNOWN', async () => {
          const document = await exportedDocument();
          document.conversation.harness = 'no-such-cli';
          expect(parse(document)).toThrowError(expect.objectContaining({ code: 'HARNESS_UNKNOWN' }) as Error);
        });

        it('refuses every hostile field with IMPORT_INVALID and one line naming the field', async () => {
          const document = await exportedDocument();
          const [firstRun] = document.runs as Array<Record<string, any>>;
          const cases: Array<[string, (copy: Record<string, any>) => void, RegExp]> = [
            ['a path for an id', (copy) => (copy.conversation.id = '../../../x'), /conversation\.id: is not a baton conversation id/],
            ['a time past any date', (copy) => (copy.conversation.updatedAt = 1e20), /conversation\.updatedAt: /],
            ['a time before the epoch', (copy) => (copy.runs[0].startedAt = -1e17), /runs\.0\.startedAt: /],
            ['a fractional time', (copy) => (copy.runs[0].startedAt = 1.5), /runs\.0\.startedAt: /],
            ['an unsafe integer', (copy) => (copy.runs[0].sequence = 2 ** 60), /runs\.0\.sequence: /],
            ['a run id in another shape', (copy) => (copy.runs[0].id = 'r_../../x'), /runs\.0\.id: is not a baton run id/],
            ['a duplicate run id', (copy) => copy.runs.push({ ...copy.runs[0], sequence: 99 }), /runs\.2\.id: run r_\w+ appears twice/],
            ['a duplicate run number', (copy) => (copy.runs[1].sequence = copy.runs[0].sequence), /runs\.1\.sequence: two runs are number 1/],
            ['an event of another conversation\'s run', (copy) => (copy.events[0].runId = 'r_0000000000aaaaaaaaaaaaaaaa'), /events\.0\.runId: names run r_0000000000aaaaaaaaaaaaaaaa, which is not a run of this conversation/],
            ['a duplicate event number', (copy) => copy.events.push({ ...copy.events[0] }), /events\.3\.sequence: run r_\w+ has two events number/],
            ['a 5,000-character file key', (copy) => (copy.transcript.files[0].key = `subagents/${'a'.repeat(5000)}.jsonl`), /transcript\.files\.0\.key: is not a transcript file key/],
            ['a file key that climbs out', (copy) => (copy.transcript.files[0].key = 'subagents/../../x'), /transcript\.files\.0\.key: /],
            ['a manifest without its file list', (copy) => (copy.workspace = { runId: firstRun!.id, manifest: { kind: 'directory', fingerprint: 'f', fileCount: 0, excludedSecrets: [] }, blobs: {} }), /workspace\.manifest\.changedFiles: /],
            ['a base commit that is an option', (copy) => (copy.workspace = { runId: firstRun!.id, manifest: { kind: 'git', fingerprint: 'f', baseCommit: '--upload-pack=touch /tmp/x', tree: 'a'.repeat(40), bundleIsComplete: true, changedFiles: [], excludedSecrets: [] }, blobs: {} }), /workspace\.manifest\.baseCommit: is not a git object id/],
            ['a branch that is an option', (copy) => (copy.workspace = { runId: firstRun!.id, manifest: { kind: 'git', fingerprint: 'f', baseCommit: 'a'.repeat(40), tree: 'a'.repeat(40), branch: '--orphan', bundleIsComplete: true, changedFiles: [], excludedSecrets: [] }, blobs: {} }), /workspace\.manifest\.branch: /],
            ['a snapshot of a run it does not have', (copy) => (copy.workspace = { runId: 'r_0000000000aaaaaaaaaaaaaaaa', manifest: { kind: 'directory', fingerprint: 'f', fileCount: 0, changedFiles: [], excludedSecrets: [] }, blobs: {} }), /workspace\.runId: names run r_0000000000aaaaaaaaaaaaaaaa/],
            ['a blob that is not base64', (copy) => (copy.workspace = { runId: firstRun!.id, manifest: { kind: 'directory', fingerprint: 'f', fileCount: 0, changedFiles: [], excludedSecrets: [] }, blobs: { archive: '%%%' } }), /workspace\.blobs\.archive: /],
          ];
          for (const [what, mutate, message] of cases) {
            const copy = structuredClone(document);
            mutate(copy);
            let thrown: unknown;
            try {
              parseExport(JSON.stringify(copy), 'export.json');
            } catch (error) {
              thrown = error;
            }
            expect(thrown, what).toMatchObject({ code: 'IMPORT_INVALID' });
            const { message: text, hint } = thrown as { message: string; hint?: string };
            expect(text, what).toMatch(message);
            expect(text, what).not.toContain('\n');
            expect(hint, what).toMatch(/baton export/);
          }
        });

        it('refuses a run id that another conversation of the store already has, importing nothing', async () => {
          const document = await exportedDocument();
          const copy = structuredClone(document);
          copy.conversation.id = newConversationId();
          let thrown: unknown;
          try {
            await store.importConversation(parseExport(JSON.stringify(copy), 'export.json'));
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toMatchObject({ code: 'IMPORT_INVALID', message: expect.stringMatching(/^run r_\w+ of the imported conversation already exists in .+, in another conversation$/), hint: 'import it under fresh ids with --as-new' });
          expect(await store.getConversation(copy.conversation.id)).toBeUndefined();
        });

        it('accepts the untouched export', async () => {
          const document = await exportedDocument();
          const parsed = parseExport(JSON.stringify(document), 'export.json');
          expect(parsed.conversation.id).toBe(document.conversation.id);
          expect(parsed.files.map((file) => file.key).sort()).toEqual(['binary', 'main']);
        });
      });
    });
  });
}
