/**
 * The harness contract: one suite that every harness passes, end to end through the `baton` command line with
 * the real CLI against the scripted model server. A resume passes only when the model's next request carries
 * the earlier turns, sent from a fresh home in another working directory that shares nothing but the store.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INTERRUPTED_TOOL_RESULT } from '../../src/harness/claude/transcript.js';
import type { Harness } from '../../src/harness/harness.js';
import { HARNESS_IDS, type HarnessId } from '../../src/harness/ids.js';
import { getHarness } from '../../src/harness/registry.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Machine } from '../../src/testing/machine.js';
import { conversationOf, lastUserText, type Turn } from '../e2e/model-requests.js';
import { createWorld, killAgentOf, processesOf, runJson, waitFor, type World } from '../e2e/world.js';

interface HarnessUnderTest {
  id: HarnessId;
  home(machine: Machine): string;
  /** The variable that places the CLI's home in the environment of its processes, and its value on a machine. */
  homeVariable: 'CODEX_HOME' | 'CLAUDE_CONFIG_DIR' | 'GEMINI_CLI_HOME' | 'XDG_DATA_HOME';
  homeVariableValue(machine: Machine): string;
  /** The CLI's own session ids. */
  sessionIdPattern: RegExp;
  /** Whether a file under the home belongs to the session (Gemini names its files by the id's first 8 characters). */
  isSessionFile(path: string, sessionId: string): boolean;
  /**
   * What the model is told about a tool whose result the killed CLI never wrote down. verified with codex 0.171:
   * Codex writes a tool's output to the rollout before it asks the model again, and on resume answers a call
   * without output with "aborted". verified with Claude Code 2.1.332: Claude may not have written the
   * tool_result line yet when it is killed (it writes lines asynchronously), and baton's repair answers the
   * dangling tool_use with the CLI's own interrupted-tool text.
   */
  unansweredToolOutput: RegExp;
  /** What the CLI's own SIGINT handler leaves behind: see {@link InterruptRecord}; undefined for a CLI without one. */
  interrupt: InterruptRecord | undefined;
  /** How long one case may take: OpenCode starts in seconds (each run, and each export or import baton makes). */
  timeoutMs: number;
}

/**
 * The CLI's own reaction to SIGINT. It is proof that the CLI received the signal and ended the turn itself,
 * rather than baton killing it: neither CLI writes it on SIGTERM or SIGKILL, and a CLI killed by a signal
 * has no exit code. Probed by signalling the CLI process alone inside baton's sandbox, mid-turn (the model's
 * answer held back):
 * - verified with codex 0.171: on SIGINT `codex exec` appends a `user` message `<turn_aborted>\nThe user
 *   interrupted the previous turn on purpose. …` and `{"type":"event_msg","payload":{"type":"turn_aborted",
 *   "reason":"interrupted",…}}` to the rollout, then exits 1; on SIGTERM it dies of the signal and writes neither.
 * - verified with Claude Code 2.1.332: on SIGINT `claude -p` appends a `user` line whose content is the text
 *   `[Request interrupted by user]` (`"rowSource":"harness"`), prints a failed result, and exits 0; on SIGTERM
 *   it dies of the signal and writes nothing.
 * The resumed model request carries that record, so the model knows its turn was cut off.
 */
interface InterruptRecord {
  /**
   * Whether one line of the native transcript is the CLI's interrupt record, and how the record reaches the model
   * on the next resume; undefined for a CLI that writes none (its own exit code is then the only evidence).
   */
  record: { isRecord(line: Record<string, any>): boolean; modelSees: Turn } | undefined;
  /** The CLI's own exit code after it handled SIGINT. */
  exitCode: number;
}

const CLAUDE_INTERRUPT_TEXT = '[Request interrupted by user]';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const HARNESSES: Record<HarnessId, HarnessUnderTest> = {
  codex: {
    id: 'codex',
    home: (machine) => machine.homes.codex,
    homeVariable: 'CODEX_HOME',
    homeVariableValue: (machine) => machine.homes.codex,
    sessionIdPattern: UUID,
    timeoutMs: 60_000,
    unansweredToolOutput: /aborted/,
    isSessionFile: (path, sessionId) => path.includes(sessionId),
    interrupt: {
      record: {
        isRecord: (line) => line.type === 'event_msg' && line.payload?.type === 'turn_aborted' && line.payload?.reason === 'interrupted',
        modelSees: { kind: 'user', text: expect.stringMatching(/^<turn_aborted>\nThe user interrupted the previous turn on purpose\./) },
      },
      exitCode: 1,
    },
  },
  claude: {
    id: 'claude',
    home: (machine) => machine.homes.claude,
    homeVariable: 'CLAUDE_CONFIG_DIR',
    homeVariableValue: (machine) => machine.homes.claude,
    sessionIdPattern: UUID,
    timeoutMs: 60_000,
    unansweredToolOutput: new RegExp(escapeRegExp(INTERRUPTED_TOOL_RESULT)),
    isSessionFile: (path, sessionId) => path.includes(sessionId),
    interrupt: {
      record: {
        isRecord: (line) => line.type === 'user' && Array.isArray(line.message?.content) && line.message.content.some((block: any) => block?.type === 'text' && block.text === CLAUDE_INTERRUPT_TEXT),
        modelSees: { kind: 'user', text: CLAUDE_INTERRUPT_TEXT },
      },
      exitCode: 0,
    },
  },
  gemini: {
    id: 'gemini',
    home: (machine) => machine.homes.gemini,
    homeVariable: 'GEMINI_CLI_HOME',
    homeVariableValue: (machine) => machine.homes.gemini,
    sessionIdPattern: UUID,
    timeoutMs: 60_000,
    // verified with gemini 0.61.0: `tmp/<slug>/chats/session-<time>-<id8>.jsonl`, plus `logs/session-<id>.jsonl`
    // and `tool-outputs/session-<id>/` when there are some.
    isSessionFile: (path, sessionId) => path.includes(sessionId) || path.endsWith(`-${sessionId.slice(0, 8)}.jsonl`),
    // verified with gemini 0.61.0: a tool call is recorded only once it completes (the reply's record before that
    // has `content:""` and no `toolCalls`); baton records the call the CLI reported starting, answered as cut off
    // (src/harness/gemini/interrupted-tools.ts), and the resumed model request carries both.
    unansweredToolOutput: /the CLI was stopped while this tool ran/,
    interrupt: {
      // verified with gemini 0.61.0 (GEMINI_CLI_NO_RELAUNCH=true): SIGINT and SIGTERM both run the CLI's
      // gracefulShutdown, which exits 0 within a second without writing a record or a `result` event.
      record: undefined,
      exitCode: 0,
    },
  },
  opencode: {
    id: 'opencode',
    // OpenCode's data directory (its sessions): `$XDG_DATA_HOME/opencode`, with the other XDG homes beside it.
    home: (machine) => join(String(machine.env.XDG_DATA_HOME), 'opencode'),
    homeVariable: 'XDG_DATA_HOME',
    isSessionFile: (path, sessionId) => path.includes(sessionId),
    homeVariableValue: (machine) => String(machine.env.XDG_DATA_HOME),
    // verified with opencode 1.18.33: ids are `ses_` + 26 characters; baton chooses them in the same shape.
    sessionIdPattern: /^ses_[0-9a-f]{12}[0-9A-Za-z]{14}$/,
    // verified with opencode 1.18.33: on resume, a tool part the killed CLI left `running` reaches the model as
    // the output "[Tool execution was interrupted]".
    unansweredToolOutput: /Tool execution was interrupted/,
    // verified with opencode 1.18.33: `opencode run` has no SIGINT handler of its own — SIGINT (to the process or
    // its group) is ignored and the turn runs to its end; SIGTERM ends it at once with exit 143, writing nothing.
    // There is no interrupt record to find: baton's escalation (SIGTERM after the grace period) ends the run.
    interrupt: undefined,
    timeoutMs: 240_000,
  },
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function filesUnder(directory: string): Promise<string[]> {
  if (!existsSync(directory)) return [];
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe.each(HARNESS_IDS.map((id) => HARNESSES[id]))('the $id harness', (harness) => {
  let world: World;
  beforeEach(async () => {
    world = await createWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  const run = (machine: Machine, prompt: string) => world.baton(machine, ['run', '--harness', harness.id, '--json', prompt]);
  const resume = (machine: Machine, conversationId: string, prompt: string) => world.baton(machine, ['resume', conversationId, '--json', prompt]);
  /** The model request that carried `prompt` as its newest user message. */
  const requestFor = (prompt: string) => {
    const request = world.turns().find((turn) => lastUserText(turn) === prompt);
    if (!request) throw new Error(`no model request carried the prompt ${JSON.stringify(prompt)}`);
    return request;
  };

  it('runs a new conversation with a tool call and resumes it on a fresh machine in another directory', async () => {
    const machineA = await world.machine('machine-a');
    const first = await run(machineA, 'RUN echo made-on-machine-a');
    expect(first.code, first.stderr).toBe(0);
    const started = runJson(first);
    expect(started).toMatchObject({ harness: harness.id, status: 'succeeded', exitCode: 0 });
    expect(started.sessionId).toMatch(harness.sessionIdPattern);
    await machineA.destroy();

    const machineB = await world.machine('machine-b', 'somewhere else');
    expect((await filesUnder(harness.home(machineB))).filter((path) => harness.isSessionFile(path, started.sessionId!))).toEqual([]);
    const second = await resume(machineB, started.conversationId, 'what did the command print?');
    expect(second.code, second.stderr).toBe(0);
    expect(runJson(second)).toMatchObject({ conversationId: started.conversationId, sessionId: started.sessionId, status: 'succeeded' });

    const followUp = requestFor('what did the command print?');
    const turns = conversationOf(followUp);
    expect(turns).toContainEqual({ kind: 'user', text: 'RUN echo made-on-machine-a' });
    expect(turns).toContainEqual({ kind: 'tool_call', text: expect.stringContaining('echo made-on-machine-a') });
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('made-on-machine-a') });
    expect(turns).toContainEqual({ kind: 'assistant', text: 'The command printed: made-on-machine-a' });
    // The resumed agent works in machine B's directory.
    expect(JSON.stringify(followUp.body)).toContain(machineB.cwd);

    // The rehydrated transcript files are private to their owner.
    const sessionFiles = (await filesUnder(harness.home(machineB))).filter((path) => harness.isSessionFile(path, started.sessionId!));
    expect(sessionFiles.length).toBeGreaterThan(0);
    for (const file of sessionFiles) {
      expect((await stat(file)).mode & 0o777, file).toBe(0o600);
    }
  }, harness.timeoutMs);

  it('carries one conversation across three machines in a row', async () => {
    const prompts = ['RUN echo step-one', 'second prompt on machine B', 'third prompt on machine C'];
    const machineA = await world.machine('machine-a');
    const { conversationId } = runJson(await run(machineA, prompts[0]!));
    await machineA.destroy();
    const machineB = await world.machine('machine-b', 'b-project');
    expect(runJson(await resume(machineB, conversationId, prompts[1]!)).status).toBe('succeeded');
    await machineB.destroy();
    const machineC = await world.machine('machine-c', 'c.project_ü');
    expect(runJson(await resume(machineC, conversationId, prompts[2]!)).status).toBe('succeeded');

    const turns = conversationOf(requestFor(prompts[2]!));
    for (const prompt of prompts) expect(turns).toContainEqual({ kind: 'user', text: prompt });
    expect(turns).toContainEqual({ kind: 'assistant', text: 'ACK second prompt on machine B' });
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('step-one') });

    const shown = await world.baton(machineC, ['show', conversationId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/run 1 · new · succeeded[\s\S]*> RUN echo step-one[\s\S]*\$ echo step-one\n\s+step-one[\s\S]*run 2 · resume · succeeded[\s\S]*ACK second prompt on machine B[\s\S]*run 3 · resume · succeeded[\s\S]*ACK third prompt on machine C/);
  }, harness.timeoutMs);

  it('refuses a second follow-up while a run is active with CONVERSATION_BUSY', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId } = runJson(await run(machineA, 'hello'));
    const machineB = await world.machine('machine-b');
    const slow = world.start(machineB, ['resume', conversationId, '--json', 'SLOW: hold this turn']);
    await waitFor(() => world.turns().some((turn) => lastUserText(turn) === 'SLOW: hold this turn'), 'the slow turn to reach the model');

    const machineC = await world.machine('machine-c');
    const busy = await world.baton(machineC, ['resume', conversationId, 'a second follow-up']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/^error: conversation c_\w+ is busy: run r_\w+ is active on .+\nhint: wait for that run to finish/m);
    expect(busy.stderr).not.toMatch(/\n\s+at /);
    expect(world.turns().some((turn) => lastUserText(turn) === 'a second follow-up')).toBe(false);

    slow.kill('SIGINT');
    const interrupted = await slow.result;
    expect(interrupted.code).toBe(130);
    expect(runJson(interrupted).status).toBe('interrupted');
  }, harness.timeoutMs);

  it('saves what a killed run did, and the conversation resumes from it', async () => {
    const machineA = await world.machine('machine-a');
    const running = world.start(machineA, ['run', '--harness', harness.id, '--json', 'RUN echo SLOW-before-the-kill']);
    // The tool ran and its output reached the model, whose answer is held back: kill the CLI now.
    await waitFor(() => world.turns().some((turn) => conversationOf(turn).some((t) => t.kind === 'tool_output' && t.text.includes('SLOW-before-the-kill'))), 'the tool output to reach the model');
    expect(await killAgentOf(harness.homeVariable, harness.homeVariableValue(machineA), 'SIGKILL')).toBeGreaterThan(0);
    const killed = await running.result;
    const result = runJson(killed);
    expect(result.status).toBe('failed');
    expect(killed.code).toBe(1);
    await machineA.destroy();

    const machineB = await world.machine('machine-b');
    const resumed = await resume(machineB, result.conversationId, 'carry on');
    expect(runJson(resumed)).toMatchObject({ status: 'succeeded', sessionId: result.sessionId });
    const turns = conversationOf(requestFor('carry on'));
    expect(turns).toContainEqual({ kind: 'user', text: 'RUN echo SLOW-before-the-kill' });
    expect(turns).toContainEqual({ kind: 'tool_call', text: expect.stringContaining('SLOW-before-the-kill') });
    const output = turns.find((turn) => turn.kind === 'tool_output')?.text ?? '';
    if (!output.includes('SLOW-before-the-kill')) expect(output).toMatch(harness.unansweredToolOutput);

    const shown = await world.baton(machineB, ['show', result.conversationId]);
    expect(shown.stdout).toMatch(/run 1 · new · failed[\s\S]*killed by SIGKILL[\s\S]*run 2 · resume · succeeded/);
  }, harness.timeoutMs);

  it('never counts a CLI stopped from outside (SIGTERM to the CLI alone) as a success, and the conversation resumes', async () => {
    const machineA = await world.machine('machine-a');
    const running = world.start(machineA, ['run', '--harness', harness.id, '--json', 'RUN echo SLOW-before-the-stop']);
    await waitFor(() => world.turns().some((turn) => conversationOf(turn).some((t) => t.kind === 'tool_output' && t.text.includes('SLOW-before-the-stop'))), 'the tool output to reach the model');
    expect(await killAgentOf(harness.homeVariable, harness.homeVariableValue(machineA), 'SIGTERM')).toBeGreaterThan(0);
    const result = runJson(await running.result);
    expect(['failed', 'interrupted']).toContain(result.status);
    const machineB = await world.machine('machine-b');
    const resumed = await resume(machineB, result.conversationId, 'after the stop');
    expect(runJson(resumed).status, resumed.stderr).toBe('succeeded');
    expect(conversationOf(requestFor('after the stop'))).toContainEqual({ kind: 'user', text: 'RUN echo SLOW-before-the-stop' });
  }, harness.timeoutMs);

  it('resumes a run killed while its tool was still running', async () => {
    const machineA = await world.machine('machine-a');
    const running = world.start(machineA, ['run', '--harness', harness.id, '--json', 'RUN echo started-the-tool; sleep 30']);
    // Kill the CLI while the command it started is still running.
    const isTheTool = (commandLine: string[]) => /(^|\/)sleep$/.test(commandLine[0] ?? '') && commandLine[1] === '30';
    const tools = await waitFor(async () => {
      const pids = await processesOf(harness.homeVariable, harness.homeVariableValue(machineA), isTheTool);
      return pids.length > 0 ? pids : undefined;
    }, 'the tool to start');
    expect(await killAgentOf(harness.homeVariable, harness.homeVariableValue(machineA), 'SIGKILL')).toBeGreaterThan(0);
    const result = runJson(await running.result);
    expect(result.status).toBe('failed');
    // The CLI's own commands do not outlive it: its PID namespace went with it.
    await waitFor(async () => ((await processesOf(harness.homeVariable, harness.homeVariableValue(machineA), isTheTool)).length === 0 ? true : undefined), 'the killed CLI\'s commands to be gone', 2_000);
    for (const pid of tools) expect(() => process.kill(pid, 0)).toThrow();

    const machineB = await world.machine('machine-b');
    const resumed = await resume(machineB, result.conversationId, 'after the killed tool');
    expect(runJson(resumed).status, resumed.stderr).toBe('succeeded');
    const turns = conversationOf(requestFor('after the killed tool'));
    expect(turns).toContainEqual({ kind: 'user', text: 'RUN echo started-the-tool; sleep 30' });
    expect(turns).toContainEqual({ kind: 'tool_call', text: expect.stringContaining('sleep 30') });
    // The call the CLI never finished is answered, so the model's history stays valid.
    expect(turns.find((turn) => turn.kind === 'tool_output')?.text).toMatch(harness.unansweredToolOutput);
  }, harness.timeoutMs);

  it('forwards Ctrl-C to the CLI, which ends its turn itself, and still makes the final save', async () => {
    const machineA = await world.machine('machine-a');
    const running = world.start(machineA, ['run', '--harness', harness.id, '--json', 'RUN echo SLOW-interrupted']);
    await waitFor(() => world.turns().some((turn) => conversationOf(turn).some((t) => t.kind === 'tool_output' && t.text.includes('SLOW-interrupted'))), 'the tool output to reach the model');
    running.kill('SIGINT');
    const interrupted = await running.result;
    expect(interrupted.code).toBe(130);
    const result = runJson(interrupted);
    expect(result.status).toBe('interrupted');
    // The CLI exited with its own code: it was not killed by baton's SIGTERM/SIGKILL escalation (exitCode null).
    if (harness.interrupt) expect(result.exitCode, interrupted.stderr).toBe(harness.interrupt.exitCode);

    const store = await openSqliteStore(world.storePath);
    try {
      const transcript = await store.loadTranscript(result.conversationId);
      const saved = transcript?.files.find((file) => file.key === 'main')?.content.toString() ?? '';
      expect(saved).toContain('SLOW-interrupted');
      // The final save came after the CLI's own interrupt handling wrote its record.
      const records = saved.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, any>);
      const record = harness.interrupt?.record;
      if (record) expect(records.filter(record.isRecord), 'the CLI\'s own interrupt record in the saved transcript').toHaveLength(1);
      expect((await store.getConversation(result.conversationId))?.activeRunId).toBeUndefined();
    } finally {
      await store.close();
    }
    const resumed = await resume(await world.machine('machine-b'), result.conversationId, 'after the interrupt');
    expect(runJson(resumed).status).toBe('succeeded');
    const turns = conversationOf(requestFor('after the interrupt'));
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('SLOW-interrupted') });
    if (harness.interrupt?.record) expect(turns).toContainEqual(harness.interrupt.record.modelSees);
  }, harness.timeoutMs);

  it('exports a conversation, imports it into an empty store elsewhere, and resumes it there', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId, sessionId } = runJson(await run(machineA, 'RUN echo exported-turn'));
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
    expect(again.stderr).toMatch(/^error: conversation c_\w+ already exists in .+\nhint: /);

    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', 'after import'], { store: otherStore });
    expect(runJson(resumed)).toMatchObject({ status: 'succeeded', sessionId });
    expect(conversationOf(requestFor('after import'))).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('exported-turn') });
  }, harness.timeoutMs);

  it('refuses to resume a corrupted transcript with TRANSCRIPT_CORRUPT and writes nothing', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId, sessionId } = runJson(await run(machineA, 'RUN echo soon-to-be-damaged'));
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
    const requestsBefore = world.turns().length;
    const resumed = await world.baton(machineB, ['resume', conversationId, 'go on']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/^error: stored transcript ".+" of conversation c_\w+ is corrupt: .+\nhint: /m);
    expect((await filesUnder(harness.home(machineB))).filter((path) => harness.isSessionFile(path, sessionId!))).toEqual([]);
    expect(world.turns().length).toBe(requestsBefore);
  }, harness.timeoutMs);

  it('refuses its transcript to another harness with HARNESS_MISMATCH, in the library and on import', async () => {
    const machineA = await world.machine('machine-a');
    const { conversationId, sessionId } = runJson(await run(machineA, 'hello'));
    const store = await openSqliteStore(world.storePath);
    const stored = await store.loadTranscript(conversationId);
    await store.close();
    const envelope = { harness: harness.id, sessionId: sessionId!, meta: stored!.meta!, files: stored!.files };
    const machineB = await world.machine('machine-b');
    for (const other of HARNESS_IDS.filter((id) => id !== harness.id)) {
      const otherHarness = getHarness(other) as Harness;
      expect(() => otherHarness.resumeInfo(envelope)).toThrow(expect.objectContaining({ code: 'HARNESS_MISMATCH' }));
      const context = { home: HARNESSES[other].home(machineB), cwd: machineB.cwd, env: machineB.env };
      await expect(otherHarness.rehydrate(envelope, context)).rejects.toMatchObject({ code: 'HARNESS_MISMATCH' });
      expect((await filesUnder(context.home)).filter((path) => HARNESSES[other].isSessionFile(path, sessionId!))).toEqual([]);

      const exportFile = join(world.root, `relabelled-as-${other}.json`);
      const document = JSON.parse((await world.baton(machineA, ['export', conversationId])).stdout);
      document.conversation.harness = other;
      await writeFile(exportFile, JSON.stringify(document));
      const imported = await world.baton(machineB, ['import', exportFile], { store: join(machineB.root, 'other.db') });
      expect(imported.code).toBe(1);
      expect(imported.stderr).toMatch(new RegExp(`^error: .+ pairs a ${other} conversation with a transcript written by ${harness.id}\\nhint: `));
    }
    expect(await readFile(world.storePath).then((bytes) => bytes.length)).toBeGreaterThan(0);
  }, harness.timeoutMs);
});
