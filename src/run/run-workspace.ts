/**
 * The run's workspace snapshots (src/workspace/): taken with the periodic saves and once at the end, each tied
 * to the transcript version just saved. A failed snapshot is a warning, never the run's failure (the transcript
 * is saved); only the store refusing the lease stops the run.
 */
import { resolve } from 'node:path';
import { errorMessage, isBatonError } from '../errors.js';
import { redactManifest } from '../redact/workspace-manifest.js';
import type { Redactor } from '../redact/redactor.js';
import type { Store } from '../store/store.js';
import { MAIN_FILE_KEY } from '../transcript/envelope.js';
import type { WorkspaceTracker } from '../workspace/tracker.js';
import type { RunEventRecorder } from './events.js';
import type { RunOptions } from './run-options.js';
import type { TranscriptSaver } from './saver.js';

export interface WorkspaceSave {
  store: Store;
  conversationId: string;
  runId: string;
  saver: TranscriptSaver;
  workspace: WorkspaceTracker;
  recorder: RunEventRecorder;
  redactor: Redactor;
}

/** The directory whose files travel with the conversation; undefined when the workspace is off. */
export function runWorkspaceDir(options: Pick<RunOptions, 'workspace'>, cwd: string): string | undefined {
  return options.workspace?.enabled === false ? undefined : resolve(cwd, options.workspace?.dir ?? '.');
}

/** Stores a snapshot of the workspace if it changed, tied to the transcript version just saved. */
export async function saveWorkspace(input: WorkspaceSave & { final: boolean }): Promise<void> {
  try {
    const taken = await input.workspace.snapshot({ final: input.final });
    if (!taken) return;
    const snapshot = { ...taken, manifest: await redactManifest(taken.manifest, input.redactor) };
    const main = input.saver.cursor(MAIN_FILE_KEY);
    await input.store.saveWorkspaceSnapshot({
      conversationId: input.conversationId,
      runId: input.runId,
      snapshot,
      transcript: main ? { versionId: main.versionId, byteLength: main.byteLength } : undefined,
      asLeaseHolder: true,
    });
    if (snapshot.manifest.kind === 'too-large') {
      await input.recorder.record({ type: 'warning', message: `the workspace is too large to save (${snapshot.manifest.bytes} bytes > ${snapshot.manifest.limitBytes}); the transcript is still saved` });
    }
  } catch (error) {
    if (isBatonError(error, 'LEASE_LOST')) throw error;
    await input.recorder.record({ type: 'warning', message: `workspace snapshot failed (the transcript is saved): ${errorMessage(error)}` });
  }
}

/** The snapshot at the run's end: the store refusing it (the lease gone) is a warning too, the transcript being saved. */
export async function saveFinalWorkspace(input: WorkspaceSave): Promise<void> {
  await saveWorkspace({ ...input, final: true }).catch(async (error: unknown) => {
    await input.recorder.record({ type: 'warning', message: `the final workspace snapshot was refused: ${errorMessage(error)}` });
  });
}
