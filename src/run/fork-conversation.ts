/**
 * Fork a conversation at a turn or a run, and rewind one. Both work on what the store holds (the CLI's session as
 * saved, the workspace snapshots), never on a machine's local copy: that is `baton fork --local`
 * (fork-lost-work.ts).
 *
 * - fork: a new conversation whose transcript is the original's cut after turn N (each harness's forkSession(),
 *   under a fresh session id so that a home holding both never mixes them up), with the workspace snapshot saved
 *   at the end of the run that produced turn N, and copies of the runs that produced turns 1 … N. The original is
 *   untouched, so an active one can be forked too: the fork then holds what its runs saved so far.
 * - rewind: the conversation continues from turn N under its own id. Nothing is lost: its whole history first
 *   becomes a new conversation (the old branch, forked from it with reason "rewound", keeping the session id the
 *   CLIs' homes know it by), then the conversation's transcript is replaced by the cut, under a fresh session id,
 *   with turn N's workspace as its newest snapshot. It takes the conversation's lease for that, so it is refused
 *   while a run holds it.
 */
import { hostname } from 'node:os';
import { BatonError } from '../errors.js';
import type { Harness } from '../harness/harness.js';
import { getHarness } from '../harness/registry.js';
import { newConversationId, newRunId } from '../ids.js';
import type { Conversation, ForkOrigin, Run, StoredTranscript, StoredWorkspaceSnapshot, Store } from '../store/store.js';
import { MAIN_FILE_KEY, type TranscriptFile } from '../transcript/envelope.js';
import { assertCutInRange, turnCount } from '../transcript/fork-cut.js';
import { splitTurns, turnsOfRuns, type ViewItem } from '../transcript/view.js';
import { DEFAULT_LEASE_MS } from './runner.js';

/** Where to cut: after turn N, or at the end of a run; neither is the conversation's newest turn. */
export interface ForkPoint {
  turn?: number | undefined;
  runId?: string | undefined;
}

export interface ForkResult {
  /** The new conversation. */
  conversation: Conversation;
  /** The turn it ends at (1-based) and how many the original has. */
  turn: number;
  turns: number;
  /** The original's run whose workspace snapshot the fork starts from; undefined when it has none. */
  workspaceRunId: string | undefined;
  /** A run of the original that was active when it was forked: the fork holds what it had saved by then. */
  activeRunId: string | undefined;
}

export interface RewindResult {
  /** The conversation, now ending at `turn`, under a fresh session id. */
  conversation: Conversation;
  /** The new conversation that keeps its whole history as it was. */
  oldBranch: Conversation;
  turn: number;
  turns: number;
  workspaceRunId: string | undefined;
}

const TITLE_LENGTH = 80;

function titled(title: string, suffix: string): string {
  return `${title.slice(0, TITLE_LENGTH - suffix.length)}${suffix}`;
}

/** Everything a cut is decided on: the saved transcript, its turns, and which run produced each turn. */
interface ForkSource {
  conversation: Conversation & { sessionId: string };
  harness: Harness;
  transcript: StoredTranscript;
  turns: ViewItem[][];
  runs: Run[];
  turnsOfRun: number[][];
}

async function loadSource(store: Store, conversationId: string): Promise<ForkSource> {
  const conversation = await store.getConversation(conversationId);
  if (!conversation) throw new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${conversationId} in ${store.location}`, { hint: 'list conversations with `baton ls`' });
  const transcript = conversation.sessionId ? await store.loadTranscript(conversationId) : undefined;
  if (!conversation.sessionId || !transcript?.files.some((file) => file.key === MAIN_FILE_KEY)) {
    throw new BatonError('TRANSCRIPT_NOT_FOUND', `conversation ${conversationId} has no saved transcript yet: there is no turn to fork from`, {
      hint: 'wait for its first run to save, then fork it',
    });
  }
  const harness = getHarness(conversation.harness);
  const turns = splitTurns(harness.viewTranscript(transcript.files).items);
  const runs = await store.listRuns(conversationId);
  return { conversation: { ...conversation, sessionId: conversation.sessionId }, harness, transcript, turns, runs, turnsOfRun: turnsOfRuns(runs, turns).turnsOfRun };
}

/** The turn (1-based) a fork point names; the newest turn when it names none. */
function resolveTurn(source: ForkSource, point: ForkPoint): number {
  const { conversation, turns, runs, turnsOfRun } = source;
  if (point.turn !== undefined && point.runId !== undefined) {
    throw new BatonError('USAGE', 'a fork is cut either at a turn or at a run, not both', { hint: 'pass --turn N or --at RUN_ID' });
  }
  if (point.runId !== undefined) {
    const index = runs.findIndex((run) => run.id === point.runId);
    if (index === -1) throw new BatonError('USAGE', `run ${point.runId} is not a run of conversation ${conversation.id}`, { hint: `list its runs with \`baton show ${conversation.id}\`` });
    const own = turnsOfRun[index]!;
    if (own.length === 0) {
      throw new BatonError('USAGE', `run ${point.runId} of ${conversation.id} saved no turn of its own (${runs[index]!.status})`, { hint: `fork at a turn instead: \`baton fork ${conversation.id} --turn N\`` });
    }
    return Math.max(...own) + 1;
  }
  const turn = point.turn ?? turns.length;
  assertCutInRange({ items: turns.flat(), unparsedLines: 0 }, { turns: turn });
  return turn;
}

/** The index of the run that produced turn N, or -1 for a turn no run claims (an imported history). */
function ownerOf(source: ForkSource, turn: number): number {
  return source.turnsOfRun.findIndex((own) => own.includes(turn - 1));
}

/**
 * The workspace as it was after turn N: the newest snapshot of the run that produced it when N is that run's last
 * turn (a run snapshots at its end), else the newest of an earlier run (a run with several turns, e.g. `baton
 * open`, is only snapshotted as a whole).
 */
async function workspaceAt(store: Store, source: ForkSource, turn: number): Promise<StoredWorkspaceSnapshot | undefined> {
  const owner = ownerOf(source, turn);
  if (owner === -1) return undefined;
  const lastOfOwner = Math.max(...source.turnsOfRun[owner]!);
  const withSnapshots = new Set((await store.listWorkspaceSnapshots(source.conversation.id)).map((snapshot) => snapshot.runId));
  for (let index = lastOfOwner === turn - 1 ? owner : owner - 1; index >= 0; index--) {
    const run = source.runs[index]!;
    if (withSnapshots.has(run.id)) return store.loadWorkspaceSnapshot(source.conversation.id, run.id);
  }
  return undefined;
}

/** The session cut after turn N under a fresh session id, checked to show exactly the original's first N turns. */
function cutSession(source: ForkSource, turn: number): { files: TranscriptFile[]; sessionId: string } {
  const { harness, conversation, transcript, turns } = source;
  const forked = harness.forkSession(transcript.files, { turns: turn }, { original: conversation.sessionId, fork: harness.forkSessionId() });
  const view = harness.viewTranscript(forked.files);
  if (turnCount(view) !== turn || JSON.stringify(splitTurns(view.items)) !== JSON.stringify(turns.slice(0, turn))) {
    throw new BatonError('TRANSCRIPT_CORRUPT', `cutting ${conversation.id} after turn ${turn} did not give its first ${turn} turns (${turnCount(view)} turns)`, {
      hint: 'this transcript has a shape baton cannot cut there; fork at another turn, or report it with `baton export` of the conversation',
    });
  }
  return forked;
}

/** Copies of runs for another conversation: fresh ids, numbered from 1; what `rename` maps each old id to. */
function copyRuns(runs: Run[], conversationId: string): { runs: Run[]; rename: Map<string, string> } {
  const rename = new Map<string, string>();
  const copies = runs.map((run, index) => {
    const id = newRunId();
    rename.set(run.id, id);
    return { ...run, id, conversationId, sequence: index + 1 };
  });
  return { runs: copies, rename };
}

/** A new conversation holding `files` (under `sessionId`) and a workspace snapshot, made in one transaction. */
async function createFrom(store: Store, source: ForkSource, input: { title: string; sessionId: string; files: TranscriptFile[]; runs: Run[]; workspace: StoredWorkspaceSnapshot | undefined; forkedFrom: ForkOrigin }): Promise<Conversation> {
  const id = newConversationId();
  const { runs, rename } = copyRuns(input.runs, id);
  const main = input.files.find((file) => file.key === MAIN_FILE_KEY)!;
  const now = Date.now();
  const { conversation } = source;
  const workspaceRun = input.workspace && rename.get(input.workspace.runId);
  await store.importConversation({
    conversation: {
      id,
      harness: conversation.harness,
      sessionId: input.sessionId,
      title: input.title,
      cwd: conversation.cwd,
      createdAt: now,
      updatedAt: now,
      tenant: conversation.tenant,
      options: conversation.options,
      forkedFrom: input.forkedFrom,
      trust: conversation.trust,
    },
    runs,
    events: [],
    meta: source.harness.readSessionMeta(main.content, input.sessionId),
    files: input.files,
    workspace: input.workspace && workspaceRun ? { runId: workspaceRun, snapshot: { manifest: input.workspace.manifest, blobs: input.workspace.blobs } } : undefined,
  });
  const created = await store.getConversation(id);
  if (!created) throw new BatonError('STORE_ERROR', `the fork ${id} was not found after it was written`, { hint: 'check the store, then fork again' });
  return created;
}

/** `baton fork ID [--turn N | --at RUN]`: a new conversation ending at that point; the original is untouched. */
export async function forkConversation(store: Store, conversationId: string, point: ForkPoint = {}): Promise<ForkResult> {
  const source = await loadSource(store, conversationId);
  const turn = resolveTurn(source, point);
  const owner = ownerOf(source, turn);
  const forked = cutSession(source, turn);
  const workspace = await workspaceAt(store, source, turn);
  const originRun = owner === -1 ? undefined : source.runs[owner];
  const conversation = await createFrom(store, source, {
    title: titled(source.conversation.title, ' (fork)'),
    sessionId: forked.sessionId,
    files: forked.files,
    runs: owner === -1 ? [] : source.runs.slice(0, owner + 1),
    workspace,
    forkedFrom: {
      conversationId,
      runId: originRun?.id ?? '',
      reason: point.runId !== undefined ? `forked at the end of run ${point.runId} (turn ${turn} of ${source.turns.length})` : `forked after turn ${turn} of ${source.turns.length}`,
      turn,
    },
  });
  return { conversation, turn, turns: source.turns.length, workspaceRunId: workspace?.runId, activeRunId: source.conversation.activeRunId };
}

export interface RewindOptions {
  host?: string | undefined;
  leaseMs?: number | undefined;
}

function assertRewindable(source: ForkSource, turn: number): void {
  if (turn === source.turns.length) {
    throw new BatonError('USAGE', `${source.conversation.id} ends at turn ${turn} already: there is nothing to rewind`, {
      hint: turn === 1 ? 'it has one turn only; start a new conversation instead' : `pick an earlier turn (1 to ${turn - 1}), as \`baton show\` numbers them`,
    });
  }
}

/** `baton rewind ID --turn N`: the conversation continues from turn N; its whole history so far becomes a fork. */
export async function rewindConversation(store: Store, conversationId: string, turn: number, options: RewindOptions = {}): Promise<RewindResult> {
  // A request that cannot be met is refused before the lease is taken: it leaves no run behind.
  const checked = await loadSource(store, conversationId);
  assertRewindable(checked, resolveTurn(checked, { turn }));
  const before = checked.conversation;
  // The lease: no run writes the conversation while its transcript is swapped, and none may be running now.
  let run: Run;
  try {
    run = await store.startRun({ conversationId, runId: newRunId(), kind: 'resume', prompt: '', host: options.host ?? hostname(), cwd: before.cwd, leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS });
  } catch (error) {
    if (error instanceof BatonError && error.code === 'CONVERSATION_BUSY') {
      throw new BatonError('CONVERSATION_BUSY', `${error.message}: a conversation is rewound only while no run holds it`, {
        hint: `wait for the run to finish (or interrupt it) and rewind again, or fork it instead, which leaves it alone: \`baton fork ${conversationId} --turn ${turn}\``,
        cause: error,
      });
    }
    throw error;
  }
  let failure: string | undefined;
  try {
    const source = await loadSource(store, conversationId);
    source.runs = source.runs.filter((candidate) => candidate.id !== run.id);
    source.turnsOfRun = turnsOfRuns(source.runs, source.turns).turnsOfRun;
    const resolved = resolveTurn(source, { turn });
    assertRewindable(source, resolved);
    const cut = cutSession(source, resolved);
    const workspace = await workspaceAt(store, source, resolved);
    const newest = source.runs.at(-1);
    const latestSnapshotRun = [...(await store.listWorkspaceSnapshots(conversationId))].reverse().find((snapshot) => snapshot.runId !== run.id)?.runId;
    // First the old branch, whole, under the session id the CLIs' homes know: if anything after this fails, the
    // conversation is as it was and the old branch is a spare copy; no turn is ever only in memory.
    const oldBranch = await createFrom(store, source, {
      title: titled(source.conversation.title, ' (before rewind)'),
      sessionId: source.conversation.sessionId,
      files: source.transcript.files.map(({ key, content, lineCount, sha256 }) => ({ key, content, lineCount, sha256 })),
      runs: source.runs,
      workspace: latestSnapshotRun ? await store.loadWorkspaceSnapshot(conversationId, latestSnapshotRun) : undefined,
      forkedFrom: { conversationId, runId: newest?.id ?? '', reason: `rewound: ${conversationId} went back to turn ${resolved} of ${source.turns.length}; this keeps every turn it had`, turn: source.turns.length },
    });
    const main = cut.files.find((file) => file.key === MAIN_FILE_KEY)!;
    const cursors = await store.replaceTranscript({ conversationId, runId: run.id, sessionId: cut.sessionId, files: cut.files, meta: source.harness.readSessionMeta(main.content, cut.sessionId) });
    if (workspace) {
      const cursor = cursors.get(MAIN_FILE_KEY);
      await store.saveWorkspaceSnapshot({
        conversationId,
        runId: run.id,
        snapshot: { manifest: workspace.manifest, blobs: workspace.blobs },
        transcript: cursor ? { versionId: cursor.versionId, byteLength: cursor.byteLength } : undefined,
        asLeaseHolder: true,
      });
    }
    const conversation = (await store.getConversation(conversationId))!;
    return { conversation, oldBranch, turn: resolved, turns: source.turns.length, workspaceRunId: workspace?.runId };
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
    throw error;
  } finally {
    await store.finishRun(run.id, {
      status: failure === undefined ? 'succeeded' : 'failed',
      exitCode: undefined,
      error: failure === undefined ? undefined : `rewind to turn ${turn} failed: ${failure}`,
    });
  }
}
