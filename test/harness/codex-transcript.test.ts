/**
 * Codex rollouts, specified on real rollouts recorded from Codex 0.171 (test/fixtures/codex/):
 * - tool-call/      one turn: a prompt, an exec_command and its output, the reply (19 lines);
 * - resumed-twice/  the same session resumed twice from other machines (47 lines; tool-call is its prefix);
 * - killed-mid-turn/ a run killed after the command's output, before the reply (14 lines).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { codexHarness } from '../../src/harness/codex/harness.js';
import {
  canonicalRolloutPath,
  findRollouts,
  locateRollout,
  readRolloutMeta,
  rehydrateRollout,
  viewRollout,
} from '../../src/harness/codex/transcript.js';
import type { HarnessId } from '../../src/harness/ids.js';
import { MAIN_FILE_KEY, transcriptFile, type Envelope } from '../../src/transcript/envelope.js';
import type { ViewItem } from '../../src/transcript/view.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/codex/', import.meta.url));

function fixtureRollout(folder: string): { name: string; content: Buffer } {
  const [name] = readdirSync(join(FIXTURES, folder)).filter((entry) => entry.endsWith('.jsonl'));
  if (!name) throw new Error(`no rollout in test/fixtures/codex/${folder}`);
  return { name, content: readFileSync(join(FIXTURES, folder, name)) };
}

const SESSION_ID = '01a21a00-e515-7ec1-a52c-23e5cb77e528';
const KILLED_SESSION_ID = '01a21a01-713b-78e0-8aba-bbb83c2b7df6';
const toolCall = fixtureRollout('tool-call');
const resumedTwice = fixtureRollout('resumed-twice');
const killedMidTurn = fixtureRollout('killed-mid-turn');

const NOT_JSON = 'this line is not JSON {"type":"response_item"';

/** The rollout with a line that is not JSON inserted before line `lineNumber` (1-based). */
function withLineInserted(content: Buffer, lineNumber: number, line: string): Buffer {
  const lines = content.toString('utf8').split('\n');
  lines.splice(lineNumber - 1, 0, line);
  return Buffer.from(lines.join('\n'), 'utf8');
}

function withoutFirstLine(content: Buffer): Buffer {
  return content.subarray(content.indexOf(0x0a) + 1);
}

function codexEnvelope(content: Buffer, sessionId = SESSION_ID): Envelope {
  return { harness: 'codex', sessionId, meta: readRolloutMeta(content, sessionId), files: [transcriptFile(MAIN_FILE_KEY, content)] };
}

const temporaryDirectories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'baton-codex-transcript-'));
  temporaryDirectories.push(directory);
  return directory;
}

afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

/** Places a rollout file in a home, as Codex (or an earlier run) would have left it. */
async function placeRollout(codexHome: string, relativePath: string, content: Buffer, modifiedAt?: Date): Promise<string> {
  const path = join(codexHome, relativePath);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  if (modifiedAt) await utimes(path, modifiedAt, modifiedAt);
  return path;
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

async function listFiles(directory: string): Promise<string[]> {
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

describe('readRolloutMeta', () => {
  it('reads the session id, session start, cwd and CLI version from the session_meta line of a real rollout', () => {
    expect(readRolloutMeta(resumedTwice.content, SESSION_ID)).toEqual({
      sessionId: SESSION_ID,
      sessionStartedAt: '2026-11-26T22:36:35.999Z',
      cwd: '/tmp/baton-fixture/machine-a/project',
      cliVersion: '0.171.0',
    });
    expect(readRolloutMeta(killedMidTurn.content, KILLED_SESSION_ID)).toEqual({
      sessionId: KILLED_SESSION_ID,
      sessionStartedAt: '2026-11-26T22:37:11.878Z',
      cwd: '/tmp/baton-fixture/machine-k/project',
      cliVersion: '0.171.0',
    });
  });

  it('still reads the meta when a line that is not JSON sits in the middle or before session_meta', () => {
    const expected = readRolloutMeta(resumedTwice.content, SESSION_ID);
    expect(readRolloutMeta(withLineInserted(resumedTwice.content, 20, NOT_JSON), SESSION_ID)).toEqual(expected);
    expect(readRolloutMeta(withLineInserted(resumedTwice.content, 1, NOT_JSON), SESSION_ID)).toEqual(expected);
  });

  it('gives a rollout without a session_meta line the session id it was asked for and no other metadata', () => {
    expect(readRolloutMeta(withoutFirstLine(resumedTwice.content), SESSION_ID)).toEqual({
      sessionId: SESSION_ID,
      sessionStartedAt: undefined,
      cwd: undefined,
      cliVersion: undefined,
    });
  });
});

describe('canonicalRolloutPath', () => {
  it('names the file sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl from the session start, as Codex did', () => {
    const path = canonicalRolloutPath(SESSION_ID, '2026-11-26T22:36:35.999Z');
    expect(path).toBe(join('sessions', '2026', '11', '26', 'rollout-2026-11-26T22-36-35-01a21a00-e515-7ec1-a52c-23e5cb77e528.jsonl'));
    expect(basename(path)).toBe(resumedTwice.name);
  });

  it('falls back to 1970 for a session start with no four-digit year, so the name still matches rollout-YYYY-…', () => {
    for (const start of ['+010000-01-01T00:00:00.000Z', '-000001-06-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', 'not a date']) {
      expect(canonicalRolloutPath(SESSION_ID, start)).toBe(join('sessions', '1970', '01', '01', `rollout-1970-01-01T00-00-00-${SESSION_ID}.jsonl`));
    }
    expect(canonicalRolloutPath(SESSION_ID, '9999-12-31T23:59:59.000Z')).toBe(join('sessions', '9999', '12', '31', `rollout-9999-12-31T23-59-59-${SESSION_ID}.jsonl`));
  });

  it('refuses a session id that is not a UUID (INVALID_SESSION_ID), so no path can escape sessions/', () => {
    for (const sessionId of ['../../../etc/passwd', 'not-a-uuid', `${SESSION_ID}/../../x`, '']) {
      expect(thrownBy(() => canonicalRolloutPath(sessionId, '2026-11-26T22:36:35.999Z')).code).toBe('INVALID_SESSION_ID');
    }
  });
});

describe('findRollouts and locateRollout', () => {
  it('find the rollout by the uuid in its file name in any date folder, and ignore other sessions', async () => {
    const home = await temporaryDirectory();
    const path = await placeRollout(home, join('sessions', '2020', '01', '02', resumedTwice.name), resumedTwice.content);
    await placeRollout(home, join('sessions', '2026', '11', '26', killedMidTurn.name), killedMidTurn.content);

    expect(await findRollouts(home, SESSION_ID)).toEqual([path]);
    expect(await locateRollout(home, SESSION_ID)).toEqual({ files: [{ key: MAIN_FILE_KEY, path }] });
  });

  it('list several rollouts of one session newest first by modification time, and locate the newest', async () => {
    const home = await temporaryDirectory();
    const older = await placeRollout(home, join('sessions', '2026', '11', '26', toolCall.name), toolCall.content, new Date('2026-11-26T10:00:00Z'));
    const newer = await placeRollout(home, join('sessions', '2020', '01', '01', resumedTwice.name), resumedTwice.content, new Date('2026-11-27T10:00:00Z'));
    expect(await findRollouts(home, SESSION_ID)).toEqual([newer, older]);
    expect((await locateRollout(home, SESSION_ID))?.files[0]?.path).toBe(newer);

    // The order follows the modification time, not the folder names.
    await utimes(older, new Date('2026-11-28T10:00:00Z'), new Date('2026-11-28T10:00:00Z'));
    expect(await findRollouts(home, SESSION_ID)).toEqual([older, newer]);
    expect((await locateRollout(home, SESSION_ID))?.files[0]?.path).toBe(older);
  });

  it('find nothing in a home that has no sessions folder', async () => {
    const home = await temporaryDirectory();
    expect(await findRollouts(home, SESSION_ID)).toEqual([]);
    expect(await locateRollout(home, SESSION_ID)).toBeUndefined();
  });

  it('refuse a session id that is not a UUID (INVALID_SESSION_ID)', async () => {
    const home = await temporaryDirectory();
    expect((await rejectionOf(findRollouts(home, '../sessions'))).code).toBe('INVALID_SESSION_ID');
    expect((await rejectionOf(locateRollout(home, '*'))).code).toBe('INVALID_SESSION_ID');
  });
});

describe('rehydrateRollout', () => {
  it('writes the rollout to sessions/YYYY/MM/DD/rollout-<start>-<uuid>.jsonl byte for byte, mode 0600', async () => {
    const home = await temporaryDirectory();
    const location = await rehydrateRollout(codexEnvelope(resumedTwice.content), home);

    const expectedPath = join(home, 'sessions', '2026', '11', '26', resumedTwice.name);
    expect(location).toEqual({ files: [{ key: MAIN_FILE_KEY, path: expectedPath }], keptLocal: [] });
    expect((await readFile(expectedPath)).equals(resumedTwice.content)).toBe(true);
    expect((await stat(expectedPath)).mode & 0o777).toBe(0o600);
    expect(await listFiles(home)).toEqual([expectedPath]);
    expect(await findRollouts(home, SESSION_ID)).toEqual([expectedPath]);
  });

  it('writes a line that is not JSON back exactly where it was (never dropped)', async () => {
    const home = await temporaryDirectory();
    const content = withLineInserted(resumedTwice.content, 20, NOT_JSON);
    const envelope = codexEnvelope(content);
    expect(envelope.files[0]!.lineCount).toBe(48);

    const { files } = await rehydrateRollout(envelope, home);
    const written = await readFile(files[0]!.path);
    expect(written.equals(content)).toBe(true);
    expect(written.toString('utf8').split('\n')[19]).toBe(NOT_JSON);
  });

  it('writes a rollout without session_meta under sessions/ by its uuid, where findRollouts finds it again', async () => {
    const home = await temporaryDirectory();
    const content = withoutFirstLine(resumedTwice.content);
    const { files } = await rehydrateRollout(codexEnvelope(content), home);

    expect(basename(files[0]!.path)).toMatch(new RegExp(`^rollout-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}-${SESSION_ID}\\.jsonl$`));
    expect(await findRollouts(home, SESSION_ID)).toEqual([files[0]!.path]);
    expect((await readFile(files[0]!.path)).equals(content)).toBe(true);
  });

  it('leaves an identical copy alone when rehydrating again (same file, same modification time)', async () => {
    const home = await temporaryDirectory();
    const envelope = codexEnvelope(resumedTwice.content);
    const { files } = await rehydrateRollout(envelope, home);
    const path = files[0]!.path;
    const longAgo = new Date('2026-01-01T00:00:00Z');
    await utimes(path, longAgo, longAgo);
    const before = await stat(path);

    expect(await rehydrateRollout(envelope, home)).toEqual({ files: [{ key: MAIN_FILE_KEY, path }], keptLocal: [] });
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(longAgo.getTime());
    expect(await listFiles(home)).toEqual([path]);
  });

  it('replaces an older copy (a strict prefix of the stored rollout) with the stored one, mode 0600', async () => {
    const home = await temporaryDirectory();
    const path = await placeRollout(home, join('sessions', '2026', '11', '26', toolCall.name), toolCall.content);
    await chmod(path, 0o644);
    expect(resumedTwice.content.subarray(0, toolCall.content.length).equals(toolCall.content)).toBe(true);

    expect(await rehydrateRollout(codexEnvelope(resumedTwice.content), home)).toEqual({ files: [{ key: MAIN_FILE_KEY, path }], keptLocal: [] });
    expect((await readFile(path)).equals(resumedTwice.content)).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await listFiles(home)).toEqual([path]);
  });

  it('updates an older copy in a non-canonical date folder where it is, rather than adding a second rollout', async () => {
    const home = await temporaryDirectory();
    const path = await placeRollout(home, join('sessions', '2020', '01', '01', toolCall.name), toolCall.content);

    const { files } = await rehydrateRollout(codexEnvelope(resumedTwice.content), home);
    expect(files[0]!.path).toBe(path);
    expect((await readFile(path)).equals(resumedTwice.content)).toBe(true);
    expect(await findRollouts(home, SESSION_ID)).toEqual([path]);
  });

  it('keeps a longer local copy (the stored rollout is its exact prefix: a run here ended before its final save) byte-identical, and names it in keptLocal', async () => {
    const home = await temporaryDirectory();
    const path = await placeRollout(home, join('sessions', '2026', '11', '26', resumedTwice.name), resumedTwice.content);
    const before = await stat(path);
    expect(resumedTwice.content.subarray(0, toolCall.content.length).equals(toolCall.content)).toBe(true);

    expect(await rehydrateRollout(codexEnvelope(toolCall.content), home)).toEqual({ files: [{ key: MAIN_FILE_KEY, path }], keptLocal: [MAIN_FILE_KEY] });
    expect((await readFile(path)).equals(resumedTwice.content)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    expect(await listFiles(home)).toEqual([path]);
  });

  it('refuses (REHYDRATE_CONFLICT) a copy that and the store each went on differently from a shared prefix, and leaves it byte-identical', async () => {
    const home = await temporaryDirectory();
    const local = Buffer.concat([toolCall.content, Buffer.from('{"type":"event_msg","payload":{"type":"agent_message","message":"only on this machine"}}\n')]);
    const path = await placeRollout(home, join('sessions', '2026', '11', '26', resumedTwice.name), local);
    const before = await stat(path);

    const error = await rejectionOf(rehydrateRollout(codexEnvelope(resumedTwice.content), home));
    expect(error.code).toBe('REHYDRATE_CONFLICT');
    expect(error.message).toContain(SESSION_ID);
    expect(error.hint).toBeTruthy();
    expect((await readFile(path)).equals(local)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    expect(await listFiles(home)).toEqual([path]);
  });

  it('refuses (REHYDRATE_CONFLICT) a copy of the same length that differs from the stored one', async () => {
    const home = await temporaryDirectory();
    const diverged = Buffer.from(resumedTwice.content);
    const index = diverged.indexOf('What was my first request?');
    diverged[index] = 'w'.charCodeAt(0);
    const path = await placeRollout(home, join('sessions', '2026', '11', '26', resumedTwice.name), diverged);

    expect((await rejectionOf(rehydrateRollout(codexEnvelope(resumedTwice.content), home))).code).toBe('REHYDRATE_CONFLICT');
    expect((await readFile(path)).equals(diverged)).toBe(true);
  });

  it('refuses with a clear error when the home already holds several rollouts for the session, touching none', async () => {
    const home = await temporaryDirectory();
    const first = await placeRollout(home, join('sessions', '2026', '11', '26', toolCall.name), toolCall.content);
    const second = await placeRollout(home, join('sessions', '2020', '01', '01', toolCall.name), toolCall.content);

    const error = await rejectionOf(rehydrateRollout(codexEnvelope(resumedTwice.content), home));
    expect(error.code).toBe('REHYDRATE_CONFLICT');
    expect(error.message).toContain('2 rollouts');
    expect(error.message).toContain(SESSION_ID);
    expect(error.hint).toContain(join('sessions', '2026', '11', '26', toolCall.name));
    expect(error.hint).toContain(join('sessions', '2020', '01', '01', toolCall.name));
    expect((await readFile(first)).equals(toolCall.content)).toBe(true);
    expect((await readFile(second)).equals(toolCall.content)).toBe(true);
  });

  it('refuses an envelope whose session id is not a UUID (INVALID_SESSION_ID) and writes nothing', async () => {
    const home = await temporaryDirectory();
    const envelope = { ...codexEnvelope(resumedTwice.content), sessionId: '../../escape' };
    expect((await rejectionOf(rehydrateRollout(envelope, home))).code).toBe('INVALID_SESSION_ID');
    expect(await listFiles(home)).toEqual([]);
  });
});

describe('codexHarness rehydrate and resumeInfo', () => {
  /** An envelope another harness wrote (e.g. read from a store shared with a newer baton). */
  const otherHarnessEnvelope = (): Envelope => ({ ...codexEnvelope(resumedTwice.content), harness: 'claude' as HarnessId });

  it('refuse an envelope written by another harness (HARNESS_MISMATCH) and write nothing', async () => {
    const home = await temporaryDirectory();
    const context = { home, cwd: home, env: {} };
    const error = await rejectionOf(codexHarness.rehydrate(otherHarnessEnvelope(), context));
    expect(error.code).toBe('HARNESS_MISMATCH');
    expect(error.message).toContain('claude');
    expect(await listFiles(home)).toEqual([]);

    expect(thrownBy(() => codexHarness.resumeInfo(otherHarnessEnvelope())).code).toBe('HARNESS_MISMATCH');
  });

  it('give a typed Codex resume for a Codex envelope, and rehydrate it into the home', async () => {
    const home = await temporaryDirectory();
    const envelope = codexEnvelope(resumedTwice.content);
    expect(codexHarness.resumeInfo(envelope)).toEqual({ sessionId: SESSION_ID });

    const { keptLocal, ...location } = await codexHarness.rehydrate(envelope, { home, cwd: home, env: {} });
    expect(keptLocal).toEqual([]);
    expect(await codexHarness.locateTranscript({ home, cwd: home, env: {} }, SESSION_ID)).toEqual(location);
    expect((await readFile(location.files[0]!.path)).equals(resumedTwice.content)).toBe(true);
  });
});

describe('viewRollout', () => {
  const FIRST_PROMPT = 'Run a shell command that says hello, then tell me what it printed.';
  const COMMAND_OUTPUT = 'hello from the baton demo, running in /tmp/baton-fixture/machine-a/project\n';

  it("shows a conversation resumed twice as its three prompts, the command with its output, and the replies, without Codex's own context messages", () => {
    const view = viewRollout(resumedTwice.content);
    expect(view.unparsedLines).toBe(0);
    expect(view.items).toEqual<ViewItem[]>([
      { kind: 'user', text: FIRST_PROMPT },
      {
        kind: 'command',
        callId: 'call_scripted_3',
        command: 'echo "hello from the baton demo, running in $(pwd)"',
        output: COMMAND_OUTPUT,
        exitCode: 0,
      },
      {
        kind: 'assistant',
        text: 'The command printed: "hello from the baton demo, running in /tmp/baton-fixture/machine-a/project". Send a follow-up and I will remember this conversation.',
      },
      { kind: 'user', text: 'What was my first request?' },
      {
        kind: 'assistant',
        text: `I remember this conversation: it began with "${FIRST_PROMPT}" and I can see 1 earlier prompt. You now asked "What was my first request?".`,
      },
      { kind: 'user', text: '-- a third prompt, starting with dashes' },
      {
        kind: 'assistant',
        text: `I remember this conversation: it began with "${FIRST_PROMPT}" and I can see 2 earlier prompts. You now asked "-- a third prompt, starting with dashes".`,
      },
    ]);
    const shown = JSON.stringify(view.items);
    for (const contextMarker of ['<environment_context>', '<skills_instructions>', '<permissions', 'AGENTS.md instructions']) {
      expect(shown).not.toContain(contextMarker);
    }
  });

  it('shows a run killed mid-turn up to the command output it recorded, with no reply', () => {
    const view = viewRollout(killedMidTurn.content);
    expect(view.unparsedLines).toBe(0);
    expect(view.items.map((item) => item.kind)).toEqual(['user', 'command']);
    expect(view.items[1]).toMatchObject({ kind: 'command', exitCode: 0, output: COMMAND_OUTPUT.replace('machine-a', 'machine-k') });
  });

  it('counts a line that is not JSON as unparsed and shows everything else as before', () => {
    const view = viewRollout(withLineInserted(resumedTwice.content, 20, NOT_JSON));
    expect(view.unparsedLines).toBe(1);
    expect(view.items).toEqual(viewRollout(resumedTwice.content).items);
  });

  it('is what codexHarness.viewTranscript shows for the main file', () => {
    expect(codexHarness.viewTranscript([transcriptFile(MAIN_FILE_KEY, resumedTwice.content)])).toEqual(viewRollout(resumedTwice.content));
    expect(codexHarness.viewTranscript([])).toEqual({ items: [], unparsedLines: 0 });
  });
});
