/**
 * `baton open ID --server URL`: a conversation started through the server and run headless by a fleet worker
 * continues in the real CLI's own interactive UI on a fresh laptop (driven through tmux), whose saves go to the
 * server's store through the store API. While the TUI runs, the server shows the interactive run and streams its
 * events (SSE, as the web UI follows it); after the person quits, the run is `succeeded` in the server's store with
 * the TUI turn in the transcript, and a follow-up through the API, on a worker, sees that turn in its model request.
 * Closing the laptop's terminal mid-turn keeps the last periodic save on the server and hands the conversation back.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HarnessId } from '../../src/harness/ids.js';
import { followRunEvents } from '../../src/server/run-events-client.js';
import { createMachine, type Machine } from '../../src/testing/machine.js';
import type { RecordedRequest } from '../../src/testing/scripted-model-server.js';
import { openTerminal, type Terminal } from '../helpers/tmux.js';
import { createFleet, fleetScript, type Fleet } from './fleet-world.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { BATON, waitFor } from './world.js';

const QUIT: Partial<Record<HarnessId, string>> = { claude: '/exit', codex: '/quit' };

let tmuxAvailable = true;
try {
  execFileSync('tmux', ['-V']);
} catch {
  tmuxAvailable = false;
  if (process.env.CI) throw new Error('tmux is missing: .ci/run installs it for the tests of baton open');
}

describe.runIf(tmuxAvailable).each(['claude', 'codex'] as const)('baton open --server with the %s harness', (id) => {
  let fleet: Fleet;
  let token: string;
  const terminals: Terminal[] = [];
  beforeAll(async () => {
    fleet = await createFleet({ script: fleetScript });
    token = await fleet.token('acme');
    await fleet.startWorker('w1');
  }, 180_000);
  afterAll(async () => {
    for (const terminal of terminals) await terminal.close();
    await fleet?.cleanup();
  });

  const requestsWithPrompt = (text: string): RecordedRequest[] => fleet.turns().filter((request) => lastUserText(request)?.includes(text) === true);
  const conversationWith = (text: string) =>
    requestsWithPrompt(text)
      .map(conversationOf)
      .reduce((longest, turns) => (turns.length > longest.length ? turns : longest), [] as ReturnType<typeof conversationOf>);

  /** A conversation started through the API and run headless by the worker: it leaves note.txt behind. */
  async function startOnWorker(): Promise<string> {
    const started = await fleet.api(token, 'POST', '/v1/conversations', { harness: id, prompt: `RUN echo made-on-the-worker-${id} > note.txt && cat note.txt` });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const { conversationId, runId } = started.body as { conversationId: string; runId: string };
    await fleet.waitForRun(token, runId, (run) => run.status === 'succeeded', 'the first run on the worker');
    return conversationId;
  }

  /** `baton open ID --server URL` in a terminal on a fresh laptop: its own homes and directory, no store of its own. */
  async function openOnLaptop(conversationId: string, name: string): Promise<{ laptop: Machine; terminal: Terminal }> {
    const laptop = await createMachine(fleet.root, `laptop-${id}-${name}`, fleet.model);
    // The worker's threads carry its provider's name (baton's model proxy), which this laptop does not define: the
    // codex harness runs the TUI under the laptop's own provider (src/harness/codex/provider.ts).
    const env: NodeJS.ProcessEnv = { ...laptop.env, BATON_TOKEN: token };
    delete env.BATON_STORE;
    delete env.BATON_SERVER;
    const terminal = await openTerminal({
      dir: fleet.root,
      name: `open-server-${id}-${name}`,
      argv: [process.execPath, BATON, 'open', conversationId, '--server', fleet.serverUrl, '--bypass-permissions'],
      cwd: laptop.cwd,
      env,
    });
    terminals.push(terminal);
    await terminal.waitForScreen(new RegExp(`made-on-the-worker-${id}`), 'the resumed conversation on screen');
    return { laptop, terminal };
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

  it('continues a worker\'s conversation in the TUI on a laptop, saved to the server, and a worker sees the TUI turn', async () => {
    const conversationId = await startOnWorker();
    const { laptop, terminal } = await openOnLaptop(conversationId, 'open');
    // The workspace came from the server before the CLI started.
    expect(await readFile(join(laptop.cwd, 'note.txt'), 'utf8')).toBe(`made-on-the-worker-${id}\n`);

    // The server records the interactive run, holding the conversation.
    const during = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`);
    const interactiveRun = during.body.runs.at(-1);
    expect(interactiveRun).toMatchObject({ kind: 'interactive', status: 'running' });
    expect(during.body.activeRunId).toBe(interactiveRun.id);

    // Follow the run's events the way the web UI does (SSE from the server) while the person types.
    const streamed: Array<{ type: string; text?: string }> = [];
    const following = new AbortController();
    const followed = followRunEvents({ url: fleet.serverUrl, token, runId: interactiveRun.id, onEvent: (event) => void streamed.push(event as never), signal: following.signal, giveUpMs: 30_000 }).catch(() => undefined);

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const typed = `hello from the ${id} tui on a laptop`;
    await submit(terminal, typed);
    await terminal.waitForScreen(new RegExp(`ACK ${typed}`), 'the reply on screen');
    // The TUI's request carried the worker's turn, its tool output included.
    const sent = conversationWith(typed);
    expect(sent.some((turn) => turn.kind === 'tool_output' && turn.text.includes(`made-on-the-worker-${id}`))).toBe(true);

    // Live: a periodic save (every 5 s) reaches the server, and its events reach an SSE follower before the TUI quits.
    await waitFor(() => streamed.some((event) => event.type === 'message' && event.text === `ACK ${typed}`) || undefined, 'the TUI turn streamed by the server while the TUI runs', 60_000);
    expect(streamed.some((event) => event.type === 'prompt' && event.text === typed)).toBe(true);
    following.abort();
    await followed;

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await terminal.type(QUIT[id]!);
    await terminal.waitForScreen(new RegExp(`saved ${conversationId}; continue it anywhere`), "baton's report of the final save");

    const after = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`);
    expect(after.body.runs.at(-1)).toMatchObject({ id: interactiveRun.id, kind: 'interactive', status: 'succeeded', host: expect.any(String) });
    expect(after.body.activeRunId).toBeNull();
    const view = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}/transcript`);
    expect(view.body.items).toEqual(expect.arrayContaining([{ kind: 'user', text: typed }, expect.objectContaining({ kind: 'assistant', text: `ACK ${typed}` })]));

    // A follow-up through the API runs on a worker and sees the turn typed on the laptop.
    const followUp = await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/followups`, { prompt: `after the ${id} laptop` });
    expect(followUp.status, JSON.stringify(followUp.body)).toBe(202);
    await fleet.waitForRun(token, followUp.body.runId, (run) => run.status === 'succeeded', 'the follow-up on the worker');
    const next = conversationWith(`after the ${id} laptop`);
    expect(next.some((turn) => turn.kind === 'user' && turn.text.includes(typed))).toBe(true);
    expect(next.some((turn) => turn.kind === 'assistant' && turn.text.includes(`ACK ${typed}`))).toBe(true);
    expect(next.some((turn) => turn.kind === 'tool_output' && turn.text.includes(`made-on-the-worker-${id}`))).toBe(true);
    // Nothing went to a store on the laptop.
    expect(existsSync(join(laptop.home, '.baton', 'baton.db'))).toBe(false);
  }, 420_000);

  it('keeps the last save on the server when the laptop\'s terminal is closed mid-turn, and hands the conversation back', async () => {
    const conversationId = await startOnWorker();
    const { terminal } = await openOnLaptop(conversationId, 'kill');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The scripted model holds a SLOW reply for a minute: the terminal is closed while the turn is in flight.
    const typed = `SLOW question in the ${id} tui on a laptop`;
    await submit(terminal, typed);
    const typedSaved = async (): Promise<boolean> => {
      const view = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}/transcript`);
      return (view.body.items as Array<{ kind: string; text?: string }>).some((item) => item.kind === 'user' && item.text?.includes(typed) === true);
    };
    await waitFor(async () => (await typedSaved()) || undefined, 'a periodic save with the typed prompt on the server', 90_000);
    await terminal.close();

    // baton got the hang-up, saved to the server and released the lease: the conversation is idle there.
    const ended = await waitFor(async () => {
      const shown = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`);
      return shown.body.activeRunId === null ? shown.body.runs.at(-1) : undefined;
    }, 'the interactive run to end on the server', 120_000);
    expect(ended.kind).toBe('interactive');
    expect(['interrupted', 'succeeded']).toContain(ended.status);

    const followUp = await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/followups`, { prompt: `after the closed ${id} laptop` });
    expect(followUp.status, JSON.stringify(followUp.body)).toBe(202);
    await fleet.waitForRun(token, followUp.body.runId, (run) => run.status === 'succeeded', 'the follow-up on the worker');
    const next = conversationWith(`after the closed ${id} laptop`);
    expect(next.some((turn) => turn.kind === 'user' && turn.text.includes(typed))).toBe(true);
    expect(next.some((turn) => turn.kind === 'tool_output' && turn.text.includes(`made-on-the-worker-${id}`))).toBe(true);
  }, 420_000);
});

describe('baton open --server, refused up front', () => {
  it('refuses --trust: a conversation the server keeps untrusted stays untrusted on the laptop', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, BATON_TOKEN: 'baton_anything' };
    delete env.BATON_STORE;
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BATON, 'open', 'c_00000000000000000000000000', '--server', 'http://127.0.0.1:9', '--trust'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/error: --trust cannot be used with --server/);
    expect(result.stderr).toMatch(/hint: /);
  });
});
