import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureProjectSlug } from '../../src/harness/gemini/config.js';
import { geminiHarness } from '../../src/harness/gemini/harness.js';
import { chatsDirectory, locateGeminiSession, readGeminiMeta, readGeminiMetaRecord, readGeminiSession, rehydrateGeminiSession, sessionFileName, viewGeminiSession } from '../../src/harness/gemini/transcript.js';
import { transcriptFile, type Envelope } from '../../src/transcript/envelope.js';

const FIXTURES = 'test/fixtures/gemini';
const RESUMED_ID = '22222222-2222-4333-8444-555555555555';
const KILLED_ID = '11111111-2222-4333-8444-555555555556';
const resumed = () => readFile(join(FIXTURES, 'resumed', 'session-2026-12-02T13-03-22222222.jsonl'));
const resumedWithToolCalls = () => readFile(join(FIXTURES, 'resumed-history-with-tool-calls', 'session-2026-12-02T16-12-fc56557c.jsonl'));
const killed = () => readFile(join(FIXTURES, 'killed-mid-tool', 'session-2026-12-02T12-54-11111111.jsonl'));

function envelopeOf(content: Buffer, sessionId = RESUMED_ID): Envelope {
  return { harness: 'gemini', sessionId, meta: readGeminiMeta(content, sessionId), files: [transcriptFile('main', content)] };
}

/** The near-empty twin a resume creates (verified with gemini 0.61.0): metadata and a session context only. */
function strayTwin(sessionId: string, startTime: string): string {
  return `${JSON.stringify({ sessionId, projectHash: 'abc', startTime, lastUpdated: startTime, kind: 'main' })}\n${JSON.stringify({ $set: { messages: [{ id: 'ctx', timestamp: startTime, type: 'user', content: [{ text: '<session_context>\nstuff\n</session_context>' }] }], lastUpdated: startTime } })}\n`;
}

let home: string;
let cwd: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'baton-gemini-home-'));
  cwd = await mkdtemp(join(tmpdir(), 'baton-gemini-cwd-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
  await rm(cwd, { recursive: true, force: true });
});

describe('gemini session metadata and file names', () => {
  it('reads the session id, start and cwd of a real session', async () => {
    expect(readGeminiMeta(await resumed(), RESUMED_ID)).toEqual({ sessionId: RESUMED_ID, sessionStartedAt: '2026-12-02T13:03:28.514Z', cwd: '/tmp/gprobe/proj4', cliVersion: undefined });
  });

  it('tolerates lines that are not JSON', () => {
    expect(readGeminiMeta(Buffer.from('garbage\n'), RESUMED_ID)).toEqual({ sessionId: RESUMED_ID, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined });
  });

  it('finds the metadata record without reading the whole session, as the full read does', async () => {
    for (const content of [await resumed(), await resumedWithToolCalls(), await killed()]) expect(readGeminiMetaRecord(content)).toEqual(readGeminiSession(content).meta);
    const start = '2026-12-02T13:03:28.514Z';
    // A line that is not JSON, a $set and a message before it do not count as the metadata, as in the full read.
    const odd = Buffer.from(`not json\n${JSON.stringify({ $set: { messages: [] } })}\n${JSON.stringify({ id: 'm1', type: 'user', sessionId: 'x', content: 'hi' })}\n${JSON.stringify({ sessionId: RESUMED_ID, startTime: start })}\n`);
    expect(readGeminiMetaRecord(odd)).toEqual(readGeminiSession(odd).meta);
    expect(readGeminiMetaRecord(odd)?.startTime).toBe(start);
    expect(readGeminiMetaRecord(Buffer.from('{"$set":{}}\n'))).toBeUndefined();
  });

  it('names a file as the CLI does: UTC minute of the start and the first 8 characters of the id', () => {
    expect(sessionFileName(RESUMED_ID, '2026-12-02T13:03:28.511Z')).toBe('session-2026-12-02T13-03-22222222.jsonl');
    expect(sessionFileName(RESUMED_ID, 'not a date')).toBe('session-1970-01-01T00-00-22222222.jsonl');
  });
});

describe('gemini rehydrate and locate', () => {
  it("writes the session into the chats folder of the resume cwd's project, 0600, where locate finds it", async () => {
    const content = await resumed();
    const result = await rehydrateGeminiSession(envelopeOf(content), home, cwd);
    const slug = await ensureProjectSlug(home, cwd);
    const expected = join(chatsDirectory(home, slug), 'session-2026-12-02T13-03-22222222.jsonl');
    expect(result).toEqual({ files: [{ key: 'main', path: expected }], keptLocal: [] });
    expect(await readFile(expected)).toEqual(content);
    expect((await stat(expected)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(home, '.gemini', 'projects.json'), 'utf8'))).toEqual({ projects: { [cwd]: slug } });
    expect(await locateGeminiSession(home, cwd, RESUMED_ID)).toEqual({ files: [{ key: 'main', path: expected }] });
    // Another cwd's project does not hold it.
    expect(await locateGeminiSession(home, '/somewhere/else', RESUMED_ID)).toBeUndefined();
  });

  it('locates the resumed file, not the newer stray twin a resume leaves, and makes the twin private too', async () => {
    const content = await resumed();
    const { files } = await rehydrateGeminiSession(envelopeOf(content), home, cwd);
    const directory = chatsDirectory(home, await ensureProjectSlug(home, cwd));
    const stray = join(directory, 'session-2026-12-02T14-00-22222222.jsonl');
    await writeFile(stray, strayTwin(RESUMED_ID, '2026-12-02T14:00:00.000Z'), { mode: 0o644 });
    expect(await locateGeminiSession(home, cwd, RESUMED_ID)).toEqual({ files: [{ key: 'main', path: files[0]!.path }] });
    expect((await stat(stray)).mode & 0o777).toBe(0o600);
    // A second rehydrate leaves both alone.
    expect(await rehydrateGeminiSession(envelopeOf(content), home, cwd)).toMatchObject({ keptLocal: [] });
    expect((await readdir(directory)).sort()).toEqual(['session-2026-12-02T13-03-22222222.jsonl', 'session-2026-12-02T14-00-22222222.jsonl']);
  });

  it('keeps a longer local copy, replaces an older one, and refuses a divergent one', async () => {
    const content = await resumed();
    const lines = content.toString().split('\n');
    const older = Buffer.from(`${lines.slice(0, 5).join('\n')}\n`);
    const first = await rehydrateGeminiSession(envelopeOf(older), home, cwd);
    const path = first.files[0]!.path;
    expect(await rehydrateGeminiSession(envelopeOf(content), home, cwd)).toMatchObject({ keptLocal: [] });
    expect(await readFile(path)).toEqual(content);
    expect(await rehydrateGeminiSession(envelopeOf(older), home, cwd)).toMatchObject({ keptLocal: ['main'] });
    expect(await readFile(path)).toEqual(content);
    const divergent = Buffer.concat([older, Buffer.from('{"id":"x","timestamp":"t","type":"user","content":[{"text":"only here"}]}\n')]);
    await writeFile(path, divergent);
    await expect(rehydrateGeminiSession(envelopeOf(content), home, cwd)).rejects.toMatchObject({ code: 'REHYDRATE_CONFLICT' });
    expect(await readFile(path)).toEqual(divergent);
  });

  it('never clobbers a file it did not write: two resumable copies are a conflict', async () => {
    const content = await resumed();
    await rehydrateGeminiSession(envelopeOf(content), home, cwd);
    const directory = chatsDirectory(home, await ensureProjectSlug(home, cwd));
    await mkdir(directory, { recursive: true });
    await writeFile(join(directory, 'session-2026-12-03T10-00-22222222.jsonl'), content);
    await expect(rehydrateGeminiSession(envelopeOf(content), home, cwd)).rejects.toMatchObject({ code: 'REHYDRATE_CONFLICT' });
  });

  it("refuses another harness's envelope before writing anything", async () => {
    const envelope = { ...envelopeOf(await resumed()), harness: 'claude' as const };
    await expect(geminiHarness.rehydrate(envelope, { home, cwd, env: {} })).rejects.toMatchObject({ code: 'HARNESS_MISMATCH' });
    expect(await readdir(home)).toEqual([]);
  });
});

describe('gemini transcript view', () => {
  it('shows a resumed session once: prompts, the command with its output, replies, not the prompt the API refused', async () => {
    const view = viewGeminiSession(await resumed());
    expect(view.unparsedLines).toBe(0);
    expect(view.items.map((item) => item.kind)).toEqual(['user', 'command', 'assistant', 'user', 'assistant']);
    expect(view.items[0]).toEqual({ kind: 'user', text: 'RUN: echo hi-from-shell' });
    expect(view.items[1]).toMatchObject({ kind: 'command', command: 'echo hi-from-shell', output: 'hi-from-shell', exitCode: 0 });
    expect(view.items[3]).toEqual({ kind: 'user', text: 'second prompt' });
    // verified with gemini 0.61.0: after the API error the CLI's closing `$set` history leaves the failed prompt out.
    expect(view.items).not.toContainEqual({ kind: 'user', text: 'FAIL400' });
  });

  it('shows a call once when the history a resume writes carries both its functionCall part and its toolCalls', async () => {
    // verified with gemini 0.61.0: now and then the `$set` history's model message keeps the recorded `toolCalls`
    // (with the result) next to the `functionCall` part of the same id.
    const view = viewGeminiSession(await resumedWithToolCalls());
    expect(view.items.map((item) => item.kind)).toEqual(['user', 'command', 'assistant', 'user', 'assistant']);
    expect(view.items[1]).toEqual({ kind: 'command', callId: 'run_shell_command__run_shell_command_1796227972346_0', command: 'echo hi-3', output: 'hi-3', exitCode: 0 });
    expect(view.items[4]).toEqual({ kind: 'assistant', text: 'ACK what?' });
  });

  it('shows what a session killed mid-tool kept: the prompt, and no call (the CLI had not recorded it)', async () => {
    const view = viewGeminiSession(await killed());
    expect(view.items).toEqual([{ kind: 'user', text: 'RUN: echo started; sleep 31' }]);
    expect(readGeminiMeta(await killed(), KILLED_ID).sessionId).toBe(KILLED_ID);
  });

  it('honours $rewindTo and counts lines that are not JSON', () => {
    const lines = [
      { sessionId: RESUMED_ID, projectHash: 'h', startTime: 't', lastUpdated: 't', kind: 'main' },
      { id: 'a', timestamp: 't', type: 'user', content: [{ text: 'kept' }] },
      { id: 'b', timestamp: 't', type: 'user', content: [{ text: 'rewound away' }] },
      { $rewindTo: 'b' },
      { id: 'c', timestamp: 't', type: 'gemini', content: 'reply' },
    ].map((record) => JSON.stringify(record));
    const view = viewGeminiSession(Buffer.from(`${lines.join('\n')}\nnot json\n`));
    expect(view).toEqual({ items: [{ kind: 'user', text: 'kept' }, { kind: 'assistant', text: 'reply' }], unparsedLines: 1 });
  });
});
