/**
 * A run that lost its conversation's lease (another run took the conversation over) must not write to it
 * again, yet what it did since its last save is real work. It becomes a conversation of its own, forked
 * from the common prefix: the local transcript whole (what both share, then this run's extra lines) and the
 * workspace as this run left it. The original is untouched; the fork records where it came from and why.
 */
import { hostname } from 'node:os';
import type { Harness, HarnessContext } from '../harness/harness.js';
import { newConversationId, newRunId } from '../ids.js';
import type { Conversation, Store } from '../store/store.js';
import { MAIN_FILE_KEY } from '../transcript/envelope.js';
import { WorkspaceTracker } from '../workspace/tracker.js';
import type { SnapshotOptions } from '../workspace/workspace.js';
import { snapshotOptions } from './launch.js';
import type { RunOptions } from './run-options.js';
import { TranscriptSaver } from './saver.js';
import type { Redactor } from '../redact/redactor.js';
import { redactManifest } from '../redact/workspace-manifest.js';

export interface LostWork {
  harness: Harness;
  context: HarnessContext;
  conversation: Conversation;
  runId: string;
  /** The run's prompt as stored (what the user asked, also for a handed-back run). */
  prompt: string;
  sessionId: string;
  /** What the run saved to the original conversation before it lost the lease. */
  saver: TranscriptSaver;
  reason: string;
  options: RunOptions;
  leaseMs: number;
  workspaceDir: string | undefined;
  redactor: Redactor;
}

const FORK_TITLE_SUFFIX = ' (fork)';

/** The id of the forked conversation, or undefined when the run had saved everything it wrote. */
export async function keepLostWork(lost: LostWork): Promise<string | undefined> {
  const { store } = lost.options;
  const location = await lost.harness.locateTranscript(lost.context, lost.sessionId);
  if (!location || !(await lost.saver.hasUnsaved(location.files))) return undefined;
  return forkFromFiles({
    store,
    harness: lost.harness,
    conversation: lost.conversation,
    sessionId: lost.sessionId,
    files: location.files,
    origin: { runId: lost.runId, reason: `run ${lost.runId} lost the lease of ${lost.conversation.id}: ${lost.reason}` },
    prompt: lost.prompt,
    host: lost.options.host ?? hostname(),
    cwd: lost.context.cwd,
    leaseMs: lost.leaseMs,
    workspace: lost.workspaceDir ? { dir: lost.workspaceDir, ...snapshotOptions(lost.options) } : undefined,
    redactor: lost.redactor,
  });
}

export interface ForkInput {
  store: Store;
  harness: Harness;
  conversation: Conversation;
  sessionId: string;
  /** The session's files on this machine: the fork's transcript, whole. */
  files: Array<{ key: string; path: string }>;
  /** The run whose work the fork keeps, and why it exists. */
  origin: { runId: string; reason: string };
  prompt: string;
  host: string;
  cwd: string;
  leaseMs: number;
  /** The workspace to snapshot into the fork, as it is now. */
  workspace: ({ dir: string } & SnapshotOptions) | undefined;
  /** What the fork's saved bytes pass through (the files on disk are the CLI's, secrets and all). */
  redactor: Redactor;
}

/**
 * A new conversation of the same harness and session, holding `files` as its transcript and the workspace as
 * it is, recorded as one interrupted run that names where it came from.
 */
export async function forkFromFiles(input: ForkInput): Promise<string> {
  const { store } = input;
  const fork = await store.createConversation({
    id: newConversationId(),
    harness: input.conversation.harness,
    title: `${input.conversation.title.slice(0, 80 - FORK_TITLE_SUFFIX.length)}${FORK_TITLE_SUFFIX}`,
    cwd: input.cwd,
    tenant: input.conversation.tenant,
    options: input.conversation.options,
    forkedFrom: { conversationId: input.conversation.id, runId: input.origin.runId, reason: input.origin.reason },
  });
  await store.setSessionId(fork.id, input.sessionId);
  const run = await store.startRun({ conversationId: fork.id, runId: newRunId(), kind: 'resume', prompt: await input.redactor.redactText(input.prompt), host: input.host, cwd: input.cwd, leaseMs: input.leaseMs, redaction: input.redactor.record });
  let error: string | undefined;
  try {
    const saver = new TranscriptSaver({ store, conversationId: fork.id, runId: run.id, redactor: input.redactor });
    await saver.save(input.files, { final: true, meta: (content) => input.harness.readSessionMeta(content, input.sessionId) });
    if (input.workspace) {
      const { dir, ...options } = input.workspace;
      const tracker = new WorkspaceTracker(dir, options, undefined);
      try {
        const taken = await tracker.snapshot({ final: true });
        const snapshot = taken && { ...taken, manifest: await redactManifest(taken.manifest, input.redactor) };
        const main = saver.cursor(MAIN_FILE_KEY);
        if (snapshot) await store.saveWorkspaceSnapshot({ conversationId: fork.id, runId: run.id, snapshot, transcript: main ? { versionId: main.versionId, byteLength: main.byteLength } : undefined, asLeaseHolder: true });
      } finally {
        await tracker.close();
      }
    }
  } catch (failure) {
    error = `forking ${input.conversation.id} failed part way: ${failure instanceof Error ? failure.message : String(failure)}`;
    throw failure;
  } finally {
    await store.finishRun(run.id, { status: 'interrupted', exitCode: undefined, error: await input.redactor.redactText(error ?? `forked from ${input.conversation.id}: ${input.origin.reason}`) });
  }
  return fork.id;
}
