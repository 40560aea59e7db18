/**
 * A CLI that fails leaves its evidence in the run's error: the exit, then the last lines of its stderr, stored
 * terminal-safe and redacted. The harness's command points at a small script in place of the real CLI.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startConversation } from '../../src/run/runner.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

const API_KEY = 'sk-proj-Zq8vN3kLw0Xr7Tb2Yc5Hd9Jf4Gm6Ps1Qa';

let root: string;
let store: Store;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-cli-exit-'));
  store = await openSqliteStore(join(root, 'baton.db'));
});
afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

/** Runs `body` (sh) as the Codex CLI of a new conversation. */
async function runScript(body: string) {
  const script = join(root, 'failing-cli.sh');
  await writeFile(script, `#!/bin/sh\n${body}\n`);
  await chmod(script, 0o755);
  const cwd = join(root, 'cwd');
  const home = join(root, 'home');
  await mkdir(cwd, { recursive: true });
  await mkdir(join(home, '.codex'), { recursive: true });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CODEX_HOME: join(home, '.codex'), OPENAI_API_KEY: API_KEY };
  const result = await startConversation({ store, harness: 'codex', prompt: 'hello', cwd, env, config: { harnesses: { codex: { command: script } } }, workspace: { enabled: false } });
  return { result, run: await store.getRun(result.runId), events: await store.listRunEvents(result.runId) };
}

describe('a failing CLI\'s stderr tail reaches the run\'s error', () => {
  it('names the exit code and ends with its last non-empty stderr lines, colour codes gone and secrets redacted', async () => {
    const { result, run, events } = await runScript(
      [
        `printf 'starting\\n' >&2`,
        `for n in 1 2 3 4 5 6; do printf 'noise %s\\n\\n' "$n" >&2; done`,
        `printf '\\033[31merror:\\033[0m the model refused the key %s\\n' "$OPENAI_API_KEY" >&2`,
        `printf 'exiting\\n' >&2`,
        'exit 3',
      ].join('\n'),
    );
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(3);
    // It ended without its turn's end and without a word baton knows: crashed.
    expect(result.errorCode).toBe('CLI_CRASHED');
    const [first, ...tail] = result.error!.split('\n');
    expect(first).toBe('Codex CLI exited with code 3; its stderr ended with:');
    expect(tail.map((line) => line.trim())).toEqual(['noise 4', 'noise 5', 'noise 6', expect.stringMatching(/^error: the model refused the key \[REDACTED[^\]]*\]$/), 'exiting']);
    expect(run?.error).toBe(result.error);
    expect(events.filter((event) => event.type === 'error').map((event) => (event.data as { message?: string }).message)).toEqual([result.error]);
    expect(JSON.stringify({ run, events })).not.toContain(API_KEY);
  });

  it('names the signal a CLI died of, with what it wrote to stderr first', async () => {
    const { result } = await runScript(`printf 'panic: out of memory\\n' >&2\nkill -KILL $$`);
    expect(result.status).toBe('failed');
    expect(result.error).toBe('Codex CLI was killed by SIGKILL; its stderr ended with:\n  panic: out of memory');
    expect(result.errorCode).toBe('CLI_CRASHED');
  });
});
