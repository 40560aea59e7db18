/**
 * Preparing Claude Code's state merges, never clobbers (notes/claude-probe.md §3): `.claude.json` gets what an
 * interactive run would otherwise ask for (onboarding done, the cwd trusted, the API key approved) and
 * settings.json skips the bypass-mode warning; every other field of a real `.claude.json` survives. Also the argv
 * and environment claudeHarness.command() starts the CLI with.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { apiKeyFingerprint, claudeStatePath, prepareClaudeState, type ClaudePrepareInput } from '../../src/harness/claude/config.js';
import { claudeHarness } from '../../src/harness/claude/harness.js';
import type { CommandTemplates, HarnessContext, LaunchRequest, SessionResume } from '../../src/harness/harness.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/claude/config/', import.meta.url));
const AFTER_INTERACTIVE_RUN = join(FIXTURES, 'claude.json.after-interactive-run.json');
const PREPARED_SETTINGS = join(FIXTURES, 'settings.json.prepared.json');
const CLAUDE_BIN = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));
/** The harness as `npm run build` (the tests' global setup) compiles it. */
const BUILT_CLAUDE_HARNESS = fileURLToPath(new URL('../../dist/harness/claude/harness.js', import.meta.url));

const API_KEY = 'sk-ant-test-0000000000000000000000000000probe';
const OTHER_API_KEY = 'sk-ant-test-1111111111111111111111111111other';

const temporaryDirectories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'baton-claude-config-'));
  temporaryDirectories.push(directory);
  return directory;
}

afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

/** A HOME, a CLAUDE_CONFIG_DIR and a working directory side by side in a fresh temp dir. */
async function machine(): Promise<{ home: string; configDir: string; cwd: string }> {
  const root = await temporaryDirectory();
  const paths = { home: join(root, 'home'), configDir: join(root, 'claude-config'), cwd: join(root, 'project') };
  await Promise.all(Object.values(paths).map((path) => mkdir(path)));
  return paths;
}

function input(paths: { home: string; configDir: string; cwd: string }, overrides: Partial<ClaudePrepareInput> = {}): ClaudePrepareInput {
  return { configDir: paths.configDir, configDirFromEnvironment: true, home: paths.home, cwd: paths.cwd, apiKey: API_KEY, ...overrides };
}

async function readJson(path: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, any>;
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

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

describe('claudeStatePath', () => {
  it('is $CLAUDE_CONFIG_DIR/.claude.json when the variable is set, else $HOME/.claude.json (never ~/.claude/.claude.json)', () => {
    expect(claudeStatePath({ configDir: '/cfg', configDirFromEnvironment: true, home: '/home/u' })).toBe(join('/cfg', '.claude.json'));
    expect(claudeStatePath({ configDir: '/home/u/.claude', configDirFromEnvironment: false, home: '/home/u' })).toBe(join('/home/u', '.claude.json'));
  });
});

describe('apiKeyFingerprint', () => {
  it("is the key's last 20 characters, as the CLI stores an approved key", () => {
    expect(apiKeyFingerprint(API_KEY)).toBe('000000000000000probe');
    expect(apiKeyFingerprint(API_KEY)).toHaveLength(20);
  });
});

describe('prepareClaudeState', () => {
  it('on an empty CLAUDE_CONFIG_DIR writes .claude.json and settings.json there, with what an interactive run needs, mode 0600', async () => {
    const paths = await machine();
    await prepareClaudeState(input(paths));

    const statePath = join(paths.configDir, '.claude.json');
    expect(await readJson(statePath)).toEqual({
      hasCompletedOnboarding: true,
      projects: { [paths.cwd]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true } },
      customApiKeyResponses: { approved: ['000000000000000probe'], rejected: [] },
    });
    const settingsPath = join(paths.configDir, 'settings.json');
    expect(await readJson(settingsPath)).toEqual(await readJson(PREPARED_SETTINGS));
    expect(await modeOf(statePath)).toBe(0o600);
    expect(await modeOf(settingsPath)).toBe(0o600);
    expect(await exists(join(paths.home, '.claude.json'))).toBe(false);
  });

  it('without CLAUDE_CONFIG_DIR writes $HOME/.claude.json and <config dir>/settings.json (as claudeHarness.prepare does)', async () => {
    const paths = await machine();
    const env = { HOME: paths.home, ANTHROPIC_API_KEY: API_KEY };
    const home = claudeHarness.resolveHome(env);
    expect(home).toBe(join(paths.home, '.claude'));

    await claudeHarness.prepare({ home, cwd: paths.cwd, env }, { model: undefined, systemPrompt: undefined });

    const state = await readJson(join(paths.home, '.claude.json'));
    expect(state.hasCompletedOnboarding).toBe(true);
    expect(state.customApiKeyResponses.approved).toEqual(['000000000000000probe']);
    expect(await readJson(join(home, 'settings.json'))).toEqual({ skipDangerousModePermissionPrompt: true });
    expect(await exists(join(home, '.claude.json'))).toBe(false);
    expect(await modeOf(join(paths.home, '.claude.json'))).toBe(0o600);
  });

  it('with CLAUDE_CONFIG_DIR in the environment, claudeHarness.prepare writes $CLAUDE_CONFIG_DIR/.claude.json and leaves $HOME alone', async () => {
    const paths = await machine();
    const env = { HOME: paths.home, CLAUDE_CONFIG_DIR: paths.configDir, ANTHROPIC_API_KEY: API_KEY };
    const home = claudeHarness.resolveHome(env);
    expect(home).toBe(paths.configDir);

    await claudeHarness.prepare({ home, cwd: paths.cwd, env }, { model: undefined, systemPrompt: undefined });

    expect((await readJson(join(paths.configDir, '.claude.json'))).projects[paths.cwd].hasTrustDialogAccepted).toBe(true);
    expect(await exists(join(paths.configDir, 'settings.json'))).toBe(true);
    expect(await exists(join(paths.home, '.claude.json'))).toBe(false);
  });

  it('keeps every field of a real .claude.json (after an interactive run) and only adds or sets what a run needs', async () => {
    const paths = await machine();
    const statePath = join(paths.configDir, '.claude.json');
    await copyFile(AFTER_INTERACTIVE_RUN, statePath);
    const before = await readJson(AFTER_INTERACTIVE_RUN);
    const userSettings = { model: 'claude-sonnet-4-6', permissions: { allow: ['Bash(ls:*)'] }, skipDangerousModePermissionPrompt: false };
    await writeFile(join(paths.configDir, 'settings.json'), JSON.stringify(userSettings));

    await prepareClaudeState(input(paths, { apiKey: OTHER_API_KEY }));

    const after = await readJson(statePath);
    expect(after).toEqual({
      ...before,
      hasCompletedOnboarding: true,
      projects: { ...before.projects, [paths.cwd]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true } },
      customApiKeyResponses: { approved: ['000000000000000probe', apiKeyFingerprint(OTHER_API_KEY)], rejected: [] },
    });
    // The project the interactive run recorded keeps its statistics.
    expect(after.projects['/tmp/cp/ia-full/cwd']).toEqual(before.projects['/tmp/cp/ia-full/cwd']);
    expect(await readJson(join(paths.configDir, 'settings.json'))).toEqual({ ...userSettings, skipDangerousModePermissionPrompt: true });
  });

  it("adds the trust flag to an existing entry for the cwd without losing that entry's fields", async () => {
    const paths = await machine();
    const statePath = join(paths.configDir, '.claude.json');
    const before = await readJson(AFTER_INTERACTIVE_RUN);
    const recorded = before.projects['/tmp/cp/ia-full/cwd'];
    await writeFile(statePath, JSON.stringify({ ...before, projects: { [paths.cwd]: { ...recorded, hasTrustDialogAccepted: false } } }));

    await prepareClaudeState(input(paths));
    expect((await readJson(statePath)).projects[paths.cwd]).toEqual({ ...recorded, hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true });
  });

  it('moves a rejected key to approved, and keeps other approved and rejected keys', async () => {
    const paths = await machine();
    const statePath = join(paths.configDir, '.claude.json');
    await writeFile(statePath, JSON.stringify({ customApiKeyResponses: { approved: ['aaaaaaaaaaaaaaaaaaaa'], rejected: ['bbbbbbbbbbbbbbbbbbbb', '000000000000000probe'] } }));

    await prepareClaudeState(input(paths));
    expect((await readJson(statePath)).customApiKeyResponses).toEqual({ approved: ['aaaaaaaaaaaaaaaaaaaa', '000000000000000probe'], rejected: ['bbbbbbbbbbbbbbbbbbbb'] });
  });

  it('does not touch customApiKeyResponses without an API key', async () => {
    const paths = await machine();
    const statePath = join(paths.configDir, '.claude.json');
    await writeFile(statePath, JSON.stringify({ customApiKeyResponses: { approved: [], rejected: ['000000000000000probe'] } }));

    await prepareClaudeState(input(paths, { apiKey: undefined }));
    const state = await readJson(statePath);
    expect(state.customApiKeyResponses).toEqual({ approved: [], rejected: ['000000000000000probe'] });
    expect(state.hasCompletedOnboarding).toBe(true);

    const fresh = await machine();
    await prepareClaudeState(input(fresh, { apiKey: undefined }));
    expect(await readJson(join(fresh.configDir, '.claude.json'))).not.toHaveProperty('customApiKeyResponses');
  });

  it('is idempotent: a second run leaves both files byte-identical (no duplicate fingerprint), still 0600', async () => {
    const paths = await machine();
    const statePath = join(paths.configDir, '.claude.json');
    const settingsPath = join(paths.configDir, 'settings.json');
    await copyFile(AFTER_INTERACTIVE_RUN, statePath);

    await prepareClaudeState(input(paths));
    const state = await readFile(statePath);
    const settings = await readFile(settingsPath);
    const stateModified = (await stat(statePath)).mtimeMs;
    await prepareClaudeState(input(paths));

    expect((await readFile(statePath)).equals(state)).toBe(true);
    expect((await readFile(settingsPath)).equals(settings)).toBe(true);
    expect((await stat(statePath)).mtimeMs).toBe(stateModified);
    expect((await readJson(statePath)).customApiKeyResponses.approved).toEqual(['000000000000000probe']);
    expect(await modeOf(statePath)).toBe(0o600);
    expect(await modeOf(settingsPath)).toBe(0o600);
  });

  it('refuses a .claude.json or settings.json that is not a JSON object (CONFIG_INVALID) and leaves it as it was', async () => {
    for (const [name, content] of [
      ['.claude.json', '{"hasCompletedOnboarding": true,'],
      ['.claude.json', '["not", "an", "object"]'],
      ['settings.json', '{ not json'],
    ] as const) {
      const paths = await machine();
      const path = join(paths.configDir, name);
      await writeFile(path, content, { mode: 0o644 });

      const error = await rejectionOf(prepareClaudeState(input(paths)));
      expect(error.code, `${name}: ${content}`).toBe('CONFIG_INVALID');
      expect(error.message).toContain(path);
      expect(error.hint).toBeTruthy();
      expect(await readFile(path, 'utf8')).toBe(content);
      expect(await modeOf(path)).toBe(0o644);
    }
  });
});

describe('claudeHarness.command', () => {
  const SESSION_ID = '11111111-1111-4111-8111-111111111111';
  const HEADLESS = ['--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions'];
  const HOSTILE_PROMPT = `-x "quoted" 'single'; $(rm -rf ~) \`whoami\` $HOME {model} --help
second line\t-- --resume`;
  const templates: CommandTemplates = { command: CLAUDE_BIN, newArgs: undefined, resumeArgs: undefined };

  /**
   * A context that says whether the CLI runs as root, as the runner's always does, so these tests mean the same
   * whichever user runs them; the default (baton's own uid) has tests of its own below.
   */
  async function context(env: NodeJS.ProcessEnv = {}, runsAsRoot = true): Promise<HarnessContext> {
    const paths = await machine();
    const fullEnv = { PATH: '', HOME: paths.home, CLAUDE_CONFIG_DIR: paths.configDir, ...env };
    return { home: claudeHarness.resolveHome(fullEnv), cwd: paths.cwd, env: fullEnv, runsAsRoot };
  }

  const newRun = (prompt: string, extra: { model?: string; systemPrompt?: string } = {}): LaunchRequest<SessionResume> => ({
    kind: 'new',
    prompt,
    setup: extra,
    sessionId: SESSION_ID,
  });
  const resumeRun = (prompt: string, extra: { model?: string; systemPrompt?: string } = {}): LaunchRequest<SessionResume> => ({
    kind: 'resume',
    prompt,
    setup: extra,
    resume: { sessionId: SESSION_ID },
  });

  it('starts a new conversation with -p --session-id, stream-json, the prompt after `--`, in the run cwd, with CLAUDE_CONFIG_DIR and IS_SANDBOX=1 as root', async () => {
    const harnessContext = await context();
    const spec = await claudeHarness.command(harnessContext, newRun('Run echo hi please'), templates);
    expect(spec).toEqual({
      file: CLAUDE_BIN,
      args: ['-p', '--session-id', SESSION_ID, ...HEADLESS, '--', 'Run echo hi please'],
      env: { CLAUDE_CONFIG_DIR: harnessContext.home, IS_SANDBOX: '1' },
      cwd: harnessContext.cwd,
      packagePaths: [expect.stringMatching(/\/node_modules$/)],
    });
  });

  it('needs no IS_SANDBOX where the CLI does not run as root (in baton\'s sandbox its uid is unprivileged)', async () => {
    const harnessContext = await context({}, false);
    const spec = await claudeHarness.command(harnessContext, newRun('p'), templates);
    expect(spec.args).toContain('--dangerously-skip-permissions');
    expect(spec.env).toEqual({ CLAUDE_CONFIG_DIR: harnessContext.home });
  });

  it("behind a model proxy, sends the CLI to the proxy with the run's token, whatever key the environment holds", async () => {
    const harnessContext = { ...(await context({}, false)), modelEndpoint: { api: 'anthropic-messages' as const, baseUrl: 'http://127.0.0.1:4321/anthropic', token: 'baton_run_token-of-this-run-0123456789' } };
    harnessContext.env = { ...harnessContext.env, ANTHROPIC_API_KEY: 'sk-ant-operator' };
    const spec = await claudeHarness.command(harnessContext, newRun('p'), templates);
    expect(spec.env).toEqual({ CLAUDE_CONFIG_DIR: harnessContext.home, ANTHROPIC_BASE_URL: 'http://127.0.0.1:4321/anthropic', ANTHROPIC_API_KEY: 'baton_run_token-of-this-run-0123456789' });
  });

  it('without runsAsRoot in the context, decides by the uid baton runs as: IS_SANDBOX=1 only for root', async () => {
    const { runsAsRoot: _, ...harnessContext } = await context();
    const spec = await claudeHarness.command(harnessContext, newRun('p'), templates);
    const isRoot = process.getuid!() === 0;
    expect(spec.env).toEqual({ CLAUDE_CONFIG_DIR: harnessContext.home, ...(isRoot ? { IS_SANDBOX: '1' } : {}) });
  });

  // CI runs as root: this covers the other side of the default there, with the built harness in a process of uid 1000.
  it.runIf(process.getuid!() === 0)('without runsAsRoot in the context, baton running as uid 1000 adds no IS_SANDBOX', async () => {
    const harnessContext = await context();
    const script = [
      "const { claudeHarness } = await import(process.argv[1]);",
      "const [home, cwd, command] = process.argv.slice(2);",
      "const env = { PATH: '', HOME: home, CLAUDE_CONFIG_DIR: home };",
      "const spec = await claudeHarness.command({ home, cwd, env }, { kind: 'new', prompt: 'p', setup: {}, sessionId: '11111111-1111-4111-8111-111111111111' }, { command });",
      "process.stdout.write(JSON.stringify({ uid: process.getuid(), args: spec.args, env: spec.env }));",
    ].join('\n');
    const child = spawnSync('setpriv', ['--reuid', '1000', '--regid', '1000', '--clear-groups', process.execPath, '--input-type=module', '-e', script, BUILT_CLAUDE_HARNESS, harnessContext.home, harnessContext.cwd, CLAUDE_BIN], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const seen = JSON.parse(child.stdout) as { uid: number; args: string[]; env: Record<string, string> };
    expect(seen.uid).toBe(1000);
    expect(seen.args).toContain('--dangerously-skip-permissions');
    expect(seen.env).toEqual({ CLAUDE_CONFIG_DIR: harnessContext.home });
  });

  it('adds --model and --append-system-prompt, each only when given', async () => {
    const harnessContext = await context();
    const withBoth = await claudeHarness.command(harnessContext, newRun('p', { model: 'claude-sonnet-4-6', systemPrompt: 'Be brief.' }), templates);
    expect(withBoth.args).toEqual(['-p', '--session-id', SESSION_ID, ...HEADLESS, '--model', 'claude-sonnet-4-6', '--append-system-prompt', 'Be brief.', '--', 'p']);
    const withModel = await claudeHarness.command(harnessContext, newRun('p', { model: 'claude-sonnet-4-6' }), templates);
    expect(withModel.args).toEqual(['-p', '--session-id', SESSION_ID, ...HEADLESS, '--model', 'claude-sonnet-4-6', '--', 'p']);
    const withSystemPrompt = await claudeHarness.command(harnessContext, newRun('p', { systemPrompt: 'Be brief.' }), templates);
    expect(withSystemPrompt.args).toEqual(['-p', '--session-id', SESSION_ID, ...HEADLESS, '--append-system-prompt', 'Be brief.', '--', 'p']);
  });

  it('resumes with -p --resume <session id>, with and without model and system prompt', async () => {
    const harnessContext = await context();
    const plain = await claudeHarness.command(harnessContext, resumeRun('What did the command print?'), templates);
    expect(plain).toEqual({
      file: CLAUDE_BIN,
      args: ['-p', '--resume', SESSION_ID, ...HEADLESS, '--', 'What did the command print?'],
      env: { CLAUDE_CONFIG_DIR: harnessContext.home, IS_SANDBOX: '1' },
      cwd: harnessContext.cwd,
      packagePaths: [expect.stringMatching(/\/node_modules$/)],
    });
    const full = await claudeHarness.command(harnessContext, resumeRun('again', { model: 'claude-opus-5-5', systemPrompt: 'Stay on topic.' }), templates);
    expect(full.args).toEqual(['-p', '--resume', SESSION_ID, ...HEADLESS, '--model', 'claude-opus-5-5', '--append-system-prompt', 'Stay on topic.', '--', 'again']);
  });

  it('keeps a hostile prompt (dashes, quotes, $(…), newlines) as the one argv item after `--`', async () => {
    const harnessContext = await context();
    for (const request of [newRun(HOSTILE_PROMPT), resumeRun(HOSTILE_PROMPT)]) {
      const { args } = await claudeHarness.command(harnessContext, request, templates);
      expect(args.at(-1)).toBe(HOSTILE_PROMPT);
      expect(args.at(-2)).toBe('--');
      expect(args.filter((arg) => arg === '--')).toHaveLength(1);
      expect(args.filter((arg) => arg.includes('rm -rf'))).toHaveLength(1);
    }
  });

  it('sets CLAUDE_CONFIG_DIR to the resolved (absolute) home when the environment names one', async () => {
    const paths = await machine();
    const relative = join('.', 'relative-claude-config');
    const env = { PATH: '', HOME: paths.home, CLAUDE_CONFIG_DIR: relative };
    const home = claudeHarness.resolveHome(env);
    expect(home).toBe(join(process.cwd(), 'relative-claude-config'));
    const spec = await claudeHarness.command({ home, cwd: paths.cwd, env }, newRun('p'), templates);
    expect(spec.env.CLAUDE_CONFIG_DIR).toBe(home);
  });

  it("leaves CLAUDE_CONFIG_DIR unset when the environment does not set it, so the CLI keeps ~/.claude.json where prepare merged it", async () => {
    const paths = await machine();
    const env = { PATH: '', HOME: paths.home };
    const spec = await claudeHarness.command({ home: claudeHarness.resolveHome(env), cwd: paths.cwd, env, runsAsRoot: true }, newRun('p'), templates);
    expect(spec.env).toEqual({ IS_SANDBOX: '1' });
  });

  it('does not add IS_SANDBOX when a configured argv template leaves out --dangerously-skip-permissions', async () => {
    const harnessContext = await context();
    const custom: CommandTemplates = { command: CLAUDE_BIN, newArgs: ['-p', '--session-id', '{sessionId}', '--output-format', 'stream-json', '--verbose', '--', '{prompt}'], resumeArgs: undefined };
    const spec = await claudeHarness.command(harnessContext, newRun('p'), custom);
    expect(spec.args).toEqual(['-p', '--session-id', SESSION_ID, '--output-format', 'stream-json', '--verbose', '--', 'p']);
    expect(spec.env).toEqual({ CLAUDE_CONFIG_DIR: harnessContext.home });
  });

  it('fails with CLI_NOT_FOUND, naming the config key, when the configured command is not an executable', async () => {
    const harnessContext = await context();
    const error = await rejectionOf(claudeHarness.command(harnessContext, newRun('p'), { ...templates, command: join(harnessContext.cwd, 'no-such-claude') }));
    expect(error.code).toBe('CLI_NOT_FOUND');
    expect(error.message).toContain('harnesses.claude.command');
  });
});
