/**
 * Every secret pattern the README promises is left out of both kinds of workspace snapshot, at the top of the
 * workspace and below it, while a near-miss name is kept; and the README's list is the code's list.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreDirectory, snapshotDirectory } from '../../src/workspace/directory-workspace.js';
import { restoreGit, snapshotGit } from '../../src/workspace/git-workspace.js';
import { SECRET_PATTERNS } from '../../src/workspace/secrets.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES, type SnapshotOptions } from '../../src/workspace/workspace.js';

const options: SnapshotOptions = { maxBytes: DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false };

/**
 * For each pattern: paths it must leave out (at the top and nested, as a checked-out home folder would put them)
 * and near-miss paths that must travel. A pattern added to the code without examples here fails the first test.
 */
const EXAMPLES: Record<string, { secrets: string[]; nearMisses: string[] }> = {
  '.env': { secrets: ['.env', 'services/api/.env'], nearMisses: ['env', 'services/api/environment.ts'] },
  '.env.*': { secrets: ['.env.local', 'services/api/.env.production'], nearMisses: ['.environment', 'services/env.local'] },
  '*.pem': { secrets: ['server.pem', 'certs/ca.PEM'], nearMisses: ['pem.txt', 'certs/server.pem.md'] },
  '*.key': { secrets: ['site.key', 'tls/private.key'], nearMisses: ['site.keys', 'tls/key.txt'] },
  '*.p12': { secrets: ['client.p12', 'certs/client.p12'], nearMisses: ['client.p12.sha256', 'certs/p12.txt'] },
  '*.pfx': { secrets: ['client.pfx', 'certs/client.pfx'], nearMisses: ['client.pfx.md', 'certs/pfx.txt'] },
  'id_rsa*': { secrets: ['id_rsa', 'home/.ssh/id_rsa.pub'], nearMisses: ['my_id_rsa', 'home/.ssh/known_hosts'] },
  'id_dsa*': { secrets: ['id_dsa', 'home/.ssh/id_dsa.old'], nearMisses: ['rid_dsa', 'home/.ssh/config'] },
  'id_ecdsa*': { secrets: ['id_ecdsa', 'home/.ssh/id_ecdsa_sk'], nearMisses: ['id-ecdsa', 'home/.ssh/authorized_keys'] },
  'id_ed25519*': { secrets: ['id_ed25519', 'home/.ssh/id_ed25519.pub'], nearMisses: ['id_ed2551', 'home/.ssh/ed25519.txt'] },
  '*.jks': { secrets: ['release.jks', 'android/app/release.jks'], nearMisses: ['release.jks.bak', 'android/app/jks.txt'] },
  '*.keystore': { secrets: ['debug.keystore', 'android/app/debug.keystore'], nearMisses: ['keystore.md', 'android/app/debug.keystore.txt'] },
  '.netrc': { secrets: ['.netrc', 'home/.netrc'], nearMisses: ['netrc', 'home/.netrc.md'] },
  '.pypirc': { secrets: ['.pypirc', 'home/.pypirc'], nearMisses: ['pypirc.txt', 'home/.pypirc.example'] },
  '.pgpass': { secrets: ['.pgpass', 'home/.pgpass'], nearMisses: ['pgpass.md', 'home/.pgpass.sample'] },
  '.git-credentials': { secrets: ['.git-credentials', 'home/.git-credentials'], nearMisses: ['git-credentials.md', 'home/.git-credentials-helper.sh'] },
  '.aws/credentials': { secrets: ['.aws/credentials', 'home/.aws/credentials'], nearMisses: ['.aws/config', 'credentials'] },
  '.docker/config.json': { secrets: ['.docker/config.json', 'home/.docker/config.json'], nearMisses: ['.docker/daemon.json', 'config.json'] },
};

const NPMRC_WITH_TOKEN = ['.npmrc', 'packages/web/.npmrc'];
const NPMRC_WITHOUT_TOKEN = ['tools/.npmrc'];

const allSecrets = [...Object.values(EXAMPLES).flatMap((example) => example.secrets), ...NPMRC_WITH_TOKEN].sort();
const allKept = ['app.ts', ...Object.values(EXAMPLES).flatMap((example) => example.nearMisses), ...NPMRC_WITHOUT_TOKEN].sort();

/** Every file gets a marker of its own in its content, so a leak shows up in any blob. */
const marker = (path: string): string => `content-of<${path}>`;

async function writeWorkspace(root: string): Promise<void> {
  for (const path of [...allSecrets, ...allKept]) {
    await mkdir(join(root, path, '..'), { recursive: true });
    const npmrc = path.endsWith('.npmrc');
    const content = npmrc ? (NPMRC_WITH_TOKEN.includes(path) ? `//registry.npmjs.org/:_authToken=${marker(path)}\n` : `registry=https://registry.npmjs.org/ # ${marker(path)}\n`) : `${marker(path)}\n`;
    await writeFile(join(root, path), content);
  }
}

/** The files under `dir`, `/`-separated, without `.git`. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .filter((path) => !path.startsWith('.git/'))
    .sort();
}

function blobsText(blobs: Record<string, Buffer | undefined>): string {
  return Object.values(blobs).map((blob) => blob?.toString('latin1') ?? '').join('\n');
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } }).trim();
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-secrets-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('secret files', () => {
  it('the README lists exactly the patterns the code leaves out, and every pattern has examples here', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const sentence = /\*\*Never\*\*:\s+files\s+that\s+look\s+like\s+secrets\s+—\s+([\s\S]*?)\s+—\s+unless\s+you\s+pass\s+`--include-secrets`/.exec(readme);
    expect(sentence, 'the README sentence "**Never**: files that look like secrets — … — unless you pass `--include-secrets`"').not.toBeNull();
    const listed = [...sentence![1]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    expect(sentence![1]).toMatch(/`\.npmrc`\s+when\s+it\s+holds\s+a\s+token/);

    expect([...listed].sort()).toEqual([...SECRET_PATTERNS, '.npmrc'].sort());
    expect(Object.keys(EXAMPLES).sort()).toEqual([...SECRET_PATTERNS].sort());
  });

  it('a directory snapshot leaves out every secret pattern at any depth and keeps near misses', async () => {
    const source = join(root, 'source');
    await writeWorkspace(source);

    const { snapshot } = await snapshotDirectory(source, options, undefined);
    const restored = join(root, 'restored');
    await restoreDirectory(snapshot, restored, 'restore');

    expect(snapshot.manifest).toMatchObject({ kind: 'directory', excludedSecrets: allSecrets });
    expect(await filesUnder(restored)).toEqual(allKept);
    const stored = blobsText({ ...snapshot.blobs });
    for (const path of allSecrets) expect(stored, `${path} leaked into the archive`).not.toContain(marker(path));
    for (const path of allKept) expect(await readFile(join(restored, path), 'utf8')).toContain(marker(path));
  });

  it('a git snapshot leaves out every secret pattern at any depth and keeps near misses', async () => {
    const source = join(root, 'source');
    await mkdir(source);
    git(source, 'init', '-q', '-b', 'main');
    await writeFile(join(source, 'README.md'), '# project\n');
    git(source, 'add', '-A');
    git(source, 'commit', '-qm', 'first');
    await writeWorkspace(source);

    const { snapshot } = await snapshotGit(source, options, undefined);
    const restored = join(root, 'restored');
    await restoreGit(snapshot, restored, 'restore', options);

    expect(snapshot.manifest).toMatchObject({ kind: 'git', excludedSecrets: allSecrets });
    expect(await filesUnder(restored)).toEqual(['README.md', ...allKept].sort());
    const stored = blobsText({ ...snapshot.blobs });
    for (const path of allSecrets) expect(stored, `${path} leaked into the patch or bundle`).not.toContain(marker(path));
    for (const path of allKept) expect(await readFile(join(restored, path), 'utf8')).toContain(marker(path));
    // The user's own index and working tree are untouched: the secrets are still there, still untracked.
    expect(git(source, 'ls-files')).toBe('README.md');
    for (const path of allSecrets) expect(await readFile(join(source, path), 'utf8')).toContain(marker(path));
  });

  it('with includeSecrets both snapshots carry every file', async () => {
    const directorySource = join(root, 'plain');
    await writeWorkspace(directorySource);
    const { snapshot } = await snapshotDirectory(directorySource, { ...options, includeSecrets: true }, undefined);
    const restored = join(root, 'plain-restored');
    await restoreDirectory(snapshot, restored, 'restore');
    expect(await filesUnder(restored)).toEqual([...allSecrets, ...allKept].sort());

    const gitSource = join(root, 'repo');
    await mkdir(gitSource);
    git(gitSource, 'init', '-q', '-b', 'main');
    git(gitSource, 'commit', '-q', '--allow-empty', '-m', 'first');
    await writeWorkspace(gitSource);
    const gitSnapshot = (await snapshotGit(gitSource, { ...options, includeSecrets: true }, undefined)).snapshot;
    const gitRestored = join(root, 'repo-restored');
    await restoreGit(gitSnapshot, gitRestored, 'restore', options);
    expect(await filesUnder(gitRestored)).toEqual([...allSecrets, ...allKept].sort());
  });
});
