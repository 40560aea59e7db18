/**
 * Fork at a turn and rewind, end to end with the real CLIs against the scripted model: a conversation of four
 * headless runs, each writing a file (f1 … f4), forked after turn 2. The fork resumed on a fresh machine sends the
 * model turns 1–2 only and starts from the workspace saved after turn 2; the original still resumes with all
 * four; and on the machine that ran the original (its session in the CLI's home) the fork and the original each
 * resume as themselves, because the fork has a session id of its own. Rewind: the conversation id goes on from
 * turn 2, and its four turns are kept in the old branch.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HARNESS_IDS, type HarnessId } from '../../src/harness/ids.js';
import type { Machine } from '../../src/testing/machine.js';
import type { RecordedRequest } from '../../src/testing/scripted-model-server.js';
import { conversationOf } from './model-requests.js';
import { createWorld, runJson, type World } from './world.js';

const PROMPTS = [1, 2, 3, 4].map((n) => `RUN echo turn-${n} > f${n}`);

/** The user prompts the model saw in the request that carried `prompt` last. */
function promptsSentWith(world: World, prompt: string): string[] {
  const request = [...world.turns()].reverse().find((candidate: RecordedRequest) => conversationOf(candidate).filter((turn) => turn.kind === 'user').at(-1)?.text.includes(prompt));
  if (!request) throw new Error(`no model request carried ${prompt}`);
  return conversationOf(request)
    .filter((turn) => turn.kind === 'user')
    .map((turn) => turn.text)
    .filter((text) => PROMPTS.some((sent) => text.includes(sent)) || text.includes(prompt));
}

function sentTurns(world: World, prompt: string): number[] {
  return promptsSentWith(world, prompt).flatMap((text) => PROMPTS.flatMap((sent, index) => (text.includes(sent) ? [index + 1] : [])));
}

function filesIn(dir: string): string[] {
  return ['f1', 'f2', 'f3', 'f4'].filter((name) => existsSync(join(dir, name)));
}

async function fourTurns(world: World, machine: Machine, harness: HarnessId): Promise<string> {
  const first = runJson(await world.baton(machine, ['run', '--harness', harness, '--json', PROMPTS[0]!]));
  expect(first.status).toBe('succeeded');
  for (const prompt of PROMPTS.slice(1)) {
    const next = runJson(await world.baton(machine, ['resume', first.conversationId, '--json', prompt]));
    expect(next.status).toBe('succeeded');
  }
  expect(filesIn(machine.cwd)).toEqual(['f1', 'f2', 'f3', 'f4']);
  return first.conversationId;
}

const ONLY = process.env.BATON_FORK_E2E_HARNESSES?.split(',') ?? HARNESS_IDS;

describe.each(HARNESS_IDS.filter((id) => ONLY.includes(id)))('fork and rewind with %s', (harness) => {
  let world: World;
  beforeEach(async () => {
    world = await createWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  it('a fork after turn 2 resumes anywhere with turns 1–2 and their workspace; the original keeps all four', async () => {
    const machineA = await world.machine('a');
    const original = await fourTurns(world, machineA, harness);

    const forked = await world.baton(machineA, ['fork', original, '--turn', '2', '--json']);
    expect(forked.code, forked.stderr).toBe(0);
    const fork = JSON.parse(forked.stdout) as { conversationId: string; sessionId: string; forkedFrom: { conversationId: string; turn: number }; turn: number; turns: number; workspaceRunId: string | null };
    expect(fork).toMatchObject({ turn: 2, turns: 4, forkedFrom: { conversationId: original, turn: 2 } });
    expect(fork.workspaceRunId).not.toBeNull();
    const originalShown = JSON.parse((await world.baton(machineA, ['show', original, '--json'])).stdout) as { conversation: { sessionId: string } };
    expect(fork.sessionId).toMatch(/\S/);
    expect(fork.sessionId).not.toBe(originalShown.conversation.sessionId);

    // A fresh machine: the fork's model request carries turns 1–2 only, and its workspace is the one after turn 2.
    const machineB = await world.machine('b');
    const resumed = runJson(await world.baton(machineB, ['resume', fork.conversationId, '--json', 'after the fork on b']));
    expect(resumed.status).toBe('succeeded');
    expect(sentTurns(world, 'after the fork on b')).toEqual([1, 2]);
    expect(filesIn(machineB.cwd)).toEqual(['f1', 'f2']);

    // Another fresh machine: the original resumes with all four.
    const machineC = await world.machine('c');
    expect(runJson(await world.baton(machineC, ['resume', original, '--json', 'the original on c'])).status).toBe('succeeded');
    expect(sentTurns(world, 'the original on c')).toEqual([1, 2, 3, 4]);
    expect(filesIn(machineC.cwd)).toEqual(['f1', 'f2', 'f3', 'f4']);

    // Machine A's CLI home holds the original's session: the fork, resumed there (in another directory), is still
    // itself, and so is the original afterwards.
    const elsewhere = join(machineA.root, 'elsewhere');
    await mkdir(elsewhere);
    const forkOnA = runJson(await world.baton(machineA, ['resume', fork.conversationId, '--cwd', elsewhere, '--json', 'the fork on a']));
    expect(forkOnA.status).toBe('succeeded');
    expect(sentTurns(world, 'the fork on a')).toEqual([1, 2]);
    const originalOnA = runJson(await world.baton(machineA, ['resume', original, '--workspace', 'skip', '--json', 'the original on a']));
    expect(originalOnA.status).toBe('succeeded');
    expect(sentTurns(world, 'the original on a')).toEqual([1, 2, 3, 4]);

    // --prompt continues a fork at once (here after turn 1, in a directory of its own).
    const straightOn = join(machineA.root, 'straight-on');
    await mkdir(straightOn);
    const continued = await world.baton(machineA, ['fork', original, '--turn', '1', '--prompt', 'straight on from turn 1', '--cwd', straightOn, '--json']);
    expect(continued.code, continued.stderr).toBe(0);
    expect(JSON.parse(continued.stdout)).toMatchObject({ turn: 1, forkedFrom: { conversationId: original, turn: 1 }, run: { status: 'succeeded' } });
    expect(sentTurns(world, 'straight on from turn 1')).toEqual([1]);
    expect(filesIn(straightOn)).toEqual(['f1']);
  }, 300_000);

  it('rewind: the conversation goes on from turn 2 and its four turns stay in the old branch', async () => {
    const machineA = await world.machine('a');
    const original = await fourTurns(world, machineA, harness);
    const rewound = await world.baton(machineA, ['rewind', original, '--turn', '2', '--json']);
    expect(rewound.code, rewound.stderr).toBe(0);
    const result = JSON.parse(rewound.stdout) as { conversationId: string; sessionId: string; turn: number; turns: number; oldBranch: { conversationId: string; sessionId: string } };
    expect(result).toMatchObject({ conversationId: original, turn: 2, turns: 4 });
    const shownOld = JSON.parse((await world.baton(machineA, ['show', result.oldBranch.conversationId, '--json'])).stdout) as { conversation: { forkedFrom: { conversationId: string; reason: string; turn: number } } };
    expect(shownOld.conversation.forkedFrom).toMatchObject({ conversationId: original, turn: 4 });
    expect(shownOld.conversation.forkedFrom.reason).toMatch(/^rewound/);
    expect(result.sessionId).not.toBe(result.oldBranch.sessionId);

    // On the machine that ran it (the four-turn session is in its CLI home) the rewound conversation goes on from turn 2.
    const again = runJson(await world.baton(machineA, ['resume', original, '--workspace', 'overwrite', '--json', 'after the rewind']));
    expect(again.status).toBe('succeeded');
    expect(sentTurns(world, 'after the rewind')).toEqual([1, 2]);
    expect(filesIn(machineA.cwd).slice(0, 2)).toEqual(['f1', 'f2']);
    // The old branch resumes on a fresh machine with all four turns and their workspace.
    const machineB = await world.machine('b');
    expect(runJson(await world.baton(machineB, ['resume', result.oldBranch.conversationId, '--json', 'the old branch'])).status).toBe('succeeded');
    expect(sentTurns(world, 'the old branch')).toEqual([1, 2, 3, 4]);
    expect(filesIn(machineB.cwd)).toEqual(['f1', 'f2', 'f3', 'f4']);
  }, 300_000);
});
