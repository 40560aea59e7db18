/**
 * Fork at a turn and rewind on the store's saved state, with a recorded Codex session (three turns, three runs:
 * test/fixtures/codex/resumed-twice) and the CLI's error cases through the built `baton`. The real CLIs resuming
 * forks are in test/e2e/fork.test.ts.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { codexHarness } from '../../src/harness/codex/harness.js';
import { forkConversation, rewindConversation } from '../../src/run/fork-conversation.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { MAIN_FILE_KEY, transcriptFile } from '../../src/transcript/envelope.js';
import { turnCount } from '../../src/transcript/fork-cut.js';
import type { WorkspaceSnapshot } from '../../src/workspace/workspace.js';

const BATON = resolve('dist/cli/baton.mjs');
const FIXTURE = fileURLToPath(new URL('../fixtures/codex/resumed-twice/', import.meta.url));
const ROLLOUT = readFileSync(join(FIXTURE, readdirSync(FIXTURE)[0]!));
const SESSION_ID = '01a21a00-e515-7ec1-a52c-23e5cb77e528';
const PROMPTS = ['Run a shell command that says hello, then tell me what it printed.', 'What was my first request?', '-- a third prompt, starting with dashes'];

let root: string;
let store: SqlStore;
let storePath: string;
const runIds: string[] = [];

/** A directory snapshot whose archive is just a marker (never restored here): which run's it is. */
function snapshotNamed(name: string): WorkspaceSnapshot {
  return { manifest: { kind: 'directory', fingerprint: name, fileCount: 1, changedFiles: [name], excludedSecrets: [] }, blobs: { archive: Buffer.from(name) } };
}

/** A conversation of three runs, one turn each, whose stored transcript is the recorded rollout; a snapshot per run. */
async function seed(options: { snapshots?: boolean } = {}): Promise<string> {
  const id = 'c_forktest';
  await store.createConversation({ id, harness: 'codex', title: 'say hello', cwd: root });
  await store.setSessionId(id, SESSION_ID);
  runIds.length = 0;
  for (const [index, prompt] of PROMPTS.entries()) {
    const run = await store.startRun({ conversationId: id, runId: `r_fork_${index + 1}`, kind: index === 0 ? 'new' : 'resume', prompt, host: 'test', cwd: root, leaseMs: 60_000 });
    runIds.push(run.id);
    if (index === PROMPTS.length - 1) {
      const file = transcriptFile(MAIN_FILE_KEY, ROLLOUT);
      await store.appendTranscript({ conversationId: id, fileKey: MAIN_FILE_KEY, runId: run.id, base: undefined, bytes: ROLLOUT, after: { lineCount: file.lineCount, byteLength: ROLLOUT.length, sha256: file.sha256 }, meta: codexHarness.readSessionMeta(ROLLOUT, SESSION_ID) });
    }
    if (options.snapshots) await store.saveWorkspaceSnapshot({ conversationId: id, runId: run.id, snapshot: snapshotNamed(`f${index + 1}`), transcript: undefined, asLeaseHolder: true });
    await store.finishRun(run.id, { status: 'succeeded', exitCode: 0, error: undefined });
  }
  return id;
}

function baton(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BATON, '--store', storePath, ...args], { cwd: root, env: { ...process.env, HOME: root }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-fork-'));
  storePath = join(root, 'baton.db');
  store = await openSqliteStore(storePath);
});
afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

describe('forkConversation', () => {
  it('cuts after the turn, under a fresh session id, with copies of the runs that made turns 1 … N; the original is untouched', async () => {
    const id = await seed();
    const before = await store.loadTranscript(id);
    const result = await forkConversation(store, id, { turn: 2 });
    expect(result).toMatchObject({ turn: 2, turns: 3 });
    const fork = result.conversation;
    expect(fork.forkedFrom).toEqual({ conversationId: id, runId: runIds[1], reason: 'forked after turn 2 of 3', turn: 2 });
    expect(fork.sessionId).not.toBe(SESSION_ID);
    expect(fork.title).toBe('say hello (fork)');
    const files = (await store.loadTranscript(fork.id))!.files;
    const view = codexHarness.viewTranscript(files);
    expect(turnCount(view)).toBe(2);
    expect(view.items.filter((item) => item.kind === 'user').map((item) => item.kind === 'user' && item.text)).toEqual(PROMPTS.slice(0, 2));
    expect((await store.listRuns(fork.id)).map((run) => run.prompt)).toEqual(PROMPTS.slice(0, 2));
    expect((await store.loadTranscript(id))!.files[0]!.sha256).toBe(before!.files[0]!.sha256);
    expect((await store.getConversation(id))!.sessionId).toBe(SESSION_ID);
  });

  it('at a run: the turn that run ended with; and the newest turn by default', async () => {
    const id = await seed();
    expect((await forkConversation(store, id, { runId: runIds[0] })).turn).toBe(1);
    expect((await forkConversation(store, id)).turn).toBe(3);
  });

  it('takes the workspace snapshot of the run that ended with that turn; a rewind makes it the newest', async () => {
    const id = await seed({ snapshots: true });
    const result = await forkConversation(store, id, { turn: 2 });
    expect(result.workspaceRunId).toBe(runIds[1]);
    const forkRuns = await store.listRuns(result.conversation.id);
    const copied = await store.loadWorkspaceSnapshot(result.conversation.id);
    expect(copied).toMatchObject({ runId: forkRuns[1]!.id, manifest: { fingerprint: 'f2' } });
    expect(copied!.blobs.archive!.toString()).toBe('f2');

    const rewound = await rewindConversation(store, id, 1);
    expect(rewound.workspaceRunId).toBe(runIds[0]);
    expect((await store.loadWorkspaceSnapshot(id))!.manifest.fingerprint).toBe('f1');
    expect((await store.loadWorkspaceSnapshot(rewound.oldBranch.id))!.manifest.fingerprint).toBe('f3');
  });

  it('forks an active conversation (the original is untouched): what its runs saved so far', async () => {
    const id = await seed();
    await store.startRun({ conversationId: id, runId: 'r_active', kind: 'resume', prompt: 'still going', host: 'test', cwd: root, leaseMs: 60_000 });
    const result = await forkConversation(store, id, { turn: 3 });
    expect(result).toMatchObject({ turn: 3, activeRunId: 'r_active' });
    expect((await store.listRuns(result.conversation.id)).every((run) => run.status !== 'running')).toBe(true);
    expect((await store.getConversation(id))!.activeRunId).toBe('r_active');
  });

  it.each([
    [{ turn: 4 }, /turn 4 is out of range: the conversation has 3 turns/],
    [{ turn: 0 }, /turn 0 is out of range/],
    [{ turn: 1, runId: 'r_fork_1' }, /either at a turn or at a run, not both/],
    [{ runId: 'r_elsewhere' }, /run r_elsewhere is not a run of conversation c_forktest/],
  ])('refuses %j', async (point, message) => {
    const id = await seed();
    await expect(forkConversation(store, id, point)).rejects.toThrow(message);
  });

  it('refuses a conversation with nothing saved yet', async () => {
    await store.createConversation({ id: 'c_empty', harness: 'codex', title: 'x', cwd: root });
    await expect(forkConversation(store, 'c_empty', { turn: 1 })).rejects.toMatchObject({ code: 'TRANSCRIPT_NOT_FOUND' });
  });
});

describe('rewindConversation', () => {
  it('goes on from turn N under a fresh session id; the old branch keeps every turn under the old one', async () => {
    const id = await seed();
    const result = await rewindConversation(store, id, 1, { host: 'test' });
    expect(result).toMatchObject({ turn: 1, turns: 3 });
    const rewound = (await store.getConversation(id))!;
    expect(rewound.sessionId).not.toBe(SESSION_ID);
    expect(rewound.activeRunId).toBeUndefined();
    expect(turnCount(codexHarness.viewTranscript((await store.loadTranscript(id))!.files))).toBe(1);
    const old = result.oldBranch;
    expect(old.sessionId).toBe(SESSION_ID);
    expect(old.forkedFrom).toMatchObject({ conversationId: id, runId: runIds[2], turn: 3 });
    expect(old.forkedFrom!.reason).toMatch(/^rewound: c_forktest went back to turn 1 of 3/);
    expect((await store.loadTranscript(old.id))!.files[0]!.content.equals(ROLLOUT)).toBe(true);
    expect((await store.listRuns(old.id)).map((run) => run.prompt)).toEqual(PROMPTS);
    // The rewind is a run of its own, finished: the conversation is idle again.
    expect((await store.listRuns(id)).at(-1)).toMatchObject({ prompt: '', status: 'succeeded' });
  });

  it('is refused while a run holds the lease, with a hint, and changes nothing', async () => {
    const id = await seed();
    await store.startRun({ conversationId: id, runId: 'r_active', kind: 'resume', prompt: 'still going', host: 'test', cwd: root, leaseMs: 60_000 });
    const failure = await rewindConversation(store, id, 1).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BatonError);
    expect(failure).toMatchObject({ code: 'CONVERSATION_BUSY', hint: expect.stringContaining(`baton fork ${id} --turn 1`) });
    expect((await store.getConversation(id))!.sessionId).toBe(SESSION_ID);
    expect((await store.listConversations()).map((conversation) => conversation.id)).toEqual([id]);
  });

  it('refuses the last turn (nothing to rewind) and leaves the conversation idle', async () => {
    const id = await seed();
    await expect(rewindConversation(store, id, 3)).rejects.toThrow(/ends at turn 3 already/);
    await expect(rewindConversation(store, id, 5)).rejects.toThrow(/turn 5 is out of range/);
    expect((await store.getConversation(id))!.activeRunId).toBeUndefined();
    // A refused rewind leaves no run behind.
    expect(await store.listRuns(id)).toHaveLength(3);
    expect((await store.listConversations())).toHaveLength(1);
  });
});

describe('baton fork and baton rewind (the CLI)', () => {
  it('prints the fork\'s id, or one JSON object with --json', async () => {
    const id = await seed();
    await store.close();
    const plain = await baton(['fork', id, '--turn', '1']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^c_\w+\n$/);
    expect(plain.stderr).toMatch(/forked c_forktest after turn 1 of 3 into c_\w+: the store's saved transcript/);
    const json = await baton(['fork', id, '--at', 'r_fork_2', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ harness: 'codex', turn: 2, turns: 3, forkedFrom: { conversationId: id, runId: 'r_fork_2', turn: 2 }, workspaceRunId: null });
    expect(json.stderr).toBe('');
    store = await openSqliteStore(storePath);
  });

  it.each([
    [['--local', '--turn', '2'], /^error: --local keeps this machine's whole copy of the session; it cannot be combined with --turn\nhint: /],
    [['--local', '--prompt', 'x'], /cannot be combined with --prompt/],
    [['--turn', '2', '--at', 'r_fork_1'], /^error: a fork is cut either at a turn or at a run, not both\nhint: pass --turn N or --at RUN_ID\n$/],
    [['--turn', 'two'], /^error: --turn takes a turn number \(1, 2, …\), not "two"\nhint: turns are numbered from 1 as `baton show` shows them\n$/],
    [['--turn', '7'], /^error: turn 7 is out of range: the conversation has 3 turns\nhint: pick a turn from 1 to 3, as `baton show` numbers them\n$/],
    [['--turn', '1', '--no-workspace'], /^error: --no-workspace only apply to --local/],
    [['--turn', '1', '--cwd', '.'], /^error: --cwd without --prompt has nothing to do/],
    [['--turn', '1', '--workspace', 'skip'], /^error: --workspace without --prompt has nothing to do/],
    [['--local', '--workspace', 'skip'], /cannot be combined with --workspace/],
  ])('fork %j is a one-line error with a hint', async (args, message) => {
    const id = await seed();
    const result = await baton(['fork', id, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('fork of an unknown conversation names it', async () => {
    const result = await baton(['fork', 'c_nope', '--turn', '1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error: no conversation c_nope in .+\nhint: list conversations with `baton ls`\n$/);
  });

  it('rewind prints the conversation id and names the old branch', async () => {
    const id = await seed();
    const result = await baton(['rewind', id, '--turn', '2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${id}\n`);
    expect(result.stderr).toMatch(/^rewound c_forktest to turn 2 of 3 \(no workspace snapshot of that point\); its 3 turns are kept in c_\w+; continue with `baton resume c_forktest PROMPT`\n$/);
  });

  it('rewind while a run holds the lease: CONVERSATION_BUSY with a hint', async () => {
    const id = await seed();
    await store.startRun({ conversationId: id, runId: 'r_active', kind: 'resume', prompt: 'still going', host: 'test', cwd: root, leaseMs: 60_000 });
    const result = await baton(['rewind', id, '--turn', '1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error: conversation c_forktest is busy: run r_active is active on test since \S+: a conversation is rewound only while no run holds it\nhint: wait for the run to finish .+`baton fork c_forktest --turn 1`\n$/);
  });
});
