/**
 * Preparing CODEX_HOME merges, never clobbers: a user's config.toml, auth.json and AGENTS files keep what they
 * had. The merged config.toml is checked with a second TOML parser (smol-toml) and with the real Codex CLI.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { configMergeRecordPath, mergeAuthJson, prepareCodexHome, trustedProjects, writeSystemPrompt, type CodexPrepareInput } from '../../src/harness/codex/config.js';

const CODEX_BIN = fileURLToPath(new URL('../../node_modules/.bin/codex', import.meta.url));

const USER_CONFIG = `# my Codex settings
model = "gpt-5" # the model I like
model_provider = "local"

# a provider I run myself
[model_providers.local]
name = "Local"
base_url = "http://127.0.0.1:9/v1"
wire_api = "responses"
env_key = "LOCAL_API_KEY"

[profiles.fast]
model = "o4-mini" # quick answers

[projects."/home/someone/elsewhere"]
trust_level = "untrusted"
`;
const USER_COMMENTS = ['# my Codex settings', '# the model I like', '# a provider I run myself', '# quick answers'];

const temporaryDirectories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'baton-codex-config-'));
  temporaryDirectories.push(directory);
  return directory;
}

afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

/** A CODEX_HOME and a working directory (not in a git repository) side by side in a fresh temp dir. */
async function homeAndProject(): Promise<{ root: string; codexHome: string; cwd: string }> {
  const root = await temporaryDirectory();
  const codexHome = join(root, 'codex-home');
  const cwd = join(root, 'project');
  await mkdir(codexHome);
  await mkdir(cwd);
  return { root, codexHome, cwd };
}

function input(codexHome: string, cwd: string, overrides: Partial<CodexPrepareInput> = {}): CodexPrepareInput {
  return { codexHome, cwd, model: undefined, systemPrompt: undefined, openaiApiKey: undefined, ...overrides };
}

async function readToml(path: string): Promise<Record<string, any>> {
  return parseToml(await readFile(path, 'utf8')) as Record<string, any>;
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function rejectionOf(promise: Promise<unknown>): Promise<BatonError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError, but the promise resolved');
}

function runCodex(args: string[], codexHome: string, cwd: string): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolvePromise) => {
    execFile(CODEX_BIN, args, { cwd, env: { ...process.env, CODEX_HOME: codexHome }, timeout: 30_000 }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolvePromise({ exitCode, output: `${stdout}${stderr}` });
    });
  });
}

describe('prepareCodexHome: config.toml', () => {
  it("keeps a user's comments, model, provider table, profile and project entries, and adds what a headless run needs", async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');
    await writeFile(configPath, USER_CONFIG);

    await prepareCodexHome(input(codexHome, cwd));

    const before = parseToml(USER_CONFIG) as Record<string, any>;
    const after = await readToml(configPath);
    expect(after).toEqual({
      ...before,
      check_for_update_on_startup: false,
      projects: { ...before.projects, [cwd]: { trust_level: 'trusted' } },
    });
    expect(after.model).toBe('gpt-5');
    expect(after.model_providers.local).toEqual({ name: 'Local', base_url: 'http://127.0.0.1:9/v1', wire_api: 'responses', env_key: 'LOCAL_API_KEY' });
    expect(after.profiles.fast).toEqual({ model: 'o4-mini' });
    expect(after.projects['/home/someone/elsewhere']).toEqual({ trust_level: 'untrusted' });
    const text = await readFile(configPath, 'utf8');
    for (const comment of USER_COMMENTS) expect(text).toContain(comment);
  });

  it('writes a config with only the headless settings into a home that has none, mode 0600', async () => {
    const { codexHome, cwd } = await homeAndProject();
    await prepareCodexHome(input(codexHome, cwd));

    const configPath = join(codexHome, 'config.toml');
    expect(await readToml(configPath)).toEqual({ check_for_update_on_startup: false, projects: { [cwd]: { trust_level: 'trusted' } } });
    expect(await modeOf(configPath)).toBe(0o600);
  });

  it('pins the model only when one is given', async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');
    await writeFile(configPath, USER_CONFIG);

    await prepareCodexHome(input(codexHome, cwd));
    expect((await readToml(configPath)).model).toBe('gpt-5');

    await prepareCodexHome(input(codexHome, cwd, { model: 'gpt-5-codex' }));
    const pinned = await readToml(configPath);
    expect(pinned.model).toBe('gpt-5-codex');
    expect(pinned.profiles.fast.model).toBe('o4-mini');

    const fresh = await homeAndProject();
    await prepareCodexHome(input(fresh.codexHome, fresh.cwd));
    expect(await readToml(join(fresh.codexHome, 'config.toml'))).not.toHaveProperty('model');
  });

  it('is idempotent: a second run leaves config.toml byte-identical and does not rewrite it', async () => {
    for (const original of [USER_CONFIG, undefined]) {
      const { codexHome, cwd } = await homeAndProject();
      const configPath = join(codexHome, 'config.toml');
      if (original !== undefined) await writeFile(configPath, original);

      await prepareCodexHome(input(codexHome, cwd, { model: 'gpt-5-codex' }));
      const first = await readFile(configPath);
      const firstStat = await stat(configPath);
      await prepareCodexHome(input(codexHome, cwd, { model: 'gpt-5-codex' }));
      expect((await readFile(configPath)).equals(first)).toBe(true);
      expect((await stat(configPath)).ino).toBe(firstStat.ino);
    }
  });

  it('merges again after a run that found nothing to change whenever the file, the cwd\'s repositories, the model or the MCP servers differ', async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');
    await writeFile(configPath, USER_CONFIG);
    const prepare = (overrides: Partial<CodexPrepareInput> = {}) => prepareCodexHome(input(codexHome, cwd, { model: 'gpt-5-codex', ...overrides }));
    await prepare();
    await prepare(); // changed nothing: recorded, so the next identical run skips the merge
    expect(await exists(configMergeRecordPath(codexHome))).toBe(true);
    const merged = await readFile(configPath, 'utf8');
    await prepare();
    expect(await readFile(configPath, 'utf8')).toBe(merged);

    // The user edits the file: the merge runs again and puts back what a headless run needs, keeping the edit.
    await writeFile(configPath, `${merged.replace('check_for_update_on_startup = false', 'check_for_update_on_startup = true')}\n# mine\n`);
    await prepare();
    expect(await readToml(configPath)).toMatchObject({ check_for_update_on_startup: false, model: 'gpt-5-codex' });
    expect(await readFile(configPath, 'utf8')).toContain('# mine');

    // A new git repository below the cwd is trusted at the next run.
    await prepare();
    await mkdir(join(cwd, 'sub', '.git'), { recursive: true });
    await prepare();
    expect((await readToml(configPath)).projects).toHaveProperty([join(cwd, 'sub'), 'trust_level'], 'trusted');

    // Another model, then MCP servers, then none again.
    await prepare({ model: 'o4-mini' });
    expect((await readToml(configPath)).model).toBe('o4-mini');
    await prepare({ model: 'o4-mini', mcpServers: { probe: { command: 'node', args: ['probe.mjs'] } } });
    expect((await readToml(configPath)).mcp_servers).toEqual({ probe: { command: 'node', args: ['probe.mjs'], required: true } });
    await prepare({ model: 'o4-mini' });
    await prepare({ model: 'o4-mini' });
    expect(await readToml(configPath)).not.toHaveProperty('mcp_servers');
  });

  it("makes a user's config.toml mode 0600 once it has been merged", async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');
    await writeFile(configPath, USER_CONFIG);
    await chmod(configPath, 0o644);
    await prepareCodexHome(input(codexHome, cwd));
    expect(await modeOf(configPath)).toBe(0o600);
  });

  it('refuses a config.toml that is not valid TOML (CONFIG_INVALID), leaving it and the rest of the home untouched', async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');
    const broken = '# half-edited\nmodel = "gpt-5\n[model_providers.local\n';
    await writeFile(configPath, broken);

    const error = await rejectionOf(prepareCodexHome(input(codexHome, cwd, { openaiApiKey: 'sk-test', systemPrompt: 'Be brief.' })));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(configPath);
    expect(await readFile(configPath, 'utf8')).toBe(broken);
    expect(await exists(join(codexHome, 'auth.json'))).toBe(false);
    expect(await exists(join(codexHome, 'AGENTS.override.md'))).toBe(false);
  });
});

describe('prepareCodexHome: the conversation\'s MCP servers', () => {
  const probe = { command: 'node', args: ['probe.mjs'], env: { PROBE_TOKEN: 'resolved-value' } };
  const mine = '[mcp_servers.mine]\ncommand = "my-server"\n';

  it('adds them as required [mcp_servers.*] tables beside the user\'s, leaves the file unchanged when nothing changed, and removes them for the next conversation', async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');
    await writeFile(configPath, mine);
    await prepareCodexHome({ ...input(codexHome, cwd), mcpServers: { probe, docs: { url: 'https://docs.example/mcp', headers: { 'X-Team': 'a' } } } });
    const merged = await readToml(configPath);
    expect(merged.mcp_servers).toEqual({
      mine: { command: 'my-server' },
      probe: { ...probe, required: true },
      docs: { url: 'https://docs.example/mcp', http_headers: { 'X-Team': 'a' }, required: true },
    });
    const before = await stat(configPath);
    await prepareCodexHome({ ...input(codexHome, cwd), mcpServers: { probe, docs: { url: 'https://docs.example/mcp', headers: { 'X-Team': 'a' } } } });
    expect((await stat(configPath)).ino).toBe(before.ino);

    await prepareCodexHome(input(codexHome, cwd));
    expect((await readToml(configPath)).mcp_servers).toEqual({ mine: { command: 'my-server' } });
  });

  it('refuses a server of the same name the user wrote (CONFIG_CONFLICT), changing nothing', async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');
    await writeFile(configPath, mine);
    const error = await rejectionOf(prepareCodexHome({ ...input(codexHome, cwd), mcpServers: { mine: probe } }));
    expect(error).toMatchObject({ code: 'CONFIG_CONFLICT', message: expect.stringContaining('"mine"') });
    expect(await readFile(configPath, 'utf8')).toBe(mine);
  });
});

describe('trusted projects', () => {
  it('trust the cwd, the git repository that contains it and git repositories below it, and nothing else', async () => {
    const root = await temporaryDirectory();
    const repository = join(root, 'monorepo');
    const cwd = join(repository, 'services', 'api');
    const childRepository = join(cwd, 'vendor-tool');
    const grandchildRepository = join(cwd, 'packages', 'lib');
    const submodule = join(cwd, 'submodule'); // a submodule or worktree has a .git file, not a folder
    const siblingRepository = join(repository, 'services', 'web');
    const dependencyRepository = join(cwd, 'node_modules', 'dependency');
    for (const directory of [repository, childRepository, grandchildRepository, siblingRepository, dependencyRepository]) {
      await mkdir(join(directory, '.git'), { recursive: true });
    }
    await mkdir(submodule, { recursive: true });
    await writeFile(join(submodule, '.git'), 'gitdir: ../../../.git/modules/submodule\n');

    const expected = [cwd, repository, childRepository, grandchildRepository, submodule].sort();
    expect(await trustedProjects(cwd)).toEqual(expected);

    const codexHome = join(root, 'codex-home');
    await prepareCodexHome(input(codexHome, cwd));
    const projects = (await readToml(join(codexHome, 'config.toml'))).projects;
    expect(Object.keys(projects).sort()).toEqual(expected);
    for (const project of expected) expect(projects[project]).toEqual({ trust_level: 'trusted' });
  });

  it('trust only the cwd when it is in no git repository', async () => {
    const { cwd } = await homeAndProject();
    expect(await trustedProjects(cwd)).toEqual([cwd]);
  });
});

describe('the real Codex CLI', () => {
  it('accepts the config.toml that prepareCodexHome merged (and rejects an invalid one, so the check is real)', async () => {
    const { codexHome, cwd } = await homeAndProject();
    const configPath = join(codexHome, 'config.toml');

    // `codex mcp list` loads and type-checks config.toml; it fails on a file that is not TOML.
    await writeFile(configPath, 'model = = "gpt-5"\n');
    const rejected = await runCodex(['mcp', 'list'], codexHome, cwd);
    expect(rejected.exitCode).not.toBe(0);
    expect(rejected.output).toContain('config.toml');

    await writeFile(configPath, USER_CONFIG);
    await mkdir(join(cwd, 'child', '.git'), { recursive: true });
    await prepareCodexHome(input(codexHome, cwd, { model: 'gpt-5-codex', openaiApiKey: 'sk-test', systemPrompt: 'Be brief.' }));
    const accepted = await runCodex(['mcp', 'list'], codexHome, cwd);
    expect(accepted.output).not.toContain('Error');
    expect(accepted.exitCode).toBe(0);
  });
});

describe('mergeAuthJson', () => {
  it('creates auth.json, mode 0600, with OPENAI_API_KEY and auth_mode "apikey" when there is none', async () => {
    const { codexHome, cwd } = await homeAndProject();
    await prepareCodexHome(input(codexHome, cwd, { openaiApiKey: 'sk-test' }));

    const authPath = join(codexHome, 'auth.json');
    expect(JSON.parse(await readFile(authPath, 'utf8'))).toEqual({ OPENAI_API_KEY: 'sk-test', auth_mode: 'apikey' });
    expect(await modeOf(authPath)).toBe(0o600);
  });

  it('writes no auth.json when no API key is given', async () => {
    const { codexHome, cwd } = await homeAndProject();
    await prepareCodexHome(input(codexHome, cwd));
    expect(await exists(join(codexHome, 'auth.json'))).toBe(false);
  });

  it('keeps every field it does not own, and an existing auth_mode (a ChatGPT login stays one)', async () => {
    const { codexHome } = await homeAndProject();
    const authPath = join(codexHome, 'auth.json');
    const chatgptLogin = { auth_mode: 'chatgpt', OPENAI_API_KEY: null, tokens: { id_token: 'id', refresh_token: 'refresh', account_id: 'acct' }, last_refresh: '2026-11-01T00:00:00Z' };
    await writeFile(authPath, JSON.stringify(chatgptLogin));

    await mergeAuthJson(authPath, 'sk-test');
    expect(JSON.parse(await readFile(authPath, 'utf8'))).toEqual({ ...chatgptLogin, OPENAI_API_KEY: 'sk-test' });
    expect(await modeOf(authPath)).toBe(0o600);
  });

  it('sets auth_mode "apikey" only when the file has none, keeping its other fields', async () => {
    const { codexHome } = await homeAndProject();
    const authPath = join(codexHome, 'auth.json');
    await writeFile(authPath, JSON.stringify({ OPENAI_API_KEY: 'sk-old', future_field: { nested: [1, 2] } }));

    await mergeAuthJson(authPath, 'sk-new');
    expect(JSON.parse(await readFile(authPath, 'utf8'))).toEqual({ OPENAI_API_KEY: 'sk-new', future_field: { nested: [1, 2] }, auth_mode: 'apikey' });

    const first = await readFile(authPath);
    await mergeAuthJson(authPath, 'sk-new');
    expect((await readFile(authPath)).equals(first)).toBe(true);
  });

  it('refuses an auth.json that is not a JSON object (CONFIG_INVALID) and leaves it untouched', async () => {
    const { codexHome } = await homeAndProject();
    const authPath = join(codexHome, 'auth.json');
    for (const broken of ['{"OPENAI_API_KEY": "sk-', '["not", "an", "object"]']) {
      await writeFile(authPath, broken);
      expect((await rejectionOf(mergeAuthJson(authPath, 'sk-test'))).code).toBe('CONFIG_INVALID');
      expect(await readFile(authPath, 'utf8')).toBe(broken);
    }
  });
});

describe('writeSystemPrompt', () => {
  const BEGIN = 'baton:system-prompt:begin';
  const END = 'baton:system-prompt:end';
  const occurrences = (text: string, marker: string): number => text.split(marker).length - 1;

  it('creates AGENTS.override.md, mode 0600, holding the prompt in a marked section', async () => {
    const { codexHome, cwd } = await homeAndProject();
    await prepareCodexHome(input(codexHome, cwd, { systemPrompt: 'Answer in French.' }));

    const overridePath = join(codexHome, 'AGENTS.override.md');
    const text = await readFile(overridePath, 'utf8');
    expect(text).toMatch(new RegExp(`${BEGIN}[^\\n]*\\nAnswer in French\\.\\n<!-- ${END} -->\\n$`));
    expect(await modeOf(overridePath)).toBe(0o600);
  });

  it("keeps a user's own text in AGENTS.override.md and replaces baton's section on the next call instead of adding another", async () => {
    const { codexHome } = await homeAndProject();
    const overridePath = join(codexHome, 'AGENTS.override.md');
    await writeFile(overridePath, '# My rules\nNever push to main.\n');

    await writeSystemPrompt(codexHome, 'First prompt.');
    await writeFile(overridePath, `${await readFile(overridePath, 'utf8')}\nA note I added after baton's section.\n`);
    await writeSystemPrompt(codexHome, 'Second prompt.');

    const text = await readFile(overridePath, 'utf8');
    expect(text.startsWith('# My rules\nNever push to main.\n')).toBe(true);
    expect(text).toContain("A note I added after baton's section.");
    expect(text).toContain('Second prompt.');
    expect(text).not.toContain('First prompt.');
    expect(occurrences(text, BEGIN)).toBe(1);
    expect(occurrences(text, END)).toBe(1);

    await writeSystemPrompt(codexHome, 'Second prompt.');
    expect(await readFile(overridePath, 'utf8')).toBe(text);
  });

  it("starts a new override from the user's AGENTS.md, so their instructions are not hidden, and leaves AGENTS.md alone", async () => {
    const { codexHome } = await homeAndProject();
    const agents = '# Team conventions\nUse tabs.\n';
    await writeFile(join(codexHome, 'AGENTS.md'), agents);

    await writeSystemPrompt(codexHome, 'Be brief.');

    const text = await readFile(join(codexHome, 'AGENTS.override.md'), 'utf8');
    expect(text.startsWith(agents)).toBe(true);
    expect(text).toContain('Be brief.');
    expect(await readFile(join(codexHome, 'AGENTS.md'), 'utf8')).toBe(agents);
  });

  it('writes no AGENTS.override.md when there is no system prompt', async () => {
    const { codexHome, cwd } = await homeAndProject();
    await prepareCodexHome(input(codexHome, cwd));
    expect(await exists(join(codexHome, 'AGENTS.override.md'))).toBe(false);
  });
});

describe('prepareCodexHome behind a model proxy', () => {
  const endpoint = { baseUrl: 'http://127.0.0.1:4321/openai/v1', token: 'baton_run_token-for-this-run-only' };

  it("points Codex at the proxy with the run's token, keeps the user's other providers, and leaves no other key in auth.json", async () => {
    const { codexHome, cwd } = await homeAndProject();
    await writeFile(join(codexHome, 'config.toml'), USER_CONFIG);
    await writeFile(join(codexHome, 'auth.json'), JSON.stringify({ OPENAI_API_KEY: 'sk-operator-key', auth_mode: 'chatgpt', tokens: { access_token: 'operator-login' } }));
    await prepareCodexHome(input(codexHome, cwd, { openaiApiKey: 'sk-operator-key', modelEndpoint: endpoint }));

    const config = parseToml(await readFile(join(codexHome, 'config.toml'), 'utf8')) as any;
    expect(config.model_provider).toBe('baton-model-proxy');
    expect(config.model_providers['baton-model-proxy']).toEqual({ name: 'baton model proxy (this worker)', base_url: endpoint.baseUrl, wire_api: 'responses', env_key: 'OPENAI_API_KEY' });
    expect(config.model_providers.local.base_url).toBe('http://127.0.0.1:9/v1');
    const auth = await readFile(join(codexHome, 'auth.json'), 'utf8');
    expect(JSON.parse(auth)).toEqual({ auth_mode: 'apikey', OPENAI_API_KEY: endpoint.token });
    expect(auth).not.toContain('operator');
    expect(await modeOf(join(codexHome, 'auth.json'))).toBe(0o600);
  });
});
