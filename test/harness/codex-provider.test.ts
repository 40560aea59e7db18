/**
 * A resumed Codex thread runs under the provider of the home that resumes it: the provider name the rollout pins,
 * the provider the home's config.toml selects, and the `-c` overrides (and environment) the launch gets.
 * test/e2e/cli.test.ts ("a provider of another name") runs the real CLI through them.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import { codexHarness } from '../../src/harness/codex/harness.js';
import { homeProvider, pinnedProvider, providerOverride, type HomeProvider } from '../../src/harness/codex/provider.js';
import type { HarnessContext } from '../../src/harness/harness.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/codex/', import.meta.url));
const SESSION_ID = '01a21a00-e515-7ec1-a52c-23e5cb77e528';
const RESUMED_TWICE = join(FIXTURES, 'resumed-twice', `rollout-2026-11-26T22-36-35-${SESSION_ID}.jsonl`);

const temporaryDirectories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'baton-codex-provider-'));
  temporaryDirectories.push(directory);
  return directory;
}
afterEach(async () => {
  for (const directory of temporaryDirectories.splice(0)) await rm(directory, { recursive: true, force: true });
});

const lines = (...records: unknown[]): Buffer => Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
const meta = (provider: string) => ({ type: 'session_meta', payload: { id: SESSION_ID, model_provider: provider } });
const applied = (provider: string) => ({ type: 'event_msg', payload: { type: 'thread_settings_applied', thread_settings: { model: 'm', model_provider_id: provider } } });

/** The value of a `-c key=value` argument, parsed as Codex parses it (TOML). */
function overrideValue(args: string[], key: string): unknown {
  const items = args.filter((_, index) => args[index - 1] === '-c');
  const item = items.find((entry) => entry.startsWith(`${key}=`));
  if (item === undefined) return undefined;
  return parseToml(`value = ${item.slice(key.length + 1)}`).value;
}

describe('the provider a rollout pins', () => {
  it('is the last thread_settings_applied, as Codex reads it, over session_meta', () => {
    expect(pinnedProvider(lines(meta('first'), applied('first'), { type: 'turn_context', payload: {} }, applied('later')))).toBe('later');
  });

  it('is session_meta\'s when no settings were applied, and none when neither names one', () => {
    expect(pinnedProvider(lines(meta('only-meta'), { type: 'response_item', payload: { type: 'message' } }))).toBe('only-meta');
    expect(pinnedProvider(lines({ type: 'session_meta', payload: { id: SESSION_ID } }))).toBeUndefined();
  });

  it('skips lines that are not JSON, as Codex does', () => {
    const content = Buffer.concat([lines(meta('a')), Buffer.from('not json thread_settings_applied\n'), lines(applied('b'))]);
    expect(pinnedProvider(content)).toBe('b');
  });

  it('reads a real rollout recorded from codex 0.171', async () => {
    expect(pinnedProvider(await readFile(RESUMED_TWICE))).toBe('scripted');
  });
});

describe('the provider a home selects', () => {
  it('is config.toml\'s model_provider with its table, or the active profile\'s', async () => {
    const home = await temporaryDirectory();
    await writeFile(join(home, 'config.toml'), [
      'model_provider = "mine"',
      '[model_providers.mine]',
      'base_url = "http://127.0.0.1:9/v1"',
      'env_key = "MINE_KEY"',
      '[model_providers.other]',
      'base_url = "http://127.0.0.1:8/v1"',
      '[profiles.p]',
      'model_provider = "other"',
      '',
    ].join('\n'));
    expect(await homeProvider(home)).toEqual({ id: 'mine', definition: { base_url: 'http://127.0.0.1:9/v1', env_key: 'MINE_KEY' }, openaiBaseUrl: undefined });
    await writeFile(join(home, 'config.toml'), `profile = "p"\n${await readFile(join(home, 'config.toml'), 'utf8')}`);
    expect((await homeProvider(home)).id).toBe('other');
  });

  it('is Codex\'s default openai when config.toml names none or is missing', async () => {
    const home = await temporaryDirectory();
    expect(await homeProvider(home)).toEqual({ id: 'openai', definition: undefined, openaiBaseUrl: undefined });
    await writeFile(join(home, 'config.toml'), 'openai_base_url = "https://gateway.example/v1"\n');
    expect(await homeProvider(home)).toEqual({ id: 'openai', definition: undefined, openaiBaseUrl: 'https://gateway.example/v1' });
  });
});

describe('the overrides of a resume', () => {
  const custom: HomeProvider = { id: 'laptop', definition: { name: 'Laptop "endpoint"', base_url: 'http://127.0.0.1:9/v1', wire_api: 'responses', env_key: 'LAPTOP_KEY', http_headers: { 'X-Team': 'a' } }, openaiBaseUrl: undefined };
  const openai: HomeProvider = { id: 'openai', definition: undefined, openaiBaseUrl: undefined };

  it('are none when the thread already runs under the home\'s provider, or names none', async () => {
    expect(await providerOverride('laptop', custom, {})).toEqual({ args: [], env: {} });
    expect(await providerOverride(undefined, custom, {})).toEqual({ args: [], env: {} });
  });

  it('define the thread\'s provider name as the home\'s provider and select it', async () => {
    const { args, env } = await providerOverride('baton-model-proxy', custom, {});
    expect(overrideValue(args, 'model_providers.baton-model-proxy')).toEqual(custom.definition);
    expect(overrideValue(args, 'model_provider')).toBe('baton-model-proxy');
    expect(env).toEqual({});
  });

  it('write the built-in openai out as a table when the home uses it', async () => {
    const { args } = await providerOverride('baton-scripted', { ...openai, openaiBaseUrl: 'https://gateway.example/v1' }, {});
    expect(overrideValue(args, 'model_providers.baton-scripted')).toEqual({ name: 'OpenAI', base_url: 'https://gateway.example/v1', wire_api: 'responses', requires_openai_auth: true, supports_websockets: true });
    expect(overrideValue(args, 'model_provider')).toBe('baton-scripted');
    const fromEnvironment = await providerOverride('baton-scripted', openai, { OPENAI_BASE_URL: 'https://env.example/v1' });
    expect(overrideValue(fromEnvironment.args, 'model_providers.baton-scripted')).toMatchObject({ base_url: 'https://env.example/v1' });
    // No base URL at all: Codex chooses it by the login (API key or ChatGPT), as for its own provider.
    expect(overrideValue((await providerOverride('baton-scripted', openai, {})).args, 'model_providers.baton-scripted')).not.toHaveProperty('base_url');
  });

  it('point a thread held to the built-in openai at the home\'s endpoint, with its key', async () => {
    const { args, env } = await providerOverride('openai', custom, { LAPTOP_KEY: 'laptop-key' });
    expect(overrideValue(args, 'model_provider')).toBe('openai');
    expect(overrideValue(args, 'openai_base_url')).toBe('http://127.0.0.1:9/v1');
    expect(overrideValue(args, 'model_providers.openai')).toBeUndefined();
    expect(env).toEqual({ CODEX_API_KEY: 'laptop-key' });
  });

  it('are none for what cannot be expressed: another built-in, a name that is no TOML bare key, a home provider without a table', async () => {
    expect(await providerOverride('ollama', custom, {})).toEqual({ args: [], env: {} });
    expect(await providerOverride('bad name"=x', custom, {})).toEqual({ args: [], env: {} });
    expect(await providerOverride('laptop-old', { id: 'undefined-here', definition: undefined, openaiBaseUrl: undefined }, {})).toEqual({ args: [], env: {} });
  });
});

describe('the codex launch of a resume', () => {
  async function machineWith(config: string, rollout: Buffer): Promise<HarnessContext> {
    const root = await temporaryDirectory();
    const home = join(root, 'codex-home');
    await mkdir(join(home, 'sessions', '2026', '11', '26'), { recursive: true });
    await writeFile(join(home, 'config.toml'), config);
    await writeFile(join(home, 'sessions', '2026', '11', '26', `rollout-2026-11-26T22-36-35-${SESSION_ID}.jsonl`), rollout);
    return { home, cwd: root, env: { ...process.env, HOME: root }, runsAsRoot: false };
  }
  const templates = { command: undefined, newArgs: undefined, resumeArgs: undefined };
  const laptopConfig = 'model_provider = "laptop"\n\n[model_providers.laptop]\nbase_url = "http://127.0.0.1:9/v1"\nwire_api = "responses"\nenv_key = "LAPTOP_KEY"\n';

  it('headless and interactive, runs a thread from another machine under this home\'s provider, leaving config.toml as it was', async () => {
    const context = await machineWith(laptopConfig, await readFile(RESUMED_TWICE));
    for (const request of [
      { kind: 'resume', prompt: 'go on', setup: {}, resume: { sessionId: SESSION_ID } },
      { kind: 'interactive', setup: {}, resume: { sessionId: SESSION_ID }, permissions: 'ask' },
    ] as const) {
      const spec = await codexHarness.command(context, request, templates);
      // The overrides come before the subcommand, where Codex reads them for every subcommand.
      expect(spec.args.slice(0, 4)).toEqual(['-c', expect.stringMatching(/^model_providers\.scripted=/), '-c', 'model_provider="scripted"']);
      expect(overrideValue(spec.args, 'model_providers.scripted')).toEqual({ base_url: 'http://127.0.0.1:9/v1', wire_api: 'responses', env_key: 'LAPTOP_KEY' });
      expect(spec.args[4]).toBe(request.kind === 'resume' ? 'exec' : 'resume');
    }
    expect(await readFile(join(context.home, 'config.toml'), 'utf8')).toBe(laptopConfig);
  });

  it('adds nothing when the thread ran under this home\'s provider, nor to a new conversation', async () => {
    const context = await machineWith('model_provider = "scripted"\n[model_providers.scripted]\nbase_url = "http://127.0.0.1:9/v1"\n', await readFile(RESUMED_TWICE));
    const resumed = await codexHarness.command(context, { kind: 'resume', prompt: 'go on', setup: {}, resume: { sessionId: SESSION_ID } }, templates);
    expect(resumed.args[0]).toBe('exec');
    expect(resumed.args).not.toContain('-c');
    const fresh = await codexHarness.command(await machineWith(laptopConfig, Buffer.alloc(0)), { kind: 'new', prompt: 'hi', setup: {}, sessionId: undefined }, templates);
    expect(fresh.args[0]).toBe('exec');
  });

  it('behind a worker\'s model proxy, runs a laptop\'s thread held to the built-in openai through the proxy with the run\'s token', async () => {
    const context = await machineWith('', lines(meta('openai'), applied('openai')));
    const proxied: HarnessContext = { ...context, modelEndpoint: { api: 'openai-responses', baseUrl: 'http://127.0.0.1:7/v1', token: 'run-token' } };
    await codexHarness.prepare(proxied, {});
    const spec = await codexHarness.command(proxied, { kind: 'resume', prompt: 'go on', setup: {}, resume: { sessionId: SESSION_ID } }, templates);
    expect(overrideValue(spec.args, 'model_provider')).toBe('openai');
    expect(overrideValue(spec.args, 'openai_base_url')).toBe('http://127.0.0.1:7/v1');
    expect(spec.env.CODEX_API_KEY).toBe('run-token');
  });

  it('behind a worker\'s model proxy, runs a laptop\'s thread (a custom provider name) under that name defined as the proxy', async () => {
    const context = await machineWith('model = "scripted-model"\n', await readFile(RESUMED_TWICE));
    const proxied: HarnessContext = { ...context, modelEndpoint: { api: 'openai-responses', baseUrl: 'http://127.0.0.1:7/v1', token: 'run-token' } };
    await codexHarness.prepare(proxied, {});
    const spec = await codexHarness.command(proxied, { kind: 'resume', prompt: 'go on', setup: {}, resume: { sessionId: SESSION_ID } }, templates);
    expect(overrideValue(spec.args, 'model_providers.scripted')).toMatchObject({ base_url: 'http://127.0.0.1:7/v1', wire_api: 'responses', env_key: 'OPENAI_API_KEY' });
    expect(overrideValue(spec.args, 'model_provider')).toBe('scripted');
    expect(spec.env.OPENAI_API_KEY).toBe('run-token');
  });
});
