/**
 * What a run starts from: on resume, the stored transcript loaded, verified and rehydrated where the CLI looks
 * for it (a longer copy a killed run left here saved first) and the workspace restored; the CLI's home
 * prepared; the saver that continues from what is stored, and the workspace tracker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatonError } from '../errors.js';
import { LocalCopyConflict, type Harness, type HarnessContext, type LaunchRequest, type RehydratedTranscript } from '../harness/harness.js';
import type { HarnessId } from '../harness/ids.js';
import type { Conversation, OpenedTranscript, Store } from '../store/store.js';
import type { StoredEnvelope } from '../transcript/file-reader.js';
import type { WorkspaceTracker } from '../workspace/tracker.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES, type RestoreMode, type SnapshotOptions } from '../workspace/workspace.js';
import type { RunEventRecorder } from './events.js';
import type { RunOptions } from './run-options.js';
import { TranscriptSaver, type SaverTarget } from './saver.js';
import { redactLocalCopies } from './redacted-local-copy.js';
import type { Redactor } from '../redact/redactor.js';
import type { AgentSetup } from '../model/agent-setup.js';

/** How a run snapshots its workspace: its options, else the defaults. */
export function snapshotOptions(options: RunOptions): SnapshotOptions {
  return { maxBytes: options.workspace?.maxBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: options.workspace?.includeSecrets ?? false };
}

export interface PreparedLaunch {
  request: LaunchRequest;
  saver: TranscriptSaver;
  /** The session the CLI continues or was told to start; undefined when the CLI reports the one it starts. */
  sessionId: string | undefined;
  /** The CLI continues a stored session (proof of resume applies); false when it starts a new one. */
  resumes: boolean;
  workspace: WorkspaceTracker | undefined;
}

/**
 * A follow-up of a conversation whose session has nothing in the store and no copy here (its first run died,
 * elsewhere, before its first save): the session is forgotten and the CLI starts a new one, with a warning —
 * refusing would leave a conversation no follow-up could ever continue. `baton open` refuses (below).
 */
async function startOver(harness: Harness, conversation: Conversation, sessionId: string, options: RunOptions, runId: string, recorder: RunEventRecorder): Promise<void> {
  const lost = `conversation ${conversation.id}'s earlier run ended before anything of ${harness.displayName} session ${sessionId} was saved`;
  if (options.interactive) {
    throw new BatonError('TRANSCRIPT_NOT_FOUND', `${lost}: there is nothing to open`, {
      hint: `send a follow-up with \`baton resume ${conversation.id} PROMPT\` (it starts a new session), or open it on the machine that ran it, if its copy is there`,
    });
  }
  if (conversation.trust === 'untrusted') {
    // An import without the transcript of its session: the history is where it was exported from, not lost.
    throw new BatonError('TRANSCRIPT_NOT_FOUND', `conversation ${conversation.id} was imported without a transcript of ${harness.displayName} session ${sessionId}`, {
      hint: 'export it again where it ran (`baton export ID`) and import that file',
    });
  }
  if (!(await options.store.abandonUnsavedSession(conversation.id, runId, sessionId))) {
    throw new BatonError('TRANSCRIPT_NOT_FOUND', `conversation ${conversation.id} has no stored transcript`, {
      hint: 'its transcript changed while this run started; resume again',
    });
  }
  await recorder.record({
    type: 'warning',
    message: `${lost}; this run starts a new session without that history (the machine that ran it may still have its copy)`,
  });
}

/** Resume: load, verify and rehydrate the stored transcript. New: mint the session id if the harness does. */
export async function prepareLaunch(
  harness: Harness,
  conversation: Conversation,
  context: HarnessContext,
  options: RunOptions,
  setup: AgentSetup,
  runId: string,
  recorder: RunEventRecorder,
  /** The directory whose files travel with the conversation; undefined when the workspace is off. */
  workspaceDir: string | undefined,
  redactor: Redactor,
): Promise<PreparedLaunch> {
  const { store } = options;
  const target: SaverTarget = { store, conversationId: conversation.id, runId, redactor };
  const workspaceOptions = snapshotOptions(options);
  let result: Omit<PreparedLaunch, 'workspace'>;
  // Opened, not loaded: the rehydrate streams each file from the store where the CLI reads it, verified on the way.
  const stored = conversation.sessionId && ((await store.openTranscript(conversation.id)) ?? (await saveUnsavedLocalCopy(harness, context, target, conversation.sessionId, recorder)));
  if (conversation.sessionId && !stored) await startOver(harness, conversation, conversation.sessionId, options, runId, recorder);
  if (conversation.sessionId && stored) {
    const sessionId = conversation.sessionId;
    const envelope: StoredEnvelope = {
      harness: conversation.harness,
      sessionId,
      meta: stored.meta ?? { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined },
      files: stored.files,
    };
    const resume = harness.resumeInfo(envelope);
    if (workspaceDir) {
      await restoreForResume(store, conversation, workspaceDir, { mode: options.workspace?.restore ?? 'restore', trust: options.workspace?.trust ?? false }, workspaceOptions, recorder);
    }
    // A run here left the CLI's copy with the secrets the store's copy has redacted: the same transcript.
    const local = await harness.locateTranscript(context, sessionId);
    if (local) await redactLocalCopies(local.files, stored.files, redactor);
    const rehydrated = await harness.rehydrate(envelope, context).catch((error: unknown) => {
      if (!(error instanceof LocalCopyConflict)) throw error;
      throw new BatonError('REHYDRATE_CONFLICT', error.message, {
        hint: `keep this machine's copy as a conversation of its own with \`baton fork ${conversation.id} --local\`, or move ${error.path} away to continue from the store`,
      });
    });
    // What reading each file proved (the rehydrate's own read; a file it did not read is read now, unwritten).
    const saver = new TranscriptSaver(target, await Promise.all(stored.files.map((file) => file.verified())));
    if (rehydrated.keptLocal.length > 0) await saveLongerLocalCopy(harness, rehydrated, saver, sessionId, recorder);
    const request: LaunchRequest = options.interactive ? { kind: 'interactive', setup, resume, permissions: options.interactive.permissions } : { kind: 'resume', prompt: options.prompt, setup, resume };
    result = { request, saver, sessionId, resumes: true };
  } else {
    if (options.interactive) {
      throw new BatonError('TRANSCRIPT_NOT_FOUND', `conversation ${conversation.id} has no session to open yet: its first run ended before the CLI reported one`, {
        hint: `see why with \`baton show ${conversation.id}\`; start a new conversation with \`baton run\``,
      });
    }
    const sessionId = harness.newSessionId();
    if (sessionId) await store.setSessionId(conversation.id, sessionId);
    result = { request: { kind: 'new', prompt: options.prompt, setup, sessionId }, saver: new TranscriptSaver(target), sessionId, resumes: false };
  }
  await harness.prepare(context, setup);
  let workspace: WorkspaceTracker | undefined;
  if (workspaceDir) {
    const last = (await store.listWorkspaceSnapshots(conversation.id)).at(-1);
    // Started once the CLI is running (see supervise): its first scan need not delay the agent.
    workspace = await newWorkspaceTracker(workspaceDir, workspaceOptions, last?.manifest.fingerprint);
  }
  return { ...result, workspace };
}

/**
 * The tracker of a run's workspace. Its module (tar, ignore, the watcher) is loaded here, not with the runner:
 * a new conversation makes its tracker once the CLI has started.
 */
export async function newWorkspaceTracker(dir: string, options: SnapshotOptions, lastFingerprint: string | undefined): Promise<WorkspaceTracker> {
  const { WorkspaceTracker } = await import('../workspace/tracker.js');
  return new WorkspaceTracker(dir, options, lastFingerprint);
}

/**
 * A run on this machine ended before its final save (baton was killed) and left a transcript that extends
 * the stored one; nobody advanced the conversation since (the stored copy is its exact prefix). Those lines
 * are the conversation's newest version: saved now, before the CLI continues from them.
 */
async function saveLongerLocalCopy(harness: Harness, rehydrated: RehydratedTranscript, saver: TranscriptSaver, sessionId: string, recorder: RunEventRecorder): Promise<void> {
  const files = rehydrated.files.filter((file) => rehydrated.keptLocal.includes(file.key));
  const outcome = await saver.save(files, { final: true, meta: (content) => harness.readSessionMeta(content, sessionId) });
  await recorder.record({
    type: 'warning',
    message: `this machine's copy of the transcript went on past the store's (a run here stopped before its final save): saved its ${outcome.bytesSaved} newer bytes and continuing from it`,
  });
}

/**
 * The first run on this machine was killed before its first save, yet the CLI wrote its session here: the
 * empty stored transcript is a prefix of it, so it is saved as the conversation's first version.
 */
async function saveUnsavedLocalCopy(harness: Harness, context: HarnessContext, target: SaverTarget, sessionId: string, recorder: RunEventRecorder): Promise<OpenedTranscript | undefined> {
  const location = await harness.locateTranscript(context, sessionId);
  if (!location) return undefined;
  const outcome = await new TranscriptSaver(target).save(location.files, { final: true, meta: (content) => harness.readSessionMeta(content, sessionId) });
  await recorder.record({ type: 'warning', message: `the first run stopped before it saved anything; saved the ${outcome.bytesSaved} bytes of the session it left on this machine and continuing from them` });
  return target.store.openTranscript(target.conversationId);
}

/**
 * Restores the conversation's newest workspace snapshot into `dir`, before the CLI starts. An untrusted
 * conversation's restore withholds the files that would make a CLI run commands (listed in a warning); trusting
 * it brings back what earlier restores withheld.
 */
async function restoreForResume(
  store: Store,
  conversation: Conversation,
  dir: string,
  { mode, trust }: { mode: RestoreMode; trust: boolean },
  options: SnapshotOptions,
  recorder: RunEventRecorder,
): Promise<void> {
  const snapshot = await store.loadWorkspaceSnapshot(conversation.id);
  if (!snapshot) return;
  const [{ projectFilesThatRunCode }, { restoreWorkspace }, { presentEntries, withholdRestored }] = await Promise.all([import('../harness/registry.js'), import('../workspace/tracker.js'), import('../workspace/withhold.js')]);
  const candidates = projectFilesThatRunCode({ gitRepositoryMadeByBaton: snapshot.manifest.kind === 'git' });
  const trusting = conversation.trust === 'untrusted' && trust;
  const withholding = conversation.trust === 'untrusted' && !trust && mode !== 'skip';
  if (withholding) await refuseOwnFilesThatRunCode(conversation.id, dir, candidates);
  if (trusting) {
    await store.trustConversation(conversation.id);
    await recorder.record({ type: 'warning', message: 'the conversation is trusted from now on (--trust): its workspace restores whole, files that run code included' });
  }
  const outcome = await restoreWorkspace(snapshot, dir, mode, options).finally(async () => {
    // Also after a failed restore: whatever it wrote of those files must not stay for the next command here.
    if (!withholding) return;
    const withheld = await withholdRestored(dir, candidates);
    if (withheld.length > 0) {
      await recorder.record({
        type: 'warning',
        message: `withheld ${withheld.join(', ')} from the restored workspace: the conversation was imported (untrusted) and these would make a CLI run commands; review them with \`baton workspace ${conversation.id} -o DIR\`, then resume with --trust to restore them`,
      });
    }
  });
  if (outcome === 'too-large' && snapshot.manifest.kind === 'too-large') {
    const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    await recorder.record({
      type: 'warning',
      message: `the workspace was too large to save at the last save (${megabytes(snapshot.manifest.bytes)} > ${megabytes(snapshot.manifest.limitBytes)}): resuming without its files`,
    });
  } else if (outcome === 'restored') {
    await recorder.record({ type: 'warning', message: `restored the conversation's workspace into ${dir}` });
  }
  if (trusting && mode !== 'skip') await restoreWithheld(store, conversation.id, snapshot.id, dir, options, recorder);
}

/**
 * An untrusted conversation's agent must not start next to files that run code: refused when `dir` already holds
 * any (the user's own, or what an earlier `baton workspace -o` wrote), before anything is restored.
 */
async function refuseOwnFilesThatRunCode(conversationId: string, dir: string, candidates: readonly string[]): Promise<void> {
  const { presentEntries } = await import('../workspace/withhold.js');
  const present = [...(await presentEntries(dir, candidates))].sort();
  if (present.length === 0) return;
  throw new BatonError('WORKSPACE_UNTRUSTED', `${dir} holds ${present.join(', ')}, which would make a CLI run commands in a run of imported (untrusted) conversation ${conversationId}`, {
    hint: `resume in an empty directory (--cwd) to get its workspace without them, or pass --trust if you trust the conversation and these files`,
  });
}

/**
 * The files withheld while the conversation was untrusted live on in the snapshot it was imported with (its
 * first): restored into a scratch directory and copied over wherever `dir` has nothing at their path.
 */
async function restoreWithheld(store: Store, conversationId: string, newestSnapshotId: number, dir: string, options: SnapshotOptions, recorder: RunEventRecorder): Promise<void> {
  const first = (await store.listWorkspaceSnapshots(conversationId))[0];
  if (!first || first.id === newestSnapshotId) return; // the newest is the imported one: restored whole just now.
  const imported = await store.loadWorkspaceSnapshot(conversationId, first.runId);
  if (!imported || imported.id !== first.id) return;
  const [{ projectFilesThatRunCode }, { restoreWorkspace }, { copyWithheld }] = await Promise.all([import('../harness/registry.js'), import('../workspace/tracker.js'), import('../workspace/withhold.js')]);
  const scratch = await mkdtemp(join(tmpdir(), 'baton-withheld-'));
  try {
    await restoreWorkspace(imported, join(scratch, 'workspace'), 'restore', options);
    const candidates = projectFilesThatRunCode({ gitRepositoryMadeByBaton: imported.manifest.kind === 'git' });
    const copied = await copyWithheld(join(scratch, 'workspace'), dir, candidates);
    if (copied.length > 0) await recorder.record({ type: 'warning', message: `restored ${copied.join(', ')}, withheld by earlier runs while the conversation was untrusted` });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
