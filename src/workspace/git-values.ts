/**
 * The shapes of the values baton hands to git that come from a stored manifest, an import file or an API body
 * (commit ids, branch, remote name and URL, a ref to check out). Such a value is hostile: `--upload-pack=…`
 * as a URL, or `--output=…` as a commit, would be read by git as an option. Every one is checked here before it
 * reaches git, and git is also told where its options end (`--end-of-options`, or `--` where that means the same).
 */
import { BatonError } from '../errors.js';
import type { WorkspaceManifest } from './workspace.js';

/** A full object id: SHA-1 (40 hex digits) or SHA-256 (64). Never abbreviated, never a name. */
export function isObjectId(value: unknown): value is string {
  return typeof value === 'string' && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value);
}

/**
 * `git check-ref-format --allow-onelevel`'s rules (git-check-ref-format(1)), plus: no leading `-`, which git
 * accepts in a ref but would read as an option on a command line. test/workspace/git-values.test.ts checks
 * these rules against the real git on a list of tricky names.
 */
export function isRefName(name: unknown): name is string {
  if (typeof name !== 'string' || name === '' || name === '@' || name.startsWith('-')) return false;
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return false; // controls, space and the characters git reserves
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) return false;
  return name.split('/').every((component) => !component.startsWith('.') && !component.endsWith('.lock'));
}

/** A branch as `git switch -C` takes it: a valid `refs/heads/<name>` that does not look like an option or HEAD. */
export function isBranchName(name: unknown): name is string {
  return typeof name === 'string' && name !== 'HEAD' && isRefName(name) && isRefName(`refs/heads/${name}`);
}

/** A remote's name, as `git remote add` accepts it (`refs/remotes/<name>/x` must be a valid ref). */
export function isRemoteName(name: unknown): name is string {
  return typeof name === 'string' && isRefName(name) && isRefName(`refs/remotes/${name}/x`);
}

/**
 * A remote URL git may fetch from: no leading `-` (an option, or for ssh `-oProxyCommand=…`), no control
 * characters, no transport helper (`ext::sh -c …`, `fd::3`, which run commands or use descriptors), and no ssh
 * host that starts with `-`.
 */
export function isFetchableRemoteUrl(url: unknown): url is string {
  if (typeof url !== 'string' || url === '' || url.startsWith('-')) return false;
  if (/[\u0000-\u001f\u007f]/.test(url)) return false;
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) return false;
  const host = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/@]*@)?([^/]*)/.exec(url)?.[1] ?? /^[^/:]*@([^/:]*):/.exec(url)?.[1];
  return host === undefined || !(host.startsWith('-') || /^%2d/i.test(host));
}

type GitManifest = Extract<WorkspaceManifest, { kind: 'git' }>;

/** What is wrong with a git manifest's values, or undefined when git may be given every one of them. */
function gitManifestProblem(manifest: GitManifest): string | undefined {
  if (!isObjectId(manifest.baseCommit)) return `its base commit ${JSON.stringify(manifest.baseCommit)} is not a full commit id`;
  if (!isObjectId(manifest.tree)) return `its tree ${JSON.stringify(manifest.tree)} is not a full object id`;
  if (manifest.branch !== undefined && manifest.branch !== null && !isBranchName(manifest.branch)) return `its branch ${JSON.stringify(manifest.branch)} is not a valid branch name`;
  if (manifest.remoteName !== undefined && manifest.remoteName !== null && !isRemoteName(manifest.remoteName)) return `its remote name ${JSON.stringify(manifest.remoteName)} is not a valid remote name`;
  if (manifest.remoteUrl !== undefined && manifest.remoteUrl !== null && !isFetchableRemoteUrl(manifest.remoteUrl)) return `its remote URL ${JSON.stringify(manifest.remoteUrl)} is not one git may fetch from`;
  return undefined;
}

/** WORKSPACE_ERROR unless every value of a git snapshot's manifest has the shape git will be handed. */
export function assertRestorableGitManifest(manifest: GitManifest): void {
  const problem = gitManifestProblem(manifest);
  if (problem === undefined) return;
  throw new BatonError('WORKSPACE_ERROR', `the stored git workspace cannot be restored: ${problem}`, {
    hint: 'the snapshot was edited or comes from an untrusted export; resume with --no-workspace to continue without the files',
  });
}
