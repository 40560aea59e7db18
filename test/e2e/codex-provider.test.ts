/**
 * A Codex conversation moves between machines whose homes name their model provider differently: the thread
 * records the provider name it ran under, and Codex holds a resume to that name (verified with codex 0.171: "This
 * chat uses model provider “…”, which is no longer configured"). With the real codex, each resume runs under the
 * resuming home's own provider: its endpoint and its key, and the model request carries the earlier turns.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../src/testing/machine.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, runJson, type World } from './world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world?.cleanup();
});

/** A machine whose config.toml names the scripted server under `provider` only, with its own key variable. */
async function machineWithProvider(name: string, provider: string, keyVariable: string, key: string): Promise<{ machine: Machine; env: NodeJS.ProcessEnv; config: string }> {
  const machine = await world.machine(name);
  const config = [
    '# this machine\'s own provider',
    `model_provider = "${provider}"`,
    'model = "scripted-model"',
    '',
    `[model_providers.${provider}]`,
    `name = "${name}'s endpoint"`,
    `base_url = "${world.model.openaiBaseUrl}"`,
    'wire_api = "responses"',
    `env_key = "${keyVariable}"`,
    '',
  ].join('\n');
  await writeFile(join(machine.homes.codex, 'config.toml'), config, { mode: 0o600 });
  return { machine, env: { [keyVariable]: key }, config };
}

/** A machine on Codex's built-in `openai` provider (no model_provider), pointed at the scripted server by `openai_base_url`. */
async function machineOnBuiltInOpenai(name: string, key: string): Promise<{ machine: Machine; env: NodeJS.ProcessEnv }> {
  const machine = await world.machine(name);
  await writeFile(join(machine.homes.codex, 'config.toml'), `model = "scripted-model"\nopenai_base_url = "${world.model.openaiBaseUrl}"\n`, { mode: 0o600 });
  // baton writes OPENAI_API_KEY into auth.json, where the built-in provider reads it.
  return { machine, env: { OPENAI_API_KEY: key } };
}

const requestWith = (prompt: string) => world.turns().filter((turn) => lastUserText(turn) === prompt).at(-1);

describe('a codex conversation resumed where the model provider has another name', () => {
  it('runs each resume under the resuming home\'s provider, its key, and the turns before it', async () => {
    const one = await machineWithProvider('machine-1', 'provider-a', 'PROVIDER_A_KEY', 'key-of-machine-1');
    const two = await machineWithProvider('machine-2', 'provider-b', 'PROVIDER_B_KEY', 'key-of-machine-2');
    const first = runJson(await world.baton(one.machine, ['run', '--harness', 'codex', '--json', 'RUN echo turn-one-under-provider-a'], { env: one.env }));
    expect(first.status).toBe('succeeded');

    const resumed = await world.baton(two.machine, ['resume', first.conversationId, '--json', 'resumed under provider b'], { env: two.env });
    expect(runJson(resumed), resumed.stderr).toMatchObject({ status: 'succeeded', sessionId: first.sessionId, errorCode: null });
    const sent = requestWith('resumed under provider b')!;
    expect(sent.headers.authorization).toBe('Bearer key-of-machine-2');
    expect(conversationOf(sent)).toContainEqual({ kind: 'user', text: 'RUN echo turn-one-under-provider-a' });
    expect(conversationOf(sent)).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('turn-one-under-provider-a') });
    expect(conversationOf(sent)).toContainEqual({ kind: 'assistant', text: 'The command printed: turn-one-under-provider-a' });
    // The user's config still selects their provider and defines no other (baton's merge adds only trust settings).
    const configAfter = parseToml(await readFile(join(two.machine.homes.codex, 'config.toml'), 'utf8'));
    expect(configAfter.model_provider).toBe('provider-b');
    expect(configAfter.model_providers).toEqual(parseToml(two.config).model_providers);

    // A home on the built-in OpenAI provider continues it too, and machine 1 after it, under its own provider again.
    const three = await machineOnBuiltInOpenai('machine-3', 'key-of-machine-3');
    const onOpenai = await world.baton(three.machine, ['resume', first.conversationId, '--json', 'resumed on the built-in openai'], { env: three.env });
    expect(runJson(onOpenai), onOpenai.stderr).toMatchObject({ status: 'succeeded', errorCode: null });
    const sentByThree = requestWith('resumed on the built-in openai')!;
    expect(sentByThree.headers.authorization).toBe('Bearer key-of-machine-3');
    expect(conversationOf(sentByThree)).toContainEqual({ kind: 'user', text: 'resumed under provider b' });

    const back = await world.baton(one.machine, ['resume', first.conversationId, '--json', 'back on machine 1'], { env: one.env });
    expect(runJson(back), back.stderr).toMatchObject({ status: 'succeeded', errorCode: null });
    const sentByOne = requestWith('back on machine 1')!;
    expect(sentByOne.headers.authorization).toBe('Bearer key-of-machine-1');
    expect(conversationOf(sentByOne).filter((turn) => turn.kind === 'user').map((turn) => turn.text)).toEqual(
      expect.arrayContaining(['RUN echo turn-one-under-provider-a', 'resumed under provider b', 'resumed on the built-in openai']),
    );
  }, 240_000);

  it('continues a conversation started on the built-in openai provider under a custom provider\'s endpoint and key', async () => {
    const laptop = await machineOnBuiltInOpenai('laptop-openai', 'key-of-the-laptop');
    const started = runJson(await world.baton(laptop.machine, ['run', '--harness', 'codex', '--json', 'started on openai'], { env: laptop.env }));
    expect(started.status).toBe('succeeded');
    const other = await machineWithProvider('machine-custom', 'provider-c', 'PROVIDER_C_KEY', 'key-of-provider-c');
    const resumed = await world.baton(other.machine, ['resume', started.conversationId, '--json', 'resumed under provider c'], { env: other.env });
    expect(runJson(resumed), resumed.stderr).toMatchObject({ status: 'succeeded', sessionId: started.sessionId, errorCode: null });
    const sent = requestWith('resumed under provider c')!;
    expect(sent.headers.authorization).toBe('Bearer key-of-provider-c');
    expect(conversationOf(sent)).toContainEqual({ kind: 'user', text: 'started on openai' });
    expect(conversationOf(sent)).toContainEqual({ kind: 'assistant', text: 'ACK started on openai' });
  }, 240_000);
});
