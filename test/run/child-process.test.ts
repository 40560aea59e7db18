import { describe, expect, it } from 'vitest';
import { isBatonError } from '../../src/errors.js';
import { spawnCli } from '../../src/run/child-process.js';

const plan = { file: '/bin/echo', args: ['hello'], env: { PATH: '/usr/bin:/bin' }, cwd: '/', supervised: false, inputs: [] };

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

describe('spawnCli', () => {
  it('refuses an argument or a variable holding a NUL by name (USAGE, one line) instead of Node\'s TypeError', () => {
    for (const bad of [{ ...plan, args: ['-p', 'system\0prompt'] }, { ...plan, env: { ...plan.env, X: 'a\0b' } }]) {
      const error = thrownBy(() => spawnCli(bad));
      expect(isBatonError(error, 'USAGE'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/^cannot start the CLI: (an argument \("system\\u0000prompt"\)|the environment variable "X") holds a NUL character, which no program can be given$/);
    }
  });

  it('starts a plain command', async () => {
    const child = spawnCli(plan);
    const lines: string[] = [];
    for await (const line of child.lines) lines.push(line);
    expect((await child.exited).exitCode).toBe(0);
    expect(lines).toEqual(['hello']);
  });
});
