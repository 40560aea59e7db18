/**
 * Real export files to mutate: made with the built `baton` and the real CLIs against the scripted model server,
 * one per harness and workspace kind, so a mutation starts from everything a real export holds (a real
 * transcript, a real tar archive, a real git bundle and patch).
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HarnessId } from '../../src/harness/ids.js';
import type { Machine } from '../../src/testing/machine.js';
import { runJson, type World } from '../e2e/world.js';

export type WorkspaceKind = 'directory' | 'git';

export interface Seed {
  name: string;
  harness: HarnessId;
  workspace: WorkspaceKind;
  /** The export file as `baton export` wrote it. */
  text: string;
  /** The first run's prompt: a resume of a mutated copy must still carry it to the model. */
  prompt: string;
}

export const SEED_PROMPT = 'RUN echo hi > f.txt';

const IDENTITY = ['-c', 'user.name=agent', '-c', 'user.email=agent@example.com'];
const git = (cwd: string, ...args: string[]): string => execFileSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8' }).trim();

/** A repository with one commit and no remote: its snapshot carries a bundle (every commit) and a patch. */
async function repository(dir: string): Promise<void> {
  git(dir, 'init', '-q', '-b', 'main');
  await writeFile(join(dir, 'README.md'), '# project\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'first');
}

async function makeSeed(world: World, harness: HarnessId, workspace: WorkspaceKind): Promise<Seed> {
  const name = `${harness}-${workspace}`;
  const machine: Machine = await world.machine(`seed-${name}`);
  if (workspace === 'git') await repository(machine.cwd);
  else await writeFile(join(machine.cwd, 'notes.txt'), 'ordinary work\n');
  // A store per seed: two `baton run`s on one new SQLite store at once raced on its first migration ("table
  // conversations already exists") and on a save ("database is locked") in this suite.
  const store = join(machine.root, 'store.db');
  const run = await world.baton(machine, ['run', '--harness', harness, '--json', SEED_PROMPT], { store });
  if (run.code !== 0) throw new Error(`seed ${name}: baton run exited ${run.code}:\n${run.stderr}`);
  const { conversationId, status } = runJson(run);
  if (status !== 'succeeded') throw new Error(`seed ${name}: the run ${status}:\n${run.stderr}`);
  const file = join(machine.root, 'export.json');
  const exported = await world.baton(machine, ['export', conversationId, '-o', file], { store });
  if (exported.code !== 0) throw new Error(`seed ${name}: export failed:\n${exported.stderr}`);
  return { name, harness, workspace, text: await readFile(file, 'utf8'), prompt: SEED_PROMPT };
}

/** The four seeds, two at a time (two cores). */
export async function makeSeeds(world: World): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (const workspace of ['directory', 'git'] as const) {
    seeds.push(...(await Promise.all((['codex', 'claude'] as const).map((harness) => makeSeed(world, harness, workspace)))));
  }
  return seeds;
}
