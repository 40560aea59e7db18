/**
 * `baton adopt` with the real CLIs: a session started with the bare CLI (no baton) on one machine becomes a
 * conversation that resumes on a fresh machine with every earlier turn and the workspace; `--sync` brings in what
 * the local session gained since, and refuses once the two histories went different ways.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getHarness } from '../../src/harness/registry.js';
import type { HarnessId } from '../../src/harness/ids.js';
import type { Machine } from '../../src/testing/machine.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { runBareCli } from './bare-cli.js';
import { conversationOf, lastUserText, type Turn } from './model-requests.js';
import { createWorld, type BatonResult, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

interface AdoptJson {
  conversationId: string;
  harness: string;
  sessionId: string;
  runId: string | null;
  outcome: 'adopted' | 'synced' | 'unchanged';
  path: string;
  workspace: string | null;
}

function adoptJson(result: BatonResult): AdoptJson {
  expect(result.code, result.stderr).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as AdoptJson;
}

async function bare(machine: Machine, harness: HarnessId, prompt: string, resume?: string): Promise<void> {
  const run = await runBareCli(machine, harness, prompt, resume ? { resume } : {});
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
}

/** The turns of the model request that carried `prompt` as its last user text. */
function requestWith(prompt: string): Turn[] {
  const request = world.turns().find((turn) => lastUserText(turn) === prompt);
  expect(request, `a model request ending with "${prompt}"`).toBeDefined();
  return conversationOf(request!);
}

const texts = (turns: Turn[], kind: Turn['kind']): string[] => turns.filter((turn) => turn.kind === kind).map((turn) => turn.text);

async function storedRunKinds(conversationId: string): Promise<string[]> {
  const store = await openSqliteStore(world.storePath);
  try {
    return (await store.listRuns(conversationId)).map((run) => `${run.kind}:${run.status}`);
  } finally {
    await store.close();
  }
}

describe.each(['codex', 'claude', 'gemini'] as const)('baton adopt with %s', (harness) => {
  it('adopts a bare session with its workspace, resumes it on a fresh machine, and syncs what the local session gained', async () => {
    const laptop = await world.machine('laptop');
    await writeFile(join(laptop.cwd, 'notes.txt'), 'laptop-notes-4711\n');
    // Two turns with the bare CLI, one of them running a shell command.
    await bare(laptop, harness, 'RUN cat notes.txt');
    const found = await getHarness(harness).findSession({ home: getHarness(harness).resolveHome(laptop.env), cwd: laptop.cwd, env: laptop.env }, { latestFor: laptop.cwd });
    expect(found).toBeDefined();
    const sessionId = found!.sessionId;
    await bare(laptop, harness, 'second bare turn', sessionId);

    const adopted = adoptJson(await world.baton(laptop, ['adopt', '--latest', '--harness', harness, '--json']));
    expect(adopted).toMatchObject({ harness, sessionId, outcome: 'adopted', workspace: laptop.cwd });
    const id = adopted.conversationId;
    expect(await storedRunKinds(id)).toEqual(['adopt:succeeded']);

    // Twice: refused, naming the conversation.
    const again = await world.baton(laptop, ['adopt', '--latest', '--harness', harness]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`was adopted as conversation ${id}`);
    expect(again.stderr).toContain('--sync');

    // A third bare turn, then --sync: the store gains it (and a second sync finds nothing new).
    await bare(laptop, harness, 'third bare turn', sessionId);
    const synced = adoptJson(await world.baton(laptop, ['adopt', sessionId, '--harness', harness, '--sync', '--json']));
    expect(synced).toMatchObject({ conversationId: id, outcome: 'synced' });
    expect(adoptJson(await world.baton(laptop, ['adopt', '--latest', '--harness', harness, '--sync', '--json'])).outcome).toBe('unchanged');
    expect(await storedRunKinds(id)).toEqual(['adopt:succeeded', 'adopt:succeeded']);

    const listed = await world.baton(laptop, ['ls']);
    expect(listed.stdout).toContain(`adopted from ${harness} session ${sessionId} on `);
    const shown = await world.baton(laptop, ['show', id]);
    expect(shown.stdout).toContain(`adopted from ${harness} session ${sessionId} on `);
    expect(shown.stdout).toMatch(/run 1 · adopt · succeeded[\s\S]*laptop-notes-4711[\s\S]*second bare turn[\s\S]*run 2 · adopt · succeeded[\s\S]*third bare turn/);

    // A fresh machine resumes it: every earlier turn is in the model request, and the workspace file arrived.
    const fleet = await world.machine('fleet');
    const resumed = await world.baton(fleet, ['resume', id, '--json', 'continue on the fleet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const turns = requestWith('continue on the fleet');
    expect(texts(turns, 'user')).toEqual(expect.arrayContaining(['RUN cat notes.txt', 'second bare turn', 'third bare turn', 'continue on the fleet']));
    expect(texts(turns, 'tool_output').join('\n')).toContain('laptop-notes-4711');
    expect(await readFile(join(fleet.cwd, 'notes.txt'), 'utf8')).toBe('laptop-notes-4711\n');

    // The laptop's session goes on without the fleet's turn: a sync would lose one history, so it is refused.
    await bare(laptop, harness, 'fourth bare turn', sessionId);
    const diverged = await world.baton(laptop, ['adopt', '--latest', '--harness', harness, '--sync']);
    expect(diverged.code).toBe(1);
    expect(diverged.stderr).toMatch(new RegExp(`error: this machine's copy of session ${sessionId} .* is not a continuation of conversation ${id}`));
    expect(diverged.stderr).toContain('--as-new');
    const asNew = adoptJson(await world.baton(laptop, ['adopt', '--latest', '--harness', harness, '--as-new', '--json']));
    expect(asNew.conversationId).not.toBe(id);
    expect((await world.baton(laptop, ['show', asNew.conversationId])).stdout).toContain('fourth bare turn');
  }, 420_000);
});

describe('baton adopt: user errors', () => {
  it('SESSION_NOT_FOUND names where it looked; usage errors; a file that is not a session', async () => {
    const machine = await world.machine('empty');
    const missing = await world.baton(machine, ['adopt', '--latest', '--harness', 'codex']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: no Codex CLI session that ran in .*empty\/project in .*codex-home\nhint: looked in .*codex-home\/sessions\/\*\*\/rollout-\*\.jsonl/m);

    const byId = await world.baton(machine, ['adopt', '11111111-2222-4333-8444-555555555555', '--harness', 'claude']);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toContain('error: no Claude Code session "11111111-2222-4333-8444-555555555555"');

    const nothing = await world.baton(machine, ['adopt', '--harness', 'codex']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('error: name the session to adopt');

    const junk = join(machine.cwd, 'junk.jsonl');
    await writeFile(junk, '{"not":"a session"}\n');
    const invalid = await world.baton(machine, ['adopt', junk, '--harness', 'codex']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/error: ".*junk\.jsonl" is not a Codex CLI session file/);

    const unknown = await world.baton(machine, ['adopt', '--latest', '--harness', 'vim']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown harness "vim"');
  }, 60_000);

  it('a conversation baton started is not adopted again: resume it, or --sync what the bare CLI added', async () => {
    const machine = await world.machine('laptop');
    const started = await world.baton(machine, ['run', '--harness', 'claude', '--json', 'started by baton']);
    expect(started.code, started.stderr).toBe(0);
    const { conversationId, sessionId } = JSON.parse(started.stdout.trim()) as { conversationId: string; sessionId: string };
    const refused = await world.baton(machine, ['adopt', sessionId, '--harness', 'claude']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`is conversation ${conversationId}, which baton started`);
    expect(refused.stderr).toContain(`baton resume ${conversationId} PROMPT`);
    // The person goes on in the bare CLI; --sync brings the turn into the same conversation.
    await bare(machine, 'claude', 'typed in the bare CLI', sessionId);
    const synced = adoptJson(await world.baton(machine, ['adopt', sessionId, '--harness', 'claude', '--sync', '--json']));
    expect(synced).toMatchObject({ conversationId, outcome: 'synced' });
    expect(await storedRunKinds(conversationId)).toEqual(['new:succeeded', 'adopt:succeeded']);
    expect((await world.baton(machine, ['show', conversationId])).stdout).toContain('typed in the bare CLI');
  }, 180_000);
});
