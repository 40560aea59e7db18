/**
 * The plain-directory side of workspace handoff: a directory that is not a git repository travels as a tar
 * archive of its files (modes and symlinks kept), minus what `.batonignore`, the default build/dependency
 * folders and the secret patterns leave out. A restore only ever unpacks into an empty directory unless the
 * user says `--workspace overwrite`, and refuses archive entries that would land outside the target.
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rmdir, stat, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';
import { Header, Parser, Pax, Unpack, type ReadEntry } from 'tar';
import { BatonError, errorMessage, errorSummary, quoted } from '../errors.js';
import { isSecretPath, npmrcHoldsToken } from './secrets.js';
import type { RestoreMode, SnapshotOptions, WorkspaceSnapshot } from './workspace.js';

export type DirectoryEntryType = 'file' | 'symlink' | 'dir';

export interface DirectoryEntry {
  /** POSIX path relative to the directory, no trailing slash. */
  path: string;
  type: DirectoryEntryType;
  /** Permission bits only (`mode & 0o777`). */
  mode: number;
  /** A file's length, a symlink target's length in bytes, 0 for a directory. */
  size: number;
  mtimeMs: number;
  /** Nothing can set a change time back, so it catches rewrites that keep size and mtime when there is no hash. */
  ctimeMs: number;
  symlinkTarget?: string;
  /** sha256 of a regular file's content; absent only when the directory is over the snapshot limit. */
  contentHash?: string;
}

export interface DirectoryState {
  /** Sorted by path. */
  entries: DirectoryEntry[];
  /** When the listing started. */
  capturedAtMs: number;
}

export const BATONIGNORE_FILE = '.batonignore';

/** Folders of dependencies, caches and build outputs: rebuilt, not carried. A `.batonignore` can re-include one (`!dist/`). */
export const DEFAULT_SKIPPED_DIRECTORIES: readonly string[] = [
  'node_modules', '.venv', 'venv', '__pycache__', '.tox', 'dist', 'build', 'target',
  '.next', '.nuxt', '.cache', 'coverage', '.parcel-cache', '.turbo',
];

const TAR_BLOCK = 512;
/** A cached hash is trusted only for files whose last change is this much older than the listing that hashed them. */
const RACY_MARGIN_MS = 2_000;
const IO_CONCURRENCY = 32;

// ---------------------------------------------------------------------------------------------------------------
// Listing

/** Lists what a snapshot would capture. Symlinks are recorded as links and never followed. */
export async function readDirectoryState(dir: string, options: SnapshotOptions): Promise<{ state: DirectoryState; excludedSecrets: string[] }> {
  const root = path.resolve(dir);
  await requireDirectory(root);
  const capturedAtMs = Date.now();
  const rules = ignore({ ignorecase: false }).add(DEFAULT_SKIPPED_DIRECTORIES.map((name) => `${name}/`));
  const entries: DirectoryEntry[] = [];
  const excludedSecrets: string[] = [];
  const inodes = new Map<DirectoryEntry, number>();

  const walk = async (relativeDir: string): Promise<void> => {
    const absoluteDir = path.join(root, relativeDir);
    const names = ((await guard(() => readdir(absoluteDir), relativeDir || '.').catch(ignoreVanished)) ?? []).sort(compareStrings);
    if (names.includes(BATONIGNORE_FILE)) {
      const ignoreFile = relativeDir === '' ? BATONIGNORE_FILE : `${relativeDir}/${BATONIGNORE_FILE}`;
      const text = await guard(() => readFile(path.join(root, ignoreFile), 'utf8'), ignoreFile).catch(ignoreVanished);
      if (text !== undefined) rules.add(rebaseIgnoreRules(text, relativeDir));
    }
    const children = await mapConcurrent(names, IO_CONCURRENCY, async (name) => {
      const relativePath = relativeDir === '' ? name : `${relativeDir}/${name}`;
      const stats = await guard(() => lstat(path.join(root, relativePath)), relativePath).catch(ignoreVanished);
      return stats ? { relativePath, name, stats } : undefined;
    });
    for (const child of children) {
      if (!child) continue;
      const { relativePath, name, stats } = child;
      const type: DirectoryEntryType | undefined = stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'symlink' : stats.isFile() ? 'file' : undefined;
      if (!type) continue; // sockets, FIFOs, devices: nothing a restore could make sense of
      const asPattern = type === 'dir' ? `${relativePath}/` : relativePath;
      if (rules.ignores(asPattern)) continue;
      if (!options.includeSecrets && (isSecretPath(asPattern) || (name === '.npmrc' && type === 'file' && (await npmrcFileHoldsToken(path.join(root, relativePath)))))) {
        excludedSecrets.push(asPattern);
        continue;
      }
      const entry: DirectoryEntry = { path: relativePath, type, mode: stats.mode & 0o777, size: type === 'file' ? stats.size : 0, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
      if (type === 'symlink') {
        const target = await guard(() => readlink(path.join(root, relativePath)), relativePath).catch(ignoreVanished);
        if (target === undefined) continue;
        entry.symlinkTarget = target;
        entry.size = Buffer.byteLength(target);
      }
      entries.push(entry);
      if (type === 'file') inodes.set(entry, stats.ino);
      if (type === 'dir') await walk(relativePath);
    }
  };
  await walk('');

  entries.sort((a, b) => compareStrings(a.path, b.path));
  const state: DirectoryState = { entries, capturedAtMs };
  // Over the limit there is no archive to fingerprint by content, and hashing gigabytes would only delay the verdict.
  if (estimateArchiveBytes(state) <= options.maxBytes) await hashContents(root, state, inodes);
  return { state, excludedSecrets: excludedSecrets.sort(compareStrings) };
}

/**
 * The last listing of each directory, so an unchanged file is not read again at every save. A hash is reused
 * only when size, mtime, ctime and inode all match and the file last changed well before that listing began
 * (git's "racy" rule): a same-size rewrite within one timestamp tick is always re-read.
 */
const hashCache = new Map<string, { capturedAtMs: number; files: Map<string, { size: number; mtimeMs: number; ctimeMs: number; ino: number; hash: string }> }>();
const HASH_CACHE_DIRECTORIES = 16;

async function hashContents(root: string, state: DirectoryState, inodes: ReadonlyMap<DirectoryEntry, number>): Promise<void> {
  const previous = hashCache.get(root);
  const files = new Map<string, { size: number; mtimeMs: number; ctimeMs: number; ino: number; hash: string }>();
  const vanished = new Set<DirectoryEntry>();
  await mapConcurrent(state.entries.filter((entry) => entry.type === 'file'), IO_CONCURRENCY, async (entry) => {
    const seen = { size: entry.size, mtimeMs: entry.mtimeMs, ctimeMs: entry.ctimeMs, ino: inodes.get(entry) ?? -1 };
    const cached = previous?.files.get(entry.path);
    const reusable = cached && previous && cached.size === seen.size && cached.mtimeMs === seen.mtimeMs && cached.ctimeMs === seen.ctimeMs
      && cached.ino === seen.ino && seen.ctimeMs < previous.capturedAtMs - RACY_MARGIN_MS;
    let hash = reusable ? cached.hash : undefined;
    if (!hash) {
      const content = await guard(() => readFile(path.join(root, entry.path)), entry.path).catch(ignoreVanished);
      if (!content) return void vanished.add(entry);
      hash = sha256(content);
      entry.size = content.length;
    }
    entry.contentHash = hash;
    // Cached with what the listing saw: a write after it changes the ctime, so this pairing is never reused wrongly.
    files.set(entry.path, { ...seen, hash });
  });
  if (vanished.size > 0) state.entries = state.entries.filter((entry) => !vanished.has(entry));
  hashCache.delete(root);
  hashCache.set(root, { capturedAtMs: state.capturedAtMs, files });
  if (hashCache.size > HASH_CACHE_DIRECTORIES) hashCache.delete(hashCache.keys().next().value!);
}

/** `.batonignore` rules of a subfolder, rewritten to apply from the root (so one matcher keeps git's precedence: deeper wins). */
function rebaseIgnoreRules(text: string, relativeDir: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (relativeDir === '') return lines;
  const base = relativeDir.replace(/[*?[\]\\]/g, '\\$&').replace(/^[#!]/, '\\$&');
  return lines.flatMap((line) => {
    if (line.trim() === '' || line.startsWith('#')) return [];
    const negated = line.startsWith('!');
    const body = negated ? line.slice(1) : line;
    // A slash anywhere but at the end anchors the pattern to the .batonignore's folder; otherwise it matches at any depth below it.
    const anchored = body.replace(/\/+$/, '').includes('/');
    const rebased = anchored ? `${base}/${body.replace(/^\/+/, '')}` : `${base}/**/${body}`;
    return [`${negated ? '!' : ''}${rebased}`];
  });
}

async function npmrcFileHoldsToken(file: string): Promise<boolean> {
  return npmrcHoldsToken(await readFile(file, 'utf8').catch(() => ''));
}

// ---------------------------------------------------------------------------------------------------------------
// Fingerprints and changes

/**
 * sha256 over every entry's path, type, mode, size, mtime (whole seconds, what the archive keeps), symlink target
 * and content hash; a restored tree therefore has the fingerprint of the snapshot it came from. Directory and
 * symlink mtimes are left out (they move whenever anything inside does). Without a content hash (over the limit)
 * the exact mtime and ctime stand in for it.
 */
export function directoryFingerprint(state: DirectoryState): string {
  const hash = createHash('sha256').update('baton-directory-v1\n');
  for (const entry of [...state.entries].sort((a, b) => compareStrings(a.path, b.path))) {
    const time = entry.type !== 'file' ? '' : entry.contentHash ? String(Math.floor(entry.mtimeMs / 1000)) : `${entry.mtimeMs}/${entry.ctimeMs}`;
    hash.update(`${entry.path}\0${entry.type}\0${entry.mode.toString(8)}\0${entry.size}\0${time}\0${entry.symlinkTarget ?? ''}\0${entry.contentHash ?? ''}\n`);
  }
  return hash.digest('hex');
}

/** Files and symlinks added, removed or changed (content, mode, type or target) between two states, sorted. Directories are not listed. */
export function changedBetween(before: DirectoryState | undefined, after: DirectoryState): string[] {
  const previous = new Map((before?.entries ?? []).filter((entry) => entry.type !== 'dir').map((entry) => [entry.path, entry]));
  const changed: string[] = [];
  for (const entry of after.entries) {
    if (entry.type === 'dir') continue;
    const old = previous.get(entry.path);
    previous.delete(entry.path);
    if (!old || entryChanged(old, entry)) changed.push(entry.path);
  }
  changed.push(...previous.keys());
  return changed.sort(compareStrings);
}

function entryChanged(old: DirectoryEntry, now: DirectoryEntry): boolean {
  if (old.type !== now.type || old.mode !== now.mode || old.size !== now.size || old.symlinkTarget !== now.symlinkTarget) return true;
  if (now.type !== 'file') return false;
  if (old.contentHash && now.contentHash) return old.contentHash !== now.contentHash;
  return old.mtimeMs !== now.mtimeMs || old.ctimeMs !== now.ctimeMs;
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshot

/** Archives the directory (tar, in memory), or records `too-large` without building the archive when it would exceed the limit. */
export async function snapshotDirectory(dir: string, options: SnapshotOptions, baseline: DirectoryState | undefined): Promise<{ snapshot: WorkspaceSnapshot; state: DirectoryState }> {
  const root = path.resolve(dir);
  const { state, excludedSecrets } = await readDirectoryState(root, options);
  const tooLarge = (bytes: number): { snapshot: WorkspaceSnapshot; state: DirectoryState } => ({
    snapshot: { manifest: { kind: 'too-large', fingerprint: directoryFingerprint(state), bytes, limitBytes: options.maxBytes, changedFiles: changedBetween(baseline, state) }, blobs: {} },
    state,
  });
  const estimate = estimateArchiveBytes(state);
  if (estimate > options.maxBytes) return tooLarge(estimate);

  // Read concurrently, but stop once files that grew since the listing push past the limit.
  const contents = new Map<DirectoryEntry, Buffer>();
  const vanished = new Set<DirectoryEntry>();
  let bytesRead = 0;
  await mapConcurrent(state.entries.filter((entry) => entry.type === 'file'), IO_CONCURRENCY, async (entry) => {
    if (bytesRead > options.maxBytes) return;
    const content = await guard(() => readFile(path.join(root, entry.path)), entry.path).catch(ignoreVanished);
    if (!content) return void vanished.add(entry);
    bytesRead += content.length;
    contents.set(entry, content);
    // Changed since the listing: the state describes what the archive holds.
    const contentHash = sha256(content);
    if (content.length !== entry.size || contentHash !== entry.contentHash) Object.assign(entry, { size: content.length, contentHash });
  });
  if (vanished.size > 0) state.entries = state.entries.filter((entry) => !vanished.has(entry));
  if (bytesRead > options.maxBytes) return tooLarge(Math.max(estimate, bytesRead));

  const chunks: Buffer[] = [];
  let bytes = 2 * TAR_BLOCK;
  for (const entry of state.entries) {
    const content = contents.get(entry);
    const header = tarHeader(entry, content?.length ?? 0);
    chunks.push(header);
    bytes += header.length;
    if (content) {
      chunks.push(content, Buffer.alloc(padded(content.length) - content.length));
      bytes += padded(content.length);
    }
  }
  if (bytes > options.maxBytes) return tooLarge(bytes);
  chunks.push(Buffer.alloc(2 * TAR_BLOCK));

  const archive = Buffer.concat(chunks);
  const fileCount = state.entries.filter((entry) => entry.type !== 'dir').length;
  return {
    snapshot: {
      manifest: { kind: 'directory', fingerprint: directoryFingerprint(state), fileCount, changedFiles: changedBetween(baseline, state), excludedSecrets },
      blobs: { archive },
    },
    state,
  };
}

/** One entry's header block(s): a pax extended header first when the path, target or size does not fit ustar. */
function tarHeader(entry: DirectoryEntry, size: number): Buffer {
  const type = entry.type === 'file' ? 'File' : entry.type === 'dir' ? 'Directory' : 'SymbolicLink';
  const fields = {
    path: entry.type === 'dir' ? `${entry.path}/` : entry.path,
    mode: entry.mode,
    size: entry.type === 'file' ? size : 0,
    mtime: new Date(entry.mtimeMs),
    type,
    ...(entry.symlinkTarget !== undefined ? { linkpath: entry.symlinkTarget } : {}),
  } as const;
  const header = new Header(fields);
  const needsPax = header.encode();
  const block = header.block!;
  if (!needsPax) return block;
  const pax = new Pax({ path: fields.path, size: fields.size, mtime: fields.mtime, ...(entry.symlinkTarget !== undefined ? { linkpath: entry.symlinkTarget } : {}) }).encode();
  return Buffer.concat([pax, block]);
}

/** The archive's size from the listing alone: headers, padded contents, pax headers for long or non-ASCII names, the end blocks. */
function estimateArchiveBytes(state: DirectoryState): number {
  let bytes = 2 * TAR_BLOCK;
  for (const entry of state.entries) {
    const name = entry.type === 'dir' ? `${entry.path}/` : entry.path;
    const needsPax = Buffer.byteLength(name) > 100 || /[^\x00-\x7f]/.test(name + (entry.symlinkTarget ?? '')) || (entry.symlinkTarget?.length ?? 0) > 100;
    bytes += TAR_BLOCK + (needsPax ? 3 * TAR_BLOCK : 0) + (entry.type === 'file' ? padded(entry.size) : 0);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// Restore

interface ArchiveEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  linkpath: string | undefined;
}

/**
 * Unpacks a directory snapshot into `target`. Missing or empty: created and filled. Not empty: refused with
 * WORKSPACE_CONFLICT and left untouched, unless `overwrite` (archive files replace, others stay). `skip`: nothing.
 * The whole archive is checked before anything is written: a damaged or truncated archive is an error (never an
 * empty restore); absolute paths, `..`, paths through a symlink the archive itself creates, and anything but
 * files, folders and symlinks (hard links, devices, FIFOs) are refused. node-tar then extracts with its path
 * protections on (strict, no preservePaths, `unlink` so a link already in the target is replaced rather than
 * written through).
 */
export async function restoreDirectory(snapshot: WorkspaceSnapshot, target: string, mode: RestoreMode): Promise<void> {
  if (mode === 'skip') return;
  const { manifest } = snapshot;
  if (manifest.kind === 'too-large') {
    throw new BatonError('WORKSPACE_ERROR', `the workspace was not saved: it was ${megabytes(manifest.bytes)}, over the ${megabytes(manifest.limitBytes)} limit`, {
      hint: 'resume with `--workspace skip`, and raise the workspace size limit or add a .batonignore for the next run',
    });
  }
  if (manifest.kind !== 'directory') {
    throw new BatonError('WORKSPACE_ERROR', `the workspace snapshot is not a directory archive (kind ${manifest.kind})`, { hint: 'restore it with the git workspace restore' });
  }
  if (!snapshot.blobs.archive) throw damagedArchive('the snapshot has no archive');
  const archive = snapshot.blobs.archive;
  const root = path.resolve(target);
  // Someone's files come first: a plain resume into them is a conflict, whatever the archive holds.
  await refuseOccupiedTarget(root, mode);
  const entries = await checkedArchiveEntries(archive, root);

  await mkdir(root, { recursive: true });
  if (entries.length === 0) return;
  try {
    await extract(archive, root);
    // node-tar creates files through the umask; put back the exact permission bits (never through a symlink).
    await mapConcurrent(entries.filter((item) => item.type !== 'symlink'), IO_CONCURRENCY, async (entry) => {
      const absolute = path.join(root, entry.path);
      const stats = await lstat(absolute);
      // Compared with the special bits too: entry.mode has none (see checkedArchiveEntries), so any is cleared here.
      if (!stats.isSymbolicLink() && (stats.mode & 0o7777) !== entry.mode) await chmod(absolute, entry.mode);
    });
    // Symlinks last, so nothing is ever extracted through one (the archive check refuses entries below a symlink).
    const lastEntryAt = new Map(entries.map((entry) => [entry.path, entry]));
    for (const entry of lastEntryAt.values()) if (entry.type === 'symlink') await placeSymlink(root, entry.path, entry.linkpath ?? '');
  } catch (error) {
    if (error instanceof BatonError) throw error;
    throw new BatonError('WORKSPACE_ERROR', `could not restore the workspace into ${root}: ${errorSummary(error)}`, { cause: error, hint: 'check the directory permissions and free space, or resume with `--workspace skip`' });
  }
}

/** WORKSPACE_CONFLICT when `root` is not a directory, or (unless `overwrite`) holds anything. */
async function refuseOccupiedTarget(root: string, mode: RestoreMode): Promise<void> {
  const existing = await stat(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new BatonError('WORKSPACE_ERROR', `cannot read ${root}: ${errorMessage(error)}`, { cause: error, hint: 'check the directory permissions or choose another directory' });
  });
  if (existing && !existing.isDirectory()) {
    throw new BatonError('WORKSPACE_CONFLICT', `${root} exists and is not a directory`, { hint: 'remove it or resume in another directory, or resume with `--workspace skip` to leave it as it is' });
  }
  if (existing && mode === 'restore') {
    const present = (await readdir(root, { withFileTypes: true })).map((dirent) => (dirent.isDirectory() ? `${dirent.name}/` : dirent.name)).sort(compareStrings);
    if (present.length > 0) {
      const shown = present.slice(0, 3).join(', ') + (present.length > 3 ? ', …' : '');
      throw new BatonError('WORKSPACE_CONFLICT', `${root} is not empty (${present.length} ${present.length === 1 ? 'entry' : 'entries'}: ${shown})`, {
        hint: 'resume with `--workspace overwrite` to unpack the saved files over it (other files stay), `--workspace skip` to resume without them, or resume in an empty directory',
      });
    }
  }
}

function damagedArchive(detail: string, cause?: unknown): BatonError {
  return new BatonError('WORKSPACE_ERROR', `the saved workspace archive is damaged: ${detail}`, {
    ...(cause === undefined ? {} : { cause }),
    hint: 'nothing was written; resume with `--workspace skip` to continue without the files, or write an earlier run\'s workspace with `baton workspace ID --at RUN -o DIR`',
  });
}

/**
 * True for an archive of no entries (what an empty directory snapshots to: the two zero end blocks), which
 * node-tar refuses as "Unrecognized archive format". Anything that is not whole 512-byte blocks ending in the
 * two zero blocks baton always writes is damaged: a truncated archive, or bytes that were never a tar archive.
 */
function isEmptyArchive(archive: Buffer): boolean {
  if (archive.length < 2 * TAR_BLOCK || archive.length % TAR_BLOCK !== 0) {
    throw damagedArchive(`${archive.length} bytes is not a whole number of 512-byte tar blocks ending in the end-of-archive blocks (truncated?)`);
  }
  const zero = (from: number, to: number): boolean => archive.subarray(from, to).every((byte) => byte === 0);
  if (!zero(archive.length - 2 * TAR_BLOCK, archive.length)) throw damagedArchive('it does not end with the end-of-archive blocks (truncated?)');
  return zero(0, archive.length - 2 * TAR_BLOCK);
}

/** Reads every header of the archive and refuses it whole if any entry could land outside `root`. */
async function checkedArchiveEntries(archive: Buffer, root: string): Promise<ArchiveEntry[]> {
  if (isEmptyArchive(archive)) return [];
  const entries: ArchiveEntry[] = [];
  const problems: string[] = [];
  const symlinks = new Set<string>();
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const problem = unsafeEntry(entry, symlinks);
      if (problem) problems.push(problem);
      else {
        const normalized = normalizeEntryPath(entry.path);
        if (entry.type === 'SymbolicLink') symlinks.add(normalized);
        const type = entry.type === 'Directory' ? 'dir' : entry.type === 'SymbolicLink' ? 'symlink' : 'file';
        if (normalized !== '') entries.push({ path: normalized, type, mode: (entry.mode ?? 0o644) & 0o777, linkpath: entry.linkpath });
      }
      entry.resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('close', () => resolve());
    parser.end(archive);
  }).catch((error: unknown) => {
    throw damagedArchive(errorSummary(error), error);
  });
  if (problems.length > 0) {
    throw new BatonError('WORKSPACE_ERROR', `refusing to restore the workspace into ${root}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`, {
      hint: 'the snapshot is damaged or was not made by baton; nothing was written. Resume with `--workspace skip`',
    });
  }
  return entries;
}

/** The entry types a workspace archive holds; a hard link, device, FIFO or anything else is refused. */
const ARCHIVE_TYPES: ReadonlySet<string> = new Set(['File', 'OldFile', 'Directory', 'SymbolicLink']);
/** What node-tar itself extracts: symlinks are placed by restoreDirectory afterwards. */
const EXTRACTED_TYPES: ReadonlySet<string> = new Set(['File', 'OldFile', 'Directory']);

function unsafeEntry(entry: ReadEntry, symlinks: ReadonlySet<string>): string | undefined {
  const raw = entry.path.replace(/\\/g, '/');
  const name = quoted(raw, 200);
  if (!ARCHIVE_TYPES.has(entry.type)) return `entry ${name} is a ${entry.type}, which a workspace never holds`;
  if (raw.includes('\0')) return `entry ${name} has a NUL in its name`;
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw)) return `entry ${name} is an absolute path`;
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return `entry ${name} climbs out with ".."`;
  for (let depth = 1; depth < parts.length; depth++) {
    if (symlinks.has(parts.slice(0, depth).join('/'))) return `entry ${name} goes through the symlink ${quoted(parts.slice(0, depth).join('/'), 200)}`;
  }
  return undefined;
}

function normalizeEntryPath(entryPath: string): string {
  return entryPath.replace(/\\/g, '/').split('/').filter((part) => part !== '' && part !== '.').join('/');
}

async function extract(archive: Buffer, root: string): Promise<void> {
  const unpack = new Unpack({
    cwd: root,
    strict: true,
    // Replace what is there rather than writing through an existing hard link or symlink.
    unlink: true,
    preservePaths: false,
    preserveOwner: false,
    filter: (_path, entry) => {
      if (!('type' in entry)) return true;
      // checkedArchiveEntries refused these already; never a hard link, device or FIFO, even so.
      if (!EXTRACTED_TYPES.has(entry.type)) return false;
      // Never a setuid, setgid or sticky file: an archive is someone else's, and baton may run as root.
      if (typeof entry.mode === 'number') entry.mode &= 0o777;
      // Owner may always write into a directory while unpacking; the exact mode is set afterwards.
      if (entry.type === 'Directory' && typeof entry.mode === 'number') entry.mode |= 0o700;
      // node-tar rewrites or refuses link targets outside the target (`/abs`, `../x`); a workspace may hold such
      // links legitimately, so restoreDirectory makes them itself, once everything else is in place.
      return entry.type !== 'SymbolicLink';
    },
  });
  await new Promise<void>((resolve, reject) => {
    unpack.on('error', reject);
    unpack.on('close', () => resolve());
    unpack.end(archive);
  });
}

/** Creates `relativePath` as a symlink, replacing a file, link or empty folder there, never below a symlink. */
async function placeSymlink(root: string, relativePath: string, linkpath: string): Promise<void> {
  const parts = relativePath.split('/');
  for (let depth = 1; depth < parts.length; depth++) {
    const parent = path.join(root, ...parts.slice(0, depth));
    const stats = await lstat(parent).catch(ignoreVanished);
    if (!stats) await mkdir(parent);
    else if (!stats.isDirectory()) throw new BatonError('WORKSPACE_ERROR', `cannot restore the symlink ${quoted(relativePath, 200)}: ${quoted(parts.slice(0, depth).join('/'), 200)} is not a folder`, { hint: 'move it away or resume with `--workspace skip`' });
  }
  const absolute = path.join(root, relativePath);
  const existing = await lstat(absolute).catch(ignoreVanished);
  if (existing?.isDirectory()) await rmdir(absolute);
  else if (existing) await unlink(absolute);
  await symlink(linkpath, absolute);
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

async function requireDirectory(root: string): Promise<void> {
  const stats = await stat(root).catch((error: NodeJS.ErrnoException) => {
    throw new BatonError('WORKSPACE_ERROR', error.code === 'ENOENT' ? `workspace directory ${root} does not exist` : `cannot read workspace directory ${root}: ${errorMessage(error)}`, {
      cause: error,
      hint: 'choose the directory with `--workspace DIR`, or run with `--no-workspace`',
    });
  });
  if (!stats.isDirectory()) throw new BatonError('WORKSPACE_ERROR', `workspace ${root} is not a directory`, { hint: 'choose a directory with `--workspace DIR`' });
}

/** Runs an fs call; a permission problem becomes a WORKSPACE_ERROR naming the path, other errors pass through. */
async function guard<T>(call: () => Promise<T>, where: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new BatonError('WORKSPACE_ERROR', `cannot read ${where} in the workspace: ${errorMessage(error)}`, { cause: error, hint: `make it readable or add it to ${BATONIGNORE_FILE}` });
    }
    throw error;
  }
}

/** A file deleted while the directory was being read is simply not part of the snapshot. */
function ignoreVanished(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw error;
}

async function mapConcurrent<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

function padded(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
