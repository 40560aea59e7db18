/**
 * `baton adopt`: a CLI session started outside baton (the bare `codex`, `claude`, `gemini`, `opencode` on this
 * machine) becomes a conversation in the store, with a snapshot of the directory it ran in, recorded as one finished
 * run of kind `adopt`. From then on it resumes anywhere like any other conversation.
 *
 * One session is one conversation: adopting it again refuses (SESSION_ALREADY_ADOPTED, naming the conversation),
 * and so does adopting the session of a conversation baton started itself. `--sync` instead appends what the local
 * copy gained since (turns typed in the bare CLI after the adoption, or after a baton run here), as another `adopt`
 * run — only when the stored transcript is, once redacted, an exact prefix of the local copy; otherwise the two
 * histories went different ways (SESSION_DIVERGED) and the local one can only become a conversation of its own.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { BatonError, quoted } from '../errors.js';
import { writePrivateFileAtomic } from '../fs/private-files.js';
import type { FoundSession, Harness, HarnessContext, SessionQuery } from '../harness/harness.js';
import { newConversationId, newRunId } from '../ids.js';
import type { Redactor } from '../redact/redactor.js';
import { redactManifest } from '../redact/workspace-manifest.js';
import type { Conversation, Store, StoredTranscriptFile } from '../store/store.js';
import { MAIN_FILE_KEY, type TranscriptFile } from '../transcript/envelope.js';
import { splitTurns, type ViewItem } from '../transcript/view.js';
import { titleFrom } from './runner.js';
import { WorkspaceTracker } from '../workspace/tracker.js';
import type { SnapshotOptions } from '../workspace/workspace.js';
import { compareRedactedLocalCopy } from './redacted-local-copy.js';
import { TranscriptSaver } from './saver.js';

export interface AdoptInput {
  store: Store;
  harness: Harness;
  /** The CLI's home on this machine, and the directory a `latestFor` query and a Claude id lookup start from. */
  context: HarnessContext;
  query: SessionQuery;
  /**
   * The session's workspace: the directory to snapshot (default: the directory the session recorded), or false for
   * none. Its options are the snapshot limits.
   */
  workspace: ({ dir: string | undefined } & SnapshotOptions) | false;
  /** Append what the local copy gained since the conversation last saved it, instead of refusing. */
  sync: boolean;
  /** Adopt into a new conversation even when the store holds one with this session (after SESSION_DIVERGED). */
  asNew: boolean;
  /** What every stored byte passes through (the session's files are the CLI's, secrets and all). */
  redactor: Redactor;
  host: string;
  leaseMs: number;
}

export interface AdoptResult {
  conversationId: string;
  harness: string;
  sessionId: string;
  /** The adopt run recorded; undefined when a sync found nothing new. */
  runId: string | undefined;
  /** adopted: a new conversation; synced: new turns appended to it; unchanged: the store already held everything. */
  outcome: 'adopted' | 'synced' | 'unchanged';
  /** The session's main file on this machine. */
  path: string;
  /** The directory whose snapshot was saved, when one was. */
  workspace: string | undefined;
}

export async function adoptSession(input: AdoptInput): Promise<AdoptResult> {
  const { store, harness } = input;
  const found = await input.harness.findSession(input.context, input.query);
  if (!found) {
    const what = 'sessionId' in input.query ? `session ${quoted(input.query.sessionId)}` : 'latestFor' in input.query ? `session that ran in ${input.query.latestFor}` : `session in ${quoted(input.query.file)}`;
    throw new BatonError('SESSION_NOT_FOUND', `no ${harness.displayName} ${what} in ${input.context.home}`, {
      hint: `looked in ${harness.sessionPlaces(input.context, input.query)}; point at the CLI's home with its own variable (${harness.homeVariables.join(', ')}), or name the session file`,
    });
  }
  const existing = await store.listConversations({ session: { harness: harness.id, sessionId: found.sessionId } });
  const target = pickConversation(existing);
  if (target && !input.asNew) {
    if (!input.sync) throw alreadyInStore(target, found);
    return syncInto(input, target, found);
  }
  return adoptAsNew(input, found);
}

/** The conversation a sync continues: the newest adopted one, else one baton started (not a fork), else the newest. */
function pickConversation(conversations: Conversation[]): Conversation | undefined {
  const newest = (list: Conversation[]): Conversation | undefined => [...list].sort((a, b) => b.updatedAt - a.updatedAt)[0];
  return newest(conversations.filter((conversation) => conversation.adoptedFrom)) ?? newest(conversations.filter((conversation) => !conversation.forkedFrom)) ?? newest(conversations);
}

function alreadyInStore(conversation: Conversation, found: FoundSession): BatonError {
  const origin = conversation.adoptedFrom;
  const said = origin ? `was adopted as conversation ${conversation.id} (on ${origin.host}, ${new Date(origin.adoptedAt).toISOString()})` : `is conversation ${conversation.id}, which baton started`;
  return new BatonError('SESSION_ALREADY_ADOPTED', `${conversation.harness} session ${found.sessionId} ${said}`, {
    hint: `continue it with \`baton resume ${conversation.id} PROMPT\`; to bring in turns added here outside baton since, run the same \`baton adopt\` with --sync`,
  });
}

async function adoptAsNew(input: AdoptInput, found: FoundSession): Promise<AdoptResult> {
  const { store, harness } = input;
  const main = found.location.files.find((file) => file.key === MAIN_FILE_KEY) ?? found.location.files[0]!;
  const workspaceDir = await workspaceDirectory(input, found);
  const files = [{ key: MAIN_FILE_KEY, content: await readFile(main.path), lineCount: 0, sha256: '' }];
  const conversation = await store.createConversation({
    id: newConversationId(),
    harness: harness.id,
    title: await input.redactor.redactText(titleOf(harness, files, found.sessionId)),
    cwd: workspaceDir ?? found.cwd ?? input.context.cwd,
    adoptedFrom: { harness: harness.id, sessionId: found.sessionId, host: input.host, path: main.path, adoptedAt: Date.now() },
  });
  try {
    await store.setSessionId(conversation.id, found.sessionId);
    const runId = await recordAdoptRun(input, conversation, found, { files: found.location.files, prompt: firstPromptAfter(harness, undefined, files[0]!.content) }, [], workspaceDir, undefined);
    return { conversationId: conversation.id, harness: harness.id, sessionId: found.sessionId, runId, outcome: 'adopted', path: main.path, workspace: workspaceDir };
  } catch (failure) {
    // Half an adoption would block adopting the session again: nothing of it stays.
    await store.deleteConversation(conversation.id).catch(() => undefined);
    throw failure;
  }
}

async function syncInto(input: AdoptInput, conversation: Conversation, found: FoundSession): Promise<AdoptResult> {
  const { store, harness } = input;
  const main = found.location.files.find((file) => file.key === MAIN_FILE_KEY) ?? found.location.files[0]!;
  const stored = (await store.loadTranscript(conversation.id))?.files ?? [];
  const scratch = await mkdtemp(join(tmpdir(), 'baton-adopt-'));
  try {
    // Each local file as the store would hold it: redacted, so that a stored prefix compares equal.
    const files: Array<{ key: string; path: string }> = [];
    let gained = false;
    for (const file of found.location.files) {
      const storedFile = stored.find((candidate) => candidate.key === file.key);
      if (!storedFile) {
        files.push(file);
        gained = true;
        continue;
      }
      const { relation, redacted } = await compareRedactedLocalCopy(await readFile(file.path), storedFile.content, input.redactor);
      if (relation === 'older' || relation === 'different') throw diverged(conversation, found, file.key, relation);
      if (relation === 'longer') gained = true;
      const copy = join(scratch, `${files.length}.jsonl`);
      await writePrivateFileAtomic(copy, redacted, { durable: false });
      files.push({ key: file.key, path: copy });
    }
    if (!gained) return { conversationId: conversation.id, harness: harness.id, sessionId: found.sessionId, runId: undefined, outcome: 'unchanged', path: main.path, workspace: undefined };
    const workspaceDir = await workspaceDirectory(input, found);
    const last = workspaceDir ? (await store.listWorkspaceSnapshots(conversation.id)).at(-1) : undefined;
    const storedMain = stored.find((file) => file.key === MAIN_FILE_KEY);
    const localMain = files.find((file) => file.key === MAIN_FILE_KEY);
    const prompt = localMain ? firstPromptAfter(harness, storedMain?.content, await readFile(localMain.path)) : '';
    const runId = await recordAdoptRun(input, conversation, found, { files, prompt }, stored, workspaceDir, last?.manifest.fingerprint);
    return { conversationId: conversation.id, harness: harness.id, sessionId: found.sessionId, runId, outcome: 'synced', path: main.path, workspace: workspaceDir };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function diverged(conversation: Conversation, found: FoundSession, key: string, relation: 'older' | 'different'): BatonError {
  const why = relation === 'older' ? 'holds less than the store has (the store went on without it)' : 'no longer begins with what the store holds';
  return new BatonError('SESSION_DIVERGED', `this machine's copy of session ${found.sessionId} (${key}) ${why}: it is not a continuation of conversation ${conversation.id}`, {
    hint: `keep it as a conversation of its own with \`baton adopt --as-new …\` (or as a fork: \`baton fork ${conversation.id} --local\`); \`baton resume ${conversation.id} PROMPT\` continues the store's`,
  });
}

/**
 * Takes the conversation's lease as a run of kind `adopt`, saves the files (appending to `stored` when given) and
 * the workspace, and finishes the run; its id.
 */
async function recordAdoptRun(
  input: AdoptInput,
  conversation: Conversation,
  found: FoundSession,
  take: { files: Array<{ key: string; path: string }>; prompt: string },
  stored: StoredTranscriptFile[],
  workspaceDir: string | undefined,
  lastFingerprint: string | undefined,
): Promise<string> {
  const { store } = input;
  const cwd = workspaceDir ?? found.cwd ?? input.context.cwd;
  const { files } = take;
  const run = await store.startRun({ conversationId: conversation.id, runId: newRunId(), kind: 'adopt', prompt: await input.redactor.redactText(take.prompt), host: input.host, cwd, leaseMs: input.leaseMs, redaction: input.redactor.record });
  let error: string | undefined;
  try {
    const saver = new TranscriptSaver({ store, conversationId: conversation.id, runId: run.id, redactor: input.redactor }, stored);
    await saver.save(files, { final: true, meta: (content) => input.harness.readSessionMeta(content, found.sessionId) });
    if (workspaceDir && input.workspace) {
      const { dir: _dir, ...options } = input.workspace;
      const tracker = new WorkspaceTracker(workspaceDir, options, lastFingerprint);
      try {
        const taken = await tracker.snapshot({ final: true });
        const snapshot = taken && { ...taken, manifest: await redactManifest(taken.manifest, input.redactor) };
        const main = saver.cursor(MAIN_FILE_KEY);
        if (snapshot) await store.saveWorkspaceSnapshot({ conversationId: conversation.id, runId: run.id, snapshot, transcript: main ? { versionId: main.versionId, byteLength: main.byteLength } : undefined, asLeaseHolder: true });
      } finally {
        await tracker.close();
      }
    }
  } catch (failure) {
    error = `adopting session ${found.sessionId} failed part way: ${failure instanceof Error ? failure.message : String(failure)}`;
    throw failure;
  } finally {
    await store.finishRun(run.id, { status: error ? 'failed' : 'succeeded', exitCode: undefined, error: error && (await input.redactor.redactText(error)) });
  }
  return run.id;
}

/** The directory to snapshot: --cwd, else the one the session recorded (it must be here); none with --no-workspace. */
async function workspaceDirectory(input: AdoptInput, found: FoundSession): Promise<string | undefined> {
  if (!input.workspace) return undefined;
  const dir = input.workspace.dir ?? found.cwd;
  if (dir === undefined) {
    throw new BatonError('WORKSPACE_ERROR', `session ${found.sessionId} records no working directory to take its files from`, { hint: 'name it with --cwd DIR, or adopt the transcript alone with --no-workspace' });
  }
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new BatonError('WORKSPACE_ERROR', `session ${found.sessionId} ran in ${dir}, which is not a directory on this machine`, { hint: 'name where its files are with --cwd DIR, or adopt the transcript alone with --no-workspace' });
  }
  return dir;
}

/**
 * The prompt of the first turn `after` adds to `before` (the whole session's first without `before`): what an adopt
 * run is listed under, so that its turns are told apart from the runs before and after it. '' when it adds none.
 */
function firstPromptAfter(harness: Harness, before: Buffer | undefined, after: Buffer): string {
  const turnsOf = (content: Buffer): ViewItem[][] => {
    try {
      return splitTurns(harness.viewTranscript([{ key: MAIN_FILE_KEY, content, lineCount: 0, sha256: '' }]).items);
    } catch {
      return [];
    }
  };
  const known = before ? turnsOf(before).length : 0;
  const first = turnsOf(after).slice(known).find((turn) => turn[0]?.kind === 'user')?.[0];
  return first?.kind === 'user' ? first.text : '';
}

/** The session's first prompt, one line; else a name for it. */
function titleOf(harness: Harness, files: TranscriptFile[], sessionId: string): string {
  let first: string | undefined;
  try {
    first = harness.viewTranscript(files).items.find((item) => item.kind === 'user')?.text;
  } catch {
    first = undefined;
  }
  return first?.trim() ? titleFrom(first) : `${harness.displayName} session ${sessionId}`;
}
