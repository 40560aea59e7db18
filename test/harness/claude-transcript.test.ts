/**
 * Claude Code session files, specified on real transcripts recorded from Claude Code 2.1.332
 * (test/fixtures/claude/, described at the end of notes/claude-probe.md). Each scenario folder is a trimmed
 * CLAUDE_CONFIG_DIR whose project folder name encodes the run's cwd:
 * - tool-call/       one turn in /tmp/cp/t1/cwd: a prompt, a Bash call and its output, the reply;
 * - resumed/         the same session resumed from /tmp/cp/t8/other cwd.v2 (tool-call is its prefix);
 * - resumed-twice/   resumed again from /tmp/cp/t27/third machine/wd, with another Bash call;
 * - subagent/        a foreground subagent (subagents/agent-*.jsonl + .meta.json) and a task (tasks/<uuid>/1.json);
 * - killed-*         runs killed with SIGKILL: mid-tool (tail = tool_use), two parallel tool_uses, after the tool
 *                    result, before the reply; and *-resumed: the CLI's own repair after `claude --resume`.
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { claudeHarness } from '../../src/harness/claude/harness.js';
import {
  danglingToolUses,
  encodeProjectFolder,
  INTERRUPTED_TOOL_RESULT,
  locateClaudeSession,
  projectDirectory,
  projectFolderHash,
  readClaudeMeta,
  rehydrateClaudeSession,
  rehydrationPath,
  repairInterruptedToolUse,
  viewClaudeSession,
} from '../../src/harness/claude/transcript.js';
import type { HarnessId } from '../../src/harness/ids.js';
import { MAIN_FILE_KEY, sha256Hex, transcriptFile, type Envelope, type TranscriptFile } from '../../src/transcript/envelope.js';
import type { ViewItem } from '../../src/transcript/view.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/claude/', import.meta.url));

/** The main session file of a scenario folder: its project folder name and its bytes. */
function fixtureSession(scenario: string): { folder: string; sessionId: string; content: Buffer } {
  const [folder] = readdirSync(join(FIXTURES, scenario, 'projects'));
  if (!folder) throw new Error(`no project folder in test/fixtures/claude/${scenario}`);
  const [name] = readdirSync(join(FIXTURES, scenario, 'projects', folder)).filter((entry) => entry.endsWith('.jsonl'));
  if (!name) throw new Error(`no session file in test/fixtures/claude/${scenario}/projects/${folder}`);
  return { folder, sessionId: name.slice(0, -'.jsonl'.length), content: readFileSync(join(FIXTURES, scenario, 'projects', folder, name)) };
}

const SESSION_ID = '11111111-1111-4111-8111-111111111111';
const SUBAGENT_SESSION_ID = '55555555-aaaa-4aaa-8aaa-000000000001';
const SUBAGENT_ID = 'aa07e95829c607809';
const KILLED_SESSION_ID = '66666666-bbbb-4bbb-8bbb-000000000001';
const PARALLEL_SESSION_ID = '66666666-bbbb-4bbb-8bbb-0000000000d2';

const toolCall = fixtureSession('tool-call');
const resumed = fixtureSession('resumed');
const resumedTwice = fixtureSession('resumed-twice');
const subagent = fixtureSession('subagent');
const killedMidTool = fixtureSession('killed-mid-tool');
const killedMidToolResumed = fixtureSession('killed-mid-tool-resumed');
const killedParallel = fixtureSession('killed-parallel-tools');
const killedParallelResumed = fixtureSession('killed-parallel-tools-resumed');
const killedAfterToolResult = fixtureSession('killed-after-tool-result');
const killedBeforeReply = fixtureSession('killed-before-reply');

const NOT_JSON = 'this line is not JSON {"type":"user","cwd":"/nowhere"';

function lines(content: Buffer): string[] {
  return content.toString('utf8').split('\n').filter((line) => line !== '');
}

function records(content: Buffer): Array<Record<string, any>> {
  return lines(content).map((line) => JSON.parse(line) as Record<string, any>);
}

function withLineInserted(content: Buffer, lineNumber: number, line: string): Buffer {
  const all = content.toString('utf8').split('\n');
  all.splice(lineNumber - 1, 0, line);
  return Buffer.from(all.join('\n'), 'utf8');
}

function claudeEnvelope(sessionId: string, files: Array<[key: string, content: Buffer]>): Envelope {
  const main = files.find(([key]) => key === MAIN_FILE_KEY)?.[1] ?? Buffer.alloc(0);
  return { harness: 'claude', sessionId, meta: readClaudeMeta(main, sessionId), files: files.map(([key, content]) => transcriptFile(key, content)) };
}

const temporaryDirectories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'baton-claude-transcript-'));
  temporaryDirectories.push(directory);
  return directory;
}

afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

/** A CLAUDE_CONFIG_DIR holding a copy of a recorded scenario folder (projects/…, tasks/…). */
async function configDirFrom(scenario: string): Promise<string> {
  const configDir = join(await temporaryDirectory(), 'claude-config');
  cpSync(join(FIXTURES, scenario), configDir, { recursive: true });
  return configDir;
}

async function placeFile(path: string, content: Buffer, modifiedAt?: Date): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  if (modifiedAt) await utimes(path, modifiedAt, modifiedAt);
  return path;
}

async function listFiles(directory: string): Promise<string[]> {
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function thrownBy(action: () => unknown): BatonError {
  try {
    action();
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError, but nothing was thrown');
}

async function rejectionOf(promise: Promise<unknown>): Promise<BatonError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError, but the promise resolved');
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

// ---------------------------------------------------------------------------------------------------------

describe('encodeProjectFolder: the project folder Claude Code 2.1.332 names after the real cwd', () => {
  /** The 309-character cwd of notes/claude-probe.md §2: /tmp/cp/enc/segment_01.long-name/…/segment_14.long-name/end. */
  const LONG_CWD = `/tmp/cp/enc/${Array.from({ length: 14 }, (_, index) => `segment_${String(index + 1).padStart(2, '0')}.long-name`).join('/')}/end`;

  it('turns every character outside a-zA-Z0-9 into "-", case kept (folder names the real CLI created)', () => {
    expect(encodeProjectFolder('/tmp/cp/enc/My.Proj_v1.2 x')).toBe('-tmp-cp-enc-My-Proj-v1-2-x');
    expect(encodeProjectFolder('/tmp/cp/enc/Caps-UP')).toBe('-tmp-cp-enc-Caps-UP');
    // The fixtures' own folders, named by the CLI after their cwds.
    expect(encodeProjectFolder('/tmp/cp/t1/cwd')).toBe(toolCall.folder);
    expect(encodeProjectFolder('/tmp/cp/t8/other cwd.v2')).toBe(resumed.folder);
    expect(encodeProjectFolder('/tmp/cp/t27/third machine/wd')).toBe(resumedTwice.folder);
  });

  it('counts UTF-16 code units: é, 日 and 本 give one dash each and an emoji (a surrogate pair) two', () => {
    const cwd = '/tmp/cp/enc/caf\u00e9-\u65e5\u672c-\u{1F600}';
    expect(cwd.normalize('NFC')).toBe(cwd);
    expect(encodeProjectFolder(cwd)).toBe('-tmp-cp-enc-caf-------');
    expect(encodeProjectFolder(cwd).length).toBe('-tmp-cp-enc-caf'.length + 7);
  });

  it('cuts a name longer than 200 characters to 200 and appends "-" and the base-36 hash of the unsanitised path', () => {
    expect(LONG_CWD).toHaveLength(309);
    const folder = encodeProjectFolder(LONG_CWD);
    expect(folder).toBe(
      '-tmp-cp-enc-segment-01-long-name-segment-02-long-name-segment-03-long-name-segment-04-long-name-segment-05-long-name' +
        '-segment-06-long-name-segment-07-long-name-segment-08-long-name-segment-09-long-name-yje66f',
    );
    expect(folder).toHaveLength(207);
    expect(projectFolderHash(LONG_CWD)).toBe('yje66f');
    // The hash of the sanitised name is a different one: the CLI hashes the path itself.
    expect(projectFolderHash(LONG_CWD.replace(/[^a-zA-Z0-9]/g, '-'))).toBe('qh5ktj');
  });

  it('keeps a name of exactly 200 characters whole and cuts one of 201', () => {
    const exactly200 = `/${'a'.repeat(199)}`;
    expect(encodeProjectFolder(exactly200)).toBe(`-${'a'.repeat(199)}`);
    const cut = encodeProjectFolder(`${exactly200}b`);
    expect(cut.slice(0, 201)).toBe(`-${'a'.repeat(199)}-`);
    expect(cut.slice(201)).toBe(projectFolderHash(`${exactly200}b`));
  });

  it('names a symlinked cwd after its target once fs.realpath has resolved it', async () => {
    const root = await realpath(await temporaryDirectory());
    await mkdir(join(root, 'real.dir'));
    await symlink(join(root, 'real.dir'), join(root, 'link'));
    const folder = encodeProjectFolder(await realpath(join(root, 'link')));
    expect(folder).toBe(`${encodeProjectFolder(root)}-real-dir`);
    expect(folder).not.toContain('link');
  });

  it('puts the project folder under <config dir>/projects', () => {
    expect(projectDirectory('/cfg', '/tmp/cp/t1/cwd')).toBe(join('/cfg', 'projects', '-tmp-cp-t1-cwd'));
  });
});

describe('locateClaudeSession', () => {
  it('finds the main file, the subagent transcript and its .meta.json, and the task files (not the .lock)', async () => {
    const configDir = await configDirFrom('subagent');
    const project = join(configDir, 'projects', '-tmp-cp-t12-cwd');
    expect(subagent.folder).toBe('-tmp-cp-t12-cwd');

    expect(await locateClaudeSession(configDir, SUBAGENT_SESSION_ID, '/tmp/cp/t12/cwd')).toEqual({
      files: [
        { key: MAIN_FILE_KEY, path: join(project, `${SUBAGENT_SESSION_ID}.jsonl`) },
        { key: `subagents/agent-${SUBAGENT_ID}.jsonl`, path: join(project, SUBAGENT_SESSION_ID, 'subagents', `agent-${SUBAGENT_ID}.jsonl`) },
        { key: `subagents/agent-${SUBAGENT_ID}.meta.json`, path: join(project, SUBAGENT_SESSION_ID, 'subagents', `agent-${SUBAGENT_ID}.meta.json`) },
        { key: 'tasks/1.json', path: join(configDir, 'tasks', SUBAGENT_SESSION_ID, '1.json') },
      ],
    });
  });

  it("prefers the cwd's project folder even when a copy in another folder is newer", async () => {
    const configDir = await temporaryDirectory();
    const inCwdFolder = await placeFile(join(configDir, 'projects', '-tmp-cp-t1-cwd', `${SESSION_ID}.jsonl`), toolCall.content, new Date('2026-01-01T00:00:00Z'));
    await placeFile(join(configDir, 'projects', 'zzz-unrelated', `${SESSION_ID}.jsonl`), resumed.content, new Date('2026-12-01T00:00:00Z'));

    expect((await locateClaudeSession(configDir, SESSION_ID, '/tmp/cp/t1/cwd'))?.files).toEqual([{ key: MAIN_FILE_KEY, path: inCwdFolder }]);
  });

  it('falls back to any other project folder (the newest copy), with the subagent files next to it', async () => {
    const configDir = await configDirFrom('subagent');
    const located = await locateClaudeSession(configDir, SUBAGENT_SESSION_ID, '/somewhere/else');
    expect(located?.files.map((file) => file.key)).toEqual([MAIN_FILE_KEY, `subagents/agent-${SUBAGENT_ID}.jsonl`, `subagents/agent-${SUBAGENT_ID}.meta.json`, 'tasks/1.json']);
    expect(located?.files[0]?.path).toBe(join(configDir, 'projects', '-tmp-cp-t12-cwd', `${SUBAGENT_SESSION_ID}.jsonl`));

    const older = await placeFile(join(configDir, 'projects', 'a-older', `${SESSION_ID}.jsonl`), toolCall.content, new Date('2026-01-01T00:00:00Z'));
    const newer = await placeFile(join(configDir, 'projects', 'b-newer', `${SESSION_ID}.jsonl`), resumed.content, new Date('2026-06-01T00:00:00Z'));
    expect((await locateClaudeSession(configDir, SESSION_ID, '/somewhere/else'))?.files).toEqual([{ key: MAIN_FILE_KEY, path: newer }]);
    await utimes(older, new Date('2026-07-01T00:00:00Z'), new Date('2026-07-01T00:00:00Z'));
    expect((await locateClaudeSession(configDir, SESSION_ID, '/somewhere/else'))?.files).toEqual([{ key: MAIN_FILE_KEY, path: older }]);
  });

  it('finds nothing for an unknown session, in a config dir without projects/, or for a file directly in projects/ (the CLI does not look there)', async () => {
    const configDir = await configDirFrom('subagent');
    expect(await locateClaudeSession(configDir, SESSION_ID, '/tmp/cp/t12/cwd')).toBeUndefined();
    expect(await locateClaudeSession(await temporaryDirectory(), SESSION_ID, '/tmp/cp/t1/cwd')).toBeUndefined();

    const flat = await temporaryDirectory();
    await placeFile(join(flat, 'projects', `${SESSION_ID}.jsonl`), toolCall.content);
    expect(await locateClaudeSession(flat, SESSION_ID, '/tmp/cp/t1/cwd')).toBeUndefined();
  });

  it('refuses a session id that is not a UUID (INVALID_SESSION_ID)', async () => {
    const configDir = await configDirFrom('tool-call');
    for (const sessionId of ['*', '../tool-call', `${SESSION_ID}/..`]) {
      expect((await rejectionOf(locateClaudeSession(configDir, sessionId, '/tmp/cp/t1/cwd'))).code).toBe('INVALID_SESSION_ID');
    }
  });

  it('is what claudeHarness.locateTranscript finds for the context home and cwd', async () => {
    const configDir = await configDirFrom('tool-call');
    const context = { home: configDir, cwd: '/tmp/cp/t1/cwd', env: {} };
    expect(await claudeHarness.locateTranscript(context, SESSION_ID)).toEqual(await locateClaudeSession(configDir, SESSION_ID, '/tmp/cp/t1/cwd'));
  });
});

describe('readClaudeMeta', () => {
  it('reads the session id, the cwd and CLI version of the first user line, and the first timestamp of the file', () => {
    expect(readClaudeMeta(toolCall.content, SESSION_ID)).toEqual({
      sessionId: SESSION_ID,
      sessionStartedAt: '2026-11-26T22:52:24.368Z',
      cwd: '/tmp/cp/t1/cwd',
      cliVersion: '2.1.332',
    });
    // Resumed elsewhere twice: still the session's start and its first cwd.
    expect(readClaudeMeta(resumedTwice.content, SESSION_ID)).toEqual(readClaudeMeta(toolCall.content, SESSION_ID));
    expect(readClaudeMeta(killedMidTool.content, KILLED_SESSION_ID)).toEqual({
      sessionId: KILLED_SESSION_ID,
      sessionStartedAt: '2026-11-26T22:57:38.715Z',
      cwd: '/tmp/cp/t15/cwd',
      cliVersion: '2.1.332',
    });
  });

  it('still reads the metadata with a line that is not JSON first or in the middle', () => {
    const expected = readClaudeMeta(resumedTwice.content, SESSION_ID);
    expect(readClaudeMeta(withLineInserted(resumedTwice.content, 1, NOT_JSON), SESSION_ID)).toEqual(expected);
    expect(readClaudeMeta(withLineInserted(resumedTwice.content, 3, NOT_JSON), SESSION_ID)).toEqual(expected);
  });

  it('gives a file with no cwd-bearing line the asked-for session id and its first timestamp only', () => {
    const queueOnly = Buffer.from(`${lines(toolCall.content).slice(0, 2).join('\n')}\n`);
    expect(readClaudeMeta(queueOnly, SESSION_ID)).toEqual({ sessionId: SESSION_ID, sessionStartedAt: '2026-11-26T22:52:24.368Z', cwd: undefined, cliVersion: undefined });
    expect(readClaudeMeta(Buffer.alloc(0), SESSION_ID)).toEqual({ sessionId: SESSION_ID, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined });
  });
});

describe('rehydrationPath', () => {
  it('maps each kind of key to where the CLI keeps it, for the resume cwd', () => {
    const project = join('/cfg', 'projects', '-resume-here');
    expect(rehydrationPath('/cfg', SUBAGENT_SESSION_ID, '/resume/here', MAIN_FILE_KEY)).toBe(join(project, `${SUBAGENT_SESSION_ID}.jsonl`));
    expect(rehydrationPath('/cfg', SUBAGENT_SESSION_ID, '/resume/here', 'subagents/agent-1.jsonl')).toBe(join(project, SUBAGENT_SESSION_ID, 'subagents', 'agent-1.jsonl'));
    expect(rehydrationPath('/cfg', SUBAGENT_SESSION_ID, '/resume/here', 'subagents/agent-1.meta.json')).toBe(join(project, SUBAGENT_SESSION_ID, 'subagents', 'agent-1.meta.json'));
    expect(rehydrationPath('/cfg', SUBAGENT_SESSION_ID, '/resume/here', 'tasks/1.json')).toBe(join('/cfg', 'tasks', SUBAGENT_SESSION_ID, '1.json'));
    expect(rehydrationPath('/cfg', SUBAGENT_SESSION_ID, '/resume/here', `todos/${SUBAGENT_SESSION_ID}-agent-x.json`)).toBe(join('/cfg', 'todos', `${SUBAGENT_SESSION_ID}-agent-x.json`));
  });

  it('refuses keys that would leave their folder or that the CLI does not keep (TRANSCRIPT_CORRUPT)', () => {
    for (const key of ['../x', 'subagents/../../x', 'subagents/..', '/etc/passwd', '/abs/main', 'notes/x.json', 'subagents/agent-1.txt', 'tasks/.lock', 'todos/other-agent-1.json', '']) {
      expect(thrownBy(() => rehydrationPath('/cfg', SUBAGENT_SESSION_ID, '/resume/here', key)).code, key).toBe('TRANSCRIPT_CORRUPT');
    }
  });
});

describe('rehydrateClaudeSession', () => {
  const RESUME_CWD = '/tmp/another machine/wd.2';
  const RESUME_FOLDER = '-tmp-another-machine-wd-2';

  /** The subagent scenario as baton stores it: every file locate finds, read byte for byte. */
  async function subagentEnvelope(): Promise<Envelope> {
    const source = await configDirFrom('subagent');
    const location = await locateClaudeSession(source, SUBAGENT_SESSION_ID, '/tmp/cp/t12/cwd');
    const files = await Promise.all(location!.files.map(async (file): Promise<[string, Buffer]> => [file.key, await readFile(file.path)]));
    return claudeEnvelope(SUBAGENT_SESSION_ID, files);
  }

  it("writes every file of the envelope for the resume cwd's project folder (not the recorded cwd's), byte for byte, mode 0600", async () => {
    const envelope = await subagentEnvelope();
    expect(envelope.meta.cwd).toBe('/tmp/cp/t12/cwd');
    const configDir = await temporaryDirectory();

    const location = await rehydrateClaudeSession(envelope, configDir, RESUME_CWD);

    const project = join(configDir, 'projects', RESUME_FOLDER);
    const expected = [
      { key: MAIN_FILE_KEY, path: join(project, `${SUBAGENT_SESSION_ID}.jsonl`) },
      { key: `subagents/agent-${SUBAGENT_ID}.jsonl`, path: join(project, SUBAGENT_SESSION_ID, 'subagents', `agent-${SUBAGENT_ID}.jsonl`) },
      { key: `subagents/agent-${SUBAGENT_ID}.meta.json`, path: join(project, SUBAGENT_SESSION_ID, 'subagents', `agent-${SUBAGENT_ID}.meta.json`) },
      { key: 'tasks/1.json', path: join(configDir, 'tasks', SUBAGENT_SESSION_ID, '1.json') },
    ];
    expect(location).toEqual({ files: expected, keptLocal: [] });
    expect(await listFiles(configDir)).toEqual(expected.map((file) => file.path).sort());
    for (const { key, path } of expected) {
      const stored = envelope.files.find((file) => file.key === key)!;
      expect((await readFile(path)).equals(stored.content), key).toBe(true);
      expect(await modeOf(path), key).toBe(0o600);
    }
    // What was written is what locate finds from the resume cwd.
    expect(await locateClaudeSession(configDir, SUBAGENT_SESSION_ID, RESUME_CWD)).toEqual({ files: location.files });
  });

  it('adds the repair line only to a main file that ends in an unanswered tool_use, and never changes the stored bytes', async () => {
    const envelope = claudeEnvelope(KILLED_SESSION_ID, [[MAIN_FILE_KEY, killedMidTool.content]]);
    const storedDigest = envelope.files[0]!.sha256;
    const configDir = await temporaryDirectory();

    const { files } = await rehydrateClaudeSession(envelope, configDir, RESUME_CWD);

    const written = await readFile(files[0]!.path);
    expect(written.subarray(0, killedMidTool.content.length).equals(killedMidTool.content)).toBe(true);
    expect(lines(written)).toHaveLength(lines(killedMidTool.content).length + 1);
    expect(danglingToolUses(written)).toEqual([]);
    expect(sha256Hex(envelope.files[0]!.content)).toBe(storedDigest);
    expect(envelope.files[0]!.content.equals(killedMidTool.content)).toBe(true);
  });

  it('is a no-op when the target already holds the same transcript (same file, same modification time)', async () => {
    const envelope = claudeEnvelope(SESSION_ID, [[MAIN_FILE_KEY, resumedTwice.content]]);
    const configDir = await temporaryDirectory();
    const { files } = await rehydrateClaudeSession(envelope, configDir, RESUME_CWD);
    const path = files[0]!.path;
    const longAgo = new Date('2026-01-01T00:00:00Z');
    await utimes(path, longAgo, longAgo);
    const before = await stat(path);

    expect(await rehydrateClaudeSession(envelope, configDir, RESUME_CWD)).toEqual({ files: [{ key: MAIN_FILE_KEY, path }], keptLocal: [] });
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(longAgo.getTime());
  });

  it('writes the same repaired bytes when an interrupted transcript is rehydrated again before anything was saved', async () => {
    const envelope = claudeEnvelope(KILLED_SESSION_ID, [[MAIN_FILE_KEY, killedMidTool.content]]);
    const configDir = await temporaryDirectory();
    const { files } = await rehydrateClaudeSession(envelope, configDir, RESUME_CWD);
    const first = await readFile(files[0]!.path);

    await rehydrateClaudeSession(envelope, configDir, RESUME_CWD);
    expect((await readFile(files[0]!.path)).equals(first)).toBe(true);
  });

  it('replaces an older copy (a strict prefix of the stored transcript) with the stored one, mode 0600', async () => {
    expect(resumed.content.subarray(0, toolCall.content.length).equals(toolCall.content)).toBe(true);
    const configDir = await temporaryDirectory();
    const path = await placeFile(join(configDir, 'projects', RESUME_FOLDER, `${SESSION_ID}.jsonl`), toolCall.content);

    expect(await rehydrateClaudeSession(claudeEnvelope(SESSION_ID, [[MAIN_FILE_KEY, resumed.content]]), configDir, RESUME_CWD)).toEqual({ files: [{ key: MAIN_FILE_KEY, path }], keptLocal: [] });
    expect((await readFile(path)).equals(resumed.content)).toBe(true);
    expect(await modeOf(path)).toBe(0o600);
  });

  it('keeps a longer local copy (the stored transcript is its exact prefix) untouched and names it in keptLocal, writing the other files', async () => {
    const configDir = await temporaryDirectory();
    const path = await placeFile(join(configDir, 'projects', RESUME_FOLDER, `${SESSION_ID}.jsonl`), resumed.content);
    const before = await stat(path);
    const envelope = claudeEnvelope(SESSION_ID, [
      [MAIN_FILE_KEY, toolCall.content],
      ['tasks/1.json', Buffer.from('{"id":"1"}\n')],
    ]);

    const rehydrated = await rehydrateClaudeSession(envelope, configDir, RESUME_CWD);
    expect(rehydrated.keptLocal).toEqual([MAIN_FILE_KEY]);
    expect((await readFile(path)).equals(resumed.content)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    expect(await listFiles(configDir)).toEqual([path, join(configDir, 'tasks', SESSION_ID, '1.json')].sort());
  });

  it('refuses (REHYDRATE_CONFLICT) a target that went on differently from the stored transcript, leaves it untouched and writes no other file', async () => {
    const configDir = await temporaryDirectory();
    const local = Buffer.concat([toolCall.content, Buffer.from('{"type":"user","message":{"role":"user","content":"only on this machine"}}\n')]);
    const path = await placeFile(join(configDir, 'projects', RESUME_FOLDER, `${SESSION_ID}.jsonl`), local);
    const before = await stat(path);
    const envelope = claudeEnvelope(SESSION_ID, [
      [MAIN_FILE_KEY, resumed.content],
      ['tasks/1.json', Buffer.from('{"id":"1"}\n')],
    ]);

    const error = await rejectionOf(rehydrateClaudeSession(envelope, configDir, RESUME_CWD));
    expect(error.code).toBe('REHYDRATE_CONFLICT');
    expect(error.message).toContain(SESSION_ID);
    expect(error.hint).toBeTruthy();
    expect((await readFile(path)).equals(local)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    expect(await listFiles(configDir)).toEqual([path]);
  });

  it('refuses (REHYDRATE_CONFLICT) a subagent transcript that differs from the stored one', async () => {
    const envelope = await subagentEnvelope();
    const configDir = await temporaryDirectory();
    const subagentPath = join(configDir, 'projects', RESUME_FOLDER, SUBAGENT_SESSION_ID, 'subagents', `agent-${SUBAGENT_ID}.jsonl`);
    await placeFile(subagentPath, Buffer.from(`${NOT_JSON}\n`));

    expect((await rejectionOf(rehydrateClaudeSession(envelope, configDir, RESUME_CWD))).code).toBe('REHYDRATE_CONFLICT');
    expect(await listFiles(configDir)).toEqual([subagentPath]);
  });

  it('overwrites a task list and a .meta.json on disk, which the CLI rewrites whole', async () => {
    const envelope = await subagentEnvelope();
    const configDir = await temporaryDirectory();
    const taskPath = await placeFile(join(configDir, 'tasks', SUBAGENT_SESSION_ID, '1.json'), Buffer.from('{"id":"1","status":"completed"}\n'));
    const metaPath = await placeFile(join(configDir, 'projects', RESUME_FOLDER, SUBAGENT_SESSION_ID, 'subagents', `agent-${SUBAGENT_ID}.meta.json`), Buffer.from('{}'));

    await rehydrateClaudeSession(envelope, configDir, RESUME_CWD);
    expect((await readFile(taskPath)).equals(envelope.files.find((file) => file.key === 'tasks/1.json')!.content)).toBe(true);
    expect((await readFile(metaPath)).equals(envelope.files.find((file) => file.key.endsWith('.meta.json'))!.content)).toBe(true);
  });

  it('refuses keys that would escape or that the CLI does not keep (TRANSCRIPT_CORRUPT) and writes nothing, not even the main file', async () => {
    for (const key of ['../x', 'subagents/../../x', '/etc/passwd', join(tmpdir(), 'absolute.jsonl'), 'projects/x.jsonl', 'unknown/agent-1.jsonl']) {
      const configDir = await temporaryDirectory();
      const envelope = claudeEnvelope(SESSION_ID, [
        [MAIN_FILE_KEY, toolCall.content],
        [key, Buffer.from('{"escaped":true}\n')],
      ]);
      const error = await rejectionOf(rehydrateClaudeSession(envelope, configDir, RESUME_CWD));
      expect(error.code, key).toBe('TRANSCRIPT_CORRUPT');
      expect(error.message, key).toContain(key);
      expect(await listFiles(configDir), key).toEqual([]);
    }
  });

  it('refuses an envelope whose session id is not a UUID (INVALID_SESSION_ID) and writes nothing', async () => {
    const configDir = await temporaryDirectory();
    for (const sessionId of ['../../escape', 'not-a-uuid', '']) {
      const envelope = claudeEnvelope(sessionId, [[MAIN_FILE_KEY, toolCall.content]]);
      expect((await rejectionOf(rehydrateClaudeSession(envelope, configDir, RESUME_CWD))).code).toBe('INVALID_SESSION_ID');
    }
    expect(await listFiles(configDir)).toEqual([]);
  });

  it('refuses an envelope without a main file (TRANSCRIPT_CORRUPT)', async () => {
    const configDir = await temporaryDirectory();
    const envelope = claudeEnvelope(SESSION_ID, [['tasks/1.json', Buffer.from('{}')]]);
    expect((await rejectionOf(rehydrateClaudeSession(envelope, configDir, RESUME_CWD))).code).toBe('TRANSCRIPT_CORRUPT');
    expect(await listFiles(configDir)).toEqual([]);
  });
});

describe('claudeHarness rehydrate and resumeInfo', () => {
  const codexEnvelope = (): Envelope => ({ ...claudeEnvelope(SESSION_ID, [[MAIN_FILE_KEY, toolCall.content]]), harness: 'codex' as HarnessId });

  it('refuse an envelope written by the codex harness (HARNESS_MISMATCH) and write nothing', async () => {
    const configDir = await temporaryDirectory();
    const error = await rejectionOf(claudeHarness.rehydrate(codexEnvelope(), { home: configDir, cwd: '/tmp/cp/t1/cwd', env: {} }));
    expect(error.code).toBe('HARNESS_MISMATCH');
    expect(error.message).toContain('codex');
    expect(await listFiles(configDir)).toEqual([]);
    expect(thrownBy(() => claudeHarness.resumeInfo(codexEnvelope())).code).toBe('HARNESS_MISMATCH');
  });

  it('give a typed Claude resume, refuse a non-UUID session id, and rehydrate into the context cwd', async () => {
    const envelope = claudeEnvelope(SESSION_ID, [[MAIN_FILE_KEY, toolCall.content]]);
    expect(claudeHarness.resumeInfo(envelope)).toEqual({ sessionId: SESSION_ID });
    expect(thrownBy(() => claudeHarness.resumeInfo({ ...envelope, sessionId: '../x' })).code).toBe('INVALID_SESSION_ID');

    const configDir = await temporaryDirectory();
    const context = { home: configDir, cwd: '/tmp/resume/cwd', env: {} };
    const location = await claudeHarness.rehydrate(envelope, context);
    expect(location.files).toEqual([{ key: MAIN_FILE_KEY, path: join(configDir, 'projects', '-tmp-resume-cwd', `${SESSION_ID}.jsonl`) }]);
    expect(await claudeHarness.locateTranscript(context, SESSION_ID)).toEqual({ files: location.files });
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('repairing a run killed mid-tool', () => {
  /** The fields the CLI fills from its own process (ids, time, prompt, how it was started, git): not comparable. */
  const PER_PROCESS_FIELDS = ['uuid', 'timestamp', 'promptId', 'entrypoint', 'gitBranch'];
  const withoutPerProcessFields = (record: Record<string, any>): Record<string, any> =>
    Object.fromEntries(Object.entries(record).filter(([key]) => !PER_PROCESS_FIELDS.includes(key)));

  /** The lines the CLI appended in its own repair on resume (tool_result lines marked interrupted). */
  const cliRepairLines = (content: Buffer): Array<Record<string, any>> => records(content).filter((record) => record.toolDenialKind === 'interrupted');

  it('finds the unanswered tool_use and the assistant line that holds it', () => {
    const dangling = danglingToolUses(killedMidTool.content);
    expect(dangling.map(({ toolUseId, assistant }) => ({ toolUseId, uuid: assistant.uuid }))).toEqual([{ toolUseId: 'toolu_probe_1', uuid: '8c67d0fd-070d-463a-b9ea-391ee3945892' }]);
    expect(danglingToolUses(killedMidToolResumed.content)).toEqual([]);
  });

  it('appends the line the CLI itself writes on resume, equal in every field but its per-process ones', async () => {
    const [cliLine] = cliRepairLines(killedMidToolResumed.content);
    expect(cliLine).toBeDefined();
    // Rehydrated for the same resume cwd the CLI's repair ran in.
    const configDir = await temporaryDirectory();
    const envelope = claudeEnvelope(KILLED_SESSION_ID, [[MAIN_FILE_KEY, killedMidTool.content]]);
    const { files } = await rehydrateClaudeSession(envelope, configDir, cliLine!.cwd as string);
    const written = records(await readFile(files[0]!.path));
    expect(written).toHaveLength(records(killedMidTool.content).length + 1);
    const batonLine = written.at(-1)!;

    expect(withoutPerProcessFields(batonLine)).toEqual(withoutPerProcessFields(cliLine!));
    // The fields the CLI's chain and the model's history depend on, spelled out:
    expect(batonLine.parentUuid).toBe('8c67d0fd-070d-463a-b9ea-391ee3945892');
    expect(batonLine.sourceToolAssistantUUID).toBe('8c67d0fd-070d-463a-b9ea-391ee3945892');
    expect(batonLine.message).toEqual({ role: 'user', content: [{ type: 'tool_result', content: INTERRUPTED_TOOL_RESULT, is_error: true, tool_use_id: 'toolu_probe_1' }] });
    expect(batonLine.toolUseResult).toBe(INTERRUPTED_TOOL_RESULT);
    expect(batonLine.toolDenialKind).toBe('interrupted');
    expect(batonLine.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(records(killedMidTool.content).map((record) => record.uuid)).not.toContain(batonLine.uuid);
    expect(Number.isNaN(Date.parse(batonLine.timestamp as string))).toBe(false);
  });

  it('appends one line per unanswered parallel tool_use, each chained to its own tool_use line, like the CLI', () => {
    expect(killedParallel.sessionId).toBe(PARALLEL_SESSION_ID);
    const repaired = repairInterruptedToolUse(killedParallel.content, '/tmp/cp/t21/r-cwd');
    expect(repaired.subarray(0, killedParallel.content.length).equals(killedParallel.content)).toBe(true);
    const appended = records(repaired).slice(records(killedParallel.content).length);
    const cliLines = cliRepairLines(killedParallelResumed.content);

    expect(appended).toHaveLength(2);
    expect(cliLines).toHaveLength(2);
    expect(appended.map((line) => [line.message.content[0].tool_use_id, line.parentUuid, line.sourceToolAssistantUUID])).toEqual([
      ['toolu_probe_1', 'd1305d40-b12a-42f1-9245-6fa2933112ad', 'd1305d40-b12a-42f1-9245-6fa2933112ad'],
      ['toolu_probe_2', '8b74914e-1fa2-40d0-ba69-d6671b49c9a3', '8b74914e-1fa2-40d0-ba69-d6671b49c9a3'],
    ]);
    for (const [index, line] of appended.entries()) {
      const cliLine = cliLines[index]!;
      for (const field of ['parentUuid', 'sourceToolAssistantUUID', 'message', 'toolUseResult', 'toolDenialKind', 'isSidechain', 'type', 'sessionId']) {
        expect(line[field], field).toEqual(cliLine[field]);
      }
      expect(line.message.content[0].is_error).toBe(true);
    }
    expect(new Set(appended.map((line) => line.uuid)).size).toBe(2);
    expect(danglingToolUses(repaired)).toEqual([]);
  });

  it('returns a complete transcript unchanged (a tool result recorded, or no tool call at all)', () => {
    for (const complete of [toolCall, resumedTwice, killedAfterToolResult, killedBeforeReply, killedMidToolResumed, killedParallelResumed]) {
      expect(danglingToolUses(complete.content)).toEqual([]);
      expect(repairInterruptedToolUse(complete.content).equals(complete.content)).toBe(true);
    }
  });

  it('ignores unanswered tool_uses of a subagent (sidechain lines), which the main chain does not hold', () => {
    const sidechainCall = { ...records(killedMidTool.content).at(-1)!, isSidechain: true };
    const content = Buffer.from(`${lines(toolCall.content).join('\n')}\n${JSON.stringify(sidechainCall)}\n`);
    expect(danglingToolUses(content)).toEqual([]);
    expect(repairInterruptedToolUse(content).equals(content)).toBe(true);
  });

  it('finds an unanswered call among lines without tool blocks, lines that are not JSON and a later answered one', () => {
    const call = records(killedMidTool.content).at(-1)!;
    const answered = { ...call, uuid: 'a2', message: { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_answered', name: 'Bash', input: {} }] } };
    const answer = { type: 'user', uuid: 'u2', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_answered', content: 'ok' }] } };
    const plain = JSON.stringify({ type: 'user', uuid: 'u1', message: { role: 'user', content: 'no tools here' } });
    const content = Buffer.from([plain, JSON.stringify(call), 'not json tool_use {', plain, JSON.stringify(answered), plain, JSON.stringify(answer), plain, ''].join('\n'));
    expect(danglingToolUses(content).map(({ toolUseId }) => toolUseId)).toEqual(['toolu_probe_1']);
    // The same without a final newline: the last line is scanned too.
    expect(danglingToolUses(Buffer.from([plain, JSON.stringify(call)].join('\n'))).map(({ toolUseId }) => toolUseId)).toEqual(['toolu_probe_1']);
  });

  it('starts the repair on a new line when the transcript does not end with a newline', () => {
    const cut = killedMidTool.content.subarray(0, killedMidTool.content.length - 1);
    const repaired = repairInterruptedToolUse(cut);
    expect(repaired.subarray(0, cut.length + 1).toString('utf8')).toBe(`${cut.toString('utf8')}\n`);
    expect(lines(repaired)).toHaveLength(lines(killedMidTool.content).length + 1);
    expect(repaired.at(-1)).toBe(0x0a);
  });

  it("shows the interrupted call with the CLI's interrupted text as its output", () => {
    const view = viewClaudeSession(repairInterruptedToolUse(killedMidTool.content));
    expect(view.items).toEqual<ViewItem[]>([
      { kind: 'user', text: 'Run a long command' },
      { kind: 'command', callId: 'toolu_probe_1', command: 'echo started-long; sleep 30; echo never', output: INTERRUPTED_TOOL_RESULT, exitCode: undefined },
    ]);
  });
});

describe('viewClaudeSession', () => {
  const EXPECTED_RESUMED_TWICE: ViewItem[] = [
    { kind: 'user', text: 'Run echo probe-output-123 please' },
    { kind: 'command', callId: 'toolu_probe_1', command: 'echo probe-output-123', output: 'probe-output-123', exitCode: undefined },
    { kind: 'assistant', text: 'Done: the command printed probe-output-123.' },
    { kind: 'user', text: 'What did the command print?' },
    { kind: 'assistant', text: 'Resumed: I remember probe-output-123.' },
    { kind: 'user', text: 'Run one more command' },
    { kind: 'command', callId: 'toolu_third_machine_1', command: 'echo third-machine-654', output: 'third-machine-654', exitCode: undefined },
    { kind: 'assistant', text: 'Third machine saw third-machine-654.' },
  ];

  it('shows a conversation resumed on two other machines as its prompts in order, each Bash command with its output, and the replies', () => {
    const view = viewClaudeSession(resumedTwice.content);
    expect(view.unparsedLines).toBe(0);
    expect(view.items).toEqual(EXPECTED_RESUMED_TWICE);
  });

  it("leaves out the CLI's own context text (system reminders, environment), which the file does hold", () => {
    const raw = resumedTwice.content.toString('utf8');
    expect(raw).toContain('<system-reminder>');
    expect(raw).toContain('# Environment');
    const shown = JSON.stringify(viewClaudeSession(resumedTwice.content).items);
    expect(shown).not.toContain('system-reminder');
    expect(shown).not.toContain('# Environment');
  });

  it('counts a line that is not JSON as unparsed and shows everything else as before', () => {
    const view = viewClaudeSession(withLineInserted(resumedTwice.content, 5, NOT_JSON));
    expect(view.unparsedLines).toBe(1);
    expect(view.items).toEqual(EXPECTED_RESUMED_TWICE);
  });

  it('is what claudeHarness.viewTranscript shows for the main file', () => {
    const files: TranscriptFile[] = [transcriptFile(`subagents/agent-${SUBAGENT_ID}.jsonl`, readFileSync(join(FIXTURES, 'subagent', 'projects', subagent.folder, SUBAGENT_SESSION_ID, 'subagents', `agent-${SUBAGENT_ID}.jsonl`))), transcriptFile(MAIN_FILE_KEY, resumedTwice.content)];
    expect(claudeHarness.viewTranscript(files)).toEqual({ items: EXPECTED_RESUMED_TWICE, unparsedLines: 0 });
    expect(claudeHarness.viewTranscript([])).toEqual({ items: [], unparsedLines: 0 });
  });
});
