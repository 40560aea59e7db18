/**
 * Workspace handoff end to end, with real git and both real CLIs through `baton`: the files an agent made on
 * machine A are in place on machine B before the CLI starts there.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HARNESS_IDS } from '../../src/harness/ids.js';
import type { Machine } from '../../src/testing/machine.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, runJson, type World } from './world.js';

const IDENTITY = ['-c', 'user.name=agent', '-c', 'user.email=agent@example.com'];

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8' }).trim();
}

/** Machine A's project: a git repository with two commits and no remote. */
async function repoWithTwoCommits(dir: string): Promise<void> {
  git(dir, 'init', '-q', '-b', 'main');
  await writeFile(join(dir, 'README.md'), '# project\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'first');
  await writeFile(join(dir, 'src.txt'), 'v1\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'second');
}

/** What the agent does on machine A: commit once, then leave an untracked file and an edited tracked one. */
const AGENT_WORK = `RUN echo v2 >> src.txt && git ${IDENTITY.join(' ')} commit -qam 'agent commit' && echo written-on-machine-a > notes.txt && echo edited-on-machine-a >> README.md`;

describe.each(HARNESS_IDS)('workspace handoff with the %s harness', (harness) => {
  let world: World;
  beforeEach(async () => {
    world = await createWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  const toolOutputFor = (prompt: string): string => {
    const request = world.turns().find((turn) => conversationOf(turn).some((t) => t.kind === 'user' && t.text === prompt) && conversationOf(turn).at(-1)?.kind === 'tool_output');
    return request ? conversationOf(request).at(-1)!.text : '';
  };

  async function firstRunInRepo(): Promise<{ machineA: Machine; conversationId: string }> {
    const machineA = await world.machine('machine-a');
    await repoWithTwoCommits(machineA.cwd);
    const run = await world.baton(machineA, ['run', '--harness', harness, '--json', AGENT_WORK]);
    expect(run.code, run.stderr).toBe(0);
    expect(runJson(run).status, run.stderr).toBe('succeeded');
    expect(git(machineA.cwd, 'log', '--format=%s')).toBe('agent commit\nsecond\nfirst');
    return { machineA, conversationId: runJson(run).conversationId };
  }

  it('recreates the repository, the agent\'s commit and its uncommitted changes on a fresh machine before the CLI starts', async () => {
    const { machineA, conversationId } = await firstRunInRepo();
    const head = git(machineA.cwd, 'rev-parse', 'HEAD');
    await machineA.destroy();

    const machineB = await world.machine('machine-b');
    expect(await readdir(machineB.cwd)).toEqual([]);
    const prompt = 'RUN cat notes.txt && git log --format=%s -1 && tail -1 README.md';
    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', prompt]);
    expect(runJson(resumed).status, resumed.stderr).toBe('succeeded');
    expect(resumed.stderr).toContain(`restored the conversation's workspace into ${machineB.cwd}`);

    // The agent's command on machine B read what it wrote on machine A.
    const output = toolOutputFor(prompt);
    expect(output).toContain('written-on-machine-a');
    expect(output).toContain('agent commit');
    expect(output).toContain('edited-on-machine-a');
    expect(git(machineB.cwd, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(machineB.cwd, 'status', '--porcelain').split('\n')).toEqual(['M README.md', '?? notes.txt']); // (trimmed: " M" is unstaged)

    const shown = await world.baton(machineB, ['show', conversationId]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/run 1 · new · succeeded[\s\S]*✎ files changed: README\.md, notes\.txt, src\.txt/);
  });

  it('carries the workspace in an export file, so an imported conversation resumes with its files', async () => {
    const { machineA, conversationId } = await firstRunInRepo();
    const exportFile = join(world.root, 'with-workspace.json');
    const exported = await world.baton(machineA, ['export', conversationId, '-o', exportFile]);
    expect(exported.code, exported.stderr).toBe(0);
    await machineA.destroy();
    const machineB = await world.machine('machine-b');
    const ownStore = join(machineB.root, 'own.db');
    const imported = await world.baton(machineB, ['import', exportFile], { store: ownStore });
    expect(imported.code, imported.stderr).toBe(0);
    const prompt = 'RUN cat notes.txt';
    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', prompt], { store: ownStore });
    expect(runJson(resumed).status, resumed.stderr).toBe('succeeded');
    expect(toolOutputFor(prompt)).toContain('written-on-machine-a');
  });

  it('refuses to restore over other work, changing nothing, and resumes without files with --workspace skip', async () => {
    const { conversationId } = await firstRunInRepo();
    const machineB = await world.machine('machine-b');
    await writeFile(join(machineB.cwd, 'mine.txt'), 'my own work\n');
    const requestsBefore = world.turns().length;
    const refused = await world.baton(machineB, ['resume', conversationId, 'hello again']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: cannot restore the conversation's workspace into .+: it is not empty \(1 entries: mine\.txt\) and is not the conversation's git repository\nhint: .*--workspace overwrite.*--workspace skip/m);
    expect(await readdir(machineB.cwd)).toEqual(['mine.txt']);
    expect(world.turns().length).toBe(requestsBefore);

    const skipped = await world.baton(machineB, ['resume', conversationId, '--json', '--workspace', 'skip', 'hello again']);
    expect(runJson(skipped).status, skipped.stderr).toBe('succeeded');
    expect(await readdir(machineB.cwd)).toEqual(['mine.txt']);
  });

  it('records an oversized workspace, still saves the transcript, and says so at the next resume', async () => {
    const machineA = await world.machine('machine-a');
    await repoWithTwoCommits(machineA.cwd);
    const run = await world.baton(machineA, ['run', '--harness', harness, '--json', '--max-workspace-mb', '0.0001', 'RUN echo big > big.txt']);
    expect(runJson(run).status).toBe('succeeded');
    expect(run.stderr).toMatch(/the workspace is too large to save/);
    const machineB = await world.machine('machine-b');
    const resumed = await world.baton(machineB, ['resume', runJson(run).conversationId, '--json', 'after the big run']);
    expect(runJson(resumed).status).toBe('succeeded');
    expect(resumed.stderr).toMatch(/the workspace was too large to save at the last save \(.+ MB > .+ MB\): resuming without its files/);
    expect(conversationOf(world.turns().find((turn) => lastUserText(turn) === 'after the big run')!)).toContainEqual({ kind: 'user', text: 'RUN echo big > big.txt' });
  });
});

describe('a plain directory workspace', () => {
  let world: World;
  beforeEach(async () => {
    world = await createWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  it('travels byte for byte, without ignored paths or secrets, and can be written out with `baton workspace`', async () => {
    const machineA = await world.machine('machine-a');
    await mkdir(join(machineA.cwd, 'node_modules', 'x'), { recursive: true });
    await writeFile(join(machineA.cwd, 'node_modules', 'x', 'index.js'), 'ignored');
    await writeFile(join(machineA.cwd, '.env'), 'SECRET=1\n');
    const run = await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'RUN mkdir -p docs && printf "plain\\n" > docs/plain.txt && chmod 755 docs/plain.txt']);
    const { conversationId } = runJson(run);
    const out = join(world.root, 'materialised');
    const written = await world.baton(machineA, ['workspace', conversationId, '-o', out]);
    expect(written.code, written.stderr).toBe(0);
    expect(await readFile(join(out, 'docs', 'plain.txt'), 'utf8')).toBe('plain\n');
    expect((await readdir(out)).sort()).toEqual(['docs']);

    await machineA.destroy();
    const machineB = await world.machine('machine-b');
    const prompt = 'RUN cat docs/plain.txt && ls -la docs';
    expect(runJson(await world.baton(machineB, ['resume', conversationId, '--json', prompt])).status).toBe('succeeded');
    expect(toolOutput(world, prompt)).toMatch(/plain[\s\S]*-rwxr-xr-x/);
  });
});

describe('an empty plain directory workspace', () => {
  let world: World;
  beforeEach(async () => {
    world = await createWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  it('is written out by `baton workspace` and restored by a resume, also with --workspace overwrite', async () => {
    const machineA = await world.machine('machine-a');
    expect(await readdir(machineA.cwd)).toEqual([]);
    const { conversationId } = runJson(await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'hello from an empty folder']));
    const out = join(world.root, 'materialised');
    const written = await world.baton(machineA, ['workspace', conversationId, '-o', out]);
    expect(written.code, written.stderr).toBe(0);
    expect(await readdir(out)).toEqual([]);

    const machineB = await world.machine('machine-b');
    await writeFile(join(machineB.cwd, 'mine.txt'), 'mine\n');
    const plain = await world.baton(machineB, ['resume', conversationId, 'next']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: .+ is not empty \(1 entry: mine\.txt\)\nhint: resume with `--workspace overwrite`/m);
    const overwritten = await world.baton(machineB, ['resume', conversationId, '--workspace', 'overwrite', '--json', 'next']);
    expect(runJson(overwritten).status, overwritten.stderr).toBe('succeeded');
    expect(await readFile(join(machineB.cwd, 'mine.txt'), 'utf8')).toBe('mine\n');
  });
});

function toolOutput(world: World, prompt: string): string {
  const request = world.turns().find((turn) => conversationOf(turn).some((t) => t.kind === 'user' && t.text === prompt) && conversationOf(turn).at(-1)?.kind === 'tool_output');
  return request ? conversationOf(request).at(-1)!.text : '';
}
