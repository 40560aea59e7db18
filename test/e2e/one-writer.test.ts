/**
 * One writer per conversation when processes die or stall, with the real CLIs: a `baton run` killed with
 * SIGKILL leaves no process behind and its next resume here continues from the longer local copy; a run
 * stopped (SIGSTOP) past its lease while another machine resumes stops when it wakes, and its extra work
 * lands in a forked conversation while the other run's history stays intact.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../src/testing/machine.js';
import type { Script } from '../../src/testing/scripted-model-server.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { MAIN_FILE_KEY } from '../../src/transcript/envelope.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, processesOf, runJson, testScript, waitFor, type World } from './world.js';

const HARNESSES = ['codex', 'claude'] as const;
type HarnessName = (typeof HARNESSES)[number];
/** A short lease, so that a dead or stopped run is taken over within the test. */
const LEASE = { BATON_LEASE_SECONDS: '2' };
const STALL_MS = 10_000;

/** The tests' model, plus: a prompt with STALL is answered after 10 s with STALLED-REPLY. */
const script: Script = (request, index) => {
  if (!request.lastIsToolOutput && request.prompt?.includes('STALL')) return { kind: 'text', text: `STALLED-REPLY to ${request.prompt}`, delayMs: STALL_MS };
  return testScript(request, index);
};

let world: World;
let store: Store;
beforeAll(async () => {
  world = await createWorld(script);
  store = await openSqliteStore(world.storePath);
});
afterAll(async () => {
  await store?.close();
  await world?.cleanup();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pids whose argv is exactly `argv`. */
async function processesWithArgv(argv: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const found = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').filter((part) => part !== '');
    if (found.join('\0') === argv.join('\0')) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Stops `pid` (SIGSTOP) at a moment it holds none of the SQLite store's write locks: a process stopped in the
 * middle of a write keeps every other writer of that file out (their error is STORE_BUSY), which is another
 * scenario than the one tested here. SQLite in WAL mode takes them as POSIX locks on bytes 120–127 of the
 * `-shm` file (the writer's, the checkpointer's, the read marks' updates), which /proc/locks lists with the pid.
 */
async function stopOutsideAStoreWrite(pid: number, storePath: string): Promise<void> {
  const inode = String((await stat(`${storePath}-shm`)).ino);
  for (let attempt = 0; attempt < 100; attempt++) {
    process.kill(pid, 'SIGSTOP');
    const locks = (await readFile('/proc/locks', 'utf8')).split('\n').map((line) => line.trim().split(/\s+/));
    const writing = locks.some((fields) => fields[1] === 'POSIX' && fields[3] === 'WRITE' && fields[4] === String(pid) && fields[5]?.endsWith(`:${inode}`) && Number(fields[6]) <= 127);
    if (!writing) return;
    process.kill(pid, 'SIGCONT');
    await pause(20);
  }
  throw new Error(`process ${pid} held the store's write lock at every one of 100 tries`);
}

const homeOf = (machine: Machine, harness: HarnessName) => ({ variable: harness === 'codex' ? ('CODEX_HOME' as const) : ('CLAUDE_CONFIG_DIR' as const), home: machine.homes[harness] });

/** The session file under the machine's CLI home that contains `text`. */
/** The session file under the machine's CLI home with a complete line that contains `text` (and `alsoOnLine`). */
async function localTranscriptWith(machine: Machine, harness: HarnessName, text: string, alsoOnLine?: string): Promise<string | undefined> {
  const root = join(homeOf(machine, harness).home, harness === 'codex' ? 'sessions' : 'projects');
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!entry.endsWith('.jsonl') || entry.includes('subagents')) continue;
    const content = await readFile(join(root, entry), 'utf8').catch(() => '');
    const lines = content.split('\n').slice(0, -1);
    if (lines.some((line) => line.includes(text) && (alsoOnLine === undefined || line.includes(alsoOnLine)))) return join(root, entry);
  }
  return undefined;
}

/**
 * The line that carries a tool's output to the model. Codex writes the output twice, in an `exec_command_end` event
 * and in the `function_call_output` item: a kill that lands between the two (seen once under load) leaves the output
 * on disk in a line the model is never sent, and the test must wait for the one it is.
 */
const TOOL_OUTPUT_LINE: Record<HarnessName, string> = { codex: '"function_call_output"', claude: '"tool_result"' };

async function storedMain(conversationId: string): Promise<string> {
  const stored = await store.loadTranscript(conversationId);
  return stored?.files.find((file) => file.key === MAIN_FILE_KEY)?.content.toString('utf8') ?? '';
}

async function newestConversationId(after: Set<string>): Promise<string> {
  return waitFor(async () => (await store.listConversations()).find((conversation) => !after.has(conversation.id) && conversation.sessionId)?.id, 'the new conversation to have a session');
}

const knownConversations = async () => new Set((await store.listConversations()).map((conversation) => conversation.id));

describe.each(HARNESSES)('%s: a baton run killed with SIGKILL', (harness) => {
  it('leaves no process of its run behind within 2 s', async () => {
    const machine = await world.machine(`killed-${harness}`);
    const seconds = harness === 'codex' ? '41.3' : '41.7';
    // verified with Claude Code 2.1.332: a standalone `sleep N` is blocked by its Bash tool; a chained one runs.
    const running = world.start(machine, ['run', '--harness', harness, '--json', `RUN echo waiting && sleep ${seconds}`], { env: LEASE });
    await waitFor(async () => (await processesWithArgv(['sleep', seconds])).length > 0 || undefined, 'the agent to run sleep');
    const { variable, home } = homeOf(machine, harness);
    expect((await processesOf(variable, home, () => true)).length).toBeGreaterThan(1);

    running.kill('SIGKILL');
    const killedAt = Date.now();
    await running.result;
    await waitFor(async () => ((await processesWithArgv(['sleep', seconds])).length === 0 && (await processesOf(variable, home, () => true)).length === 0) || undefined, 'every process of the run to be gone', 2_000);
    expect(Date.now() - killedAt).toBeLessThan(2_000);
  });

  it('continues, on its next resume here, from the longer local copy it left', async () => {
    const machine = await world.machine(`crashed-${harness}`);
    // The output says SLOW-42-…; the command that prints it does not contain those words.
    const marker = `SLOW-42-${harness}`;
    const before = await knownConversations();
    // The command's output arrives after the first periodic save (5 s); the reply to it is held back (SLOW).
    const running = world.start(machine, ['run', '--harness', harness, '--json', `RUN sleep 6 && echo SLOW-$((6*7))-${harness}`], { env: LEASE });
    const conversationId = await newestConversationId(before);
    await waitFor(() => localTranscriptWith(machine, harness, marker, TOOL_OUTPUT_LINE[harness]), 'the command output on disk, as the tool result the model is sent', 30_000);
    running.kill('SIGKILL');
    await running.result;
    const stored = await storedMain(conversationId);
    expect(stored).not.toBe('');
    expect(stored).not.toContain(marker);

    await pause(2_500); // the killed run's lease expires
    const resumed = await world.baton(machine, ['resume', conversationId, '--json', `after the kill ${harness}`], { env: LEASE });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(runJson(resumed).status).toBe('succeeded');
    expect(resumed.stderr).toContain("this machine's copy of the transcript went on past the store's");
    const request = world.turns().find((turn) => lastUserText(turn) === `after the kill ${harness}`)!;
    expect(conversationOf(request).some((turn) => turn.kind === 'tool_output' && turn.text.includes(marker))).toBe(true);
    expect(await storedMain(conversationId)).toContain(marker);
  });
});

describe.each(HARNESSES)('%s: a run stopped past its lease while another machine resumes', (harness) => {
  it('stops when it wakes; its extra lines land in a forked conversation and the other run keeps the history', async () => {
    const machineA = await world.machine(`stopped-${harness}-a`);
    const machineB = await world.machine(`stopped-${harness}-b`);
    const before = await knownConversations();
    const first = world.start(machineA, ['run', '--harness', harness, '--json', `STALL for ${harness}`], { env: LEASE });
    let stopped = false;
    try {
      const conversationId = await newestConversationId(before);
      await waitFor(async () => ((await storedMain(conversationId)).includes(`STALL for ${harness}`) ? true : undefined), 'the first save', 20_000);
      await stopOutsideAStoreWrite(first.pid, world.storePath);
      stopped = true;
      await pause(3_000); // longer than the lease

      const second = await world.baton(machineB, ['resume', conversationId, '--json', `hello from B ${harness}`], { env: LEASE });
      expect(second.code, second.stderr).toBe(0);
      // Machine A's CLI went on meanwhile: its reply is only on A's disk.
      await waitFor(() => localTranscriptWith(machineA, harness, 'STALLED-REPLY'), "A's CLI to write its reply", STALL_MS + 20_000);

      process.kill(first.pid, 'SIGCONT');
      stopped = false;
      const firstResult = await first.result;
      expect(firstResult.code).not.toBe(0);
      expect(runJson(firstResult).status).toBe('interrupted');
      const forkId = /kept in the forked conversation (c_[0-9a-z]+)/.exec(firstResult.stderr)?.[1];
      expect(forkId, firstResult.stderr).toBeDefined();

      // The original: B's turn, none of A's late work; A's run names the fork and why.
      const original = await storedMain(conversationId);
      expect(original).toContain(`ACK hello from B ${harness}`);
      expect(original).not.toContain('STALLED-REPLY');
      const runs = await store.listRuns(conversationId);
      expect(runs.map((run) => run.status)).toEqual(['interrupted', 'succeeded']);
      expect(runs[0]!.error).toMatch(new RegExp(`lost the conversation's lease .*forked conversation ${forkId}`));

      // The fork: the common prefix, then A's reply; it says where it came from.
      const fork = await store.getConversation(forkId!);
      expect(fork?.forkedFrom).toEqual({ conversationId, runId: runs[0]!.id, reason: expect.stringContaining('lost the lease') });
      expect(fork?.sessionId).toBe((await store.getConversation(conversationId))?.sessionId);
      const forked = await storedMain(forkId!);
      expect(forked).toContain(`STALL for ${harness}`);
      expect(forked).toContain('STALLED-REPLY');
      expect(forked).not.toContain('hello from B');
      const shown = await world.baton(machineA, ['show', forkId!]);
      expect(shown.stdout).toContain(`forked from ${conversationId}`);
    } finally {
      if (stopped) process.kill(first.pid, 'SIGCONT');
      first.kill('SIGKILL');
    }
  });
});

describe('a local copy that went another way than the store', () => {
  it('is REHYDRATE_CONFLICT naming the fork command, and `baton fork --local` keeps it as a conversation that resumes', async () => {
    const machineA = await world.machine('diverged-a');
    const machineB = await world.machine('diverged-b');
    const { conversationId } = runJson(await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'start of the story']));
    expect((await world.baton(machineB, ['resume', conversationId, '--json', 'the store goes on on B'])).code).toBe(0);
    // Meanwhile the session went on differently on A, outside baton.
    const rollout = (await localTranscriptWith(machineA, 'codex', 'start of the story'))!;
    // A copy of the rollout's own reply line (Codex's exact format), saying something else.
    const lines = (await readFile(rollout, 'utf8')).split('\n').filter((line) => line !== '');
    const replyLine = lines.findLast((line) => line.includes('"response_item"') && line.includes('ACK start of the story'))!;
    await writeFile(rollout, `${[...lines, replyLine.replace('ACK start of the story', 'ONLY-ON-A')].join('\n')}\n`);

    const refused = await world.baton(machineA, ['resume', conversationId, 'go on']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .+ already holds a different copy of session .+\nhint: keep this machine's copy as a conversation of its own with `baton fork c_\w+ --local`/m);
    expect(refused.stderr).toContain(`baton fork ${conversationId} --local`);
    expect(await readFile(rollout, 'utf8')).toContain('ONLY-ON-A'); // never clobbered

    const forked = await world.baton(machineA, ['fork', conversationId, '--local']);
    expect(forked.code, forked.stderr).toBe(0);
    const forkId = forked.stdout.trim();
    expect((await store.getConversation(forkId))?.forkedFrom?.conversationId).toBe(conversationId);
    const resumed = await world.baton(machineA, ['resume', forkId, '--json', 'continue the fork']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const request = world.turns().find((turn) => lastUserText(turn) === 'continue the fork')!;
    const texts = conversationOf(request).map((turn) => turn.text);
    expect(texts.join('\n')).toContain('ONLY-ON-A');
    expect(texts.join('\n')).not.toContain('the store goes on on B');
    expect(await storedMain(conversationId)).not.toContain('ONLY-ON-A');
  });
});

describe.each(HARNESSES)('%s: a first run that died before its first save, elsewhere', (harness) => {
  it('a follow-up here starts a new session, with a warning, and the conversation goes on from that one', async () => {
    const machine = await world.machine(`lost-start-${harness}`);
    // What a first run killed before its first save leaves in the store: its session's id, an expired lease, no transcript.
    const created = await store.createConversation({ id: newConversationId(), harness, title: 'lost start', cwd: machine.cwd });
    const lost = randomUUID();
    await store.setSessionId(created.id, lost);
    await store.startRun({ conversationId: created.id, runId: newRunId(), kind: 'new', prompt: `the lost prompt ${harness}`, host: 'elsewhere', cwd: machine.cwd, leaseMs: 1 });
    await pause(20);

    const followUp = await world.baton(machine, ['resume', created.id, '--json', `after the lost start ${harness}`], { env: LEASE });
    expect(followUp.code, followUp.stderr).toBe(0);
    expect(runJson(followUp).status).toBe('succeeded');
    expect(followUp.stderr).toContain(`session ${lost} was saved; this run starts a new session without that history`);
    const request = world.turns().find((turn) => lastUserText(turn) === `after the lost start ${harness}`)!;
    // Nothing of the lost run reaches the model: it never was in the store.
    const sent = conversationOf(request);
    expect(sent.filter((turn) => turn.kind !== 'user')).toEqual([]);
    expect(sent.filter((turn) => turn.text.includes('the lost prompt'))).toEqual([]);
    const restarted = (await store.getConversation(created.id))!.sessionId;
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(lost);
    expect(await storedMain(created.id)).toContain(`after the lost start ${harness}`);

    // The new session is the conversation's now: the next follow-up resumes it, with the first one in its history.
    const next = await world.baton(machine, ['resume', created.id, '--json', `and then ${harness}`], { env: LEASE });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('starts a new session');
    const nextRequest = world.turns().find((turn) => lastUserText(turn) === `and then ${harness}`)!;
    expect(conversationOf(nextRequest).some((turn) => turn.kind === 'user' && turn.text.includes(`after the lost start ${harness}`))).toBe(true);
    expect((await store.getConversation(created.id))!.sessionId).toBe(restarted);
  });
});
