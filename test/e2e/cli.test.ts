/**
 * The `baton` command line itself, with the real CLIs and the scripted model server: proof of resume,
 * user errors, listing. The behaviour every harness shares is in test/harness/contract.test.ts.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { HARNESS_IDS } from '../../src/harness/ids.js';
import { listHarnesses } from '../../src/harness/registry.js';
import { generateKeyText, parseKey } from '../../src/store/master-key.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, processesOf, runJson, waitFor, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

/**
 * A user's argv template that (wrongly) does not continue the stored session. verified with codex 0.171:
 * `codex exec` without `resume` starts a new thread and reports its new id in `thread.started`. verified with
 * Claude Code 2.1.332: `--resume <id> --fork-session` copies the conversation into a new session id, which the
 * `system`/`init` event reports.
 */
const WRONG_RESUME_ARGS = {
  codex: ['exec', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', '--', '{prompt}'],
  claude: ['-p', '--resume', '{sessionId}', '--fork-session', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions', '--', '{prompt}'],
} as const;

describe.each(['codex', 'claude'] as const)('proof of resume with %s', (harness) => {
  it('fails the run with SESSION_MISMATCH when the CLI continues another session, and the conversation resumes normally afterwards', async () => {
    const machineA = await world.machine('machine-a');
    const first = runJson(await world.baton(machineA, ['run', '--harness', harness, '--json', 'RUN echo before-the-mismatch']));
    expect(first.status).toBe('succeeded');
    const { conversationId, sessionId } = first;
    const configPath = join(world.root, 'wrong-resume.json');
    await writeFile(configPath, JSON.stringify({ harnesses: { [harness]: { args: { resume: WRONG_RESUME_ARGS[harness] } } } }));
    const storedBefore = await storedConversation(conversationId);

    const machineB = await world.machine('machine-b');
    const mismatched = await world.baton(machineB, ['resume', conversationId, '--json', 'not really resumed'], { env: { BATON_CONFIG: configPath } });
    expect(mismatched.code, mismatched.stderr).toBe(1);
    expect(runJson(mismatched)).toMatchObject({ status: 'failed', sessionId, errorCode: 'SESSION_MISMATCH' });
    const inText = await world.baton(machineB, ['resume', conversationId, 'not really resumed either'], { env: { BATON_CONFIG: configPath } });
    expect(inText.code).toBe(1);
    expect(inText.stderr).toMatch(/^error: run failed \(SESSION_MISMATCH\): .+ reported session [0-9a-f-]{36} instead of [0-9a-f-]{36}: it did not resume the conversation\nhint: .*args\.resume/m);
    // Nothing the other session wrote was stored under this conversation, which keeps its session id.
    expect(await storedConversation(conversationId)).toEqual(storedBefore);
    const shown = await world.baton(machineB, ['show', conversationId]);
    expect(shown.stdout).toMatch(/run 2 · resume · failed[\s\S]*reported session [0-9a-f-]{36} instead of [0-9a-f-]{36}: it did not resume the conversation/);

    // Without the wrong template the same machine resumes the stored session, and the model sees the first turn.
    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', 'resumed for real']);
    expect(runJson(resumed), resumed.stderr).toMatchObject({ status: 'succeeded', sessionId, errorCode: null });
    const request = world.turns().find((turn) => lastUserText(turn) === 'resumed for real');
    const turns = conversationOf(request!);
    expect(turns).toContainEqual({ kind: 'user', text: 'RUN echo before-the-mismatch' });
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('before-the-mismatch') });
    expect(turns).toContainEqual({ kind: 'assistant', text: 'The command printed: before-the-mismatch' });
    expect(turns.filter((turn) => turn.kind === 'user' && turn.text.startsWith('not really resumed'))).toEqual([]);
  });
});

/** What the store holds for a conversation: its session id and its main transcript file. */
async function storedConversation(conversationId: string): Promise<unknown> {
  const store = await openSqliteStore(world.storePath);
  try {
    const conversation = await store.getConversation(conversationId);
    const transcript = await store.loadTranscript(conversationId);
    return { sessionId: conversation?.sessionId, main: transcript?.files.find((file) => file.key === 'main')?.content.toString('base64') };
  } finally {
    await store.close();
  }
}

describe('baton command-line errors', () => {
  it('answers bad input with one line and a hint, never a stack trace', async () => {
    const machine = await world.machine('machine-a');
    const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
      { args: ['run', '--harness', 'nope', 'x'], code: 1, message: new RegExp(`^error: unknown harness "nope"\\nhint: choose one of: ${HARNESS_IDS.join(', ')}\\n$`) },
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

describe.each(['codex', 'claude'] as const)('baton run with %s starts the CLI while the store opens', (harness) => {
  it('stops the CLI when the store cannot be opened, says why in one line, and leaves no conversation', async () => {
    const machine = await world.machine('machine-a');
    // An encrypted store, and no key given: the store refuses to open only after the CLI has been started.
    const keyText = generateKeyText();
    await (await openSqliteStore(world.storePath, { masterKey: parseKey(keyText, 'the test') })).close();
    const result = await world.baton(machine, ['run', '--harness', harness, '--json', 'never stored']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: the store .* is encrypted: set BATON_MASTER_KEY or pass --master-key-file FILE\n(hint: [^\n]*\n)?$/);
    const home = machine.homes[harness];
    const variable = harness === 'codex' ? 'CODEX_HOME' : 'CLAUDE_CONFIG_DIR';
    expect(await processesOf(variable, home, () => true)).toEqual([]);
    const store = await openSqliteStore(world.storePath, { masterKey: parseKey(keyText, 'the test') });
    try {
      expect(await store.listConversations()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('the config comes from the user, never from the working directory', () => {
  it('ignores ./baton.config.json (saying so once) and reads it only through --config', async () => {
    const machine = await world.machine('machine-a');
    // A restored workspace or a fresh clone shipping a config that points the harness at its own script.
    const marker = join(world.root, 'config-script-ran');
    const script = join(machine.cwd, 'not-codex.sh');
    await writeFile(script, `#!/bin/sh\ntouch '${marker}'\nexit 3\n`);
    await chmod(script, 0o755);
    await writeFile(join(machine.cwd, 'baton.config.json'), JSON.stringify({ harnesses: { codex: { command: script } } }));

    const run = await world.baton(machine, ['run', '--harness', 'codex', '--json', 'hello']);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const notes = run.stderr.split('\n').filter((line) => line.includes('baton.config.json'));
    expect(notes).toEqual(['note: ignoring ./baton.config.json (baton reads only --config FILE, $BATON_CONFIG or ~/.baton/config.json); pass --config ./baton.config.json to use it']);

    const chosen = await world.baton(machine, ['--config', './baton.config.json', 'run', '--harness', 'codex', '--json', 'hello']);
    expect(existsSync(marker)).toBe(true);
    expect(chosen.stderr).not.toMatch(/note: ignoring/);
    expect(runJson(chosen).exitCode).toBe(3);

    const missing = await world.baton(machine, ['--config', join(world.root, 'nope.json'), 'ls']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot read the config file .+nope\.json \(from --config\): .+\nhint: check --config, or leave it out to use ~\/\.baton\/config\.json\n$/);
  });
});

describe('baton rm', () => {
  it('refuses while a run is active, then removes the conversation with its runs and transcript, and says what it removed', async () => {
    const machine = await world.machine('machine-a');
    const store = await openSqliteStore(world.storePath);
    try {
      // The model holds its reply to a SLOW prompt for a minute: the run stays active until interrupted.
      const running = world.start(machine, ['run', '--harness', 'codex', '--json', 'SLOW work to remove']);
      const conversationId = await waitFor(async () => (await store.listConversations()).find((conversation) => conversation.activeRunId)?.id, 'the run to start');
      await waitFor(() => world.turns().some((turn) => JSON.stringify(turn.body).includes('SLOW work to remove')) || undefined, 'the CLI to ask the model');
      const { activeRunId } = (await store.getConversation(conversationId))!;

      const busy = await world.baton(machine, ['rm', conversationId]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toBe(`error: cannot remove conversation ${conversationId} while a run (${activeRunId}) is active\nhint: wait for the run to finish (or interrupt it), then run \`baton rm ${conversationId}\` again\n`);
      expect(busy.stdout).toBe('');
      expect(await store.getConversation(conversationId)).toBeDefined();

      running.kill('SIGINT');
      expect(runJson(await running.result).status).toBe('interrupted');
      expect((await store.loadTranscript(conversationId))?.files.length).toBeGreaterThan(0);

      const removed = await world.baton(machine, ['rm', conversationId]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stdout).toBe(`removed conversation ${conversationId} (codex, 1 run, its transcript and workspace snapshots): "SLOW work to remove"\n`);
      expect(await store.getConversation(conversationId)).toBeUndefined();
      expect(await store.listRuns(conversationId)).toEqual([]);
      expect(await store.loadTranscript(conversationId)).toBeUndefined();
      expect(await store.listWorkspaceSnapshots(conversationId)).toEqual([]);
      expect((await world.baton(machine, ['ls', '--json'])).stdout.trim()).toBe('[]');

      const again = await world.baton(machine, ['rm', conversationId]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(new RegExp(`^error: no conversation ${conversationId} in .+\\nhint: list conversations with \`baton ls\`\\n$`));
    } finally {
      await store.close();
    }
  }, 120_000);

  it('removes only the conversation it is given', async () => {
    const machine = await world.machine('machine-a');
    const { conversationId: kept } = runJson(await world.baton(machine, ['run', '--harness', 'codex', '--json', 'keep me']));
    const { conversationId: removed } = runJson(await world.baton(machine, ['run', '--harness', 'codex', '--json', 'remove me']));
    expect((await world.baton(machine, ['rm', removed])).code).toBe(0);
    const listed = JSON.parse((await world.baton(machine, ['ls', '--json'])).stdout);
    expect(listed.map((row: { id: string }) => row.id)).toEqual([kept]);
    const shown = await world.baton(machine, ['show', kept]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('ACK keep me');
  });
});

describe('baton demo', () => {
  it('runs every harness on machine A, resumes each on machine B, and prints every conversation', async () => {
    const machine = await world.machine('machine-a');
    const demo = await world.baton(machine, ['demo']);
    expect(demo.code, demo.stderr).toBe(0);
    for (const harness of listHarnesses()) expect(demo.stderr).toMatch(new RegExp(`resumed on machine B in the same ${harness.displayName} session \\S+`));
    const shown = demo.stdout.split(/^conversation /m).slice(1);
    expect(shown).toHaveLength(HARNESS_IDS.length);
    for (const conversation of shown) {
      expect(conversation).toMatch(/run 1 · new · succeeded[\s\S]*\$ echo "hello from the baton demo[\s\S]*The command printed: "hello from the baton demo, running in \/.+machine-a\/project"/);
      expect(conversation).toMatch(/run 2 · resume · succeeded[\s\S]*I remember this conversation: it began with "Run a shell command that says hello/);
      // Machine B's model quotes machine A's command output, which only the stored transcript carried to it, and the
      // file A's command wrote, which B's agent read from the restored workspace: each said where it came from.
      expect(conversation).toMatch(/\nThe first command printed "hello from the baton demo, running in \/\S+machine-a\/project" \(from the conversation's history, saved on the first machine\)\./);
      expect(conversation).toMatch(/\$ cat baton-demo\.txt[\s\S]*\nbaton-demo\.txt here holds "hello from the baton demo, running in \/\S+machine-a\/project" \(from the workspace that came with the conversation\)\./);
    }
    // The CLIs' warnings about the demo's stand-ins are not shown to a newcomer.
    expect(demo.stderr).not.toMatch(/Model metadata for `scripted-model` not found|Refusing to create helper binaries/);
    // Four harnesses, two runs each, three of them OpenCode's seconds-long import/export chores: on two busy cores.
  }, 180_000);
});
