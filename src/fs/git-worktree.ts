import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The folder of the git worktree holding `directory` (the nearest one with a `.git`), or undefined outside git. */
export function gitWorktreeOf(directory: string): string | undefined {
  for (let current = resolve(directory); ; current = dirname(current)) {
    if (existsSync(join(current, '.git'))) return current;
    if (dirname(current) === current) return undefined;
  }
}
