import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Header } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatonError } from '../../src/errors.js';
import {
  changedBetween,
  directoryFingerprint,
  readDirectoryState,
  restoreDirectory,
  snapshotDirectory,
} from '../../src/workspace/directory-workspace.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES, type SnapshotOptions, type WorkspaceSnapshot } from '../../src/workspace/workspace.js';

const options: SnapshotOptions = { maxBytes: DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false };
const temporaryDirectories: string[] = [];

async function temporaryDirectory(label: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), `baton-dirws-${label}-`));
  temporaryDirectories.push(directory);
  return directory;
}

afterEach(async () => {
  await Promise.all(temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

/** Writes files (string or Buffer content) under `root`, creating folders. */
async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [relativePath, content] of Object.entries(files)) {
    await mkdir(join(root, relativePath, '..'), { recursive: true });
    await writeFile(join(root, relativePath), content);
  }
}

/** Everything under `root` as lstat sees it: type, permission bits, content digest or link target. */
async function listTree(root: string, relative = ''): Promise<Record<string, string>> {
  const listing: Record<string, string> = {};
  for (const name of (await readdir(join(root, relative))).sort()) {
    const relativePath = relative ? `${relative}/${name}` : name;
    const absolute = join(root, relativePath);
    const stats = await lstat(absolute);
    const mode = (stats.mode & 0o777).toString(8);
    if (stats.isSymbolicLink()) listing[relativePath] = `symlink -> ${await readlink(absolute)}`;
    else if (stats.isDirectory()) {
      listing[`${relativePath}/`] = `dir ${mode}`;
      Object.assign(listing, await listTree(root, relativePath));
    } else listing[relativePath] = `file ${mode} ${createHash('sha256').update(await readFile(absolute)).digest('hex')}`;
  }
  return listing;
}

/** Listing plus mtimes: "changes nothing" must hold for times too. */
async function listTreeWithTimes(root: string): Promise<Record<string, string>> {
  const listing = await listTree(root);
  for (const key of Object.keys(listing)) listing[key] += ` @${(await lstat(join(root, key))).mtimeMs}`;
  return listing;
}

function statePaths(state: { entries: { path: string; type: string }[] }): string[] {
  return state.entries.map((entry) => (entry.type === 'dir' ? `${entry.path}/` : entry.path));
}

async function expectBatonError(promise: Promise<unknown>, code: string): Promise<{ message: string; hint: string | undefined }> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(isBatonError(error), `expected a BatonError ${code}, got ${String(error)}`).toBe(true);
  if (!isBatonError(error)) throw new Error('unreachable');
  expect(error.code).toBe(code);
  return { message: error.message, hint: error.hint };
}

/** A hand-made tar archive, for entries baton itself would never write. */
type CraftedEntry = { path: string; type: 'File' | 'SymbolicLink' | 'Directory' | 'Link' | 'FIFO' | 'CharacterDevice' | 'BlockDevice'; content?: string; linkpath?: string; mode?: number; devmaj?: number; devmin?: number };

function craftedArchive(entries: CraftedEntry[]): WorkspaceSnapshot {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.content ?? '');
    const device = entry.devmaj === undefined ? {} : { devmaj: entry.devmaj, devmin: entry.devmin ?? 0 };
    const header = new Header({ path: entry.path, type: entry.type, mode: entry.mode ?? (entry.type === 'Directory' ? 0o755 : 0o644), size: body.length, mtime: new Date(), ...device, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
    header.encode();
    blocks.push(header.block!, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return archiveSnapshot(Buffer.concat(blocks));
}

/** A directory snapshot holding exactly these archive bytes. */
function archiveSnapshot(archive: Buffer): WorkspaceSnapshot {
  return { manifest: { kind: 'directory', fingerprint: 'crafted', fileCount: 0, changedFiles: [], excludedSecrets: [] }, blobs: { archive } };
}

describe('readDirectoryState', () => {
  it('skips default folders and .batonignore rules, with negations and subfolder .batonignore files', async () => {
    const root = await temporaryDirectory('ignore');
    await writeTree(root, {
      'src/index.ts': 'export {};\n',
      'node_modules/left-pad/index.js': 'x',
      'packages/app/node_modules/react/index.js': 'x',
      '.venv/bin/python': 'x',
      '__pycache__/m.cpython-312.pyc': 'x',
      'dist/out.js': 'x',
      'build/keep-me.txt': 're-included by !build/',
      'target/debug/app': 'x',
      '.next/cache': 'x',
      'coverage/lcov.info': 'x',
      'debug.log': 'x',
      'important.log': 'kept by !important.log',
      'tmp/scratch.txt': 'x',
      'packages/app/secret-notes.txt': 'ignored by the subfolder file',
      'packages/app/src/secret-notes.txt': 'ignored too: no slash means any depth below packages/app',
      'packages/app/generated/x.ts': 'ignored by an anchored subfolder rule',
      'packages/app/src/generated/x.ts': 'kept: the anchored rule does not match deeper',
      'packages/other/secret-notes.txt': 'kept: not below packages/app',
      '.batonignore': '# comments and blank lines are fine\n\n*.log\n!important.log\ntmp/\n!build/\n',
      'packages/app/.batonignore': 'secret-notes.txt\n/generated/\n',
    });

    const { state, excludedSecrets } = await readDirectoryState(root, options);

    expect(statePaths(state)).toEqual([
      '.batonignore',
      'build/',
      'build/keep-me.txt',
      'important.log',
      'packages/',
      'packages/app/',
      'packages/app/.batonignore',
      'packages/app/src/',
      'packages/app/src/generated/',
      'packages/app/src/generated/x.ts',
      'packages/other/',
      'packages/other/secret-notes.txt',
      'src/',
      'src/index.ts',
    ]);
    expect(excludedSecrets).toEqual([]);
  });

  it('leaves out secret files and lists them; a .npmrc without a token is kept', async () => {
    const root = await temporaryDirectory('secrets');
    await writeTree(root, {
      'app.ts': 'x',
      '.env': 'API_KEY=1',
      '.env.local': 'API_KEY=2',
      'certs/server.pem': '-----BEGIN PRIVATE KEY-----',
      '.ssh/id_rsa': 'key',
      '.npmrc': '//registry.npmjs.org/:_authToken=npm_abc\n',
      'tools/.npmrc': 'registry=https://registry.npmjs.org/\n',
    });

    const { state, excludedSecrets } = await readDirectoryState(root, options);

    expect(statePaths(state)).toEqual(['.ssh/', 'app.ts', 'certs/', 'tools/', 'tools/.npmrc']);
    expect(excludedSecrets).toEqual(['.env', '.env.local', '.npmrc', '.ssh/id_rsa', 'certs/server.pem']);
  });

  it('captures secret files when includeSecrets is set', async () => {
    const root = await temporaryDirectory('include-secrets');
    await writeTree(root, { '.env': 'A=1', 'server.pem': 'pem', id_rsa: 'key', '.npmrc': '_authToken=abc\n' });

    const { state, excludedSecrets } = await readDirectoryState(root, { ...options, includeSecrets: true });

    expect(statePaths(state)).toEqual(['.env', '.npmrc', 'id_rsa', 'server.pem']);
    expect(excludedSecrets).toEqual([]);
  });

  it('records symlinks as links and never follows them out of the directory', async () => {
    const root = await temporaryDirectory('links');
    const outside = await temporaryDirectory('outside');
    await writeTree(outside, { 'private.txt': 'outside' });
    await writeTree(root, { 'a.txt': 'a' });
    await symlink(outside, join(root, 'escape'));
    await symlink('a.txt', join(root, 'alias'));

    const { state } = await readDirectoryState(root, options);

    expect(state.entries.map((entry) => [entry.path, entry.type, entry.symlinkTarget])).toEqual([
      ['a.txt', 'file', undefined],
      ['alias', 'symlink', 'a.txt'],
      ['escape', 'symlink', outside],
    ]);
  });

  it('a missing directory is a WORKSPACE_ERROR', async () => {
    const root = await temporaryDirectory('missing');
    const { message } = await expectBatonError(readDirectoryState(join(root, 'nope'), options), 'WORKSPACE_ERROR');
    expect(message).toContain('does not exist');
  });
});

describe('directoryFingerprint and changedBetween', () => {
  it('the fingerprint is stable for an unchanged directory', async () => {
    const root = await temporaryDirectory('stable');
    await writeTree(root, { 'a.txt': 'a', 'sub/b.bin': randomBytes(2048) });
    await mkdir(join(root, 'empty'));

    const first = directoryFingerprint((await readDirectoryState(root, options)).state);
    const second = directoryFingerprint((await readDirectoryState(root, options)).state);

    expect(second).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a one-byte edit of the same size with the mtime put back still changes the fingerprint', async () => {
    const root = await temporaryDirectory('same-size');
    await writeTree(root, { 'config.txt': 'mode=fast\n' });
    const mtime = Math.floor(Date.now() / 1000); // whole seconds, so utimes can put it back exactly
    await utimes(join(root, 'config.txt'), mtime, mtime);
    const before = (await readDirectoryState(root, options)).state;

    await writeFile(join(root, 'config.txt'), 'mode=slow\n');
    await utimes(join(root, 'config.txt'), mtime, mtime);
    const after = (await readDirectoryState(root, options)).state;

    expect(after.entries[0]!.mtimeMs).toBe(before.entries[0]!.mtimeMs);
    expect(after.entries[0]!.size).toBe(before.entries[0]!.size);
    expect(directoryFingerprint(after)).not.toBe(directoryFingerprint(before));
    expect(changedBetween(before, after)).toEqual(['config.txt']);
  });

  it('a same-size edit with the mtime put back is caught over the limit too, by the change time', async () => {
    const root = await temporaryDirectory('same-size-large');
    await writeTree(root, { 'big.bin': Buffer.alloc(4096, 1) });
    const mtime = Math.floor(Date.now() / 1000);
    await utimes(join(root, 'big.bin'), mtime, mtime);
    const small: SnapshotOptions = { ...options, maxBytes: 1024 };
    const before = (await readDirectoryState(root, small)).state;
    expect(before.entries[0]!.contentHash).toBeUndefined();

    await new Promise((resolve) => setTimeout(resolve, 30)); // past the file system's timestamp tick
    await writeFile(join(root, 'big.bin'), Buffer.alloc(4096, 2));
    await utimes(join(root, 'big.bin'), mtime, mtime);
    const after = (await readDirectoryState(root, small)).state;

    expect(after.entries[0]!.mtimeMs).toBe(before.entries[0]!.mtimeMs);
    expect(directoryFingerprint(after)).not.toBe(directoryFingerprint(before));
    expect(changedBetween(before, after)).toEqual(['big.bin']);
  });

  it('changedBetween lists added, removed and modified files and links, sorted; a touched file is not changed', async () => {
    const root = await temporaryDirectory('changes');
    await writeTree(root, { 'keep.txt': 'k', 'touch.txt': 't', 'edit.txt': 'old', 'remove.txt': 'r', 'mode.sh': 'echo', 'z/deep.txt': 'd' });
    await symlink('keep.txt', join(root, 'link'));
    const before = (await readDirectoryState(root, options)).state;

    await writeFile(join(root, 'edit.txt'), 'new content');
    await rm(join(root, 'remove.txt'));
    await chmod(join(root, 'mode.sh'), 0o755);
    await writeTree(root, { 'added.txt': 'a', 'z/added-deep.txt': 'a' });
    await utimes(join(root, 'touch.txt'), new Date(), new Date(Date.now() + 5_000));
    await rm(join(root, 'link'));
    await symlink('edit.txt', join(root, 'link'));
    const after = (await readDirectoryState(root, options)).state;

    expect(changedBetween(before, after)).toEqual(['added.txt', 'edit.txt', 'link', 'mode.sh', 'remove.txt', 'z/added-deep.txt']);
    expect(changedBetween(after, after)).toEqual([]);
    expect(changedBetween(undefined, before)).toEqual(['edit.txt', 'keep.txt', 'link', 'mode.sh', 'remove.txt', 'touch.txt', 'z/deep.txt']);
  });
});

describe('snapshotDirectory and restoreDirectory', () => {
  async function richDirectory(): Promise<string> {
    const root = await temporaryDirectory('rich');
    await writeTree(root, {
      'README.md': '# hello\n',
      'bin/run.sh': '#!/bin/sh\necho run\n',
      'private.txt': 'only me',
      'data/blob.bin': randomBytes(300_000),
      'sp ace/ünïcødé 文件.txt': 'unicode and spaces\n',
      [`long/${'x'.repeat(120)}/${'y'.repeat(80)}.txt`]: 'a path that needs a pax header',
      'node_modules/dep/index.js': 'skipped by default',
      '.env': 'SECRET=1',
    });
    await chmod(join(root, 'bin/run.sh'), 0o755);
    await chmod(join(root, 'private.txt'), 0o600);
    await mkdir(join(root, 'empty/nested-empty'), { recursive: true });
    await symlink('README.md', join(root, 'link-to-file'));
    await symlink('bin', join(root, 'link-to-dir'));
    await symlink('does-not-exist', join(root, 'dangling'));
    await symlink('/usr/share/absolute-target', join(root, 'absolute-link'));
    await symlink('../next-to-the-workspace', join(root, 'empty/up-link'));
    return root;
  }

  it('a plain directory round-trips byte for byte: contents, modes, symlinks, empty folders, unicode names', async () => {
    const source = await richDirectory();
    const target = join(await temporaryDirectory('restore'), 'new', 'workspace');

    const { snapshot, state } = await snapshotDirectory(source, options, undefined);
    expect(snapshot.manifest.kind).toBe('directory');
    if (snapshot.manifest.kind !== 'directory') return;
    expect(snapshot.manifest.excludedSecrets).toEqual(['.env']);
    expect(snapshot.manifest.fileCount).toBe(11);
    expect(snapshot.manifest.fingerprint).toBe(directoryFingerprint(state));
    expect(snapshot.blobs.archive!.length).toBeLessThan(400_000);

    await restoreDirectory(snapshot, target, 'restore');

    const expected = await listTree(source);
    delete expected['node_modules/'];
    delete expected['node_modules/dep/'];
    delete expected['node_modules/dep/index.js'];
    delete expected['.env'];
    expect(await listTree(target)).toEqual(expected);
    expect(expected['bin/run.sh']).toMatch(/^file 755 /);
    expect(expected['private.txt']).toMatch(/^file 600 /);
    expect(expected['link-to-dir']).toBe('symlink -> bin');
    expect(expected['absolute-link']).toBe('symlink -> /usr/share/absolute-target');
    expect(expected['empty/up-link']).toBe('symlink -> ../next-to-the-workspace');
    expect(expected['empty/nested-empty/']).toBe('dir 755');
    expect(Object.keys(expected)).toContain('sp ace/ünïcødé 文件.txt');
    // The restored tree is what the snapshot describes: a resume into it can see that nothing needs doing.
    expect(directoryFingerprint((await readDirectoryState(target, options)).state)).toBe(snapshot.manifest.fingerprint);
  });

  it('the manifest lists the files changed since the baseline', async () => {
    const root = await temporaryDirectory('baseline');
    await writeTree(root, { 'a.txt': 'a', 'b.txt': 'b' });
    const baseline = (await readDirectoryState(root, options)).state;
    await writeTree(root, { 'b.txt': 'bb', 'c.txt': 'c' });

    const { snapshot } = await snapshotDirectory(root, options, baseline);

    expect(snapshot.manifest.changedFiles).toEqual(['b.txt', 'c.txt']);
  });

  it('over maxBytes records a too-large manifest with the size and the limit, and no archive', async () => {
    const root = await temporaryDirectory('too-large');
    await writeTree(root, { 'big.bin': randomBytes(50_000), 'small.txt': 's' });

    const { snapshot } = await snapshotDirectory(root, { ...options, maxBytes: 10_000 }, undefined);

    expect(snapshot.blobs).toEqual({});
    expect(snapshot.manifest).toMatchObject({ kind: 'too-large', limitBytes: 10_000, changedFiles: ['big.bin', 'small.txt'] });
    if (snapshot.manifest.kind !== 'too-large') return;
    expect(snapshot.manifest.bytes).toBeGreaterThan(50_000);
    expect(snapshot.manifest.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('decides too-large from the listing, without reading a 5 GB file', async () => {
    const root = await temporaryDirectory('huge');
    await writeFile(join(root, 'huge.img'), '');
    await truncate(join(root, 'huge.img'), 5 * 1024 ** 3); // sparse: takes no disk
    const started = Date.now();

    const { snapshot } = await snapshotDirectory(root, options, undefined);

    expect(snapshot.manifest).toMatchObject({ kind: 'too-large', limitBytes: DEFAULT_MAX_SNAPSHOT_BYTES });
    if (snapshot.manifest.kind === 'too-large') expect(snapshot.manifest.bytes).toBeGreaterThanOrEqual(5 * 1024 ** 3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('restoring into a non-empty directory refuses with WORKSPACE_CONFLICT and changes nothing', async () => {
    const { snapshot } = await snapshotDirectory(await richDirectory(), options, undefined);
    const target = await temporaryDirectory('occupied');
    await writeTree(target, { 'a.txt': 'mine', 'b/inner.txt': 'mine', 'c.txt': 'mine', 'README.md': 'my readme' });
    const before = await listTreeWithTimes(target);

    const { message, hint } = await expectBatonError(restoreDirectory(snapshot, target, 'restore'), 'WORKSPACE_CONFLICT');

    expect(message).toBe(`${target} is not empty (4 entries: README.md, a.txt, b/, …)`);
    expect(hint).toContain('--workspace overwrite');
    expect(hint).toContain('--workspace skip');
    expect(await listTreeWithTimes(target)).toEqual(before);
  });

  it('restoring into an existing empty directory fills it', async () => {
    const source = await temporaryDirectory('small');
    await writeTree(source, { 'a.txt': 'a' });
    const { snapshot } = await snapshotDirectory(source, options, undefined);
    const target = await temporaryDirectory('empty-target');

    await restoreDirectory(snapshot, target, 'restore');

    expect(await listTree(target)).toEqual(await listTree(source));
  });

  it('overwrite replaces the archived files and keeps the others', async () => {
    const source = await temporaryDirectory('overwrite-source');
    await writeTree(source, { 'a.txt': 'from the snapshot', 'sub/b.txt': 'from the snapshot' });
    const { snapshot } = await snapshotDirectory(source, options, undefined);
    const target = await temporaryDirectory('overwrite-target');
    await writeTree(target, { 'a.txt': 'local edit that is longer than the snapshot', 'mine.txt': 'untouched', 'sub/mine.txt': 'untouched' });

    await restoreDirectory(snapshot, target, 'overwrite');

    expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe('from the snapshot');
    expect(await readFile(join(target, 'sub/b.txt'), 'utf8')).toBe('from the snapshot');
    expect(await readFile(join(target, 'mine.txt'), 'utf8')).toBe('untouched');
    expect(await readFile(join(target, 'sub/mine.txt'), 'utf8')).toBe('untouched');
  });

  it('overwrite replaces a symlink already in the target instead of writing through it', async () => {
    const source = await temporaryDirectory('through-source');
    await writeTree(source, { 'sub/file.txt': 'snapshot', 'note.txt': 'snapshot' });
    const { snapshot } = await snapshotDirectory(source, options, undefined);
    const outside = await temporaryDirectory('through-outside');
    await writeTree(outside, { 'keep.txt': 'outside', 'note.txt': 'outside note' });
    const target = await temporaryDirectory('through-target');
    await symlink(outside, join(target, 'sub'));
    await symlink(join(outside, 'note.txt'), join(target, 'note.txt'));
    const outsideBefore = await listTreeWithTimes(outside);

    await restoreDirectory(snapshot, target, 'overwrite');

    expect(await listTreeWithTimes(outside)).toEqual(outsideBefore);
    expect((await lstat(join(target, 'sub'))).isDirectory()).toBe(true);
    expect(await readFile(join(target, 'sub/file.txt'), 'utf8')).toBe('snapshot');
    expect(await readFile(join(target, 'note.txt'), 'utf8')).toBe('snapshot');
  });

  it('skip does nothing, not even create the directory', async () => {
    const source = await temporaryDirectory('skip-source');
    await writeTree(source, { 'a.txt': 'a' });
    const { snapshot } = await snapshotDirectory(source, options, undefined);
    const parent = await temporaryDirectory('skip-parent');
    const occupied = await temporaryDirectory('skip-occupied');
    await writeTree(occupied, { 'a.txt': 'mine' });

    await restoreDirectory(snapshot, join(parent, 'target'), 'skip');
    await restoreDirectory(snapshot, occupied, 'skip');

    expect(await readdir(parent)).toEqual([]);
    expect(await readFile(join(occupied, 'a.txt'), 'utf8')).toBe('mine');
  });

  it('restoring a too-large snapshot is a WORKSPACE_ERROR that says so', async () => {
    const target = await temporaryDirectory('restore-too-large');
    const snapshot: WorkspaceSnapshot = { manifest: { kind: 'too-large', fingerprint: 'f', bytes: 300 * 1024 * 1024, limitBytes: 200 * 1024 * 1024, changedFiles: [] }, blobs: {} };

    const { message } = await expectBatonError(restoreDirectory(snapshot, target, 'restore'), 'WORKSPACE_ERROR');

    expect(message).toContain('300.0 MB');
    expect(await readdir(target)).toEqual([]);
  });

  it('never creates a setuid, setgid or sticky file or folder, whatever the archive says', async () => {
    const target = await temporaryDirectory('special-bits');
    const snapshot = craftedArchive([
      { path: 'shared', type: 'Directory', mode: 0o3777 },
      { path: 'shared/run-as-root', type: 'File', content: '#!/bin/sh\nid\n', mode: 0o4755 },
      { path: 'group-tool', type: 'File', content: 'x', mode: 0o2755 },
    ]);
    await restoreDirectory(snapshot, join(target, 'restored'), 'restore');
    const modeOf = async (relative: string) => (await stat(join(target, 'restored', relative))).mode & 0o7777;
    expect(await modeOf('shared')).toBe(0o777);
    expect(await modeOf('shared/run-as-root')).toBe(0o755);
    expect(await modeOf('group-tool')).toBe(0o755);
  });

  describe('refuses crafted archives, writing nothing anywhere', () => {
    const cases: { name: string; entries: (outside: string) => Parameters<typeof craftedArchive>[0] }[] = [
      { name: 'a ../ path', entries: () => [{ path: 'ok.txt', type: 'File', content: 'ok' }, { path: '../evil.txt', type: 'File', content: 'evil' }] },
      { name: 'a ../ path in the middle', entries: () => [{ path: 'a/../../evil.txt', type: 'File', content: 'evil' }] },
      { name: 'an absolute path', entries: (outside) => [{ path: 'ok.txt', type: 'File', content: 'ok' }, { path: join(outside, 'evil.txt'), type: 'File', content: 'evil' }] },
      {
        name: 'a path through a symlink the archive creates',
        entries: (outside) => [{ path: 'link', type: 'SymbolicLink', linkpath: outside }, { path: 'link/evil.txt', type: 'File', content: 'evil' }],
      },
    ];
    for (const { name, entries } of cases) {
      it(name, async () => {
        const sandbox = await temporaryDirectory('crafted');
        const outside = join(sandbox, 'outside');
        const target = join(sandbox, 'inside', 'target');
        await mkdir(outside, { recursive: true });

        for (const mode of ['restore', 'overwrite'] as const) {
          const { message } = await expectBatonError(restoreDirectory(craftedArchive(entries(outside)), target, mode), 'WORKSPACE_ERROR');
          expect(message).toContain('refusing to restore');
        }

        expect(await listTree(sandbox)).toEqual({ 'outside/': 'dir 755' });
      });
    }
  });
  describe('never creates a hard link, device or FIFO: the archive is refused whole', () => {
    const cases: { name: string; entries: (outside: string) => CraftedEntry[]; refused: RegExp }[] = [
      { name: 'a hard link to a file outside', entries: (outside) => [{ path: 'ok.txt', type: 'File', content: 'ok' }, { path: 'passwd', type: 'Link', linkpath: join(outside, 'secret.txt') }], refused: /entry "passwd" is a Link, which a workspace never holds/ },
      { name: 'a hard link to a file inside', entries: () => [{ path: 'a.txt', type: 'File', content: 'a' }, { path: 'b.txt', type: 'Link', linkpath: 'a.txt' }], refused: /entry "b\.txt" is a Link/ },
      { name: 'a FIFO', entries: () => [{ path: 'pipe', type: 'FIFO' }], refused: /entry "pipe" is a FIFO/ },
      { name: 'a character device', entries: () => [{ path: 'null', type: 'CharacterDevice', devmaj: 1, devmin: 3 }], refused: /entry "null" is a CharacterDevice/ },
      { name: 'a block device', entries: () => [{ path: 'disk', type: 'BlockDevice', devmaj: 8, devmin: 0 }], refused: /entry "disk" is a BlockDevice/ },
    ];
    for (const { name, entries, refused } of cases) {
      it(name, async () => {
        const sandbox = await temporaryDirectory('special');
        await writeTree(sandbox, { 'outside/secret.txt': 'secret' });
        const target = join(sandbox, 'target');
        for (const mode of ['restore', 'overwrite'] as const) {
          const { message, hint } = await expectBatonError(restoreDirectory(craftedArchive(entries(join(sandbox, 'outside'))), target, mode), 'WORKSPACE_ERROR');
          expect(message).toMatch(refused);
          expect(hint).toContain('nothing was written');
        }
        expect(await listTree(sandbox)).toEqual({ 'outside/': 'dir 755', 'outside/secret.txt': expect.stringMatching(/^file /) });
        expect((await stat(join(sandbox, 'outside', 'secret.txt'))).nlink).toBe(1);
      });
    }
  });

  describe('empty workspaces and empty folders', () => {
    it('an empty directory snapshots and restores (into a missing, an empty and, with overwrite, a busy directory)', async () => {
      const source = await temporaryDirectory('empty-source');
      const { snapshot } = await snapshotDirectory(source, options, undefined);
      expect(snapshot.manifest).toMatchObject({ kind: 'directory', fileCount: 0 });
      const parent = await temporaryDirectory('empty-restores');

      await restoreDirectory(snapshot, join(parent, 'missing', 'target'), 'restore');
      expect(await listTree(join(parent, 'missing', 'target'))).toEqual({});
      await mkdir(join(parent, 'empty'));
      await restoreDirectory(snapshot, join(parent, 'empty'), 'restore');
      expect(await listTree(join(parent, 'empty'))).toEqual({});
      await writeTree(parent, { 'busy/mine.txt': 'mine' });
      await restoreDirectory(snapshot, join(parent, 'busy'), 'overwrite');
      expect(await readFile(join(parent, 'busy', 'mine.txt'), 'utf8')).toBe('mine');
      // What a resume compares against: the restored tree has the snapshot's fingerprint.
      expect(directoryFingerprint((await readDirectoryState(join(parent, 'empty'), options)).state)).toBe(snapshot.manifest.fingerprint);
    });

    it('a workspace of nothing but empty folders round-trips, folders and their modes', async () => {
      const source = await temporaryDirectory('only-folders');
      await mkdir(join(source, 'a', 'b', 'c'), { recursive: true });
      await mkdir(join(source, 'private'), { mode: 0o700 });
      await chmod(join(source, 'private'), 0o700);
      const { snapshot } = await snapshotDirectory(source, options, undefined);
      const target = join(await temporaryDirectory('only-folders-target'), 'restored');

      await restoreDirectory(snapshot, target, 'restore');

      expect(await listTree(target)).toEqual(await listTree(source));
      expect(Object.keys(await listTree(target))).toEqual(['a/', 'a/b/', 'a/b/c/', 'private/']);
    });
  });

  describe('a damaged archive is an error, never a silent empty restore', () => {
    async function goodArchive(): Promise<Buffer> {
      const source = await temporaryDirectory('damaged-source');
      await writeTree(source, { 'a.txt': 'a'.repeat(3000), 'b.txt': 'b' });
      return (await snapshotDirectory(source, options, undefined)).snapshot.blobs.archive!;
    }
    const cases: { name: string; bytes: (good: Buffer) => Buffer; detail: RegExp }[] = [
      { name: 'garbage bytes', bytes: () => Buffer.from('this was never a tar archive\n'.repeat(100)), detail: /damaged: .*(whole number of 512-byte|end-of-archive)/ },
      { name: 'garbage in whole blocks, ending in zero blocks', bytes: () => Buffer.concat([Buffer.alloc(512, 'x'), Buffer.alloc(1024)]), detail: /damaged: .*checksum/ },
      { name: 'no bytes at all', bytes: () => Buffer.alloc(0), detail: /damaged: 0 bytes/ },
      { name: 'cut inside a file', bytes: (good) => good.subarray(0, 900), detail: /damaged: 900 bytes/ },
      { name: 'cut at a block boundary inside a file, padded with zeros', bytes: (good) => Buffer.concat([good.subarray(0, 1024), Buffer.alloc(1024)]), detail: /damaged: TAR_BAD_ARCHIVE: Truncated input/ },
      { name: 'cut after a whole entry, without the end blocks', bytes: (good) => good.subarray(0, 512 + 3072), detail: /damaged: it does not end with the end-of-archive blocks/ },
    ];
    for (const { name, bytes, detail } of cases) {
      it(name, async () => {
        const archive = bytes(await goodArchive());
        const parent = await temporaryDirectory('damaged');
        for (const mode of ['restore', 'overwrite'] as const) {
          const { message, hint } = await expectBatonError(restoreDirectory(archiveSnapshot(archive), join(parent, 'target'), mode), 'WORKSPACE_ERROR');
          expect(message).toMatch(detail);
          expect(message).not.toContain('\n');
          expect(hint).toContain('--workspace skip');
        }
        expect(await readdir(parent)).toEqual([]);
      });
    }

    it('a plain restore into a non-empty directory is a WORKSPACE_CONFLICT, whatever the archive holds', async () => {
      const target = await temporaryDirectory('busy');
      await writeTree(target, { 'mine.txt': 'mine' });
      const empty = (await snapshotDirectory(await temporaryDirectory('empty'), options, undefined)).snapshot;
      for (const snapshot of [empty, archiveSnapshot(Buffer.from('garbage')), craftedArchive([{ path: 'pipe', type: 'FIFO' }])]) {
        const { message } = await expectBatonError(restoreDirectory(snapshot, target, 'restore'), 'WORKSPACE_CONFLICT');
        expect(message).toBe(`${target} is not empty (1 entry: mine.txt)`);
      }
    });
  });
});
