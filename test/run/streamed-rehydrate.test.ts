/**
 * A resume's rehydrate streams each stored file from a real SQLite store into a fresh CLI home: the bytes the CLI
 * finds are the stored ones (with Claude's repair and Gemini's file name exactly as from the whole content), and a
 * stored file that does not verify is TRANSCRIPT_CORRUPT and leaves no file behind, whichever piece is damaged.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rehydrateClaudeSession, repairInterruptedToolUse } from '../../src/harness/claude/transcript.js';
import { rehydrateRollout } from '../../src/harness/codex/transcript.js';
import { rehydrateGeminiSession } from '../../src/harness/gemini/transcript.js';
import type { HarnessId } from '../../src/harness/ids.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import { decodeChunk, encodeChunk, zstdFrameChecksummed } from '../../src/store/chunk-codec.js';
import { TranscriptSaver } from '../../src/run/saver.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { TranscriptCursor } from '../../src/store/store.js';
import { MAIN_FILE_KEY, transcriptFile } from '../../src/transcript/envelope.js';
import { countLines } from '../../src/transcript/jsonl.js';
import type { StoredEnvelope, UnverifiedPiece } from '../../src/transcript/file-reader.js';
import { appendAfter, expectBatonError, jsonLines } from '../store/store-contract.js';

const CLAUDE_FIXTURES = fileURLToPath(new URL('../fixtures/claude/', import.meta.url));
const GEMINI_SESSION = fileURLToPath(new URL('../fixtures/gemini/resumed/session-2026-12-02T13-03-22222222.jsonl', import.meta.url));
const GEMINI_SESSION_ID = '22222222-2222-4333-8444-555555555555';
const CODEX_SESSION_ID = '019a0000-0000-7000-8000-000000000001';

function claudeFixture(scenario: string): { sessionId: string; content: Buffer } {
  const [folder] = readdirSync(join(CLAUDE_FIXTURES, scenario, 'projects'));
  const [name] = readdirSync(join(CLAUDE_FIXTURES, scenario, 'projects', folder!)).filter((entry) => entry.endsWith('.jsonl'));
  return { sessionId: name!.slice(0, -'.jsonl'.length), content: readFileSync(join(CLAUDE_FIXTURES, scenario, 'projects', folder!, name!)) };
}

/** Every file under `directory`, relative, with its mode. */
async function filesUnder(directory: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.push(path.slice(directory.length + 1));
    }
  };
  await walk(directory);
  return found.sort();
}

describe('streamed rehydrate from a SQLite store', () => {
  let directory: string;
  let store: SqlStore;
  let cwd: string;
  /** The run that stored the last conversation (still holding its lease). */
  let lastRunId: string;

  beforeEach(async () => {
    directory = await realpath(await mkdtemp(join(tmpdir(), 'baton-streamed-')));
    store = await openSqliteStore(join(directory, 'baton.db'));
    cwd = await realpath(await mkdtemp(join(directory, 'cwd-')));
  });
  afterEach(async () => {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  /** Stores `files` (key → bytes) for a new conversation, each in `pieces` appended chunks; returns the conversation. */
  async function stored(harness: HarnessId, sessionId: string, files: Record<string, Buffer>, pieces = 3): Promise<string> {
    const conversationId = newConversationId();
    await store.createConversation({ id: conversationId, harness, title: 't', cwd });
    await store.setSessionId(conversationId, sessionId);
    const run = await store.startRun({ conversationId, runId: newRunId(), kind: 'new', prompt: 'p', host: 'h', cwd, leaseMs: 60_000 });
    lastRunId = run.id;
    for (const [fileKey, content] of Object.entries(files)) {
      let base: TranscriptCursor | undefined;
      let start = 0;
      for (let part = 1; part <= pieces; part++) {
        const end = part === pieces ? content.length : content.indexOf(0x0a, Math.floor((content.length * part) / pieces)) + 1;
        if (end <= start) continue;
        base = await appendAfter(store, { conversationId, fileKey, runId: run.id, base, before: content.subarray(0, start), bytes: content.subarray(start, end) });
        start = end;
      }
    }
    return conversationId;
  }

  async function envelope(harness: HarnessId, conversationId: string, sessionId: string): Promise<StoredEnvelope> {
    const opened = await store.openTranscript(conversationId);
    if (!opened) throw new Error('nothing stored');
    return { harness, sessionId, meta: opened.meta ?? { sessionId, sessionStartedAt: '2026-12-02T10:00:00.000Z', cwd: undefined, cliVersion: undefined }, files: opened.files };
  }

  /** Overwrites a stored chunk's body (the file's `sequence`th chunk) with `data`. */
  function setChunk(fileKey: string, sequence: number, data: (old: Buffer) => Buffer): void {
    const raw = new Sqlite(join(directory, 'baton.db'));
    try {
      const row = raw
        .prepare('SELECT c.version_id AS versionId, c.data AS data FROM transcript_chunks c JOIN transcript_versions v ON v.id = c.version_id WHERE v.file_key = ? ORDER BY c.sequence LIMIT 1 OFFSET ?')
        .get(fileKey, sequence) as { versionId: number; data: Buffer };
      expect(raw.prepare('UPDATE transcript_chunks SET data = ? WHERE version_id = ? AND sequence = (SELECT sequence FROM transcript_chunks WHERE version_id = ? ORDER BY sequence LIMIT 1 OFFSET ?)').run(data(row.data), row.versionId, row.versionId, sequence).changes).toBe(1);
    } finally {
      raw.close();
    }
  }

  const flipped = (data: Buffer): Buffer => {
    const copy = Buffer.from(data);
    const middle = Math.floor(copy.length / 2);
    copy[middle] = copy[middle]! ^ 0x5a;
    return copy;
  };

  it('streams a Codex rollout of several chunks into place, byte for byte, 0600, and the read proves what a whole load does', async () => {
    const content = Buffer.concat([Buffer.from(`${JSON.stringify({ type: 'session_meta', payload: { id: CODEX_SESSION_ID, timestamp: '2026-12-02T10:00:00.000Z' } })}\n`), jsonLines(3000)]);
    const conversationId = await stored('codex', CODEX_SESSION_ID, { main: content }, 4);
    const home = join(directory, 'codex-home');
    const opened = await store.openTranscript(conversationId);
    const pieces: number[] = [];
    const read = await opened!.files[0]!.stream((piece: UnverifiedPiece) => void pieces.push(piece.unverifiedBytes.length));
    expect(pieces.length).toBe(4);
    const rehydrated = await rehydrateRollout(await envelope('codex', conversationId, CODEX_SESSION_ID), home);
    const path = rehydrated.files[0]!.path;
    expect((await readFile(path)).equals(content)).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await filesUnder(home)).toEqual([path.slice(home.length + 1)]);
    const loaded = (await store.loadTranscript(conversationId))!.files[0]!;
    expect(read.cursor).toEqual(loaded.cursor);
    expect(read.hash.copy().digest('hex')).toBe(loaded.sha256);
    expect(read.head.equals(content.subarray(0, 4096))).toBe(true);
    expect(read.tail.equals(content.subarray(-4096))).toBe(true);
  });

  it.each([
    ['a flipped byte in the last chunk (the first pieces were handed out)', (): void => setChunk(MAIN_FILE_KEY, 2, flipped)],
    ['a first chunk of other, validly compressed lines', (): void => setChunk(MAIN_FILE_KEY, 0, () => encodeChunk(jsonLines(400, 0, 'forged')).data)],
    ['a middle chunk of the same length with one byte changed', (): void => setChunk(MAIN_FILE_KEY, 1, flipped)],
  ])('%s: TRANSCRIPT_CORRUPT, and nothing left in the fresh CODEX_HOME', async (_name, damage) => {
    const content = Buffer.concat([Buffer.from(`${JSON.stringify({ type: 'session_meta', payload: { id: CODEX_SESSION_ID } })}\n`), jsonLines(3000)]);
    const conversationId = await stored('codex', CODEX_SESSION_ID, { main: content }, 3);
    damage();
    const home = join(directory, 'codex-home');
    await expectBatonError(rehydrateRollout(await envelope('codex', conversationId, CODEX_SESSION_ID), home), 'TRANSCRIPT_CORRUPT');
    expect(await filesUnder(home)).toEqual([]);
    // The stream itself: refused after every piece handed out was done with.
    let inFlight = 0;
    const pieces: string[] = [];
    const streamed = (await envelope('codex', conversationId, CODEX_SESSION_ID)).files[0]!.stream(async () => {
      inFlight++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      pieces.push('done');
      inFlight--;
    });
    await expectBatonError(streamed, 'TRANSCRIPT_CORRUPT');
    expect(inFlight).toBe(0);
  });

  /** Re-encodes the stored chunk of `sequence` from its decoded bytes changed by `change` (same length), with `encode`. */
  function forgeChunk(sequence: number, change: (plain: Buffer) => Buffer, encode: (plain: Buffer) => Buffer): void {
    setChunk(MAIN_FILE_KEY, sequence, (old) => {
      const plain = decodeChunk({ codec: 'zstd', data: old });
      const forged = change(Buffer.from(plain));
      expect(forged.length).toBe(plain.length);
      return encode(forged);
    });
  }

  /** One letter inside the first JSON string changed: the same length, still JSON. */
  const oneLetterChanged = (plain: Buffer): Buffer => {
    const at = plain.indexOf('"') + 1;
    plain[at] = plain[at] === 0x41 ? 0x42 : 0x41;
    return plain;
  };

  /** A zstd frame as baton wrote it before frames carried their content checksum. */
  const zstdBinding = createRequire(import.meta.url)('zstd-napi/binding') as { CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number }; compressBound(size: number): number };
  const unchecksummedFrame = (plain: Buffer): Buffer => {
    const out = Buffer.allocUnsafe(zstdBinding.compressBound(plain.length));
    const frame = Buffer.from(out.subarray(0, new zstdBinding.CCtx().compress(out, plain, 3)));
    expect(zstdFrameChecksummed(frame)).toBe(false);
    return frame;
  };

  it('a chunk re-encoded with other bytes of its length and a valid checksum: in place (only the sha256 chain differs), and the resumed saver refuses it with TRANSCRIPT_CORRUPT, storing nothing', async () => {
    const content = Buffer.concat([Buffer.from(`${JSON.stringify({ type: 'session_meta', payload: { id: CODEX_SESSION_ID } })}\n`), jsonLines(3000)]);
    const conversationId = await stored('codex', CODEX_SESSION_ID, { main: content }, 3);
    forgeChunk(1, oneLetterChanged, (plain) => encodeChunk(plain).data);
    const opened = await store.openTranscript(conversationId);
    const home = join(directory, 'codex-home');
    const rehydrated = await rehydrateRollout(await envelope('codex', conversationId, CODEX_SESSION_ID), home);
    const path = rehydrated.files[0]!.path;
    expect((await readFile(path)).length).toBe(content.length);
    await appendFile(path, jsonLines(2, 5000, 'next'));
    const saver = new TranscriptSaver({ store, conversationId, runId: lastRunId }, await Promise.all(opened!.files.map((file) => file.verified())));
    const error = await expectBatonError(saver.save([{ key: MAIN_FILE_KEY, path }], { final: false, meta: () => undefined }), 'TRANSCRIPT_CORRUPT');
    expect(error.message).toContain('sha256 mismatch after chunk 1');
    const raw = new Sqlite(join(directory, 'baton.db'));
    try {
      expect((raw.prepare('SELECT count(*) AS n FROM transcript_chunks').get() as { n: number }).n).toBe(3);
    } finally {
      raw.close();
    }
  });

  it('streams that overlap, and streams one after another (their buffers are reused), each hand out exactly their own bytes', async () => {
    const contents = [jsonLines(3000, 0, 'first'), jsonLines(2500, 0, 'second'), jsonLines(2800, 0, 'third')];
    const ids = await Promise.all(contents.map((content, index) => stored('codex', [CODEX_SESSION_ID, '019a0000-0000-7000-8000-00000000000b', '019a0000-0000-7000-8000-00000000000c'][index]!, { main: content }, 4)));
    const streamed = async (conversationId: string): Promise<Buffer> => {
      const parts: Buffer[] = [];
      const opened = await store.openTranscript(conversationId);
      await opened!.files[0]!.stream(async (piece) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        parts.push(Buffer.from(piece.unverifiedBytes));
      });
      return Buffer.concat(parts);
    };
    const overlapping = await Promise.all(ids.map((id) => streamed(id)));
    for (const [index, bytes] of overlapping.entries()) expect(bytes.equals(contents[index]!)).toBe(true);
    for (const [index, id] of ids.entries()) expect((await streamed(id)).equals(contents[index]!)).toBe(true);
  });

  it("a version row whose line count is not its chunks': the stored bytes in place, and the resumed saver refuses it with TRANSCRIPT_CORRUPT before storing anything", async () => {
    const content = Buffer.concat([Buffer.from(`${JSON.stringify({ type: 'session_meta', payload: { id: CODEX_SESSION_ID } })}\n`), jsonLines(3000)]);
    const conversationId = await stored('codex', CODEX_SESSION_ID, { main: content }, 3);
    const raw = new Sqlite(join(directory, 'baton.db'));
    try {
      expect(raw.prepare('UPDATE transcript_versions SET line_count = line_count + 1').run().changes).toBe(1);
      const opened = await store.openTranscript(conversationId);
      const home = join(directory, 'codex-home');
      const rehydrated = await rehydrateRollout(await envelope('codex', conversationId, CODEX_SESSION_ID), home);
      const path = rehydrated.files[0]!.path;
      expect((await readFile(path)).equals(content)).toBe(true);
      await appendFile(path, jsonLines(2, 5000, 'next'));
      const saver = new TranscriptSaver({ store, conversationId, runId: lastRunId }, await Promise.all(opened!.files.map((file) => file.verified())));
      const error = await expectBatonError(saver.save([{ key: MAIN_FILE_KEY, path }], { final: false, meta: () => undefined }), 'TRANSCRIPT_CORRUPT');
      expect(error.message).toMatch(new RegExp(`expected ${countLines(content) + 1} lines .*found ${countLines(content)} lines`));
      expect((raw.prepare('SELECT count(*) AS n FROM transcript_chunks').get() as { n: number }).n).toBe(3);
    } finally {
      raw.close();
    }
  });

  it('chunks whose zstd frames carry no checksum (written before they did): the sha256 chain is checked before anything is in place', async () => {
    const content = Buffer.concat([Buffer.from(`${JSON.stringify({ type: 'session_meta', payload: { id: CODEX_SESSION_ID, timestamp: '2026-12-02T10:00:00.000Z' } })}\n`), jsonLines(3000)]);
    const conversationId = await stored('codex', CODEX_SESSION_ID, { main: content }, 3);
    for (const sequence of [0, 1, 2]) forgeChunk(sequence, (plain) => plain, unchecksummedFrame);
    const rehydrated = await rehydrateRollout(await envelope('codex', conversationId, CODEX_SESSION_ID), join(directory, 'intact-home'));
    expect((await readFile(rehydrated.files[0]!.path)).equals(content)).toBe(true);
    forgeChunk(1, oneLetterChanged, unchecksummedFrame);
    const home = join(directory, 'codex-home');
    const error = await expectBatonError(rehydrateRollout(await envelope('codex', conversationId, CODEX_SESSION_ID), home), 'TRANSCRIPT_CORRUPT');
    expect(error.message).toContain('sha256 mismatch after chunk 1');
    expect(await filesUnder(home)).toEqual([]);
  });

  it('Claude: a damaged subagent file leaves neither it nor the verified main file where the CLI looks', async () => {
    const { sessionId, content } = claudeFixture('tool-call');
    const subagent = jsonLines(2000, 0, 'subagent');
    const conversationId = await stored('claude', sessionId, { main: content, 'subagents/agent-a1.jsonl': subagent }, 2);
    setChunk('subagents/agent-a1.jsonl', 1, flipped);
    const home = join(directory, 'claude-home');
    await expectBatonError(rehydrateClaudeSession(await envelope('claude', conversationId, sessionId), home, cwd), 'TRANSCRIPT_CORRUPT');
    expect(await filesUnder(home)).toEqual([]);
  });

  it('Claude: the interrupted-tool repair of a streamed file over 1 MB is the one made from the whole content, also when its last line is longer than 1 MB', async () => {
    const { sessionId, content: killed } = claudeFixture('killed-mid-tool');
    const filler = jsonLines(20_000, 0, 'earlier');
    expect(filler.length).toBeGreaterThan(1024 * 1024);
    const longLine = Buffer.from(`${JSON.stringify({ type: 'progress', text: 'x'.repeat(1200 * 1024) })}`);
    for (const [index, content] of [Buffer.concat([filler, killed]), Buffer.concat([filler, killed, longLine])].entries()) {
      const conversationId = await stored('claude', sessionId, { main: content }, 5);
      const home = join(directory, `claude-home-${index}`);
      const rehydrated = await rehydrateClaudeSession(await envelope('claude', conversationId, sessionId), home, cwd);
      const written = await readFile(rehydrated.files[0]!.path);
      const expected = repairInterruptedToolUse(content, cwd);
      expect(expected.length).toBeGreaterThan(content.length);
      expect(written.equals(expected)).toBe(true);
    }
  });

  it('Gemini: the streamed session gets the file name and bytes the whole content gives', async () => {
    const content = await readFile(GEMINI_SESSION);
    const conversationId = await stored('gemini', GEMINI_SESSION_ID, { main: content }, 3);
    const streamed = await rehydrateGeminiSession(await envelope('gemini', conversationId, GEMINI_SESSION_ID), join(directory, 'gemini-streamed'), cwd);
    const whole = await rehydrateGeminiSession(
      { harness: 'gemini', sessionId: GEMINI_SESSION_ID, meta: { sessionId: GEMINI_SESSION_ID, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined }, files: [transcriptFile(MAIN_FILE_KEY, content)] },
      join(directory, 'gemini-whole'),
      cwd,
    );
    expect(streamed.files[0]!.path.slice(join(directory, 'gemini-streamed').length)).toBe(whole.files[0]!.path.slice(join(directory, 'gemini-whole').length));
    expect((await readFile(streamed.files[0]!.path)).equals(content)).toBe(true);
    expect((await filesUnder(join(directory, 'gemini-streamed'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});
