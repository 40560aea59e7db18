/**
 * `baton serve` as a laptop user starts it: no store configured, no token, nothing but a HOME — the embedded
 * store at ~/.baton, the in-process worker, and the sign-in URL it prints. The laptop's CLIs point at the scripted
 * model (for `baton run` in a terminal); the server's runs get fresh homes from a template and reach the model
 * through the model proxy, with the user's keys, as a worker's do.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { harnessHomeVariables } from '../../src/harness/registry.js';
import { SCRIPTED_KEY_VARIABLES, type Machine } from '../../src/testing/machine.js';
import type { ScriptedModelServer } from '../../src/testing/scripted-model-server.js';
import { apiRequest, OPERATOR_ANTHROPIC_KEY, OPERATOR_OPENAI_KEY, startProcess, type FleetProcess } from './fleet-world.js';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Script } from '../../src/testing/scripted-model-server.js';
import { createWorld, waitFor, type World } from './world.js';

/** The laptop user's own model keys, in the environment `baton serve` starts with (its model proxy uses them). */
export const USER_OPENAI_KEY = OPERATOR_OPENAI_KEY;

export interface LocalServe extends FleetProcess {
  url: string;
  /** The first one-time sign-in URL it printed ('' when it printed none). */
  signInUrl: string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of the laptop's `baton serve`: its HOME, the user's keys, none of the terminal's CLI homes. */
export function serveEnvironment(machine: Machine): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...machine.env, OPENAI_API_KEY: OPERATOR_OPENAI_KEY, ANTHROPIC_API_KEY: OPERATOR_ANTHROPIC_KEY };
  for (const variable of [...harnessHomeVariables(), ...SCRIPTED_KEY_VARIABLES, 'BATON_STORE', 'BATON_SERVER', 'BATON_TOKEN']) delete env[variable];
  return env;
}

export async function startLocalServe(machine: Machine, model: ScriptedModelServer, args: string[] = []): Promise<LocalServe> {
  // Settings only (no provider, no key): the model proxy writes each run's own.
  const template = join(machine.root, 'serve-home-template');
  await mkdir(join(template, '.codex'), { recursive: true, mode: 0o700 });
  await writeFile(join(template, '.codex', 'config.toml'), 'model = "scripted-model"\n', { mode: 0o600 });
  const serve = startProcess('serve', ['serve', '--port', '0', '--home-template', template, '--lease-seconds', '6', '--drain-seconds', '2', '--upstream-openai', model.openaiBaseUrl, ...args], serveEnvironment(machine), machine.cwd);
  const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(serve.log())?.[1], `baton serve to listen:\n${serve.log()}`, 30_000);
  // On loopback (the default) the sign-in URL follows the listening line.
  const signInUrl = args.includes('--host') ? '' : await waitFor(() => /open (http:\/\/\S+#sign-in=\S+) to sign in/.exec(serve.log())?.[1], `the sign-in URL:\n${serve.log()}`, 10_000);
  return {
    ...serve,
    url,
    signInUrl,
    stop: async (signal = 'SIGTERM') => {
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill(signal);
      return serve.exited;
    },
  };
}

/** Redeems a sign-in URL's code as the web UI does; the session token, or the refusal. */
export async function redeem(serve: { url: string }, signInUrl: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const code = new URL(signInUrl).hash.replace(/^#sign-in=/, '');
  const response = await fetch(`${serve.url}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ code }) });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

export function api(serve: { url: string }, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return apiRequest(serve.url, token, method, path, body);
}

export interface SignedInLocalServe {
  world: World;
  /** The machine `baton serve` runs on, with its terminal's CLIs. */
  laptop: Machine;
  serve: LocalServe;
  /** The browser's token, from the printed sign-in URL. */
  token: string;
}

/**
 * The suite's beforeAll/afterAll: a world answering with `script`, a laptop running `baton serve` as a new user
 * starts it, and a browser signed in with its one-time URL; handed to `ready` for the suite's own variables.
 */
export function useSignedInLocalServe(script: Script, ready: (setup: SignedInLocalServe) => void): void {
  let world: World | undefined;
  let serve: LocalServe | undefined;
  beforeAll(async () => {
    world = await createWorld(script);
    const laptop = await world.machine('laptop');
    serve = await startLocalServe(laptop, world.model);
    const signedIn = await redeem(serve, serve.signInUrl);
    expect(signedIn.status).toBe(200);
    ready({ world, laptop, serve, token: signedIn.body.token });
  }, 60_000);
  afterAll(async () => {
    await serve?.stop('SIGKILL');
    await world?.cleanup();
  });
}
