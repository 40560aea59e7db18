/**
 * Git workspaces. A snapshot is the base commit and branch, the remote (if any), a `git bundle` of the commits
 * the remote does not have (every commit when there is no remote) and a binary patch of every uncommitted
 * change — staged, unstaged and untracked-but-not-ignored — made with a temporary index file, so the user's
 * index and working tree are never touched. A restore clones or fetches, checks out the base and applies the
 * patch; it refuses to touch a directory holding other work.
 */
import { withoutCredentials } from './git-url.js';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { BatonError, quoted } from '../errors.js';
import { assertRestorableGitManifest } from './git-values.js';
import { isSecretPath, npmrcHoldsToken } from './secrets.js';
import type { RestoreMode, SnapshotOptions, WorkspaceSnapshot } from './workspace.js';

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * The transports git may use for baton: a snapshot's remote comes from a file that may be hostile, and
 * `<helper>::<address>` URLs run remote helpers (`ext::` runs a command; `fd::17` hung a restore for good, found
 * by the import fuzzer). Remotes on https, ssh, git or a local path (and bundle files) still work.
 */
const ALLOWED_PROTOCOLS = 'https:http:ssh:git:file';

/** Runs git with an argv (never a shell); `env` adds to the inherited environment. */
export async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', (error) =>
      reject(new BatonError('WORKSPACE_ERROR', `cannot run git: ${error.message}`, { hint: 'install git, or resume with --no-workspace', cause: error })),
    );
    child.once('close', (code) => resolvePromise({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** git's last line of complaint, as one line of a message (it may echo a name from a hostile snapshot). */
function lastLine(stderr: string, code: number): string {
  const line = stderr.trim().split('\n').at(-1);
  return line ? line.slice(0, 300).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ') : `exit ${code}`;
}

async function gitOk(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Buffer> {
  const result = await git(cwd, args, env);
  if (result.code !== 0) {
    throw new BatonError('WORKSPACE_ERROR', `git ${args[0]} failed in ${cwd}: ${lastLine(result.stderr, result.code)}`, {
      hint: 'check the repository with `git status`; resume with --no-workspace to continue without the files',
    });
  }
  return result.stdout;
}

const text = (bytes: Buffer): string => bytes.toString('utf8').trim();

/** True when `dir` is the top of a git work tree with at least one commit. */
export async function isGitWorkspace(dir: string): Promise<boolean> {
  const top = await git(dir, ['rev-parse', '--show-toplevel']).catch(() => undefined);
  if (!top || top.code !== 0 || resolve(text(top.stdout)) !== resolve(dir)) return false;
  return (await git(dir, ['rev-parse', '--verify', '-q', 'HEAD'])).code === 0;
}

export interface GitState {
  head: string;
  branch: string | undefined;
  tree: string;
  remoteName: string | undefined;
  remoteUrl: string | undefined;
  fingerprint: string;
  excludedSecrets: string[];
}

/** `.npmrc` files that hold a token, among the untracked or modified ones. */
async function npmrcWithTokens(dir: string, candidates: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of candidates.filter((candidate) => candidate === '.npmrc' || candidate.endsWith('/.npmrc'))) {
    const content = await readFile(join(dir, path), 'utf8').catch(() => '');
    if (npmrcHoldsToken(content)) found.push(path);
  }
  return found;
}

/**
 * Reads the workspace into a temporary index (a copy of the user's, so unchanged files are not re-hashed) and
 * returns its tree: the whole state a restore reproduces. Secrets among the changed files are left out (one
 * scan of the working tree finds both). The caller deletes `indexFile`.
 */
async function stageIntoTemporaryIndex(dir: string, indexPath: string, options: SnapshotOptions): Promise<{ indexFile: string; tree: string; excludedSecrets: string[] }> {
  const indexFile = join(tmpdir(), `baton-index-${randomBytes(6).toString('hex')}`);
  await copyFile(isAbsolute(indexPath) ? indexPath : join(dir, indexPath), indexFile).catch(() => undefined);
  const env = { GIT_INDEX_FILE: indexFile };
  let excludedSecrets: string[] = [];
  if (!options.includeSecrets) {
    const changed = (await gitOk(dir, ['ls-files', '-z', '--others', '--modified', '--exclude-standard'])).toString('utf8').split('\0').filter(Boolean);
    const byName = changed.filter((path) => isSecretPath(path));
    const tokens = await npmrcWithTokens(dir, changed);
    excludedSecrets = [...new Set([...byName, ...tokens])].sort();
  }
  await gitOk(dir, ['add', '-A', '--', '.', ...excludedSecrets.map((path) => `:(exclude,literal)${path}`)], env);
  const tree = text(await gitOk(dir, ['write-tree'], env));
  return { indexFile, tree, excludedSecrets };
}

async function remoteOf(dir: string): Promise<{ remoteName: string | undefined; remoteUrl: string | undefined }> {
  const result = await git(dir, ['config', '--get-regexp', '^remote\\..*\\.url$']);
  const remotes = new Map<string, string>();
  for (const line of text(result.stdout).split('\n').filter(Boolean)) {
    const match = /^remote\.(.+)\.url (.*)$/.exec(line);
    if (match) remotes.set(match[1]!, match[2]!);
  }
  const remoteName = remotes.has('origin') ? 'origin' : [...remotes.keys()][0];
  // A token in the URL (https://user:token@…) would be stored with every snapshot and export: never kept.
  const remoteUrl = remoteName ? remotes.get(remoteName) : undefined;
  return { remoteName, remoteUrl: remoteUrl === undefined ? undefined : withoutCredentials(remoteUrl) };
}

export type GitStateWithIndex = GitState & { indexFile: string };

export async function readGitState(dir: string, options: SnapshotOptions): Promise<GitStateWithIndex> {
  // One rev-parse for HEAD, the branch and the index's path.
  const [head, symbolic, indexPath] = text(await gitOk(dir, ['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD', '--path-format=absolute', '--git-path', 'index'])).split('\n');
  const branch = symbolic?.startsWith('refs/heads/') ? symbolic.slice('refs/heads/'.length) : undefined;
  const { remoteName, remoteUrl } = await remoteOf(dir);
  const { indexFile, tree, excludedSecrets } = await stageIntoTemporaryIndex(dir, indexPath!, options);
  const fingerprint = createHash('sha256').update(JSON.stringify(['git', head!, branch ?? null, tree, remoteUrl ?? null])).digest('hex');
  return { head: head!, branch, tree, remoteName, remoteUrl, fingerprint, excludedSecrets, indexFile };
}

async function withTemporaryFile<T>(prefix: string, action: (path: string) => Promise<T>): Promise<T> {
  const path = join(tmpdir(), `${prefix}-${randomBytes(6).toString('hex')}`);
  try {
    return await action(path);
  } finally {
    await rm(path, { force: true });
  }
}

/** A bundle already made for a HEAD: reused while HEAD, branch and remote stay the same. */
export interface PreviousBundle {
  key: string;
  bundle: Buffer | undefined;
}

/**
 * The snapshot of a git workspace; `baseline` (the state at the run's start) decides which files changed.
 * `current` is a state just read (its temporary index is consumed); `previous` a bundle to reuse.
 */
export async function snapshotGit(
  dir: string,
  options: SnapshotOptions,
  baseline: GitState | undefined,
  current?: GitStateWithIndex,
  previous?: PreviousBundle,
): Promise<{ snapshot: WorkspaceSnapshot; state: GitState; bundle: PreviousBundle }> {
  const { indexFile, ...state } = current ?? (await readGitState(dir, options));
  try {
    const env = { GIT_INDEX_FILE: indexFile };
    const refs = ['HEAD', ...(state.branch ? [`refs/heads/${state.branch}`] : [])];
    const hasRemote = state.remoteName !== undefined;
    const makeBundle = async (): Promise<{ key: string; bundle: Buffer | undefined }> => {
      // The remote's branches are part of the key: a push makes commits the bundle no longer needs.
      const remoteHeads = hasRemote ? text(await gitOk(dir, ['for-each-ref', '--format=%(objectname)', 'refs/remotes'])) : '';
      const key = createHash('sha256').update(JSON.stringify([state.head, state.branch ?? null, state.remoteUrl ?? null, remoteHeads])).digest('hex');
      if (previous?.key === key) return previous;
      const unpushed = hasRemote ? Number(text(await gitOk(dir, ['rev-list', '--count', 'HEAD', '--not', '--remotes']))) : Infinity;
      if (unpushed === 0) return { key, bundle: undefined };
      const bundle = await withTemporaryFile('baton-bundle', async (file) => {
        await gitOk(dir, ['bundle', 'create', '-q', file, ...refs, ...(hasRemote ? ['--not', '--remotes'] : [])]);
        return readFile(file);
      });
      return { key, bundle };
    };
    // The bundle, the patch and the list of changed files do not depend on one another: made side by side.
    const [made, patch, names] = await Promise.all([
      makeBundle(),
      gitOk(dir, ['diff', '--cached', '--binary', '--no-color', '--no-ext-diff', 'HEAD'], env),
      baseline ? gitOk(dir, ['diff', '--name-only', '-z', baseline.tree, state.tree]) : gitOk(dir, ['diff', '--cached', '--name-only', '-z', 'HEAD'], env),
    ]);
    const bundle = made.bundle;
    const bundleKey = made.key;
    const changedFiles = names.toString('utf8').split('\0').filter(Boolean).sort();
    const bytes = patch.length + (bundle?.length ?? 0);
    if (bytes > options.maxBytes) {
      return { snapshot: { manifest: { kind: 'too-large', fingerprint: state.fingerprint, bytes, limitBytes: options.maxBytes, changedFiles }, blobs: {} }, state, bundle: { key: bundleKey, bundle } };
    }
    return {
      snapshot: {
        manifest: {
          kind: 'git',
          fingerprint: state.fingerprint,
          baseCommit: state.head,
          tree: state.tree,
          branch: state.branch,
          remoteName: state.remoteName,
          remoteUrl: state.remoteUrl,
          bundleIsComplete: !hasRemote,
          changedFiles,
          excludedSecrets: state.excludedSecrets,
        },
        blobs: { ...(bundle ? { bundle } : {}), ...(patch.length > 0 ? { patch } : {}) },
      },
      state,
      bundle: { key: bundleKey, bundle },
    };
  } finally {
    await rm(indexFile, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Restore.

async function entriesOf(dir: string): Promise<string[] | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return ['(not a directory)'];
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function conflict(target: string, difference: string): BatonError {
  return new BatonError('WORKSPACE_CONFLICT', `cannot restore the conversation's workspace into ${target}: ${difference}`, {
    hint: 'resume in an empty directory (--cwd), or pass --workspace overwrite to replace it, or --workspace skip to resume without the files',
  });
}

const short = (commit: string): string => commit.slice(0, 12);

async function fetchBundle(target: string, bundle: Buffer | undefined): Promise<void> {
  if (!bundle) return;
  await withTemporaryFile('baton-bundle', async (file) => {
    await writeFile(file, bundle);
    await gitOk(target, ['fetch', '-q', '--no-tags', file, '+HEAD:refs/baton/restored']);
  });
}

async function applyPatch(target: string, patch: Buffer | undefined): Promise<void> {
  if (!patch || patch.length === 0) return;
  await withTemporaryFile('baton-patch', async (file) => {
    await writeFile(file, patch);
    await gitOk(target, ['apply', '--binary', '--whitespace=nowarn', file]);
  });
}

/**
 * Checks out the base commit (on its branch, when it had one). The commit and branch were checked by
 * assertRestorableGitManifest: a full hex id cannot be read as an option, and the branch is the value of -B.
 * verified with git 2.39.5: `git checkout` reads `--end-of-options` as a second revision ("only one reference
 * expected", fixed in git 2.44), and `git switch --discard-changes`, which takes it, refuses untracked files in
 * the way that --workspace overwrite must replace; so checkout it is, given only validated values.
 */
async function checkoutBase(target: string, manifest: Extract<WorkspaceSnapshot['manifest'], { kind: 'git' }>, force: boolean): Promise<void> {
  const args = manifest.branch ? ['checkout', '-q', ...(force ? ['-f'] : []), '-B', manifest.branch, manifest.baseCommit, '--'] : ['checkout', '-q', ...(force ? ['-f'] : []), '--detach', manifest.baseCommit, '--'];
  await gitOk(target, args);
}

/** Recreates the workspace in a missing or empty directory. */
async function restoreIntoEmpty(snapshot: WorkspaceSnapshot, target: string): Promise<void> {
  const manifest = snapshot.manifest;
  if (manifest.kind !== 'git') throw new Error('not a git snapshot');
  await mkdir(target, { recursive: true });
  if (manifest.bundleIsComplete || !manifest.remoteUrl) {
    if (!snapshot.blobs.bundle) throw new BatonError('WORKSPACE_ERROR', 'the stored git snapshot has no bundle to recreate the repository from', { hint: 'resume with --no-workspace' });
    await gitOk(target, ['init', '-q']);
    await fetchBundle(target, snapshot.blobs.bundle);
    if (manifest.remoteName && manifest.remoteUrl) await gitOk(target, ['remote', 'add', '--', manifest.remoteName, manifest.remoteUrl]);
  } else {
    const clone = await git(resolve(target, '..'), ['clone', '-q', '--no-checkout', '--origin', manifest.remoteName ?? 'origin', '--', manifest.remoteUrl, target]);
    if (clone.code !== 0) {
      throw new BatonError('WORKSPACE_ERROR', `cannot clone ${quoted(manifest.remoteUrl)}: ${lastLine(clone.stderr, clone.code)}`, {
        hint: 'check access to the remote from this machine, or resume with --no-workspace',
      });
    }
    await fetchBundle(target, snapshot.blobs.bundle);
  }
  await checkoutBase(target, manifest, true);
  await applyPatch(target, snapshot.blobs.patch);
}

export async function restoreGit(snapshot: WorkspaceSnapshot, target: string, mode: RestoreMode, options: SnapshotOptions): Promise<'restored' | 'unchanged' | 'skipped'> {
  const manifest = snapshot.manifest;
  if (manifest.kind !== 'git') throw new Error('not a git snapshot');
  if (mode === 'skip') return 'skipped';
  // The manifest may come from an import file: nothing in it reaches git before its shape is checked.
  assertRestorableGitManifest(manifest);
  const entries = await entriesOf(target);
  if (entries === undefined || entries.length === 0) {
    await restoreIntoEmpty(snapshot, target);
    return 'restored';
  }
  if (!(await isGitWorkspace(target))) {
    if (mode !== 'overwrite') {
      const listed = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
      throw conflict(target, `it is not empty (${entries.length} entries: ${listed}) and is not the conversation's git repository`);
    }
    await gitOk(target, ['init', '-q']);
    await fetchBundle(target, snapshot.blobs.bundle);
    await checkoutBase(target, manifest, true);
    await applyPatch(target, snapshot.blobs.patch);
    return 'restored';
  }
  const current = await readGitState(target, options);
  await rm(current.indexFile, { force: true });
  // The same workspace already here (e.g. resuming on the machine that saved it): nothing to do.
  if (current.head === manifest.baseCommit && current.tree === manifest.tree) return 'unchanged';
  const hasBase = (await git(target, ['cat-file', '-e', '--end-of-options', `${manifest.baseCommit}^{commit}`])).code === 0;
  const dirty = text(await gitOk(target, ['status', '--porcelain', '--untracked-files=all'])).split('\n').filter(Boolean);
  if (mode !== 'overwrite') {
    if (current.head !== manifest.baseCommit) {
      throw conflict(target, hasBase || manifest.bundleIsComplete
        ? `its HEAD is ${short(current.head)}, but the conversation's workspace is at ${short(manifest.baseCommit)}`
        : `it is another repository (its HEAD is ${short(current.head)}; the conversation's workspace is at ${short(manifest.baseCommit)})`);
    }
    if (dirty.length > 0) {
      const listed = dirty.slice(0, 3).map((line) => line.slice(3)).join(', ') + (dirty.length > 3 ? ', …' : '');
      throw conflict(target, `it has ${dirty.length} uncommitted change${dirty.length === 1 ? '' : 's'} of its own (${listed})`);
    }
    await applyPatch(target, snapshot.blobs.patch);
    return 'restored';
  }
  await fetchBundle(target, snapshot.blobs.bundle);
  await checkoutBase(target, manifest, true);
  await gitOk(target, ['clean', '-fdq']);
  await applyPatch(target, snapshot.blobs.patch);
  return 'restored';
}
