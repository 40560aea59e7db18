/**
 * A run that lost its conversation's lease (another run took the conversation over) must not write to it
 * again, yet what it did since its last save is real work. It becomes a conversation of its own, forked
 * from the common prefix: the local transcript whole (what both share, then this run's extra lines) and the
 * workspace as this run left it. The original is untouched; the fork records where it came from and why.
 */
import { hostname } from 'node:os';
import type { Harness, HarnessContext } from '../harness/harness.js';
import { newConversationId, newRunId } from '../ids.js';
import type { Conversation } from '../store/store.js';
import { MAIN_FILE_KEY } from '../transcript/envelope.js';
import { WorkspaceTracker } from '../workspace/tracker.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES } from '../workspace/workspace.js';
import type { RunOptions } from './runner.js';
import { TranscriptSaver } from './saver.js';

export interface LostWork {
  harness: Harness;
  context: HarnessContext;
  conversation: Conversation;
  runId: string;
  sessionId: string;
  /** What the run saved to the original conversation before it lost the lease. */
  saver: TranscriptSaver;
  reason: string;
  options: RunOptions;
  leaseMs: number;
  workspaceDir: string | undefined;
}

const FORK_TITLE_SUFFIX = ' (fork)';

/** The id of the forked conversation, or undefined when the run had saved everything it wrote. */
export async function keepLostWork(lost: LostWork): Promise<string | undefined> {
  const { store } = lost.options;
  const location = await lost.harness.locateTranscript(lost.context, lost.sessionId);
  if (!location || !(await lost.saver.hasUnsaved(location.files))) return undefined;
  const fork = await store.createConversation({
    id: newConversationId(),
    harness: lost.conversation.harness,
    title: `${lost.conversation.title.slice(0, 80 - FORK_TITLE_SUFFIX.length)}${FORK_TITLE_SUFFIX}`,
    cwd: lost.context.cwd,
    tenant: lost.conversation.tenant,
    options: lost.conversation.options,
    forkedFrom: { conversationId: lost.conversation.id, runId: lost.runId, reason: `run ${lost.runId} lost the lease of ${lost.conversation.id}: ${lost.reason}` },
  });
  await store.setSessionId(fork.id, lost.sessionId);
  const run = await store.startRun({
    conversationId: fork.id,
    runId: newRunId(),
    kind: 'resume',
    prompt: (await store.getRun(lost.runId))?.prompt ?? '',
    host: lost.options.host ?? hostname(),
    cwd: lost.context.cwd,
    leaseMs: lost.leaseMs,
  });
  let error: string | undefined;
  try {
    const saver = new TranscriptSaver({ store, conversationId: fork.id, runId: run.id });
    await saver.save(location.files, { final: true, meta: (content) => lost.harness.readSessionMeta(content, lost.sessionId) });
    if (lost.workspaceDir) {
      const tracker = new WorkspaceTracker(lost.workspaceDir, { maxBytes: lost.options.workspace?.maxBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: lost.options.workspace?.includeSecrets ?? false }, undefined);
      try {
        const snapshot = await tracker.snapshot({ final: true });
        const main = saver.cursor(MAIN_FILE_KEY);
        if (snapshot) await store.saveWorkspaceSnapshot({ conversationId: fork.id, runId: run.id, snapshot, transcript: main ? { versionId: main.versionId, byteLength: main.byteLength } : undefined, asLeaseHolder: true });
      } finally {
        await tracker.close();
      }
    }
  } catch (failure) {
    error = `keeping the work of run ${lost.runId} failed part way: ${failure instanceof Error ? failure.message : String(failure)}`;
    throw failure;
  } finally {
    await store.finishRun(run.id, {
      status: 'interrupted',
      exitCode: undefined,
      error: error ?? `the work of run ${lost.runId} of ${lost.conversation.id} after its last save there: that run lost its lease (${lost.reason})`,
    });
  }
  return fork.id;
}
