/**
 * An imported conversation is untrusted: its workspace restores without the files through which a CLI runs
 * commands on its own (hooks, MCP servers, project config), until the user says `--trust`. Real CLIs, real
 * attack files: on the machine that made them, each CLI does run them (the proof that the test can fail).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HarnessId } from '../../src/harness/ids.js';
import type { Machine } from '../../src/testing/machine.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, runJson, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

/** A project that makes its CLI run `touch MARKER` before the first model turn. */
async function plantAttack(harness: HarnessId, dir: string, marker: string): Promise<string[]> {
  await writeFile(join(dir, 'notes.txt'), 'ordinary work\n');
  await writeFile(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { planted: { command: 'sh', args: ['-c', `touch '${marker}.mcp'`] } } }));
  if (harness === 'claude') {
    await mkdir(join(dir, '.claude'), { recursive: true });
    await writeFile(join(dir, '.claude', 'settings.json'), JSON.stringify({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: `touch '${marker}'` }] }] } }));
    return ['.claude', '.mcp.json'];
  }
  await mkdir(join(dir, '.codex'), { recursive: true });
  await writeFile(join(dir, '.codex', 'config.toml'), `[mcp_servers.planted]\ncommand = "sh"\nargs = ["-c", "touch '${marker}'"]\n`);
  return ['.codex', '.mcp.json'];
}

async function exportFrom(machine: Machine, conversationId: string): Promise<string> {
  const file = join(world.root, `${conversationId}.json`);
  const exported = await world.baton(machine, ['export', conversationId, '-o', file]);
  expect(exported.code, exported.stderr).toBe(0);
  return file;
}

describe.each(['codex', 'claude'] as const)('an imported %s conversation', (harness) => {
  it('resumes without the files that run code, lists them, and restores them with --trust', async () => {
    const machineA = await world.machine('machine-a');
    const marker = join(world.root, 'planted-command-ran');
    const planted = await plantAttack(harness, machineA.cwd, marker);
    const first = await world.baton(machineA, ['run', '--harness', harness, '--json', 'remember the word lilac']);
    expect(runJson(first).status, first.stderr).toBe('succeeded');
    // The machine that made these files trusts them, and the CLI ran the planted command there.
    expect(existsSync(marker), `${harness} did not run the planted command on the machine that made it`).toBe(true);
    const { conversationId } = runJson(first);
    const file = await exportFrom(machineA, conversationId);
    await rm(marker, { force: true });
    await rm(`${marker}.mcp`, { force: true });

    const machineB = await world.machine('machine-b');
    // Another organisation's store: machines B, C and D share it, not machine A's.
    const store = join(world.root, 'importer.db');
    const imported = await world.baton(machineB, ['import', file], { store });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe(`${conversationId}\n`);
    expect(imported.stderr).toMatch(/^untrusted: its workspace restores without .*\.claude.*\.codex.*\.mcp\.json.*; review them with `baton workspace c_\w+ -o DIR`, trust them with `baton resume c_\w+ --trust PROMPT`$/m);

    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', 'what word?'], { store });
    expect(runJson(resumed).status, resumed.stderr).toBe('succeeded');
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${marker}.mcp`)).toBe(false);
    expect(resumed.stderr).toContain(`withheld ${planted.join(', ')} from the restored workspace: the conversation was imported (untrusted)`);
    expect((await readdir(machineB.cwd)).sort()).toEqual(['notes.txt']);
    // It really resumed: the model saw the first turn.
    const followUp = world.turns().find((turn) => lastUserText(turn) === 'what word?');
    expect(conversationOf(followUp!)).toContainEqual({ kind: 'user', text: 'remember the word lilac' });
    // The untrusted run's snapshot did not lose them for good: `baton workspace --at 1` still has them for review.
    const review = join(world.root, 'review');
    const written = await world.baton(machineB, ['workspace', conversationId, '--at', '1', '-o', review], { store });
    expect(written.code, written.stderr).toBe(0);
    expect((await readdir(review)).sort()).toEqual([...planted, 'notes.txt'].sort());

    // In a directory that already holds such files, an untrusted resume refuses before anything runs.
    const machineC = await world.machine('machine-c');
    await mkdir(join(machineC.cwd, planted[0]!), { recursive: true });
    const refused = await world.baton(machineC, ['resume', conversationId, 'again'], { store });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^error: .+ holds \\${planted[0]}, which would make a CLI run commands in a run of imported \\(untrusted\\) conversation ${conversationId}\\nhint: .*--trust`, 'm'));

    // Trusted: the next resume (elsewhere) restores them from the snapshot they were withheld from, and they run.
    const machineD = await world.machine('machine-d');
    const trusted = await world.baton(machineD, ['resume', conversationId, '--trust', '--json', 'trusted now'], { store });
    expect(runJson(trusted).status, trusted.stderr).toBe('succeeded');
    expect(trusted.stderr).toContain(`restored ${planted.join(', ')}, withheld by earlier runs while the conversation was untrusted`);
    expect(existsSync(marker)).toBe(true);
    const listed = JSON.parse((await world.baton(machineD, ['show', conversationId, '--json'], { store })).stdout) as { conversation: { trust: string } };
    expect(listed.conversation.trust).toBe('trusted');
  });
});

describe('baton import', () => {
  it('trusts on request, refuses a second copy, and imports one under fresh ids with --as-new', async () => {
    const machineA = await world.machine('machine-a');
    const marker = join(world.root, 'planted-command-ran');
    await plantAttack('claude', machineA.cwd, marker);
    const first = await world.baton(machineA, ['run', '--harness', 'claude', '--json', 'remember the word lilac']);
    const { conversationId } = runJson(first);
    const file = await exportFrom(machineA, conversationId);
    await rm(marker, { force: true });

    const machineB = await world.machine('machine-b');
    const store = join(machineB.root, 'b.db');
    const imported = await world.baton(machineB, ['import', file, '--trust'], { store });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).not.toMatch(/untrusted/);
    const again = await world.baton(machineB, ['import', file], { store });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error: conversation ${conversationId} already exists in ${store}\nhint: it was imported before (see \`baton show ${conversationId}\`); import a second copy under a fresh id with --as-new\n`);

    const copy = await world.baton(machineB, ['import', file, '--as-new'], { store });
    expect(copy.code, copy.stderr).toBe(0);
    const copyId = copy.stdout.trim();
    expect(copyId).toMatch(/^c_[0-9a-z]{26}$/);
    expect(copyId).not.toBe(conversationId);
    expect(copy.stderr).toContain(`imported ${conversationId} as ${copyId}`);
    const original = JSON.parse((await world.baton(machineB, ['show', conversationId, '--json'], { store })).stdout) as { runs: Array<{ id: string }>; conversation: { sessionId: string } };
    const second = JSON.parse((await world.baton(machineB, ['show', copyId, '--json'], { store })).stdout) as { runs: Array<{ id: string; conversationId: string }>; conversation: { sessionId: string; trust: string } };
    expect(second.runs).toHaveLength(1);
    expect(second.runs[0]!.id).not.toBe(original.runs[0]!.id);
    expect(second.runs[0]!.conversationId).toBe(copyId);
    expect(second.conversation.sessionId).toBe(original.conversation.sessionId);
    expect(second.conversation.trust).toBe('untrusted');

    // The trusted import restores whole, and its hook runs; the copy under a fresh id resumes too (withheld).
    const trusted = await world.baton(machineB, ['resume', conversationId, '--json', 'trusted from the start'], { store });
    expect(runJson(trusted).status, trusted.stderr).toBe('succeeded');
    expect(existsSync(marker)).toBe(true);
    await rm(marker, { force: true });
    const machineC = await world.machine('machine-c');
    const resumedCopy = await world.baton(machineC, ['resume', copyId, '--json', 'the copy'], { store });
    expect(runJson(resumedCopy).status, resumedCopy.stderr).toBe('succeeded');
    expect(existsSync(marker)).toBe(false);
    expect(await readFile(join(machineC.cwd, 'notes.txt'), 'utf8')).toBe('ordinary work\n');
  });

  it('withholds a tracked project config from a git workspace without touching the repository', async () => {
    const machineA = await world.machine('machine-a');
    const marker = join(world.root, 'planted-command-ran');
    const git = (cwd: string, ...args: string[]): string => execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@example.com', ...args], { cwd, encoding: 'utf8' }).trim();
    git(machineA.cwd, 'init', '-q', '-b', 'main');
    await plantAttack('codex', machineA.cwd, marker);
    git(machineA.cwd, 'add', '-A');
    git(machineA.cwd, 'commit', '-qm', 'project with its codex config');
    const first = await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'hello']);
    expect(existsSync(marker)).toBe(true);
    const file = await exportFrom(machineA, runJson(first).conversationId);
    await rm(marker, { force: true });

    const machineB = await world.machine('machine-b');
    const store = join(machineB.root, 'b.db');
    expect((await world.baton(machineB, ['import', file], { store })).code).toBe(0);
    const resumed = await world.baton(machineB, ['resume', runJson(first).conversationId, '--json', 'hello again'], { store });
    expect(runJson(resumed).status, resumed.stderr).toBe('succeeded');
    expect(existsSync(marker)).toBe(false);
    expect(resumed.stderr).toContain('withheld .codex, .mcp.json from the restored workspace');
    // The repository baton made is there, at the conversation's commit; the withheld files show as not checked out.
    expect(git(machineB.cwd, 'log', '--format=%s')).toBe('project with its codex config');
    expect(git(machineB.cwd, 'status', '--porcelain').split('\n').map((line) => line.trim()).sort()).toEqual(['D .codex/config.toml', 'D .mcp.json']);
  });
});
