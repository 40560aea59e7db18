/**
 * The run queue of `baton serve` on the embedded store (store/sql/local-queue.ts), on a real SQLite file: which
 * queued runs may start, in which order, and which running ones were abandoned — the rules graphile-worker's
 * per-conversation queues keep on a fleet.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newConversationId, newRunId } from '../../src/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { SqlStore } from '../../src/store/sql-store.js';

let dir: string;
let store: SqlStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-local-queue-'));
  store = await openSqliteStore(join(dir, 'baton.db'));
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const conversation = async (): Promise<string> => (await store.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '' })).id;
const queue = async (conversationId: string, prompt: string): Promise<string> => (await store.queueRun({ conversationId, runId: newRunId(), prompt })).id;
const start = (conversationId: string, runId: string, leaseMs = 60_000) => store.startRun({ conversationId, runId, kind: 'resume', prompt: 'p', host: 'serve', cwd: '/w', leaseMs });
const claimable = async (limit = 10): Promise<string[]> => (await store.localQueue.claimable(limit)).map((run) => run.runId);

describe('the local run queue', () => {
  it("offers each conversation's first queued run only, the longest-waiting conversation first, up to the limit", async () => {
    const a = await conversation();
    const b = await conversation();
    const a1 = await queue(a, 'a one');
    const b1 = await queue(b, 'b one');
    await queue(a, 'a two');
    expect(await claimable()).toEqual([a1, b1]);
    expect(await claimable(1)).toEqual([a1]);
  });

  it('offers nothing of a conversation whose lease a live run holds, and its next run once that run finishes', async () => {
    const a = await conversation();
    const first = await queue(a, 'one');
    const second = await queue(a, 'two');
    await start(a, first);
    expect(await claimable()).toEqual([]);
    await store.finishRun(first, { status: 'succeeded', exitCode: 0, error: undefined });
    expect(await claimable()).toEqual([second]);
  });

  it("offers a run whose conversation's lease expired, and names the expired running run as abandoned", async () => {
    const a = await conversation();
    const first = await queue(a, 'one');
    const second = await queue(a, 'two');
    await start(a, first, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await claimable()).toEqual([second]);
    expect(await store.localQueue.abandoned()).toEqual([{ runId: first, conversationId: a }]);
    const live = await conversation();
    await start(live, await queue(live, 'live'));
    expect((await store.localQueue.abandoned()).map((run) => run.runId)).toEqual([first]);
  });

  it('puts an interrupted run back ahead of the follow-ups behind it, and nothing else', async () => {
    const a = await conversation();
    const first = await queue(a, 'one');
    const second = await queue(a, 'two');
    await start(a, first);
    expect(await store.localQueue.handBack(first)).toBe(false); // still running
    await store.finishRun(first, { status: 'interrupted', exitCode: undefined, error: 'stopping' });
    expect(await store.localQueue.handBack(first)).toBe(true);
    expect((await store.getRun(first))?.status).toBe('queued');
    expect(await claimable()).toEqual([first]);
    expect(await store.localQueue.handBack(second)).toBe(false); // queued, not interrupted
  });
});
