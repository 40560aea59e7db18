/**
 * Git workspaces with real git in temporary directories: what a snapshot captures, and how a restore
 * recreates it or refuses to touch other work.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGitWorkspace, restoreGit, snapshotGit } from '../../src/workspace/git-workspace.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES, type SnapshotOptions } from '../../src/workspace/workspace.js';

const options: SnapshotOptions = { maxBytes: DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false };
let root: string;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } }).trim();
}

/** A repository with two commits, as on "machine A". */
async function repoWithTwoCommits(name = 'repo'): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  await writeFile(join(dir, 'README.md'), '# project\n');
  await writeFile(join(dir, '.gitignore'), 'build/\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'first');
  await writeFile(join(dir, 'src.txt'), 'line 1\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'second');
  return dir;
}

/** The agent's work: an untracked file, an edit to a tracked one, a staged file, a commit, and ignored output. */
async function agentWork(dir: string): Promise<void> {
  await writeFile(join(dir, 'committed.txt'), 'committed by the agent\n');
  git(dir, 'add', 'committed.txt');
  git(dir, 'commit', '-qm', 'agent commit');
  await writeFile(join(dir, 'untracked.txt'), 'written on machine A\n');
  await writeFile(join(dir, 'src.txt'), 'line 1\nline 2 (unstaged edit)\n');
  await writeFile(join(dir, 'staged.txt'), 'staged\n');
  git(dir, 'add', 'staged.txt');
  await writeFile(join(dir, 'binary.bin'), Buffer.from([0, 1, 2, 255, 254, 0, 10]));
  await chmod(join(dir, 'binary.bin'), 0o755);
  await mkdir(join(dir, 'build'), { recursive: true });
  await writeFile(join(dir, 'build', 'out.js'), 'ignored\n');
  await writeFile(join(dir, '.env'), 'TOKEN=secret\n');
}

async function tree(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (!entry.isFile() || path.includes(`${join(dir, '.git')}`)) continue;
    files[path.slice(dir.length + 1)] = (await readFile(path)).toString('base64');
  }
  return files;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-git-ws-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('git workspace snapshots', () => {
  it('recreate the commits and every uncommitted change in an empty directory, without touching the user\'s index', async () => {
    const dir = await repoWithTwoCommits();
    await agentWork(dir);
    const statusBefore = git(dir, 'status', '--porcelain');
    const { snapshot } = await snapshotGit(dir, options, undefined);
    expect(git(dir, 'status', '--porcelain')).toBe(statusBefore); // the user's index is as it was

    expect(snapshot.manifest).toMatchObject({ kind: 'git', baseCommit: git(dir, 'rev-parse', 'HEAD'), branch: 'main', remoteUrl: undefined, bundleIsComplete: true, excludedSecrets: ['.env'] });
    expect(snapshot.blobs.bundle).toBeDefined();

    const target = join(root, 'machine-b', 'project');
    expect(await restoreGit(snapshot, target, 'restore', options)).toBe('restored');
    expect(git(target, 'rev-parse', 'HEAD')).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(target, 'log', '--format=%s')).toBe('agent commit\nsecond\nfirst');
    expect(git(target, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    const expected = await tree(dir);
    delete expected['.env'];
    delete expected['build/out.js'];
    expect(await tree(target)).toEqual(expected);
    expect((await stat(join(target, 'binary.bin'))).mode & 0o777).toBe(0o755);
    expect(await isGitWorkspace(target)).toBe(true);
  });

  it('never keeps credentials of a remote URL in the manifest (a snapshot is stored and exported)', async () => {
    const dir = await repoWithTwoCommits();
    git(dir, 'remote', 'add', 'origin', 'https://deploy:ghp_secret123@example.invalid/acme/repo.git');
    const { snapshot } = await snapshotGit(dir, options, undefined);
    expect(snapshot.manifest).toMatchObject({ remoteUrl: 'https://example.invalid/acme/repo.git' });
    expect(JSON.stringify(snapshot.manifest)).not.toContain('ghp_secret123');
  });

  it('bundles only the commits a remote does not have, and restores from the remote plus the bundle', async () => {
    const remote = join(root, 'remote.git');
    git(root, 'init', '-q', '--bare', remote);
    const dir = await repoWithTwoCommits();
    git(dir, 'remote', 'add', 'origin', remote);
    git(dir, 'push', '-q', 'origin', 'main');
    const pushed = await snapshotGit(dir, options, undefined);
    expect(pushed.snapshot.blobs.bundle).toBeUndefined(); // nothing unpushed
    expect(pushed.snapshot.manifest).toMatchObject({ kind: 'git', remoteName: 'origin', remoteUrl: remote, bundleIsComplete: false });

    await agentWork(dir);
    const { snapshot } = await snapshotGit(dir, options, undefined);
    const bundle = join(root, 'check.bundle');
    await writeFile(bundle, snapshot.blobs.bundle!);
    // The bundle holds the one new commit and needs the remote's commit as a prerequisite.
    expect(git(root, 'bundle', 'list-heads', bundle)).toContain(git(dir, 'rev-parse', 'HEAD'));
    expect(execFileSync('git', ['bundle', 'verify', bundle], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toMatch(/requires this ref|requires these 1 refs|The bundle requires/);

    const target = join(root, 'machine-b');
    await restoreGit(snapshot, target, 'restore', options);
    expect(git(target, 'rev-parse', 'HEAD')).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(target, 'remote', 'get-url', 'origin')).toBe(remote);
    expect(await readFile(join(target, 'untracked.txt'), 'utf8')).toBe('written on machine A\n');
  });

  it('applies the changes onto the same repository at the base commit with a clean tree, and does nothing when it is already there', async () => {
    const dir = await repoWithTwoCommits();
    const copy = join(root, 'copy');
    git(root, 'clone', '-q', dir, copy);
    await writeFile(join(dir, 'untracked.txt'), 'new\n');
    const { snapshot } = await snapshotGit(dir, options, undefined);
    expect(await restoreGit(snapshot, copy, 'restore', options)).toBe('restored');
    expect(await readFile(join(copy, 'untracked.txt'), 'utf8')).toBe('new\n');
    expect(await restoreGit(snapshot, dir, 'restore', options)).toBe('unchanged');
  });

  it('refuses to restore over other work and changes nothing; overwrite and skip are the ways out', async () => {
    const dir = await repoWithTwoCommits();
    await agentWork(dir);
    const { snapshot } = await snapshotGit(dir, options, undefined);

    const busy = join(root, 'busy');
    git(root, 'clone', '-q', dir, busy);
    git(busy, 'reset', '-q', '--hard', 'HEAD');
    await writeFile(join(busy, 'mine.txt'), 'my own uncommitted work\n');
    const before = await tree(busy);
    await expect(restoreGit(snapshot, busy, 'restore', options)).rejects.toMatchObject({
      code: 'WORKSPACE_CONFLICT',
      message: expect.stringMatching(/has 1 uncommitted change of its own \(mine\.txt\)/),
      hint: expect.stringContaining('--workspace overwrite'),
    });
    expect(await tree(busy)).toEqual(before);

    const other = await repoWithTwoCommits('other');
    git(other, 'commit', '-q', '--allow-empty', '-m', 'diverged');
    await expect(restoreGit(snapshot, other, 'restore', options)).rejects.toMatchObject({ code: 'WORKSPACE_CONFLICT', message: expect.stringMatching(/HEAD is [0-9a-f]{12}/) });

    const plain = join(root, 'plain');
    await mkdir(plain);
    await writeFile(join(plain, 'a.txt'), 'a');
    await expect(restoreGit(snapshot, plain, 'restore', options)).rejects.toMatchObject({ code: 'WORKSPACE_CONFLICT', message: expect.stringMatching(/not empty \(1 entries: a\.txt\)/) });

    expect(await restoreGit(snapshot, busy, 'skip', options)).toBe('skipped');
    expect(await tree(busy)).toEqual(before);
    expect(await restoreGit(snapshot, busy, 'overwrite', options)).toBe('restored');
    expect(await readFile(join(busy, 'untracked.txt'), 'utf8')).toBe('written on machine A\n');
    expect(git(busy, 'rev-parse', 'HEAD')).toBe(git(dir, 'rev-parse', 'HEAD'));
  });

  it('captures secrets only when asked, and records a too-large workspace instead of storing it', async () => {
    const dir = await repoWithTwoCommits();
    await agentWork(dir);
    await writeFile(join(dir, '.npmrc'), '//registry.npmjs.org/:_authToken=abc\n');
    await writeFile(join(dir, 'server.pem'), '-----BEGIN-----\n');
    const without = await snapshotGit(dir, options, undefined);
    expect(without.snapshot.manifest).toMatchObject({ excludedSecrets: ['.env', '.npmrc', 'server.pem'] });
    expect(without.snapshot.blobs.patch!.toString()).not.toMatch(/TOKEN=secret|_authToken|BEGIN/);
    const withSecrets = await snapshotGit(dir, { ...options, includeSecrets: true }, undefined);
    expect(withSecrets.snapshot.blobs.patch!.toString()).toMatch(/TOKEN=secret/);

    const tooLarge = await snapshotGit(dir, { ...options, maxBytes: 100 }, undefined);
    expect(tooLarge.snapshot.manifest).toMatchObject({ kind: 'too-large', limitBytes: 100, bytes: expect.any(Number) });
    expect(tooLarge.snapshot.blobs).toEqual({});
  });

  it('lists the files changed since the run started, and keeps the same fingerprint while nothing changes', async () => {
    const dir = await repoWithTwoCommits();
    const start = await snapshotGit(dir, options, undefined);
    const again = await snapshotGit(dir, options, start.state);
    expect(again.snapshot.manifest.fingerprint).toBe(start.snapshot.manifest.fingerprint);
    expect(again.snapshot.manifest.changedFiles).toEqual([]);
    await agentWork(dir);
    await symlink('src.txt', join(dir, 'link-to-src'));
    const later = await snapshotGit(dir, options, start.state);
    expect(later.snapshot.manifest.fingerprint).not.toBe(start.snapshot.manifest.fingerprint);
    expect(later.snapshot.manifest.changedFiles).toEqual(['binary.bin', 'committed.txt', 'link-to-src', 'src.txt', 'staged.txt', 'untracked.txt']);
  });
});

describe('git values from a stored manifest (an import file is hostile)', () => {
  it('refuses option-like or malformed values with WORKSPACE_ERROR before git sees any of them', async () => {
    const remote = join(root, 'remote.git');
    git(root, 'init', '-q', '--bare', remote);
    const dir = await repoWithTwoCommits();
    git(dir, 'remote', 'add', 'origin', remote);
    git(dir, 'push', '-q', 'origin', 'main');
    const { snapshot } = await snapshotGit(dir, options, undefined);
    const manifest = snapshot.manifest as Extract<typeof snapshot.manifest, { kind: 'git' }>;
    const pwned = join(root, 'pwned');
    const hostile: Array<[Partial<typeof manifest>, RegExp]> = [
      [{ remoteUrl: `--upload-pack=touch ${pwned}` }, /remote URL "--upload-pack=touch .+" is not one git may fetch from/],
      [{ remoteUrl: `ssh://-oProxyCommand=touch%20${pwned}/repo` }, /remote URL .+ is not one git may fetch from/],
      [{ remoteUrl: `ext::sh -c touch% ${pwned}` }, /remote URL .+ is not one git may fetch from/],
      [{ baseCommit: `--output=${pwned}` }, /base commit "--output=.+" is not a full commit id/],
      [{ baseCommit: 'main' }, /base commit "main" is not a full commit id/],
      [{ tree: 'HEAD' }, /tree "HEAD" is not a full object id/],
      [{ branch: '--orphan=x' }, /branch "--orphan=x" is not a valid branch name/],
      [{ branch: 'a..b' }, /branch "a\.\.b" is not a valid branch name/],
      [{ remoteName: `--upload-pack=touch ${pwned}` }, /remote name .+ is not a valid remote name/],
    ];
    for (const [change, message] of hostile) {
      const target = join(root, 'machine-b');
      const forged = { ...snapshot, manifest: { ...manifest, ...change } };
      for (const mode of ['restore', 'overwrite'] as const) {
        await expect(restoreGit(forged, target, mode, options), JSON.stringify(change)).rejects.toMatchObject({ code: 'WORKSPACE_ERROR', message, hint: expect.stringContaining('--no-workspace') });
      }
      await expect(stat(target), 'nothing was created').rejects.toThrow();
    }
    await expect(stat(pwned)).rejects.toThrow();
    // The values it was forged from restore as before.
    expect(await restoreGit(snapshot, join(root, 'machine-c'), 'restore', options)).toBe('restored');
  });
});
