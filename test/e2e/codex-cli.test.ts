/**
 * End to end through the `baton` command line with the real Codex CLI against the scripted model server.
 * A resume passes only when the model's next request carries the earlier turns — sent from a fresh
 * CODEX_HOME in another working directory, sharing nothing with the first machine but the store.
 */
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createWorld, inputItems, killCodexOf, runJson, waitFor, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

describe('baton run and resume with the real Codex CLI', () => {
  it('resumes on a fresh machine in another directory, and the model sees every earlier turn', async () => {
    const machineA = await world.machine('machine-a');
    const first = await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'RUN echo made-on-machine-a']);
    expect(first.code, first.stderr).toBe(0);
    const started = runJson(first);
    expect(started).toMatchObject({ harness: 'codex', status: 'succeeded', exitCode: 0 });
    expect(started.conversationId).toMatch(/^c_/);
    expect(started.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await machineA.destroy();

    const machineB = await world.machine('machine-b', 'somewhere-else');
    expect(existsSync(join(machineB.codexHome, 'sessions'))).toBe(false);
    const turnsBefore = world.turns().length;
    const second = await world.baton(machineB, ['resume', started.conversationId, '--json', 'what did the command print?']);
    expect(second.code, second.stderr).toBe(0);
    expect(runJson(second)).toMatchObject({ conversationId: started.conversationId, sessionId: started.sessionId, status: 'succeeded' });

    const followUp = world.turns()[turnsBefore]!;
    const items = inputItems(followUp);
    expect(items).toContainEqual(expect.objectContaining({ type: 'message', role: 'user', text: 'RUN echo made-on-machine-a' }));
    expect(items).toContainEqual(expect.objectContaining({ type: 'function_call', name: 'exec_command' }));
    expect(items.find((item) => item.type === 'function_call_output')?.output).toContain('made-on-machine-a');
    expect(items).toContainEqual(expect.objectContaining({ type: 'message', role: 'assistant', text: 'The command printed: made-on-machine-a' }));
    expect(items.at(-1)).toMatchObject({ type: 'message', role: 'user', text: 'what did the command print?' });
    // The resumed agent works in machine B's directory, not the one recorded on machine A.
    expect(JSON.stringify(followUp.body)).toContain(machineB.cwd);
  });

  it('carries one conversation across three machines in a row', async () => {
    const prompts = ['RUN echo step-one', 'second prompt on machine B', 'third prompt on machine C'];
    const machineA = await world.machine('machine-a');
    const { conversationId } = runJson(await world.baton(machineA, ['run', '--harness', 'codex', '--json', prompts[0]!]));
    await machineA.destroy();
    const machineB = await world.machine('machine-b', 'b-project');
    expect(runJson(await world.baton(machineB, ['resume', conversationId, '--json', prompts[1]!])).status).toBe('succeeded');
    await machineB.destroy();
    const machineC = await world.machine('machine-c', 'c-project');
    const before = world.turns().length;
    expect(runJson(await world.baton(machineC, ['resume', conversationId, '--json', prompts[2]!])).status).toBe('succeeded');

    const items = inputItems(world.turns()[before]!);
    const userTexts = items.filter((item) => item.role === 'user').map((item) => item.text);
    for (const prompt of prompts) expect(userTexts).toContain(prompt);
    expect(items).toContainEqual(expect.objectContaining({ role: 'assistant', text: 'ACK second prompt on machine B' }));
    expect(items.find((item) => item.type === 'function_call_output')?.output).toContain('step-one');

    const shown = await world.baton(machineC, ['show', conversationId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/run 1 · new · succeeded[\s\S]*> RUN echo step-one[\s\S]*\$ echo step-one\n\s+step-one[\s\S]*run 2 · resume · succeeded[\s\S]*ACK second prompt on machine B[\s\S]*run 3 · resume · succeeded[\s\S]*ACK third prompt on machine C/);
  });

  it('refuses a second follow-up while a run is active with CONVERSATION_BUSY', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId } = runJson(await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'hello']));
    const machineB = await world.machine('machine-b');
    const slow = world.start(machineB, ['resume', conversationId, '--json', 'SLOW: hold this turn']);
    await waitFor(() => world.turns().some((turn) => JSON.stringify(turn.body).includes('SLOW: hold this turn')), 'the slow turn to reach the model');

    const machineC = await world.machine('machine-c');
    const busy = await world.baton(machineC, ['resume', conversationId, 'a second follow-up']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/^error: conversation c_\w+ is busy: run r_\w+ is active on .+\nhint: wait for that run to finish/m);
    expect(busy.stderr).not.toMatch(/\n\s+at /); // no stack trace

    slow.kill('SIGINT');
    const interrupted = await slow.result;
    expect(runJson(interrupted).status).toBe('interrupted');
    expect(interrupted.code).toBe(130);
  });

  it('saves the transcript of a run whose CLI is killed, and the conversation resumes from it', async () => {
    const machineA = await world.machine('machine-a');
    const run = world.start(machineA, ['run', '--harness', 'codex', '--json', 'RUN echo SLOW-before-the-kill']);
    // The tool ran and its output reached the model, whose answer is held back: kill Codex now.
    await waitFor(() => world.turns().some((turn) => inputItems(turn).some((item) => item.output?.includes('SLOW-before-the-kill'))), 'the tool output to reach the model');
    expect(await killCodexOf(machineA.codexHome, 'SIGKILL')).toBeGreaterThan(0);
    const killed = await run.result;
    const result = runJson(killed);
    expect(result.status).toBe('failed');
    expect(killed.code).toBe(1);
    await machineA.destroy();

    const machineB = await world.machine('machine-b');
    const before = world.turns().length;
    const resumed = await world.baton(machineB, ['resume', result.conversationId, '--json', 'carry on']);
    expect(runJson(resumed)).toMatchObject({ status: 'succeeded', sessionId: result.sessionId });
    const items = inputItems(world.turns()[before]!);
    expect(items).toContainEqual(expect.objectContaining({ role: 'user', text: 'RUN echo SLOW-before-the-kill' }));
    expect(items.find((item) => item.type === 'function_call_output')?.output).toContain('SLOW-before-the-kill');

    const shown = await world.baton(machineB, ['show', result.conversationId]);
    expect(shown.stdout).toMatch(/run 1 · new · failed[\s\S]*killed by SIGKILL[\s\S]*run 2 · resume · succeeded/);
  });

  it('forwards Ctrl-C to the CLI and still makes the final save', async () => {
    const machineA = await world.machine('machine-a');
    const run = world.start(machineA, ['run', '--harness', 'codex', '--json', 'RUN echo SLOW-interrupted']);
    await waitFor(() => world.turns().some((turn) => inputItems(turn).some((item) => item.output?.includes('SLOW-interrupted'))), 'the tool output to reach the model');
    run.kill('SIGINT');
    const interrupted = await run.result;
    expect(interrupted.code).toBe(130);
    const result = runJson(interrupted);
    expect(result.status).toBe('interrupted');

    const store = await openSqliteStore(world.storePath);
    try {
      const transcript = await store.loadTranscript(result.conversationId);
      expect(transcript?.files[0]?.content.toString()).toContain('SLOW-interrupted');
      expect((await store.getConversation(result.conversationId))?.activeRunId).toBeUndefined();
    } finally {
      await store.close();
    }
    const resumed = await world.baton(await world.machine('machine-b'), ['resume', result.conversationId, '--json', 'after the interrupt']);
    expect(runJson(resumed).status).toBe('succeeded');
  });

  it('refuses to resume a corrupted transcript with TRANSCRIPT_CORRUPT and writes nothing', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId } = runJson(await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'RUN echo soon-to-be-damaged']));
    const database = new Sqlite(world.storePath);
    try {
      const chunk = database.prepare('SELECT rowid, data FROM transcript_chunks ORDER BY rowid DESC LIMIT 1').get() as { rowid: number; data: Buffer };
      const damaged = Buffer.from(chunk.data);
      damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
      database.prepare('UPDATE transcript_chunks SET data = ? WHERE rowid = ?').run(damaged, chunk.rowid);
    } finally {
      database.close();
    }
    const machineB = await world.machine('machine-b');
    const turnsBefore = world.turns().length;
    const resumed = await world.baton(machineB, ['resume', conversationId, 'go on']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/^error: stored transcript "main" of conversation c_\w+ is corrupt: .+\nhint: /m);
    expect(existsSync(join(machineB.codexHome, 'sessions'))).toBe(false);
    expect(world.turns().length).toBe(turnsBefore);
  });

  it('exports a conversation, imports it into an empty store elsewhere, and resumes it there', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId, sessionId } = runJson(await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'RUN echo exported-turn']));
    const exportFile = join(world.root, 'conversation.baton.json');
    const exported = await world.baton(machineA, ['export', conversationId, '-o', exportFile]);
    expect(exported.code, exported.stderr).toBe(0);
    expect((await stat(exportFile)).mode & 0o777).toBe(0o600);
    await machineA.destroy();

    const machineB = await world.machine('machine-b');
    const otherStore = join(machineB.root, 'own-store.db');
    const imported = await world.baton(machineB, ['import', exportFile], { store: otherStore });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout.trim()).toBe(conversationId);
    const again = await world.baton(machineB, ['import', exportFile], { store: otherStore });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);

    const before = world.turns().length;
    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', 'after import'], { store: otherStore });
    expect(runJson(resumed)).toMatchObject({ status: 'succeeded', sessionId });
    expect(inputItems(world.turns()[before]!).find((item) => item.type === 'function_call_output')?.output).toContain('exported-turn');
  });

  it('fails the run, loudly, when the CLI starts a different session instead of resuming (proof of resume)', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId, sessionId } = runJson(await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'hello']));
    // A user's argv template that (wrongly) starts a new Codex session instead of resuming.
    const configPath = join(world.root, 'wrong-resume.json');
    await writeFile(configPath, JSON.stringify({ harnesses: { codex: { args: { resume: ['exec', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', '--', '{prompt}'] } } } }));
    const machineB = await world.machine('machine-b');
    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', 'not really resumed'], { env: { BATON_CONFIG: configPath } });
    expect(resumed.code).toBe(1);
    const result = runJson(resumed);
    expect(result.status).toBe('failed');
    expect(result.sessionId).toBe(sessionId);
    const shown = await world.baton(machineB, ['show', conversationId]);
    expect(shown.stdout).toMatch(/run 2 · resume · failed[\s\S]*reported session [0-9a-f-]{36} instead of [0-9a-f-]{36}: it did not resume the conversation/);
  });
});

describe('baton command-line errors', () => {
  it('answers bad input with one line and a hint, never a stack trace', async () => {
    const machine = await world.machine('machine-a');
    const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
      { args: ['run', '--harness', 'nope', 'x'], code: 1, message: /^error: unknown harness "nope"\nhint: choose one of: codex, claude\n$/ },
      { args: ['resume', 'c_doesnotexist', 'x'], code: 1, message: /^error: no conversation c_doesnotexist in .+\nhint: list conversations with `baton ls`/ },
      { args: ['run', '--harness', 'codex', '--cwd', join(world.root, 'missing'), 'x'], code: 2, message: /^error: the working directory .+missing does not exist or is not a directory\nhint: pass an existing directory with --cwd\n$/ },
      { args: ['import', join(world.root, 'missing.json')], code: 1, message: /^error: cannot read .+missing\.json: .+\nhint: / },
      { args: ['show', 'c_doesnotexist'], code: 1, message: /^error: no conversation c_doesnotexist/ },
    ];
    for (const { args, code, message } of cases) {
      const result = await world.baton(machine, args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stdout).toBe('');
    }
    const badConfig = join(world.root, 'bad.json');
    await writeFile(badConfig, JSON.stringify({ harnesses: { codex: { comand: 'typo' } } }));
    const result = await world.baton(machine, ['ls'], { env: { BATON_CONFIG: badConfig } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .+bad\.json: harnesses\.codex: Unrecognized key.*comand.*\nhint: /);
  });

  it('lists conversations with their status and number of runs', async () => {
    const machine = await world.machine('machine-a');
    const { conversationId } = runJson(await world.baton(machine, ['run', '--harness', 'codex', '--json', 'list me']));
    const listed = await world.baton(machine, ['ls']);
    expect(listed.stdout).toMatch(new RegExp(`^${conversationId}  codex\\s+idle\\s+1 run .+list me$`, 'm'));
    const asJson = JSON.parse((await world.baton(machine, ['ls', '--json'])).stdout);
    expect(asJson).toEqual([expect.objectContaining({ id: conversationId, harness: 'codex', status: 'idle', runs: 1, title: 'list me' })]);
  });
});
