/**
 * Which repositories a worker clones for a new conversation: remote ones (`https://`, `ssh://`, scp-style
 * `git@host:path`) by default; a local path or `file://` URL only where the operator allows it, since it
 * names the worker's own files. Credentials inside a URL are refused: the URL is stored with the conversation
 * and its snapshots, so a token there would be kept and exported; the worker's git credential configuration
 * (a credential helper, SSH keys) is where they belong.
 */
import { BatonError } from '../errors.js';
import { hasCredentials, withoutCredentials } from '../workspace/git-url.js';
import { isFetchableRemoteUrl, isRefName } from '../workspace/git-values.js';

export { hasCredentials, withoutCredentials } from '../workspace/git-url.js';

export type CloneSourceKind = 'remote' | 'local';

const SCP_STYLE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)/;

export function cloneSourceKind(url: string): CloneSourceKind | 'unsupported' {
  if (SCP_STYLE.test(url)) return 'remote';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'https' || scheme === 'ssh') return 'remote';
  if (scheme === 'file') return 'local';
  if (scheme !== undefined) return 'unsupported'; // git://, http://, ext:: … travel unencrypted or run commands
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) return 'unsupported'; // transport helpers such as ext::sh -c …
  return 'local';
}

/**
 * USAGE unless the URL and ref have shapes git can only read as a repository and a revision: neither may look
 * like an option (`--upload-pack=…`, `-oProxyCommand=…`), nor the URL name a transport helper; the ref must
 * pass `git check-ref-format`.
 */
export function assertCloneValues(source: { git: string; ref?: string | undefined }): void {
  if (!isFetchableRemoteUrl(source.git)) {
    throw new BatonError('USAGE', `workspace.git ${JSON.stringify(withoutCredentials(source.git))} is not a repository URL git may clone (it must not start with "-" or hold control characters)`, {
      hint: 'use the repository\'s https or ssh address, e.g. https://github.com/acme/repo.git',
    });
  }
  if (source.ref !== undefined && !isRefName(source.ref)) {
    throw new BatonError('USAGE', `workspace.ref ${JSON.stringify(source.ref)} is not a branch, tag or commit name (it must pass \`git check-ref-format\` and not start with "-")`, {
      hint: 'name a branch (main), a tag (v1.2.0) or a full commit id',
    });
  }
}

/** USAGE (422 at the API) unless `url` (and `ref`) may be cloned under this policy. */
export function assertCloneSource(url: string, policy: { allowLocal: boolean }, ref?: string): void {
  const kind = cloneSourceKind(url);
  if (kind === 'unsupported') {
    throw new BatonError('USAGE', `workspace.git must be an https:// or ssh:// URL (or git@host:path), not "${withoutCredentials(url)}"`, {
      hint: 'use the repository\'s https or ssh address',
    });
  }
  assertCloneValues({ git: url, ref });
  if (hasCredentials(url)) {
    throw new BatonError('USAGE', 'workspace.git must not carry credentials (a user name with a password or token)', {
      hint: 'give the worker access through its git credential configuration (a credential helper or an SSH key) instead',
    });
  }
  if (kind === 'local' && !policy.allowLocal) {
    throw new BatonError('USAGE', `workspace.git "${url}" is a path on the worker, which this server does not clone`, {
      hint: 'use an https:// or ssh:// URL, or start `baton serve` and `baton worker` with --allow-local-clone',
    });
  }
}
