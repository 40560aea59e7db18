/**
 * A workspace manifest as it is stored: the fields that are text a person or the agent chose (the remote's URL —
 * its credentials are already stripped, a token may sit in its query —, the paths listed for `baton show`)
 * are redacted; hashes, counts and the branch a restore checks out stay exact.
 */
import type { WorkspaceManifest } from '../workspace/workspace.js';
import type { Redactor } from './redactor.js';

export async function redactManifest(manifest: WorkspaceManifest, redactor: Redactor): Promise<WorkspaceManifest> {
  const changedFiles = await redactor.redactData(manifest.changedFiles);
  switch (manifest.kind) {
    case 'git':
      return {
        ...manifest,
        changedFiles,
        excludedSecrets: await redactor.redactData(manifest.excludedSecrets),
        remoteUrl: manifest.remoteUrl === undefined ? undefined : await redactor.redactText(manifest.remoteUrl),
      };
    case 'directory':
      return { ...manifest, changedFiles, excludedSecrets: await redactor.redactData(manifest.excludedSecrets) };
    case 'too-large':
      return { ...manifest, changedFiles };
  }
}
