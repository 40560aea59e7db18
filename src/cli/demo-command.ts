/**
 * `baton demo`: the whole idea in well under a minute, offline. A built-in scripted model endpoint on
 * 127.0.0.1 stands in for a real model; for each harness, the real CLI runs a conversation with a tool call on
 * "machine A" (its own HOME, CLI home and working directory), machine A is deleted, and "machine B" — sharing
 * only the store — resumes the conversation with a follow-up the model can only answer if it sees the earlier
 * turns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatonError } from '../errors.js';
import type { Harness } from '../harness/harness.js';
import { harnessFromName, listHarnesses } from '../harness/registry.js';
import { resumeConversation, startConversation, type RunResult } from '../run/runner.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { createMachine, type Machine } from '../testing/machine.js';
import { demoScript, startScriptedModelServer, type ScriptedModelServer } from '../testing/scripted-model-server.js';
import { renderConversation } from './inspect-commands.js';
import { formatEvent } from './progress.js';

const FIRST_PROMPT = 'Run a shell command that says hello, then tell me what it printed.';
const FOLLOW_UP = 'What was my first request, and what did the command print?';

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

/**
 * CLI warnings about the demo's own stand-ins (the scripted model's made-up name, machines under /tmp), which mean
 * nothing to a newcomer: left out of the demo's output only; a real run shows every warning.
 * verified with codex 0.171: "Model metadata for `scripted-model` not found. Defaulting to fallback metadata; …".
 */
const DEMO_NOISE = [/Model metadata for `scripted-model` not found/, /Refusing to create helper binaries under temporary dir/];

export function isDemoNoise(event: Parameters<typeof formatEvent>[0]): boolean {
  return event.type === 'warning' && DEMO_NOISE.some((pattern) => pattern.test(event.message));
}

function printer(machine: string): (event: Parameters<typeof formatEvent>[0]) => void {
  return (event) => {
    if (isDemoNoise(event)) return;
    const line = formatEvent(event);
    if (line !== undefined) say(line.split('\n').map((part) => `  [${machine}] ${part}`).join('\n'));
  };
}

function check(harness: Harness, result: RunResult, what: string): void {
  if (result.status !== 'succeeded') {
    throw new BatonError('CLI_FAILED', `the demo's ${what} ${result.status}: ${result.error ?? 'unknown error'}`, {
      hint: `run \`npx ${harness.executable.binName} --version\` to check that the ${harness.displayName} works on this machine`,
    });
  }
}

/** Each harness: a real conversation on machine A, machine A deleted, the conversation resumed on machine B. */
async function demonstrate(harness: Harness, root: string, store: Store, model: ScriptedModelServer): Promise<string> {
  const homeOf = (machine: Machine): string => harness.homeVariables.map((variable) => `${variable}=${machine.env[variable] ?? machine.homes[harness.id]}`).join(' ');
  const machineA = await createMachine(root, `${harness.id}-machine-a`, model);
  say(`machine A: HOME=${machineA.home} ${homeOf(machineA)} cwd=${machineA.cwd}`);
  say(`$ baton run --harness ${harness.id} ${JSON.stringify(FIRST_PROMPT)}`);
  const first = await startConversation({ store, harness: harness.id, prompt: FIRST_PROMPT, cwd: machineA.cwd, env: machineA.env, onEvent: printer('A') });
  check(harness, first, `${harness.displayName} first run`);
  say(`conversation ${first.conversationId} (${harness.displayName} session ${first.sessionId}) saved; deleting machine A\n`);
  await machineA.destroy();

  const machineB = await createMachine(root, `${harness.id}-machine-b`, model, 'elsewhere');
  say(`machine B: HOME=${machineB.home} ${homeOf(machineB)} cwd=${machineB.cwd} (fresh: no session files)`);
  say(`$ baton resume ${first.conversationId} ${JSON.stringify(FOLLOW_UP)}`);
  const second = await resumeConversation({ store, conversationId: first.conversationId, prompt: FOLLOW_UP, cwd: machineB.cwd, env: machineB.env, onEvent: printer('B') });
  check(harness, second, `${harness.displayName} resume`);
  if (second.sessionId !== first.sessionId) throw new BatonError('SESSION_MISMATCH', `the resume did not continue the same ${harness.displayName} session`, { hint: 'report this as a bug' });
  say(`\nresumed on machine B in the same ${harness.displayName} session ${second.sessionId}\n`);
  say(`$ baton show ${first.conversationId}`);
  process.stdout.write(await renderConversation(store, first.conversationId));
  return first.conversationId;
}

export async function runDemo(options: { keep?: boolean; harness?: string }): Promise<void> {
  const harnesses = options.harness ? [harnessFromName(options.harness)] : listHarnesses();
  const root = await mkdtemp(join(tmpdir(), 'baton-demo-'));
  const model = await startScriptedModelServer({ script: demoScript });
  const store = await openSqliteStore(join(root, 'shared-store', 'baton.db'));
  try {
    say(`baton demo — a scripted model server on ${model.url} stands in for a real model (offline; no API key used)`);
    say(`store shared by all machines: ${store.location}`);
    const conversations: string[] = [];
    for (const harness of harnesses) {
      say(`\n━━ ${harness.displayName} ━━`);
      conversations.push(await demonstrate(harness, root, store, model));
    }
    if (options.keep) say(`\nkept: ${root}\n${conversations.map((id) => `  baton --store ${store.location} show ${id}`).join('\n')}`);
  } finally {
    await store.close();
    await model.close();
    if (!options.keep) await rm(root, { recursive: true, force: true });
  }
}
