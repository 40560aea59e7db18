/**
 * Workspace handoff: the run's working directory travels with the conversation. At every transcript save
 * baton snapshots it (a git repository as base commit + bundle of unpushed commits + binary patch of everything
 * uncommitted; any other directory as an archive), and a resume restores it into the new cwd before the CLI
 * starts — refusing, rather than overwriting, someone's uncommitted work.
 */

/** What a snapshot holds, by kind. Blobs (bundle, patch, archive) are stored separately from this manifest. */
export type WorkspaceManifest =
  | {
      kind: 'git';
      /** Changes whenever anything a restore would reproduce changes; equal fingerprints are not stored twice. */
      fingerprint: string;
      baseCommit: string;
      /** The git tree of the whole workspace (base commit plus every uncommitted change, secrets excluded). */
      tree: string;
      branch: string | undefined;
      remoteName: string | undefined;
      remoteUrl: string | undefined;
      /** True when the bundle holds every commit needed (no remote, or the remote lacks some). */
      bundleIsComplete: boolean;
      /** Files that differ from the run's starting workspace (for `baton show`). */
      changedFiles: string[];
      /** Paths left out because they look like secrets. */
      excludedSecrets: string[];
    }
  | {
      kind: 'directory';
      fingerprint: string;
      fileCount: number;
      changedFiles: string[];
      excludedSecrets: string[];
    }
  | {
      kind: 'too-large';
      fingerprint: string;
      /** Bytes the snapshot would have taken, and the limit it exceeded. */
      bytes: number;
      limitBytes: number;
      changedFiles: string[];
    };

export type WorkspaceKind = WorkspaceManifest['kind'];

export interface WorkspaceBlobs {
  /** git: `git bundle` of the commits the remote does not have (absent when there are none). */
  bundle?: Buffer;
  /** git: `git diff --binary` of every uncommitted change against the base commit. */
  patch?: Buffer;
  /** directory: a tar archive of the files (modes and symlinks kept). */
  archive?: Buffer;
}

export interface WorkspaceSnapshot {
  manifest: WorkspaceManifest;
  blobs: WorkspaceBlobs;
}

export interface SnapshotOptions {
  /** Over this many bytes of blobs, the snapshot records `too-large` instead (default 200 MB). */
  maxBytes: number;
  /** Capture files that look like secrets (.env*, *.pem, id_rsa* …) too. */
  includeSecrets: boolean;
}

export const DEFAULT_MAX_SNAPSHOT_BYTES = 200 * 1024 * 1024;

/** How a resume treats the directory it restores into. */
export type RestoreMode = 'restore' | 'overwrite' | 'skip';
