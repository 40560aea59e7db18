/**
 * Harness.findSession (what `baton adopt` takes in): every harness finds a session by its id, by a file the user
 * names, and as the newest session of a directory — and never takes another directory's session for it.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBatonError } from '../../src/errors.js';
import { encodeProjectFolder } from '../../src/harness/claude/transcript.js';
import { canonicalRolloutPath } from '../../src/harness/codex/transcript.js';
import { chatsDirectory, sessionFileName } from '../../src/harness/gemini/transcript.js';
import { ensureProjectSlug } from '../../src/harness/gemini/config.js';
import type { Harness, HarnessContext } from '../../src/harness/harness.js';
import { getHarness } from '../../src/harness/registry.js';

let root: string;
let home: string;
let here: string;
let elsewhere: string;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'baton-find-session-')));
  home = join(root, 'cli-home');
  here = join(root, 'here');
  elsewhere = join(root, 'elsewhere');
  for (const dir of [home, here, elsewhere]) await mkdir(dir, { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const contextIn = (cwd: string): HarnessContext => ({ home, cwd, env: { HOME: root } });

/** Sets a file's modification time to `secondsAgo` before now. */
async function age(path: string, secondsAgo: number): Promise<void> {
  const when = new Date(Date.now() - secondsAgo * 1000);
  await utimes(path, when, when);
}

async function expectInvalidFile(harness: Harness, file: string): Promise<void> {
  const failure = await harness.findSession(contextIn(here), { file }).then(() => undefined, (error: unknown) => error);
  expect(isBatonError(failure, 'SESSION_FILE_INVALID')).toBe(true);
}

/** What each harness's session looks like on disk, written where its CLI writes it. */
interface SessionWriter {
  harness: Harness;
  write(sessionId: string, cwd: string): Promise<string>;
}

const codex: SessionWriter = {
  harness: getHarness('codex'),
  async write(sessionId, cwd) {
    const started = new Date().toISOString();
    const path = join(home, canonicalRolloutPath(sessionId, started));
    await mkdir(join(path, '..'), { recursive: true });
    const lines = [
      { timestamp: started, type: 'session_meta', payload: { id: sessionId, timestamp: started, cwd, cli_version: '0.171.0' } },
      { timestamp: started, type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } },
    ];
    await writeFile(path, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    return path;
  },
};

const claude: SessionWriter = {
  harness: getHarness('claude'),
  async write(sessionId, cwd) {
    const folder = join(home, 'projects', encodeProjectFolder(cwd));
    await mkdir(folder, { recursive: true });
    const path = join(folder, `${sessionId}.jsonl`);
    const line = { type: 'user', sessionId, cwd, version: '2.1.0', timestamp: new Date().toISOString(), uuid: randomUUID(), parentUuid: null, message: { role: 'user', content: 'hello' } };
    await writeFile(path, `${JSON.stringify(line)}\n`);
    return path;
  },
};

const gemini: SessionWriter = {
  harness: getHarness('gemini'),
  async write(sessionId, cwd) {
    const slug = await ensureProjectSlug(home, cwd);
    const directory = chatsDirectory(home, slug);
    await mkdir(directory, { recursive: true });
    const started = new Date().toISOString();
    const path = join(directory, sessionFileName(sessionId, started));
    const lines = [
      { sessionId, projectHash: 'x', startTime: started, lastUpdated: started, kind: 'main' },
      // verified with gemini 0.61.0: the first user message carries the session context, which names the directory.
      { id: randomUUID(), timestamp: started, type: 'user', content: [{ text: `<session_context>\n- **Workspace Directories:**\n  - ${cwd}\n</session_context>` }, { text: 'hello' }] },
    ];
    await writeFile(path, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    return path;
  },
};

describe.each([codex, claude, gemini])('findSession: $harness.id', ({ harness, write }) => {
  it('finds a session by its id, with the directory it ran in', async () => {
    const sessionId = randomUUID();
    const path = await write(sessionId, here);
    const found = await harness.findSession(contextIn(here), { sessionId });
    expect(found).toMatchObject({ sessionId, cwd: here });
    expect(found?.location.files[0]).toEqual({ key: 'main', path });
    expect(await harness.findSession(contextIn(here), { sessionId: randomUUID() })).toBeUndefined();
  });

  it('finds a session id that ran in another directory', async () => {
    const sessionId = randomUUID();
    await write(sessionId, elsewhere);
    expect(await harness.findSession(contextIn(here), { sessionId })).toMatchObject({ sessionId, cwd: elsewhere });
  });

  it('takes a session file the user names, from anywhere', async () => {
    const sessionId = randomUUID();
    const path = await write(sessionId, here);
    const copy = join(root, 'copied', path.split('/').at(-1)!);
    await mkdir(join(copy, '..'), { recursive: true });
    await copyFile(path, copy);
    const found = await harness.findSession(contextIn(elsewhere), { file: copy });
    expect(found).toMatchObject({ sessionId, cwd: here });
    expect(found?.location.files[0]?.path).toBe(copy);
  });

  it('refuses a file that is not its CLI session with SESSION_FILE_INVALID', async () => {
    const junk = join(root, 'notes.jsonl');
    await writeFile(junk, '{"hello":"world"}\nnot json\n');
    await expectInvalidFile(harness, junk);
    await expectInvalidFile(harness, join(root, 'missing.jsonl'));
    await expectInvalidFile(harness, root);
  });

  it('--latest: the most recently updated session of the directory, never another directory\'s', async () => {
    const older = randomUUID();
    const newer = randomUUID();
    const other = randomUUID();
    await age(await write(older, here), 60);
    await age(await write(newer, here), 30);
    await write(other, elsewhere); // the newest of all, but it ran elsewhere
    expect((await harness.findSession(contextIn(here), { latestFor: here }))?.sessionId).toBe(newer);
    expect((await harness.findSession(contextIn(here), { latestFor: elsewhere }))?.sessionId).toBe(other);
    const empty = join(root, 'empty');
    await mkdir(empty);
    expect(await harness.findSession(contextIn(empty), { latestFor: empty })).toBeUndefined();
  });

  it('names where it looked', () => {
    expect(harness.sessionPlaces(contextIn(here), { latestFor: here })).toContain(home);
    expect(harness.sessionPlaces(contextIn(here), { sessionId: randomUUID() })).toContain(home);
  });
});

describe('findSession: codex', () => {
  it('refuses a rollout whose name names another session', async () => {
    const path = await codex.write(randomUUID(), here);
    const renamed = join(root, `rollout-2026-01-01T00-00-00-${randomUUID()}.jsonl`);
    await copyFile(path, renamed);
    await expectInvalidFile(codex.harness, renamed);
  });
});

describe('findSession: claude', () => {
  it('does not take the session of another directory that shares the project folder name', async () => {
    // `/root/a-b` and `/root/a/b` both encode to `-root-a-b`: the records say which one the session ran in.
    const dashed = join(root, 'a-b');
    const nested = join(root, 'a', 'b');
    await mkdir(dashed, { recursive: true });
    await mkdir(nested, { recursive: true });
    const sessionId = randomUUID();
    await claude.write(sessionId, nested);
    expect(encodeProjectFolder(dashed)).toBe(encodeProjectFolder(nested));
    expect(await claude.harness.findSession(contextIn(dashed), { latestFor: dashed })).toBeUndefined();
    expect((await claude.harness.findSession(contextIn(nested), { latestFor: nested }))?.sessionId).toBe(sessionId);
  });
});

describe('findSession: opencode', () => {
  const opencode = getHarness('opencode');

  it('takes an `opencode export` document as the session, kept as its log in the home', async () => {
    const document = await readFile('test/fixtures/opencode/export-tool-turn.json', 'utf8');
    const sessionId = (JSON.parse(document) as { info: { id: string; directory: string } }).info.id;
    const file = join(root, 'my-session.json');
    await writeFile(file, document);
    const found = await opencode.findSession(contextIn(here), { file });
    expect(found?.sessionId).toBe(sessionId);
    expect(found?.cwd).toBe((JSON.parse(document) as { info: { directory: string } }).info.directory);
    const log = found!.location.files[0]!.path;
    expect(log.startsWith(home)).toBe(true);
    expect(opencode.viewTranscript([{ key: 'main', content: await readFile(log), lineCount: 0, sha256: '' }]).items.length).toBeGreaterThan(0);
  });

  it('refuses a file that is not a session document with SESSION_FILE_INVALID', async () => {
    const junk = join(root, 'junk.json');
    await writeFile(junk, '{"info":{}}');
    await expectInvalidFile(opencode, junk);
  });
});
