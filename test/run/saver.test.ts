import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newConversationId, newRunId } from '../../src/ids.js';
import { createRedactor } from '../../src/redact/redactor.js';
import { TranscriptSaver, type SaverTarget } from '../../src/run/saver.js';
import { decodeChunk, isChunkCodec } from '../../src/store/chunk-codec.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { SessionMeta } from '../../src/transcript/envelope.js';
import { countLines } from '../../src/transcript/jsonl.js';
import { sha256 } from '../store/store-contract.js';

const SESSION_ID = randomUUID();

/** One JSONL record of a transcript, newline included. */
const line = (index: number, label = 'event'): string => `${JSON.stringify({ type: label, index, text: `line ${index} of the session` })}\n`;
const lines = (from: number, count: number, label?: string): string => Array.from({ length: count }, (_, offset) => line(from + offset, label)).join('');
const sessionMetaLine = `${JSON.stringify({ type: 'session_meta', payload: { id: SESSION_ID, timestamp: '2026-11-26T22:36:35.999Z', cwd: '/work', cli_version: '0.171.0' } })}\n`;

interface StoredChunk {
  versionId: number;
  sequence: number;
  bytes: Buffer;
}

describe('TranscriptSaver', () => {
  let directory: string;
  let transcriptPath: string;
  let store: SqlStore;
  let raw: Sqlite.Database;
  let target: SaverTarget;
  let metaCalls: Buffer[];

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'baton-saver-'));
    transcriptPath = join(directory, 'rollout.jsonl');
    store = await openSqliteStore(join(directory, 'baton.db'));
    raw = new Sqlite(join(directory, 'baton.db'), { readonly: true });
    const conversationId = newConversationId();
    await store.createConversation({ id: conversationId, harness: 'codex', title: 'saver', cwd: '/work' });
    const run = await store.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host: 'h', cwd: '/work', leaseMs: 60_000 });
    target = { store, conversationId, runId: run.id };
    metaCalls = [];
  });

  afterEach(async () => {
    raw.close();
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  const files = () => [{ key: 'main', path: transcriptPath }];
  const meta = (content: Buffer): SessionMeta | undefined => {
    metaCalls.push(content);
    return content.toString().startsWith('{"type":"session_meta"')
      ? { sessionId: SESSION_ID, sessionStartedAt: '2026-11-26T22:36:35.999Z', cwd: '/work', cliVersion: '0.171.0' }
      : undefined;
  };
  const periodic = (saver: TranscriptSaver) => saver.save(files(), { final: false, meta });
  const final = (saver: TranscriptSaver) => saver.save(files(), { final: true, meta });

  async function storedMain() {
    const transcript = await store.loadTranscript(target.conversationId);
    expect(transcript).toBeDefined();
    const main = transcript!.files.find((file) => file.key === 'main');
    expect(main).toBeDefined();
    return { transcript: transcript!, main: main! };
  }

  /** Every stored chunk of the conversation, decoded, in version then sequence order. */
  function storedChunks(): StoredChunk[] {
    const rows = raw
      .prepare(
        `SELECT c.version_id AS versionId, c.sequence, c.codec, c.data FROM transcript_chunks c
         JOIN transcript_versions v ON v.id = c.version_id WHERE v.conversation_id = ? ORDER BY c.version_id, c.sequence`,
      )
      .all(target.conversationId) as Array<{ versionId: number; sequence: number; codec: string; data: Buffer }>;
    return rows.map((row) => {
      if (!isChunkCodec(row.codec)) throw new Error(`unknown codec ${row.codec}`);
      return { versionId: row.versionId, sequence: row.sequence, bytes: decodeChunk({ codec: row.codec, data: row.data }) };
    });
  }

  async function expectStoredEqualsFile(): Promise<void> {
    const onDisk = await readFile(transcriptPath);
    const { main } = await storedMain();
    expect(main.content.toString()).toBe(onDisk.toString());
    expect(main.content.equals(onDisk)).toBe(true);
    expect(main.lineCount).toBe(countLines(onDisk));
    expect(main.sha256).toBe(sha256(onDisk));
  }

  describe('periodic and final saves of a growing file', () => {
    it('a periodic save stores complete lines only; the final save stores the partial last line too', async () => {
      const complete = sessionMetaLine + lines(1, 3);
      const partial = '{"type":"event","index":4,"te';
      await writeFile(transcriptPath, complete + partial);
      const saver = new TranscriptSaver(target);

      const first = await periodic(saver);
      expect(first).toEqual({ bytesSaved: Buffer.byteLength(complete), newVersions: [] });
      let { main, transcript } = await storedMain();
      expect(main.content.toString()).toBe(complete);
      expect(main.lineCount).toBe(4);
      expect(transcript.meta).toEqual({ sessionId: SESSION_ID, sessionStartedAt: '2026-11-26T22:36:35.999Z', cwd: '/work', cliVersion: '0.171.0' });
      expect(metaCalls.map((content) => content.toString())).toEqual([complete]);

      const last = await final(saver);
      expect(last).toEqual({ bytesSaved: Buffer.byteLength(partial), newVersions: [] });
      ({ main } = await storedMain());
      expect(main.content.toString()).toBe(complete + partial);
      expect(main.lineCount).toBe(5);
      // The final save merges the run's small deltas into one chunk; the content is unchanged.
      expect(storedChunks().map((chunk) => chunk.bytes.toString())).toEqual([complete + partial]);
    });

    it('a periodic save of a file with no complete line stores nothing yet', async () => {
      await writeFile(transcriptPath, '{"type":"sess');
      const saver = new TranscriptSaver(target);
      expect(await periodic(saver)).toEqual({ bytesSaved: 0, newVersions: [] });
      expect(await store.loadTranscript(target.conversationId)).toBeUndefined();

      await appendFile(transcriptPath, 'ion_meta"}\n');
      expect((await periodic(saver)).bytesSaved).toBe(Buffer.byteLength('{"type":"session_meta"}\n'));
      await expectStoredEqualsFile();
    });

    it('a second periodic save after 10 appended lines appends one chunk with exactly those bytes', async () => {
      await writeFile(transcriptPath, sessionMetaLine + lines(1, 5));
      const saver = new TranscriptSaver(target);
      await periodic(saver);
      const before = storedChunks();
      expect(before).toHaveLength(1);

      const appended = lines(6, 10);
      await appendFile(transcriptPath, appended);
      const outcome = await periodic(saver);

      expect(outcome).toEqual({ bytesSaved: Buffer.byteLength(appended), newVersions: [] });
      const after = storedChunks();
      expect(after).toHaveLength(2);
      expect(after[0]).toEqual(before[0]);
      expect(after[1]!.versionId).toBe(before[0]!.versionId);
      expect(after[1]!.sequence).toBe(1);
      expect(after[1]!.bytes.toString()).toBe(appended);
      const { main } = await storedMain();
      expect(main.lineCount).toBe(16);
      await expectStoredEqualsFile();
    });

    it('a save with nothing new reports 0 bytes and adds no chunk', async () => {
      await writeFile(transcriptPath, sessionMetaLine + lines(1, 3));
      const saver = new TranscriptSaver(target);
      await periodic(saver);
      const before = storedChunks();

      expect(await periodic(saver)).toEqual({ bytesSaved: 0, newVersions: [] });
      expect(await final(saver)).toEqual({ bytesSaved: 0, newVersions: [] });
      // A partial line appears: a periodic save still has nothing complete to add.
      await appendFile(transcriptPath, '{"partial":');
      expect(await periodic(saver)).toEqual({ bytesSaved: 0, newVersions: [] });
      expect(storedChunks()).toEqual(before);
    });

    it('saves many growth steps, mixing periodic and final saves, and always stores exactly the file', async () => {
      await writeFile(transcriptPath, sessionMetaLine);
      const saver = new TranscriptSaver(target);
      let index = 1;
      for (let step = 0; step < 8; step++) {
        await appendFile(transcriptPath, lines(index, step + 1) + (step % 2 === 0 ? '{"half":' : ''));
        index += step + 1;
        await periodic(saver);
        if (step % 2 === 0) await appendFile(transcriptPath, `${step}}\n`);
      }
      await final(saver);
      await expectStoredEqualsFile();
      expect(new Set(storedChunks().map((chunk) => chunk.versionId)).size).toBe(1);
    });
  });

  describe('compaction at the final save', () => {
    it('merges a run\'s many small deltas into one chunk, after a large chunk it leaves alone', async () => {
      const large = sessionMetaLine + lines(1, 6000, 'x'.repeat(40));
      await writeFile(transcriptPath, large);
      const saver = new TranscriptSaver(target);
      await periodic(saver);
      for (let round = 0; round < 20; round++) {
        await appendFile(transcriptPath, lines(10_000 + round * 10, 10));
        await periodic(saver);
      }
      const before = storedChunks();
      expect(before).toHaveLength(21); // the first save, then one chunk per periodic save
      await appendFile(transcriptPath, lines(20_000, 3));
      await final(saver);

      const after = storedChunks();
      expect(after).toHaveLength(2); // the large first save stays; the 20 deltas and the final one become one chunk
      expect(after[0]!.bytes.equals(before[0]!.bytes)).toBe(true);
      await expectStoredEqualsFile();
    });
  });

  describe('compaction around a large delta', () => {
    it('merges the small deltas on both sides of a large one, which stays as it is', async () => {
      await writeFile(transcriptPath, sessionMetaLine + lines(1, 6000, 'x'.repeat(40)));
      const saver = new TranscriptSaver(target);
      await periodic(saver);
      for (let round = 0; round < 5; round++) {
        await appendFile(transcriptPath, lines(10_000 + round * 10, 10));
        await periodic(saver);
      }
      await appendFile(transcriptPath, lines(20_000, 4000, 'y'.repeat(60))); // a large tool output
      await periodic(saver);
      for (let round = 0; round < 5; round++) {
        await appendFile(transcriptPath, lines(30_000 + round * 10, 10));
        await periodic(saver);
      }
      expect(storedChunks()).toHaveLength(12);
      const largeDelta = storedChunks()[6]!.bytes;
      await final(saver);
      const after = storedChunks();
      expect(after).toHaveLength(4); // first save, 5 deltas merged, the large delta, 5 deltas merged
      expect(after[2]!.bytes.equals(largeDelta)).toBe(true);
      await expectStoredEqualsFile();
    });
  });

  describe('rewritten files', () => {
    it('an earlier line rewritten with the same length → a new version holding the new content', async () => {
      const original = sessionMetaLine + lines(1, 5);
      await writeFile(transcriptPath, original);
      const saver = new TranscriptSaver(target);
      await periodic(saver);
      const oldVersion = storedChunks()[0]!.versionId;

      const rewritten = original.replace('line 2 of the session', 'LINE 2 OF THE SESSION');
      expect(rewritten.length).toBe(original.length);
      expect(rewritten).not.toBe(original);
      await writeFile(transcriptPath, rewritten + lines(6, 2));

      const outcome = await periodic(saver);
      expect(outcome.newVersions).toEqual(['main']);
      expect(outcome.bytesSaved).toBe(Buffer.byteLength(rewritten + lines(6, 2)));
      await expectStoredEqualsFile();
      const { main } = await storedMain();
      expect(main.cursor.versionId).not.toBe(oldVersion);
    });

    it('an earlier line rewritten with a different length → a new version holding the new content', async () => {
      const original = sessionMetaLine + lines(1, 5);
      await writeFile(transcriptPath, original);
      const saver = new TranscriptSaver(target);
      await periodic(saver);

      const longer = original.replace('line 2 of the session', 'line 2 of the session, now with a longer text');
      await writeFile(transcriptPath, longer);
      let outcome = await periodic(saver);
      expect(outcome.newVersions).toEqual(['main']);
      await expectStoredEqualsFile();

      const shorter = longer.replace('line 3 of the session', 'l3');
      await writeFile(transcriptPath, shorter);
      outcome = await final(saver);
      expect(outcome).toEqual({ bytesSaved: Buffer.byteLength(shorter), newVersions: ['main'] });
      await expectStoredEqualsFile();

      // Saving goes on appending to the newest version.
      await appendFile(transcriptPath, lines(6, 2));
      expect(await periodic(saver)).toEqual({ bytesSaved: Buffer.byteLength(lines(6, 2)), newVersions: [] });
      await expectStoredEqualsFile();
    });

    it('a truncated file → a new version', async () => {
      await writeFile(transcriptPath, sessionMetaLine + lines(1, 5));
      const saver = new TranscriptSaver(target);
      await periodic(saver);
      await truncate(transcriptPath, Buffer.byteLength(sessionMetaLine + lines(1, 2)));
      expect(await final(saver)).toEqual({ bytesSaved: Buffer.byteLength(sessionMetaLine + lines(1, 2)), newVersions: ['main'] });
      await expectStoredEqualsFile();
    });

    it('the final save finds a same-length rewrite in the middle of a large file', async () => {
      const original = sessionMetaLine + lines(1, 400);
      expect(original.length).toBeGreaterThan(3 * 4096);
      await writeFile(transcriptPath, original);
      const saver = new TranscriptSaver(target);
      await periodic(saver);

      const rewritten = original.replace('line 200 of the session', 'LINE 200 OF THE SESSION');
      expect(rewritten.length).toBe(original.length);
      await writeFile(transcriptPath, rewritten + lines(401, 1));
      const outcome = await final(saver);
      expect(outcome.newVersions).toEqual(['main']);
      await expectStoredEqualsFile();
    });

    it('a new version of the main file gets its session metadata again', async () => {
      await writeFile(transcriptPath, sessionMetaLine + lines(1, 2));
      const saver = new TranscriptSaver(target);
      await periodic(saver);
      await writeFile(transcriptPath, sessionMetaLine + lines(1, 1, 'rewritten'));
      await periodic(saver);
      expect(metaCalls.map((content) => content.toString())).toEqual([sessionMetaLine + lines(1, 2), sessionMetaLine + lines(1, 1, 'rewritten')]);
      expect((await storedMain()).transcript.meta?.sessionId).toBe(SESSION_ID);
    });
  });

  describe('resume', () => {
    it('a saver built from the loaded transcript appends to the same version', async () => {
      const firstRun = sessionMetaLine + lines(1, 4);
      await writeFile(transcriptPath, firstRun);
      const firstSaver = new TranscriptSaver(target);
      await final(firstSaver);
      await store.finishRun(target.runId, { status: 'succeeded', exitCode: 0, error: undefined });

      // Another machine: load, rehydrate the file, resume; the CLI appends to the same file.
      const stored = await store.loadTranscript(target.conversationId);
      const resumedPath = join(directory, 'elsewhere.jsonl');
      await writeFile(resumedPath, stored!.files[0]!.content);
      const run = await store.startRun({ conversationId: target.conversationId, runId: newRunId(), kind: 'resume', prompt: 'more', host: 'h2', cwd: '/elsewhere', leaseMs: 60_000 });
      const saver = new TranscriptSaver({ ...target, runId: run.id }, stored!.files);
      const resumedFiles = [{ key: 'main', path: resumedPath }];

      const added = lines(5, 3, 'resumed');
      await appendFile(resumedPath, added);
      expect(await saver.save(resumedFiles, { final: false, meta })).toEqual({ bytesSaved: Buffer.byteLength(added), newVersions: [] });
      const more = lines(8, 1, 'resumed');
      await appendFile(resumedPath, more);
      expect(await saver.save(resumedFiles, { final: true, meta })).toEqual({ bytesSaved: Buffer.byteLength(more), newVersions: [] });

      const chunks = storedChunks();
      expect(new Set(chunks.map((chunk) => chunk.versionId))).toEqual(new Set([stored!.files[0]!.cursor.versionId]));
      // Appended to the same version, then merged by the final save's compaction.
      expect(chunks.map((chunk) => chunk.bytes.toString())).toEqual([firstRun + added + more]);
      const { main } = await storedMain();
      expect(main.content.toString()).toBe(firstRun + added + more);
      expect(main.lineCount).toBe(9);
      expect(metaCalls).toHaveLength(1);
    });

    it('a resumed saver whose stored copy ended mid-line continues with the right line count', async () => {
      const firstRun = sessionMetaLine + lines(1, 2) + '{"cut":';
      await writeFile(transcriptPath, firstRun);
      await final(new TranscriptSaver(target));
      const stored = await store.loadTranscript(target.conversationId);
      expect(stored!.files[0]!.lineCount).toBe(4);

      const saver = new TranscriptSaver(target, stored!.files);
      await appendFile(transcriptPath, `"off"}\n${lines(3, 2)}`);
      expect((await saver.save(files(), { final: false, meta })).newVersions).toEqual([]);
      await expectStoredEqualsFile();
      expect((await storedMain()).main.lineCount).toBe(6);
    });
  });

  describe('line counts', () => {
    it('stay right when a final save stored a partial last line and the file later gets the rest of it and more lines', async () => {
      const head = sessionMetaLine + lines(1, 2);
      await writeFile(transcriptPath, `${head}{"type":"event","index":3,`);
      const saver = new TranscriptSaver(target);
      await final(saver);
      expect((await storedMain()).main.lineCount).toBe(4);

      // The rest of the cut line and two more complete lines, then a new partial line.
      await appendFile(transcriptPath, `"text":"the rest"}\n${lines(4, 2)}{"partial":`);
      const outcome = await periodic(saver);
      expect(outcome).toEqual({ bytesSaved: Buffer.byteLength(`"text":"the rest"}\n${lines(4, 2)}`), newVersions: [] });
      let { main } = await storedMain();
      expect(main.lineCount).toBe(6);
      expect(main.content.toString()).toBe(`${head}{"type":"event","index":3,"text":"the rest"}\n${lines(4, 2)}`);

      await final(saver);
      ({ main } = await storedMain());
      expect(main.lineCount).toBe(7);
      await expectStoredEqualsFile();

      // The final save ended mid-line again; a further final save that only closes the line adds no line.
      await appendFile(transcriptPath, 'true}\n');
      await final(saver);
      ({ main } = await storedMain());
      expect(main.lineCount).toBe(7);
      await expectStoredEqualsFile();
      expect(new Set(storedChunks().map((chunk) => chunk.versionId)).size).toBe(1);
    });
  });

  describe('several files', () => {
    it('saves each file key to its own version and metadata comes from main only', async () => {
      const agentPath = join(directory, 'agent.jsonl');
      await writeFile(transcriptPath, sessionMetaLine + lines(1, 2));
      await writeFile(agentPath, lines(1, 3, 'agent'));
      const saver = new TranscriptSaver(target);
      const both = [
        { key: 'main', path: transcriptPath },
        { key: 'subagents/agent.jsonl', path: agentPath },
      ];
      expect((await saver.save(both, { final: false, meta })).bytesSaved).toBe(Buffer.byteLength(sessionMetaLine + lines(1, 2) + lines(1, 3, 'agent')));
      await appendFile(agentPath, lines(4, 1, 'agent'));
      expect(await saver.save(both, { final: true, meta })).toEqual({ bytesSaved: Buffer.byteLength(lines(4, 1, 'agent')), newVersions: [] });

      const transcript = await store.loadTranscript(target.conversationId);
      const byKey = new Map(transcript!.files.map((file) => [file.key, file.content.toString()]));
      expect(byKey).toEqual(new Map([
        ['main', sessionMetaLine + lines(1, 2)],
        ['subagents/agent.jsonl', lines(1, 4, 'agent')],
      ]));
      expect(metaCalls).toHaveLength(1);
      expect(transcript!.meta?.sessionId).toBe(SESSION_ID);
    });
  });

  describe('with a redactor', () => {
    const KEY = 'sk-planted-0123456789abcdefghij';
    const secretLine = (index: number): string => `${JSON.stringify({ type: 'tool_output', index, output: `OPENAI_API_KEY=${KEY}\n` })}\n`;
    const redacting = (): SaverTarget => ({ ...target, redactor: createRedactor([{ name: 'OPENAI_API_KEY', value: KEY }]) });
    const redactedLine = (index: number): string => `${JSON.stringify({ type: 'tool_output', index, output: 'OPENAI_API_KEY=[REDACTED:$OPENAI_API_KEY]\n' })}\n`;

    it('stores the redacted lines, appends deltas after a redacted line, and re-verifies the file (not the store) at the end', async () => {
      await writeFile(transcriptPath, sessionMetaLine + secretLine(1));
      const saver = new TranscriptSaver(redacting());
      await periodic(saver);
      await appendFile(transcriptPath, lines(2, 2) + secretLine(4));
      const delta = await periodic(saver);
      expect(delta).toEqual({ bytesSaved: Buffer.byteLength(lines(2, 2) + redactedLine(4)), newVersions: [] });
      await appendFile(transcriptPath, lines(5, 1));
      expect((await final(saver)).newVersions).toEqual([]);

      const { main } = await storedMain();
      const expected = sessionMetaLine + redactedLine(1) + lines(2, 2) + redactedLine(4) + lines(5, 1);
      expect(main.content.toString()).toBe(expected);
      expect(main.sha256).toBe(sha256(Buffer.from(expected)));
      expect(main.lineCount).toBe(6);
      for (const chunk of storedChunks()) expect(chunk.bytes.includes(KEY)).toBe(false);
      expect(await saver.hasUnsaved(files())).toBe(false);
    });

    it('notices a rewrite of lines it saved redacted, and stores the new file as a new version, redacted', async () => {
      await writeFile(transcriptPath, sessionMetaLine + secretLine(1) + lines(2, 1));
      const saver = new TranscriptSaver(redacting());
      await periodic(saver);
      await writeFile(transcriptPath, sessionMetaLine + secretLine(9) + lines(2, 1));
      expect((await final(saver)).newVersions).toEqual(['main']);
      expect((await storedMain()).main.content.toString()).toBe(sessionMetaLine + redactedLine(9) + lines(2, 1));
    });

    it('a resume continues from the stored redacted copy (rehydrated as it is) with deltas', async () => {
      await writeFile(transcriptPath, sessionMetaLine + secretLine(1));
      await final(new TranscriptSaver(redacting()));
      const stored = await store.loadTranscript(target.conversationId);
      await writeFile(transcriptPath, stored!.files[0]!.content);
      await appendFile(transcriptPath, secretLine(2));
      const resumed = new TranscriptSaver(redacting(), stored!.files);
      expect(await final(resumed)).toEqual({ bytesSaved: Buffer.byteLength(redactedLine(2)), newVersions: [] });
      expect((await storedMain()).main.content.toString()).toBe(sessionMetaLine + redactedLine(1) + redactedLine(2));
    });
  });
});
