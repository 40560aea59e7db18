/**
 * Following one run's workspace: the state at the start (after any restore) is the baseline for "files
 * changed in this run", and every save takes a snapshot unless nothing changed since the last one.
 */
import { rm } from 'node:fs/promises';
import { directoryFingerprint, readDirectoryState, restoreDirectory, snapshotDirectory, type DirectoryState } from './directory-workspace.js';
import { ChangeWatcher } from './change-watcher.js';
import { isGitWorkspace, readGitState, restoreGit, snapshotGit, type GitState, type PreviousBundle } from './git-workspace.js';
import type { RestoreMode, SnapshotOptions, WorkspaceSnapshot } from './workspace.js';

type Baseline = { kind: 'git'; state: GitState } | { kind: 'directory'; state: DirectoryState };

export class WorkspaceTracker {
  private baseline: Baseline | undefined;
  private lastFingerprint: string | undefined;
  private watcher: ChangeWatcher | undefined;
  private started: Promise<void> | undefined;
  private lastBundle: PreviousBundle | undefined;

  constructor(
    readonly dir: string,
    private readonly options: SnapshotOptions,
    /** The fingerprint of the conversation's newest stored snapshot: an unchanged workspace is not stored again. */
    lastStoredFingerprint: string | undefined,
  ) {
    this.lastFingerprint = lastStoredFingerprint;
  }

  /**
   * Reads the starting state in the background (for a large repository that takes a while, and the agent's CLI
   * need not wait for it); snapshots wait for it. The change watcher starts at the first periodic snapshot, not
   * here: its worker thread (a node environment of its own) would boot beside the CLI's own start-up, and a run
   * that ends before its first periodic save never needs it (the final snapshot always looks).
   */
  start(): Promise<void> {
    this.started ??= this.readBaseline();
    return this.started;
  }

  private async readBaseline(): Promise<void> {
    if (await isGitWorkspace(this.dir)) {
      const { indexFile, ...state } = await readGitState(this.dir, this.options);
      await rm(indexFile, { force: true });
      this.baseline = { kind: 'git', state };
    } else {
      this.baseline = { kind: 'directory', state: (await readDirectoryState(this.dir, this.options)).state };
    }
  }

  /**
   * A new snapshot, or undefined when the workspace is as it was at the last stored snapshot. A periodic
   * snapshot trusts the watcher's "nothing changed"; the final one always looks (an event may be in flight).
   */
  async snapshot(options: { final: boolean } = { final: true }): Promise<WorkspaceSnapshot | undefined> {
    // Watching from before this snapshot's scan: a change during the scan is reported at the next one.
    if (!options.final) this.watcher ??= new ChangeWatcher(this.dir);
    await this.start();
    const baseline = this.baseline!;
    const watched = this.watcher?.trustworthy === true;
    const changed = this.watcher?.takeChanged() ?? true;
    if (!options.final && watched && !changed && this.lastFingerprint !== undefined) return undefined;
    if (baseline.kind === 'git') {
      const current = await readGitState(this.dir, this.options);
      if (current.fingerprint === this.lastFingerprint) {
        await rm(current.indexFile, { force: true });
        return undefined;
      }
      const { snapshot, bundle } = await snapshotGit(this.dir, this.options, baseline.state, current, this.lastBundle);
      this.lastBundle = bundle;
      this.lastFingerprint = snapshot.manifest.fingerprint;
      return snapshot;
    }
    const { state } = await readDirectoryState(this.dir, this.options);
    if (directoryFingerprint(state) === this.lastFingerprint) return undefined;
    const { snapshot } = await snapshotDirectory(this.dir, this.options, baseline.state);
    this.lastFingerprint = snapshot.manifest.fingerprint;
    return snapshot;
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }
}

export type RestoreOutcome = 'restored' | 'unchanged' | 'skipped' | 'too-large';

/** Puts a snapshot back into `target` before the CLI starts (see git-workspace.ts and directory-workspace.ts). */
export async function restoreWorkspace(snapshot: WorkspaceSnapshot, target: string, mode: RestoreMode, options: SnapshotOptions): Promise<RestoreOutcome> {
  if (mode === 'skip') return 'skipped';
  switch (snapshot.manifest.kind) {
    case 'too-large':
      return 'too-large';
    case 'git':
      return restoreGit(snapshot, target, mode, options);
    case 'directory': {
      // The same files already here (e.g. resuming where the snapshot was taken): nothing to do.
      const here = await readDirectoryState(target, options).catch(() => undefined);
      if (here && directoryFingerprint(here.state) === snapshot.manifest.fingerprint) return 'unchanged';
      await restoreDirectory(snapshot, target, mode);
      return 'restored';
    }
  }
}
