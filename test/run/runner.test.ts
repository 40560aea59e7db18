/**
 * The runner as a library, with the real Codex CLI and the scripted model: live events, periodic saves while
 * the CLI runs, lease takeover of a dead run, and what `prepare` does to a user's CODEX_HOME.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findRollouts } from '../../src/harness/codex/transcript.js';
import { resumeConversation, startConversation } from '../../src/run/runner.js';
import type { TimedEvent } from '../../src/run/events.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { BatonError } from '../../src/errors.js';
import { createWorld, inputItems, processesOf, waitFor, type World } from '../e2e/world.js';

let world: World;
let store: Store;
beforeEach(async () => {
  world = await createWorld();
  store = await openSqliteStore(world.storePath);
});
afterEach(async () => {
  await store.close();
  await world.cleanup();
});

describe('runner', () => {
  it('delivers the run events live, in order, and stores them with the run', async () => {
    const machine = await world.machine('machine-a');
    const events: TimedEvent[] = [];
    const result = await startConversation({ store, harness: 'codex', prompt: 'RUN echo live-event', cwd: machine.cwd, env: machine.env, onEvent: (event) => events.push(event) });
    expect(result.status).toBe('succeeded');
    const types = events.map((event) => event.type).filter((type) => type !== 'warning');
    expect(types).toEqual(['session.started', 'turn.started', 'command.started', 'command.completed', 'message', 'turn.completed']);
    expect(events.find((event) => event.type === 'command.completed')).toMatchObject({ command: expect.stringContaining('echo live-event'), exitCode: 0, output: 'live-event\n' });
    expect(events.find((event) => event.type === 'session.started')).toMatchObject({ sessionId: result.sessionId });
    const stored = await store.listRunEvents(result.runId);
    expect(stored.map((event) => event.type)).toEqual(events.map((event) => event.type));
    expect(stored.map((event) => event.sequence)).toEqual(stored.map((_, index) => index + 1));
  });

  it('saves the transcript periodically while the CLI is still running', async () => {
    const machine = await world.machine('machine-a');
    const controller = new AbortController();
    const running = startConversation({ store, harness: 'codex', prompt: 'RUN echo SLOW-periodic', cwd: machine.cwd, env: machine.env, saveIntervalMs: 200, signal: controller.signal });
    const conversationId = await waitFor(async () => (await store.listConversations())[0]?.id, 'the conversation to exist');
    // While the model holds its answer, the stored transcript already has the prompt and the tool's output.
    const saved = await waitFor(async () => {
      const transcript = await store.loadTranscript(conversationId);
      const text = transcript?.files[0]?.content.toString() ?? '';
      return text.includes('SLOW-periodic') && text.includes('function_call_output') ? text : undefined;
    }, 'a periodic save with the tool output');
    expect((await store.getConversation(conversationId))?.activeRunId).toBeDefined();
    expect(saved.endsWith('\n')).toBe(true);
    controller.abort();
    const result = await running;
    expect(result.status).toBe('interrupted');
    expect((await store.getRun(result.runId))?.error).toBe('interrupted by the user');
  });

  it('takes over a conversation whose previous run died holding the lease, once the lease expires', async () => {
    const machine = await world.machine('machine-a');
    const first = await startConversation({ store, harness: 'codex', prompt: 'first', cwd: machine.cwd, env: machine.env });
    // A process that took the lease and died without finishing its run.
    const dead = await store.startRun({ conversationId: first.conversationId, runId: 'r_dead', kind: 'resume', prompt: 'lost', host: 'gone', cwd: machine.cwd, leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const resumed = await resumeConversation({ store, conversationId: first.conversationId, prompt: 'taken over', cwd: machine.cwd, env: machine.env });
    expect(resumed.status).toBe('succeeded');
    expect(await store.getRun(dead.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('lease expired') });
    expect((await store.listRuns(first.conversationId)).map((run) => run.sequence)).toEqual([1, 2, 3]);
  });

  it('keeps a user\'s config.toml, pins the model, trusts the cwd, and sends the system prompt to the model', async () => {
    const machine = await world.machine('machine-a');
    const configPath = join(machine.homes.codex, 'config.toml');
    const userConfig = `# my own settings\n${await readFile(configPath, 'utf8')}\n[profiles.fast]\nmodel = "o4-mini" # keep me\n`;
    await writeFile(configPath, userConfig);
    const systemPrompt = 'Always answer like a pirate (system prompt from baton).';
    const result = await startConversation({ store, harness: 'codex', prompt: 'hello', cwd: machine.cwd, env: { ...machine.env, OPENAI_API_KEY: 'sk-test-not-a-real-key' }, setup: { model: 'scripted-model-pinned', systemPrompt } });
    expect(result.status).toBe('succeeded');

    const text = await readFile(configPath, 'utf8');
    expect(text).toContain('# my own settings');
    expect(text).toContain('model = "o4-mini" # keep me');
    const config = parseToml(text) as any;
    expect(config.model).toBe('scripted-model-pinned');
    expect(config.model_provider).toBe('baton-scripted');
    expect(config.model_providers['baton-scripted'].wire_api).toBe('responses');
    expect(config.check_for_update_on_startup).toBe(false);
    expect(config.projects[machine.cwd]).toEqual({ trust_level: 'trusted' });

    const request = world.turns().at(-1)!;
    expect(request.body.model).toBe('scripted-model-pinned');
    expect(JSON.stringify(request.body)).toContain(systemPrompt);

    const auth = JSON.parse(await readFile(join(machine.homes.codex, 'auth.json'), 'utf8'));
    expect(auth).toMatchObject({ OPENAI_API_KEY: 'sk-test-not-a-real-key', auth_mode: 'apikey' });
    expect((await stat(join(machine.homes.codex, 'auth.json'))).mode & 0o777).toBe(0o600);
  });

  it('writes the rehydrated rollout 0600 and keeps appending to the same stored version on resume', async () => {
    const machineA = await world.machine('machine-a');
    const first = await startConversation({ store, harness: 'codex', prompt: 'RUN echo one', cwd: machineA.cwd, env: machineA.env });
    const afterFirst = await store.loadTranscript(first.conversationId);
    const machineB = await world.machine('machine-b');
    const second = await resumeConversation({ store, conversationId: first.conversationId, prompt: 'two', cwd: machineB.cwd, env: machineB.env });
    expect(second.status).toBe('succeeded');
    const afterSecond = await store.loadTranscript(first.conversationId);
    const [before, after] = [afterFirst!.files[0]!, afterSecond!.files[0]!];
    // Codex appended to the rehydrated file: the stored version grew, its first bytes unchanged.
    expect(after.cursor.versionId).toBe(before.cursor.versionId);
    expect(after.content.subarray(0, before.content.length).equals(before.content)).toBe(true);
    expect(after.lineCount).toBeGreaterThan(before.lineCount);
    const items = inputItems(world.turns().at(-1)!);
    expect(items.find((item) => item.type === 'function_call_output')?.output).toContain('one');
    const [rollout, ...others] = await findRollouts(machineB.homes.codex, first.sessionId!);
    expect(others).toEqual([]);
    expect((await stat(rollout!)).mode & 0o777).toBe(0o600);
    expect((await readFile(rollout!)).equals(after.content)).toBe(true);
  });
});

/** A store handed over later, as `baton run` hands over the store it is still opening. */
function storeOpening(): { promise: Promise<Store>; open: () => void; fail: (error: Error) => void } {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<Store>((resolvePromise, reject) => {
    open = () => resolvePromise(store);
    fail = reject;
  });
  return { promise, open, fail };
}

describe('a new conversation while its store opens', () => {
  it('starts the CLI before the store is open, and stores every event and the whole transcript once it is', async () => {
    const machine = await world.machine('machine-a');
    const opening = storeOpening();
    const events: TimedEvent[] = [];
    const running = startConversation({ store: opening.promise, harness: 'codex', prompt: 'RUN echo before-the-store', cwd: machine.cwd, env: machine.env, onEvent: (event) => events.push(event) });
    // The CLI reached the model, and asked it a second time with the command's output, with no store open yet.
    await waitFor(() => world.turns().some((turn) => inputItems(turn).some((item) => item.type === 'function_call_output')), 'the CLI to send the command output to the model');
    expect(await store.listConversations()).toEqual([]);
    expect(events).toEqual([]);
    opening.open();
    const result = await running;
    expect(result.status).toBe('succeeded');
    // Nothing the CLI printed while the store was opening was lost.
    expect(events.map((event) => event.type).filter((type) => type !== 'warning')).toEqual(['session.started', 'turn.started', 'command.started', 'command.completed', 'message', 'turn.completed']);
    expect((await store.listRunEvents(result.runId)).map((event) => event.type)).toEqual(events.map((event) => event.type));
    expect((await store.getConversation(result.conversationId))?.sessionId).toBe(result.sessionId);
    const [rollout] = await findRollouts(machine.homes.codex, result.sessionId!);
    expect((await store.loadTranscript(result.conversationId))?.files[0]?.content.equals(await readFile(rollout!))).toBe(true);
  });

  it('opens a store given as an opener only once the CLI has been started', async () => {
    const machine = await world.machine('machine-a');
    const isCodex = (commandLine: string[]) => commandLine.some((part) => /(^|\/)codex$/.test(part));
    let runningAtOpen: unknown[] | undefined;
    const result = await startConversation({
      store: async () => {
        runningAtOpen = await processesOf('CODEX_HOME', machine.homes.codex, isCodex);
        return store;
      },
      harness: 'codex',
      prompt: 'hello',
      cwd: machine.cwd,
      env: machine.env,
    });
    expect(result.status).toBe('succeeded');
    expect(runningAtOpen).not.toEqual([]);
    expect((await store.getConversation(result.conversationId))?.sessionId).toBe(result.sessionId);
  });

  it('stops the CLI when the store fails to open, reports that failure, and leaves no conversation', async () => {
    const machine = await world.machine('machine-a');
    const opening = storeOpening();
    const running = startConversation({ store: opening.promise, harness: 'codex', prompt: 'hold on SLOW', cwd: machine.cwd, env: machine.env });
    running.catch(() => undefined);
    // The CLI is running: the model holds its answer for a minute.
    await waitFor(() => world.turns().some((turn) => JSON.stringify(turn.body).includes('hold on SLOW')), 'the CLI to ask the model');
    const isCodex = (commandLine: string[]) => commandLine.some((part) => /(^|\/)codex$/.test(part));
    expect(await processesOf('CODEX_HOME', machine.homes.codex, isCodex)).not.toEqual([]);
    opening.fail(new BatonError('STORE_ERROR', 'cannot open the SQLite store at /nowhere: disk I/O error', { hint: 'check the path' }));
    await expect(running).rejects.toMatchObject({ code: 'STORE_ERROR', message: expect.stringContaining('/nowhere') });
    expect(await processesOf('CODEX_HOME', machine.homes.codex, isCodex)).toEqual([]);
    expect(await store.listConversations()).toEqual([]);
  });
});
