/** Run events reach the store with each save, or soon after they happen when a follower elsewhere waits. */
import { describe, expect, it } from 'vitest';
import { newConversationId, newRunId } from '../../src/ids.js';
import { RunEventRecorder } from '../../src/run/events.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { sleep } from '../store/store-contract.js';

async function storeWithRun() {
  const store = await openSqliteStore(':memory:');
  const conversation = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '/w' });
  const run = await store.startRun({ conversationId: conversation.id, runId: newRunId(), kind: 'new', prompt: 'p', host: 'h', cwd: '/w', leaseMs: 60_000 });
  return { store, runId: run.id };
}

describe('RunEventRecorder', () => {
  it('stores events only when flushed, by default', async () => {
    const { store, runId } = await storeWithRun();
    const recorder = new RunEventRecorder(store, runId, undefined);
    await recorder.record({ type: 'message', text: 'hello' });
    await sleep(100);
    expect(await store.listRunEvents(runId)).toEqual([]);
    await recorder.flush();
    expect((await store.listRunEvents(runId)).map((event) => event.data)).toEqual([{ text: 'hello' }]);
    await store.close();
  });

  it('with flushAfterMs, stores events that soon after they happen, in order across overlapping flushes', async () => {
    const { store, runId } = await storeWithRun();
    const seen: string[] = [];
    const recorder = new RunEventRecorder(store, runId, (event) => seen.push(event.type), 20);
    for (let index = 0; index < 5; index++) await recorder.record({ type: 'message', text: `m${index}` });
    const explicit = recorder.flush();
    for (let index = 5; index < 10; index++) await recorder.record({ type: 'message', text: `m${index}` });
    await explicit;
    await sleep(150);
    const stored = await store.listRunEvents(runId);
    expect(stored.map((event) => (event.data as { text: string }).text)).toEqual(Array.from({ length: 10 }, (_, index) => `m${index}`));
    expect(stored.map((event) => event.sequence)).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
    expect(seen).toHaveLength(10);
    await store.close();
  });
});
