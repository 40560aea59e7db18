/**
 * A reader that stops reading (`baton ls | head -2`) is not an error: baton finishes, exits 0 and prints no stack
 * trace (it did: an unhandled EPIPE). Runs the built CLI (`npm run build` first).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { newConversationId } from '../../src/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const BATON = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'baton.mjs');
let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'baton-pipe-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

it('`baton ls` into a pipe closed after its first line exits 0, with nothing on stderr', async () => {
  const storePath = join(directory, 'baton.db');
  const store = await openSqliteStore(storePath);
  // Far more than a pipe buffer (64 KB) holds: the writes after the reader is gone fail with EPIPE.
  for (let index = 0; index < 2_000; index++) await store.createConversation({ id: newConversationId(), harness: 'codex', title: `conversation ${index} with a title long enough to fill the pipe quickly`, cwd: directory });
  await store.close();

  const child = spawn(process.execPath, [BATON, '--store', storePath, 'ls'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
  expect(stderr).toBe('');
  expect(code).toBe(0);
});
