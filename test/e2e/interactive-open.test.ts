/**
 * `baton open`: a conversation started headless on machine A continues in the real CLI's own interactive UI on
 * machine B (driven through tmux: typed with send-keys, read with capture-pane), and a headless resume on a fresh
 * machine C sees the turn typed there. Closing the terminal mid-turn keeps what the last save had and hands the
 * conversation back. Every harness in the registry.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HARNESS_IDS, type HarnessId } from '../../src/harness/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { RecordedRequest } from '../../src/testing/scripted-model-server.js';
import { openTerminal, type Terminal } from '../helpers/tmux.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { BATON, createWorld, runJson, waitFor, type World } from './world.js';

/** How a person quits each UI (verified under tmux: every one exits 0). */
const QUIT: Record<HarnessId, string> = { codex: '/quit', claude: '/exit', gemini: '/quit', opencode: '/exit' };

// CI installs tmux (.ci/run); elsewhere, without it, these tests cannot drive a terminal and are skipped.
let tmuxAvailable = true;
try {
  execFileSync('tmux', ['-V']);
} catch {
  tmuxAvailable = false;
  if (process.env.CI) throw new Error('tmux is missing: .ci/run installs it for the tests of baton open');
}

describe.runIf(tmuxAvailable).each(HARNESS_IDS)('baton open with the %s harness', (id) => {
  let world: World;
  const terminals: Terminal[] = [];
  beforeAll(async () => {
    world = await createWorld();
  });
  afterAll(async () => {
    for (const terminal of terminals) await terminal.close();
    await world.cleanup();
  });

  const requestsWithPrompt = (text: string): RecordedRequest[] => world.turns().filter((request) => lastUserText(request)?.includes(text) === true);
  /**
   * The conversation request that carried the prompt. verified with codex 0.171: the TUI may also send a side
   * request asking for a title, which quotes the prompt but no history; the conversation's request is the longest.
   */
  const conversationWith = (text: string) =>
    requestsWithPrompt(text)
      .map(conversationOf)
      .reduce((longest, turns) => (turns.length > longest.length ? turns : longest), [] as ReturnType<typeof conversationOf>);

  async function openOn(machine: Awaited<ReturnType<World['machine']>>, conversationId: string, name: string): Promise<Terminal> {
    const terminal = await openTerminal({
      dir: world.root,
      name: `${id}-${name}`,
      argv: [process.execPath, BATON, '--store', world.storePath, 'open', conversationId, '--bypass-permissions'],
      cwd: machine.cwd,
      env: machine.env,
    });
    terminals.push(terminal);
    return terminal;
  }

  /** Types a prompt and waits until the model has it (a second Enter if the first one was taken into the paste). */
  async function submit(terminal: Terminal, text: string): Promise<void> {
    await terminal.type(text);
    try {
      await waitFor(() => requestsWithPrompt(text).length > 0, `the model to receive "${text}"`, 10_000);
    } catch {
      await terminal.press('Enter');
      await waitFor(() => requestsWithPrompt(text).length > 0, `the model to receive "${text}"`, 90_000);
    }
  }

  async function startOnA(): Promise<string> {
    const a = await world.machine(`${id}-a-${Date.now()}`);
    const first = await world.baton(a, ['run', '--harness', id, '--json', `RUN echo made-on-A-${id} > note.txt && cat note.txt`]);
    expect(first.code, first.stderr).toBe(0);
    return runJson(first).conversationId;
  }

  it('continues a headless conversation in the TUI on a fresh machine, and a resume elsewhere sees the TUI turn', async () => {
    const conversationId = await startOnA();
    const b = await world.machine(`${id}-b`);
    const terminal = await openOn(b, conversationId, 'open');
    // The UI shows the earlier turns once it has resumed: A's reply quotes the command's output.
    await terminal.waitForScreen(new RegExp(`made-on-A-${id}`), 'the resumed conversation on screen');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const typed = `hello from the ${id} tui`;
    await submit(terminal, typed);
    await terminal.waitForScreen(new RegExp(`ACK ${typed}`), 'the reply on screen');

    // The TUI's request carried every earlier turn, A's tool output included.
    const sent = conversationWith(typed);
    expect(sent.some((turn) => turn.kind === 'tool_output' && turn.text.includes(`made-on-A-${id}`))).toBe(true);
    expect(sent.some((turn) => turn.kind === 'user' && turn.text.includes(`made-on-A-${id} > note.txt`))).toBe(true);
    // The workspace arrived before the CLI started.
    expect(await readFile(join(b.cwd, 'note.txt'), 'utf8')).toBe(`made-on-A-${id}\n`);

    // While it runs the conversation is leased to this interactive run.
    const during = JSON.parse((await world.baton(b, ['show', conversationId, '--json'])).stdout);
    expect(during.runs.at(-1)).toMatchObject({ kind: 'interactive', status: 'running' });

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await terminal.type(QUIT[id]);
    // baton's own report once the CLI quit and the final save is done (tmux does not always report the pane's exit status).
    await terminal.waitForScreen(new RegExp(`saved ${conversationId}; continue it anywhere`), "baton's report of the final save");
    const after = JSON.parse((await world.baton(b, ['show', conversationId, '--json'])).stdout);
    expect(after.runs.at(-1)).toMatchObject({ kind: 'interactive', status: 'succeeded' });
    // The UI printed no events: they were read from the transcript, for live followers (the web UI, SSE).
    const store = await openSqliteStore(world.storePath);
    try {
      const events = await store.listRunEvents(after.runs.at(-1).id);
      expect(events.map((event) => [event.type, (event.data as { text?: string }).text])).toEqual(expect.arrayContaining([['prompt', typed], ['message', `ACK ${typed}`]]));
    } finally {
      await store.close();
    }

    // Machine C, fresh: a headless follow-up sees the turn typed in the TUI and its reply.
    const c = await world.machine(`${id}-c`);
    const next = await world.baton(c, ['resume', conversationId, '--json', `after the ${id} tui`]);
    expect(next.code, next.stderr).toBe(0);
    const followUp = conversationWith(`after the ${id} tui`);
    expect(followUp.some((turn) => turn.kind === 'user' && turn.text.includes(typed))).toBe(true);
    expect(followUp.some((turn) => turn.kind === 'assistant' && turn.text.includes(`ACK ${typed}`))).toBe(true);
  }, 420_000);

  it('keeps the last save when the terminal is closed mid-turn, and hands the conversation back', async () => {
    const conversationId = await startOnA();
    const b = await world.machine(`${id}-b-kill`);
    const terminal = await openOn(b, conversationId, 'kill');
    await terminal.waitForScreen(new RegExp(`made-on-A-${id}`), 'the resumed conversation on screen');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The scripted model holds a SLOW reply for a minute: the terminal is closed while the turn is in flight.
    const typed = `SLOW question in the ${id} tui`;
    await submit(terminal, typed);
    // A periodic save (every 5 s) has stored the typed prompt.
    await waitFor(async () => (await world.baton(b, ['show', conversationId])).stdout.includes(typed), 'a periodic save with the typed prompt', 90_000);
    await terminal.close();

    // baton got the hang-up, made its final save and released the lease (or it expires): the run is over.
    const finished = await waitFor(async () => {
      const shown = JSON.parse((await world.baton(b, ['show', conversationId, '--json'])).stdout);
      const last = shown.runs.at(-1);
      return last.status !== 'running' ? last : undefined;
    }, 'the interactive run to end', 120_000);
    expect(finished.kind).toBe('interactive');
    expect(['interrupted', 'succeeded']).toContain(finished.status);

    const c = await world.machine(`${id}-c-kill`);
    const next = await world.baton(c, ['resume', conversationId, '--json', `after the closed ${id} tui`]);
    expect(next.code, next.stderr).toBe(0);
    const followUp = conversationWith(`after the closed ${id} tui`);
    expect(followUp.some((turn) => turn.kind === 'user' && turn.text.includes(typed))).toBe(true);
    expect(followUp.some((turn) => turn.kind === 'tool_output' && turn.text.includes(`made-on-A-${id}`))).toBe(true);
  }, 420_000);
});
