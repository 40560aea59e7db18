/**
 * Each harness's preflight: the versions it claims to be tested with are the ones baton pins, and its credential
 * check finds what the CLI itself would find — variables, login files, config — in real files under a temp home,
 * and says what is missing with the fix when there is nothing.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HarnessContext } from '../../src/harness/harness.js';
import { getHarness, listHarnesses } from '../../src/harness/registry.js';
import { checkCli, isTested } from '../../src/run/preflight.js';

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-preflight-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A context for `id` on a machine whose HOME is empty, with `env` only (no inherited keys). */
async function context(id: Parameters<typeof getHarness>[0], env: Record<string, string> = {}): Promise<HarnessContext> {
  const home = join(root, 'home');
  const cwd = join(root, 'cwd');
  await mkdir(home, { recursive: true });
  await mkdir(cwd, { recursive: true });
  const full = { PATH: '/usr/bin:/bin', HOME: home, ...env };
  return { home: getHarness(id).resolveHome(full), cwd, env: full };
}

describe('tested versions', () => {
  it('are the major.minor line of the version baton pins for every harness', () => {
    for (const harness of listHarnesses()) {
      const { packageName, platformPackagePrefix } = harness.executable;
      // OpenCode's npm package only installs its platform package, which is what baton pins.
      const pinned = manifest.devDependencies[packageName] ?? Object.entries(manifest.devDependencies).find(([name]) => platformPackagePrefix !== undefined && name.startsWith(platformPackagePrefix))?.[1];
      expect(pinned, harness.id).toBeDefined();
      expect(isTested(pinned!, harness.preflight.testedVersions), `${harness.id} pins ${pinned}, claims ${harness.preflight.testedVersions}`).toBe(true);
    }
  });
  it('compare the major.minor line only', () => {
    expect(isTested('0.171.3', '0.171')).toBe(true);
    expect(isTested('0.17.1', '0.171')).toBe(false);
    expect(isTested('0.172.0', '0.171')).toBe(false);
    expect(isTested('2.1.332', '2.1')).toBe(true);
  });
});

describe('the version cache (~/.baton/preflight.json)', () => {
  it('keeps every version learnt by checks that run side by side (as `baton doctor` runs one per harness)', async () => {
    const batonDirectory = join(root, '.baton');
    const ids = listHarnesses().map((harness) => harness.id);
    // An executable outside any npm package is asked `--version`, once, and the answer cached.
    const executables = await Promise.all(
      ids.map(async (id, index) => {
        const path = join(root, `${id}-cli`);
        await writeFile(path, `#!/bin/sh\necho "${id} 9.${index}.0"\n`, { mode: 0o755 });
        return path;
      }),
    );
    const checked = await Promise.all(ids.map((id, index) => checkCli({ harness: getHarness(id), configuredCommand: executables[index], batonDirectory, env: { PATH: '/usr/bin:/bin' } })));
    expect(checked.map((check) => check.version)).toEqual(ids.map((_, index) => `9.${index}.0`));
    const cached = JSON.parse(await readFile(join(batonDirectory, 'preflight.json'), 'utf8')) as { versions: Record<string, { version: string }> };
    expect(Object.fromEntries(Object.entries(cached.versions).map(([path, entry]) => [path, entry.version]))).toEqual(Object.fromEntries(executables.map((path, index) => [path, `9.${index}.0`])));
  });
});

describe('credentials in a fresh home', () => {
  it.each([
    ['codex', /Codex CLI is not logged in/, /OPENAI_API_KEY.*codex login/],
    ['claude', /Claude Code is not logged in/, /ANTHROPIC_API_KEY.*\/login/],
    ['gemini', /Gemini CLI has no auth method/, /GEMINI_API_KEY/],
    ['opencode', /OpenCode has no model credentials/, /opencode auth login/],
  ] as const)('%s: missing, with the fix', async (id, message, fix) => {
    const check = await getHarness(id).preflight.credentials(await context(id));
    expect(check.kind).toBe('missing');
    if (check.kind !== 'missing') return;
    expect(check.message).toMatch(message);
    expect(check.fix).toMatch(fix);
  });
});

describe('codex', () => {
  const codex = getHarness('codex');
  it('finds OPENAI_API_KEY, CODEX_API_KEY or the login in $CODEX_HOME/auth.json', async () => {
    expect(await codex.preflight.credentials(await context('codex', { OPENAI_API_KEY: 'sk-x' }))).toEqual({ kind: 'found', source: 'OPENAI_API_KEY' });
    expect(await codex.preflight.credentials(await context('codex', { CODEX_API_KEY: 'sk-x' }))).toEqual({ kind: 'found', source: 'CODEX_API_KEY' });
    const withLogin = await context('codex');
    await mkdir(withLogin.home, { recursive: true });
    await writeFile(join(withLogin.home, 'auth.json'), '{}');
    expect(await codex.preflight.credentials(withLogin)).toEqual({ kind: 'found', source: join(withLogin.home, 'auth.json') });
  });
  it("follows config.toml's model provider: its env_key must be set, a provider without one needs nothing", async () => {
    const ctx = await context('codex', { OPENAI_API_KEY: 'sk-not-this-one' });
    await mkdir(ctx.home, { recursive: true });
    await writeFile(join(ctx.home, 'config.toml'), 'model_provider = "corp"\n[model_providers.corp]\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "CORP_KEY"\n');
    const missing = await codex.preflight.credentials(ctx);
    expect(missing).toMatchObject({ kind: 'missing', message: expect.stringContaining('CORP_KEY') });
    expect(await codex.preflight.credentials({ ...ctx, env: { ...ctx.env, CORP_KEY: 'k' } })).toEqual({ kind: 'found', source: 'CORP_KEY' });
    await writeFile(join(ctx.home, 'config.toml'), 'model_provider = "local"\n[model_providers.local]\nbase_url = "http://127.0.0.1:9/v1"\n');
    expect(await codex.preflight.credentials(ctx)).toMatchObject({ kind: 'found' });
  });
});

describe('claude', () => {
  const claude = getHarness('claude');
  it('finds a key variable, a subscription login, an apiKeyHelper; else asks `claude auth status` before refusing', async () => {
    expect(await claude.preflight.credentials(await context('claude', { ANTHROPIC_API_KEY: 'k' }))).toEqual({ kind: 'found', source: 'ANTHROPIC_API_KEY' });
    expect(await claude.preflight.credentials(await context('claude', { CLAUDE_CODE_USE_BEDROCK: '1' }))).toEqual({ kind: 'found', source: 'CLAUDE_CODE_USE_BEDROCK' });
    const ctx = await context('claude');
    await mkdir(ctx.home, { recursive: true });
    const missing = await claude.preflight.credentials(ctx);
    expect(missing.kind === 'missing' && missing.askCli?.args).toEqual(['auth', 'status', '--json']);
    if (missing.kind === 'missing') {
      // verified with Claude Code 2.1.332: its answer without a login, and with ANTHROPIC_API_KEY.
      expect(missing.askCli!.loggedIn('{"loggedIn": false, "authMethod": "none"}', 1)).toBe(false);
      expect(missing.askCli!.loggedIn('{"loggedIn": true, "authMethod": "api_key", "apiKeySource": "ANTHROPIC_API_KEY"}', 0)).toBe(true);
      expect(missing.askCli!.loggedIn('not json', 0)).toBe(false);
    }
    await writeFile(join(ctx.home, 'settings.json'), JSON.stringify({ apiKeyHelper: '/usr/local/bin/key' }));
    expect(await claude.preflight.credentials(ctx)).toMatchObject({ kind: 'found', source: expect.stringContaining('apiKeyHelper') });
    await writeFile(join(ctx.home, '.credentials.json'), '{}');
    expect(await claude.preflight.credentials(ctx)).toEqual({ kind: 'found', source: join(ctx.home, '.credentials.json') });
  });
});

describe('gemini', () => {
  const gemini = getHarness('gemini');
  const settings = async (ctx: HarnessContext, selectedType: string) => {
    await mkdir(join(ctx.home, '.gemini'), { recursive: true });
    await writeFile(join(ctx.home, '.gemini', 'settings.json'), JSON.stringify({ security: { auth: { selectedType } } }));
  };
  it('follows the auth method settings.json selects, or the one the environment implies', async () => {
    expect(await gemini.preflight.credentials(await context('gemini', { GEMINI_API_KEY: 'k' }))).toEqual({ kind: 'found', source: 'GEMINI_API_KEY' });
    const ctx = await context('gemini');
    await settings(ctx, 'gemini-api-key');
    expect(await gemini.preflight.credentials(ctx)).toMatchObject({ kind: 'missing', fix: expect.stringContaining('GEMINI_API_KEY') });
    await settings(ctx, 'oauth-personal');
    expect(await gemini.preflight.credentials(ctx)).toMatchObject({ kind: 'missing', message: expect.stringContaining('oauth_creds.json') });
    await writeFile(join(ctx.home, '.gemini', 'oauth_creds.json'), '{}');
    expect(await gemini.preflight.credentials(ctx)).toMatchObject({ kind: 'found' });
    await settings(ctx, 'vertex-ai');
    expect(await gemini.preflight.credentials(ctx)).toMatchObject({ kind: 'missing' });
    expect(await gemini.preflight.credentials({ ...ctx, env: { ...ctx.env, GOOGLE_CLOUD_PROJECT: 'p', GOOGLE_CLOUD_LOCATION: 'us' } })).toMatchObject({ kind: 'found' });
  });
  it('leaves it to the CLI when a .env file it loads may hold the key', async () => {
    const ctx = await context('gemini');
    await writeFile(join(ctx.cwd, '.env'), 'GEMINI_API_KEY=k\n');
    expect(await gemini.preflight.credentials(ctx)).toMatchObject({ kind: 'found', source: expect.stringContaining('.env') });
  });
});

describe('opencode', () => {
  const opencode = getHarness('opencode');
  it('finds a provider variable, an `opencode auth login`, or a provider configured with a key or a base URL', async () => {
    expect(await opencode.preflight.credentials(await context('opencode', { ANTHROPIC_API_KEY: 'k' }))).toEqual({ kind: 'found', source: 'ANTHROPIC_API_KEY' });
    const ctx = await context('opencode');
    await mkdir(join(ctx.env.HOME!, '.config', 'opencode'), { recursive: true });
    await writeFile(join(ctx.env.HOME!, '.config', 'opencode', 'opencode.json'), JSON.stringify({ provider: { local: { options: { baseURL: 'http://127.0.0.1:9/v1' } } } }));
    expect(await opencode.preflight.credentials(ctx)).toMatchObject({ kind: 'found', source: expect.stringContaining('"local"') });
    await rm(join(ctx.env.HOME!, '.config'), { recursive: true });
    await mkdir(join(ctx.env.HOME!, '.local', 'share', 'opencode'), { recursive: true });
    await writeFile(join(ctx.env.HOME!, '.local', 'share', 'opencode', 'auth.json'), '{}');
    expect(await opencode.preflight.credentials(ctx)).toMatchObject({ kind: 'found', source: expect.stringContaining('auth.json') });
  });
});
