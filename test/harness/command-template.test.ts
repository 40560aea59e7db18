/**
 * Argv templates: placeholders replaced inside argv items (never a shell string), optional groups, and the
 * Codex harness's default argv for a new conversation and a resume.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import { codexHarness } from '../../src/harness/codex/harness.js';
import { nativeCodexBehind } from '../../src/harness/codex/native-binary.js';
import { expandTemplate } from '../../src/harness/command-template.js';
import type { CommandTemplates, HarnessContext } from '../../src/harness/harness.js';

const CODEX_BIN = fileURLToPath(new URL('../../node_modules/.bin/codex', import.meta.url));
/** baton starts the native binary behind the npm launcher (see src/harness/codex/native-binary.ts). */
const NATIVE_CODEX = nativeCodexBehind(CODEX_BIN)!;
const SESSION_ID = '01a21a00-e515-7ec1-a52c-23e5cb77e528';
const HOSTILE_PROMPT = `Say "hi" and 'bye'; then $(rm -rf ~) \`whoami\` $HOME $& $1 {model} \\n
on a second line
	and a tab; -- --help`;

function thrownBy(action: () => unknown): BatonError {
  try {
    action();
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError, but nothing was thrown');
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

describe('expandTemplate', () => {
  it('replaces placeholders inside argv items, several to an item', () => {
    expect(expandTemplate(['run', '--cwd={cwd}', '{model}@{sessionId}', '{prompt}'], { cwd: '/work', model: 'gpt-5', sessionId: SESSION_ID, prompt: 'hello' })).toEqual([
      'run',
      '--cwd=/work',
      `gpt-5@${SESSION_ID}`,
      'hello',
    ]);
  });

  it('keeps a prompt with quotes, $(…), backticks, replacement patterns, placeholders and newlines as one unchanged argv item', () => {
    expect(expandTemplate(['exec', '--', '{prompt}'], { prompt: HOSTILE_PROMPT })).toEqual(['exec', '--', HOSTILE_PROMPT]);
    expect(expandTemplate(['--prompt={prompt}'], { prompt: HOSTILE_PROMPT, model: 'must-not-appear' })).toEqual([`--prompt=${HOSTILE_PROMPT}`]);
  });

  it('drops an optional group as a whole when one of its values is missing, and keeps it when all are there', () => {
    const template = ['exec', ['-m', '{model}'], ['--profile', 'fast'], '{prompt}'];
    expect(expandTemplate(template, { prompt: 'p' })).toEqual(['exec', '--profile', 'fast', 'p']);
    expect(expandTemplate(template, { prompt: 'p', model: 'gpt-5' })).toEqual(['exec', '-m', 'gpt-5', '--profile', 'fast', 'p']);
    expect(expandTemplate([['--model={model}', '--cwd={cwd}']], { model: 'gpt-5' })).toEqual([]);
  });

  it('refuses an unknown placeholder (CONFIG_INVALID), in a plain item or in a group', () => {
    for (const template of [['{promt}'], [['-m', '{modle}']]]) {
      const error = thrownBy(() => expandTemplate(template, { prompt: 'p', model: 'm' }));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.hint).toContain('{prompt}');
    }
  });

  it('refuses a plain item whose value this run does not have (CONFIG_INVALID)', () => {
    const error = thrownBy(() => expandTemplate(['exec', 'resume', '{sessionId}', '{prompt}'], { prompt: 'p' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('{sessionId}');
  });
});

describe('codexHarness.command', () => {
  const temporaryDirectories: string[] = [];
  afterEach(async () => {
    await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
  });

  async function context(): Promise<HarnessContext> {
    const root = await mkdtemp(join(tmpdir(), 'baton-command-'));
    temporaryDirectories.push(root);
    return { home: join(root, 'codex-home'), cwd: join(root, 'project'), env: { PATH: '' } };
  }

  const templates: CommandTemplates = { command: CODEX_BIN, newArgs: undefined, resumeArgs: undefined };
  const HEADLESS = ['--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox'];

  it('starts a new conversation with `codex exec`, the prompt after `--`, CODEX_HOME set and the run cwd', async () => {
    const harnessContext = await context();
    const spec = await codexHarness.command(harnessContext, { kind: 'new', prompt: HOSTILE_PROMPT, setup: {}, sessionId: undefined }, templates);
    expect(spec).toEqual({
      file: NATIVE_CODEX.file,
      args: ['exec', ...HEADLESS, '--', HOSTILE_PROMPT],
      env: { CODEX_HOME: harnessContext.home, CODEX_MANAGED_BY_NPM: '1', CODEX_MANAGED_PACKAGE_ROOT: expect.stringMatching(/@openai\/codex$/) },
      cwd: harnessContext.cwd,
      // What a sandbox binds read-only for it: the node_modules holding the launcher and its platform binary.
      packagePaths: [expect.stringMatching(/\/node_modules$/)],
    });
  });

  it('passes `-m <model>` for a new conversation only when a model is given', async () => {
    const harnessContext = await context();
    const spec = await codexHarness.command(harnessContext, { kind: 'new', prompt: '-starts with a dash', setup: { model: 'gpt-5-codex' }, sessionId: undefined }, templates);
    expect(spec.args).toEqual(['exec', ...HEADLESS, '-m', 'gpt-5-codex', '--', '-starts with a dash']);
  });

  it('resumes with `codex exec resume`, the session id and the prompt after `--`, with and without a model', async () => {
    const harnessContext = await context();
    const resume = { harness: 'codex' as const, sessionId: SESSION_ID };
    const withoutModel = await codexHarness.command(harnessContext, { kind: 'resume', prompt: '-- a third prompt', setup: {}, resume }, templates);
    expect(withoutModel).toEqual({
      file: NATIVE_CODEX.file,
      args: ['exec', 'resume', ...HEADLESS, '--', SESSION_ID, '-- a third prompt'],
      env: { CODEX_HOME: harnessContext.home, CODEX_MANAGED_BY_NPM: '1', CODEX_MANAGED_PACKAGE_ROOT: expect.stringMatching(/@openai\/codex$/) },
      cwd: harnessContext.cwd,
      // What a sandbox binds read-only for it: the node_modules holding the launcher and its platform binary.
      packagePaths: [expect.stringMatching(/\/node_modules$/)],
    });
    const withModel = await codexHarness.command(harnessContext, { kind: 'resume', prompt: 'again', setup: { model: 'o4-mini' }, resume }, templates);
    expect(withModel.args).toEqual(['exec', 'resume', ...HEADLESS, '-m', 'o4-mini', '--', SESSION_ID, 'again']);
  });

  it("uses the argv templates from baton's config instead of the defaults", async () => {
    const harnessContext = await context();
    const custom: CommandTemplates = { command: CODEX_BIN, newArgs: ['exec', '--json', '-C', '{cwd}', '{prompt}'], resumeArgs: ['exec', 'resume', '--json', '{sessionId}', '{prompt}'] };
    const created = await codexHarness.command(harnessContext, { kind: 'new', prompt: 'p', setup: {}, sessionId: undefined }, custom);
    expect(created.args).toEqual(['exec', '--json', '-C', harnessContext.cwd, 'p']);
    const resumed = await codexHarness.command(harnessContext, { kind: 'resume', prompt: 'q', setup: {}, resume: { sessionId: SESSION_ID } }, custom);
    expect(resumed.args).toEqual(['exec', 'resume', '--json', SESSION_ID, 'q']);
  });

  it('fails with CLI_NOT_FOUND, naming the config key, when the configured command is not an executable', async () => {
    const harnessContext = await context();
    const missing = { ...templates, command: join(harnessContext.cwd, 'no-such-codex') };
    const error = await rejectionOf(codexHarness.command(harnessContext, { kind: 'new', prompt: 'p', setup: {}, sessionId: undefined }, missing));
    expect(error.code).toBe('CLI_NOT_FOUND');
    expect(error.message).toContain('harnesses.codex.command');
  });
});

describe('the native Codex binary behind the npm launcher', () => {
  it('is the pinned codex itself, so baton can skip the launcher\'s extra Node start', () => {
    expect(NATIVE_CODEX.file).toMatch(/@openai\/codex-linux-(x64|arm64)\/vendor\/.+\/bin\/codex$/);
    expect(execFileSync(NATIVE_CODEX.file, ['--version'], { encoding: 'utf8' }).trim()).toBe('codex-cli 0.171.0');
  });

  it('is not guessed for an executable that is not the npm launcher', () => {
    expect(nativeCodexBehind('/bin/sh')).toBeUndefined();
    expect(nativeCodexBehind('/nonexistent/codex')).toBeUndefined();
  });
});
