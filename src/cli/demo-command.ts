/**
 * `baton demo`: the whole idea in well under a minute, offline. A built-in scripted model endpoint on
 * 127.0.0.1 stands in for a real model; the real Codex CLI runs a conversation with a tool call on "machine A"
 * (its own HOME, CODEX_HOME and working directory), machine A is deleted, and "machine B" — sharing only the
 * store — resumes the conversation with a follow-up the model can only answer if it sees the earlier turns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HarnessId } from '../harness/ids.js';
import { resumeConversation, startConversation, type RunResult } from '../run/runner.js';
import { openSqliteStore } from '../store/sqlite.js';
import { createMachine } from '../testing/machine.js';
import { demoScript, startScriptedModelServer } from '../testing/scripted-model-server.js';
import { BatonError } from '../errors.js';
import { renderConversation } from './inspect-commands.js';
import { formatEvent } from './progress.js';

const FIRST_PROMPT = 'Run a shell command that says hello, then tell me what it printed.';
const FOLLOW_UP = 'What was my first request, and what did the command print?';

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

function printer(machine: string): (event: Parameters<typeof formatEvent>[0]) => void {
  return (event) => {
    const line = formatEvent(event);
    if (line !== undefined) say(line.split('\n').map((part) => `  [${machine}] ${part}`).join('\n'));
  };
}

function check(result: RunResult, what: string): void {
  if (result.status !== 'succeeded') {
    throw new BatonError('CLI_FAILED', `the demo's ${what} ${result.status}: ${result.error ?? 'unknown error'}`, {
      hint: 'run `npx codex --version` to check that the Codex CLI works on this machine',
    });
  }
}

export async function runDemo(options: { keep?: boolean }): Promise<void> {
  const harness: HarnessId = 'codex';
  const root = await mkdtemp(join(tmpdir(), 'baton-demo-'));
  const model = await startScriptedModelServer({ script: demoScript });
  const store = await openSqliteStore(join(root, 'shared-store', 'baton.db'));
  try {
    say(`baton demo — a scripted model server on ${model.url} stands in for a real model (offline; no API key used)`);
    say(`store shared by both machines: ${store.location}\n`);

    const machineA = await createMachine(root, 'machine-a', model);
    say(`machine A: HOME=${machineA.home} CODEX_HOME=${machineA.codexHome} cwd=${machineA.cwd}`);
    say(`$ baton run --harness codex ${JSON.stringify(FIRST_PROMPT)}`);
    const first = await startConversation({ store, harness, prompt: FIRST_PROMPT, cwd: machineA.cwd, env: machineA.env, onEvent: printer('A') });
    check(first, 'first run');
    say(`conversation ${first.conversationId} (Codex session ${first.sessionId}) saved; deleting machine A\n`);
    await machineA.destroy();

    const machineB = await createMachine(root, 'machine-b', model, 'elsewhere');
    say(`machine B: HOME=${machineB.home} CODEX_HOME=${machineB.codexHome} cwd=${machineB.cwd} (fresh: no Codex session files)`);
    say(`$ baton resume ${first.conversationId} ${JSON.stringify(FOLLOW_UP)}`);
    const second = await resumeConversation({ store, conversationId: first.conversationId, prompt: FOLLOW_UP, cwd: machineB.cwd, env: machineB.env, onEvent: printer('B') });
    check(second, 'resume');
    if (second.sessionId !== first.sessionId) throw new BatonError('SESSION_MISMATCH', 'the resume did not continue the same Codex session', { hint: 'report this as a bug' });
    say(`\nresumed on machine B in the same Codex session ${second.sessionId}; the model saw ${model.requests.filter((request) => request.turn).length} requests in all\n`);
    say('$ baton show ' + first.conversationId);
    process.stdout.write(await renderConversation(store, first.conversationId));
    if (options.keep) say(`\nkept: ${root}\n  baton --store ${store.location} show ${first.conversationId}`);
  } finally {
    await store.close();
    await model.close();
    if (!options.keep) await rm(root, { recursive: true, force: true });
  }
}
