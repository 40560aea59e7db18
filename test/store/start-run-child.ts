/**
 * A separate process for the cross-process lease race in sqlite.test.ts: opens the store, says "ready",
 * waits for "go" on stdin, calls startRun once and prints the outcome as one JSON line.
 * argv: STORE_PATH CONVERSATION_ID HOST
 */
import { once } from 'node:events';
import { isBatonError } from '../../src/errors.js';
import { newRunId } from '../../src/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const [path, conversationId, host] = process.argv.slice(2) as [string, string, string];
const store = await openSqliteStore(path);
process.stdout.write('ready\n');
process.stdin.setEncoding('utf8');
await once(process.stdin, 'data');
try {
  const run = await store.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host, cwd: '/work', leaseMs: 60_000 });
  process.stdout.write(`${JSON.stringify({ ok: true, runId: run.id, sequence: run.sequence })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: isBatonError(error) ? error.code : 'OTHER', message: String(error) })}\n`);
} finally {
  await store.close();
  process.stdin.destroy();
}
