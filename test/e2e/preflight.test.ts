/**
 * `baton run` checks the CLI before it creates a conversation, with the real CLIs: on a machine where the CLIs
 * are installed but nobody logged in, each harness is refused in one line with its fix, exit 2, and nothing is
 * created or sent; a CLI of a version baton is not tested with runs, with one warning, and is asked its version
 * once; --skip-preflight starts the CLI unchecked.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HARNESS_IDS } from '../../src/harness/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createWorld, runJson, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

/** A machine with the CLIs (baton's pinned copies) and an empty HOME: no key variable, no login. */
async function bareEnvironment(name: string): Promise<NodeJS.ProcessEnv> {
  const home = join(world.root, name, 'home');
  await mkdir(home, { recursive: true });
  return { PATH: process.env.PATH, HOME: home };
}

async function conversationCount(): Promise<number> {
  if (!existsSync(world.storePath)) return 0;
  const store = await openSqliteStore(world.storePath);
  try {
    return (await store.listConversations()).length;
  } finally {
    await store.close();
  }
}

const FIXES = {
  codex: /^error: Codex CLI is not logged in \(no OPENAI_API_KEY and no .+\/\.codex\/auth\.json\)\nhint: set OPENAI_API_KEY, or log in with `codex login`/,
  claude: /^error: Claude Code is not logged in \(no ANTHROPIC_API_KEY and no .+\/\.claude\/\.credentials\.json\)\nhint: set ANTHROPIC_API_KEY, or log in with `claude` and \/login/,
  gemini: /^error: Gemini CLI has no auth method \(none in .+\/\.gemini\/settings\.json, and no GEMINI_API_KEY\)\nhint: set GEMINI_API_KEY/,
  opencode: /^error: OpenCode has no model credentials .+\nhint: run `opencode auth login`/,
} as const;

describe('preflight on a machine where nobody logged in', () => {
  it.each(HARNESS_IDS)('%s: refused in one line with the fix, exit 2, no conversation, nothing sent to a model', async (harness) => {
    const machine = await world.machine('machine-a');
    const env = await bareEnvironment('bare');
    const result = await world.baton(machine, ['run', '--harness', harness, '--json', 'hello'], { onlyEnv: env });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(FIXES[harness]);
    expect(result.stderr.trim().split('\n')).toHaveLength(2);
    expect(result.stdout).toBe('');
    expect(await conversationCount()).toBe(0);
    expect(world.model.requests).toHaveLength(0);
  });
});

describe('preflight on a machine that is set up', () => {
  it('says nothing about a tested CLI; warns once per run about an untested version, and asks the executable its version only once', async () => {
    const machine = await world.machine('machine-a');
    const tested = await world.baton(machine, ['run', '--harness', 'codex', '--json', 'hello']);
    expect(runJson(tested).status, tested.stderr).toBe('succeeded');
    expect(tested.stderr).not.toMatch(/warning:/);

    // The user's own Codex, which says it is 0.99.0, and is the real one otherwise.
    const calls = join(world.root, 'version-calls');
    const wrapper = join(world.root, 'old-codex');
    const real = join(process.cwd(), 'node_modules', '.bin', 'codex');
    await writeFile(wrapper, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo x >> '${calls}'; echo 'codex-cli 0.99.0'; exit 0; fi\nexec '${real}' "$@"\n`);
    await chmod(wrapper, 0o755);
    const config = join(world.root, 'config.json');
    await writeFile(config, JSON.stringify({ harnesses: { codex: { command: wrapper } } }));
    for (const prompt of ['first', 'second']) {
      const run = await world.baton(machine, ['--config', config, 'run', '--harness', 'codex', '--json', prompt]);
      expect(runJson(run).status, run.stderr).toBe('succeeded');
      expect(run.stderr.split('\n').filter((line) => line.startsWith('warning:'))).toEqual([
        `warning: Codex CLI 0.99.0 (${wrapper}) is not a version baton is tested with (0.171.x); if a run misbehaves, try \`npm i -g @openai/codex@0.171\``,
      ]);
    }
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('--skip-preflight starts the CLI unchecked: its own failure is the run\'s', async () => {
    const machine = await world.machine('machine-a');
    const env = await bareEnvironment('bare');
    const result = await world.baton(machine, ['run', '--harness', 'claude', '--skip-preflight', '--json', 'hello'], { onlyEnv: env });
    expect(result.code).toBe(1);
    expect(runJson(result).status).toBe('failed');
    expect(result.stderr).not.toMatch(/not logged in \(no ANTHROPIC_API_KEY/);
  });
});
