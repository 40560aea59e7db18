/**
 * OpenCode sessions: where baton keeps the log of one (log.ts), how it follows the session in OpenCode's database,
 * and how it puts a stored session back.
 *
 * verified with opencode 1.18.33: a session lives only in `$XDG_DATA_HOME/opencode/opencode.db` (SQLite, WAL);
 * `opencode export ID` prints it and `opencode import FILE` loads it, keeping every id and binding the session to
 * the importing process's cwd (project, directory, path). Import never updates a row that exists (session title
 * and tokens, messages and parts are `ON CONFLICT DO NOTHING`, only the binding is updated) and never deletes one,
 * so a session is put back into a database that lacks it: deleted first (`opencode session delete ID`) when the
 * copy there is older than the store's. `opencode run -s ID` then resumes it from any directory.
 *
 * The saver's file is the log at `<data dir>/baton/<session id>.jsonl`, brought up to date before every save with
 * the export document, which baton reads from the database itself (database.ts: milliseconds, where `opencode
 * export` costs 1.3–3.4 s) and skips while the database shows the session unchanged (`session.time_updated` and the
 * count and newest `time_updated` of its `message` and `part` rows). A database of a schema baton has not verified
 * is read with `opencode export` instead, as before. Likewise a session is put back into a database that lacks it by
 * an insert of baton's own (database-insert.ts) where the database is of the verified schema and knows the run's
 * project, and by `opencode import` otherwise (a fresh home: no database yet).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { BatonError, quoted } from '../../errors.js';
import { readFileIfExists, writePrivateFileAtomic } from '../../fs/private-files.js';
import { MAIN_FILE_KEY, mainFile, type Envelope, type SessionMeta } from '../../transcript/envelope.js';
import { isRecord } from '../../transcript/jsonl.js';
import { textEdit, type TranscriptView, type ViewItem } from '../../transcript/view.js';
import { applyPatchEdit as patchEdit } from '../../transcript/apply-patch.js';
import { compareLocalCopy, invalidSessionFile, localCopyConflict, type FoundSession, type RehydratedTranscript, type SessionQuery, type TranscriptLocation } from '../harness.js';
import { sessionFileOf } from '../find-session.js';
import { runChoreOrFail } from './cli.js';
import { foldLog, isEarlierStateOf, logMessages, parseExport, sessionInfoOf, updateLog } from './log.js';
import { readSession, sessionFingerprint } from './database.js';
import { insertSession } from './database-insert.js';

/** verified with opencode 1.18.33: `ses_` and 26 characters (12 hex of the inverted time, 14 base62); any `ses_` id is accepted. */
export const OPENCODE_SESSION_ID = /^ses_[0-9A-Za-z]{8,64}$/;

export function assertOpencodeSessionId(sessionId: string): void {
  if (!OPENCODE_SESSION_ID.test(sessionId)) {
    throw new BatonError('INVALID_SESSION_ID', `${quoted(sessionId)} is not an OpenCode session id (ses_…)`, {
      hint: 'session ids are chosen by baton or reported by OpenCode; the stored transcript may be damaged — re-import it',
    });
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
let lastMillis = 0;
let counter = 0;

/**
 * A new session id in OpenCode's own shape: `ses_`, 12 hex digits of `~(ms·4096 + counter)` (newer sessions sort
 * first, as OpenCode's own do), 14 random base62 characters.
 */
export function newOpencodeSessionId(now = Date.now()): string {
  if (now !== lastMillis) {
    lastMillis = now;
    counter = 0;
  }
  counter++;
  const value = (BigInt(now) * 4096n + BigInt(counter)) & 0xffffffffffffn;
  const time = (~value & 0xffffffffffffn).toString(16).padStart(12, '0');
  const random = [...randomBytes(14)].map((byte) => BASE62[byte % 62]).join('');
  return `ses_${time}${random}`;
}

export function logPath(dataDir: string, sessionId: string): string {
  assertOpencodeSessionId(sessionId);
  return join(dataDir, 'baton', `${sessionId}.jsonl`);
}

/** verified with opencode 1.18.33 (code): OPENCODE_DB moves the database (absolute, or relative to the data dir). */
export function databasePath(dataDir: string, env: NodeJS.ProcessEnv): string | undefined {
  const configured = env.OPENCODE_DB;
  if (configured === ':memory:') return undefined;
  if (configured) return isAbsolute(configured) ? configured : join(dataDir, configured);
  return join(dataDir, 'opencode.db');
}

/**
 * What this process last reconciled a log with: the database's marker then, when the export began, and the
 * export. A marker read before an export that started well after the newest write describes that export exactly.
 */
const reconciled = new Map<string, { fingerprint: string; exportText: string }>();
/** Milliseconds between the newest write and the export's start for the marker to be trusted. */
const SAME_MOMENT_MS = 5;

export interface OpencodeSessionContext {
  /** The data directory (baton's home for OpenCode). */
  home: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The OpenCode binary for chores. */
  executable: () => Promise<string>;
}

async function exportSession(context: OpencodeSessionContext, sessionId: string): Promise<string> {
  // verified with opencode 1.18.33: export works from any cwd and while a run writes the session (WAL); stdout is the document only.
  const stdoutFile = join(context.home, 'baton-exports', `${sessionId}.${randomBytes(6).toString('hex')}.json`);
  const text = (await runChoreOrFail('export', await context.executable(), ['export', sessionId], { cwd: context.home, env: context.env, stdoutFile })).toString('utf8');
  // A document that is not whole must never become the saved log (the last one stays what is saved).
  if (!parseExport(text)) {
    throw new BatonError('CLI_FAILED', `opencode export ${sessionId} wrote ${text.length} bytes that are not a whole session document`, { hint: 'the next save tries again; check the OpenCode data directory if it persists' });
  }
  return text;
}

/** The log brought up to date with an export document (appended to while the CLI only adds or finishes records). */
async function bringLogUpTo(path: string, log: Buffer | undefined, exportText: string): Promise<void> {
  const update = updateLog(log, exportText);
  if (update.change === 'appended') await appendFile(path, update.appended);
  else if (update.change === 'rewritten') await writePrivateFileAtomic(path, update.log, { durable: false });
}

/**
 * Brings the log up to date with the database and returns its location; undefined when neither the database nor
 * a log knows the session. The session is read from the database itself (database.ts, milliseconds); only a
 * database of a schema baton has not verified is read through `opencode export` (seconds).
 */
export async function locateOpencodeSession(context: OpencodeSessionContext, sessionId: string): Promise<TranscriptLocation | undefined> {
  const path = logPath(context.home, sessionId);
  const location = { files: [{ key: MAIN_FILE_KEY, path }] };
  const log = await readFileIfExists(path);
  const database = databasePath(context.home, context.env);
  const known = reconciled.get(path);
  const readAt = Date.now();
  const read = readSession(database, sessionId, log ? known?.fingerprint : undefined);
  if (read) {
    if (read.kind === 'absent') return log ? location : undefined;
    if (read.kind === 'document') {
      await bringLogUpTo(path, log, read.text);
      // A marker is trusted only when its newest write came well before the read: a second write within the same
      // millisecond would leave it unchanged.
      if (read.fingerprint.newest < readAt - SAME_MOMENT_MS) reconciled.set(path, { fingerprint: read.fingerprint.value, exportText: read.text });
      else reconciled.set(path, { fingerprint: '', exportText: read.text });
    }
    return location;
  }
  return locateByExport(context, sessionId, path, log);
}

/** The same through `opencode export`, for a database baton cannot read (another schema). */
async function locateByExport(context: OpencodeSessionContext, sessionId: string, path: string, log: Buffer | undefined): Promise<TranscriptLocation | undefined> {
  const location = { files: [{ key: MAIN_FILE_KEY, path }] };
  const before = sessionFingerprint(databasePath(context.home, context.env), sessionId);
  if (before && !before.exists) return log ? location : undefined;
  const known = reconciled.get(path);
  if (log && before && known?.fingerprint === before.value) return location;
  const startedAt = Date.now();
  let exportText: string;
  try {
    exportText = await exportSession(context, sessionId);
  } catch (error) {
    if (before === undefined && !log && /Session not found/i.test(String((error as Error).message))) return undefined;
    if (log) return location; // the last log stays what is saved; the next save tries again
    throw error;
  }
  await bringLogUpTo(path, log, exportText);
  if (before && before.newest < startedAt - SAME_MOMENT_MS) reconciled.set(path, { fingerprint: before.value, exportText });
  else reconciled.delete(path);
  return location;
}

/**
 * An OpenCode session for `baton adopt`: by id (exported from the database into baton's log, as a save does); by
 * an `opencode export` document the user names (it becomes the log); or the most recently updated session that
 * `opencode session list` shows for the directory asked about (run there: it lists that directory's project).
 */
export async function findOpencodeSession(context: OpencodeSessionContext, query: SessionQuery): Promise<FoundSession | undefined> {
  const found = async (sessionId: string, location: TranscriptLocation): Promise<FoundSession> => {
    const log = await readFileIfExists(location.files[0]!.path);
    return { sessionId, cwd: log ? readOpencodeMeta(log, sessionId).cwd : undefined, location };
  };
  if ('sessionId' in query) {
    assertOpencodeSessionId(query.sessionId);
    const location = await locateOpencodeSession(context, query.sessionId);
    return location && found(query.sessionId, location);
  }
  if ('file' in query) {
    const path = await sessionFileOf('OpenCode', query.file);
    const text = ((await readFileIfExists(path)) ?? Buffer.alloc(0)).toString('utf8');
    const document = parseExport(text);
    const sessionId = document && typeof document.info.id === 'string' ? document.info.id : undefined;
    if (!document || !sessionId || !OPENCODE_SESSION_ID.test(sessionId)) throw invalidSessionFile('OpenCode', query.file, 'it is not a session document as `opencode export ID` prints it');
    const log = logPath(context.home, sessionId);
    const update = updateLog(await readFileIfExists(log), text);
    if (update.change !== 'none') await writePrivateFileAtomic(log, update.log, { durable: false });
    reconciled.delete(log);
    return found(sessionId, { files: [{ key: MAIN_FILE_KEY, path: log }] });
  }
  // verified with opencode 1.18.33: `session list --format json` prints [{id, title, updated, created, projectId, directory}].
  const listed = await runChoreOrFail('session list', await context.executable(), ['session', 'list', '--format', 'json'], { cwd: query.latestFor, env: context.env });
  let sessions: unknown;
  try {
    sessions = JSON.parse(listed.toString('utf8'));
  } catch {
    sessions = [];
  }
  const candidates = (Array.isArray(sessions) ? sessions : [])
    .filter(isRecord)
    .filter((session) => typeof session.id === 'string' && OPENCODE_SESSION_ID.test(session.id) && session.directory === query.latestFor)
    .sort((a, b) => (typeof b.updated === 'number' ? b.updated : 0) - (typeof a.updated === 'number' ? a.updated : 0));
  const newest = candidates[0]?.id as string | undefined;
  if (!newest) return undefined;
  const location = await locateOpencodeSession(context, newest);
  return location && found(newest, location);
}

/** Session metadata from the log's first session line. */
export function readOpencodeMeta(content: Buffer, sessionId: string): SessionMeta {
  const { first } = sessionInfoOf(content);
  const time = isRecord(first?.time) ? first.time : {};
  return {
    sessionId: typeof first?.id === 'string' ? first.id : sessionId,
    sessionStartedAt: typeof time.created === 'number' ? new Date(time.created).toISOString() : undefined,
    cwd: typeof first?.directory === 'string' ? first.directory : undefined,
    cliVersion: typeof first?.version === 'string' ? first.version : undefined,
  };
}

async function importDocument(context: OpencodeSessionContext, sessionId: string, document: string): Promise<void> {
  const file = join(context.home, 'baton', `.${sessionId}.${randomBytes(4).toString('hex')}.import.json`);
  await writePrivateFileAtomic(file, document, { durable: false });
  try {
    // The cwd matters: import binds the session to the project and directory of the importing process.
    await runChoreOrFail('import', await context.executable(), ['import', file], { cwd: context.cwd, env: context.env });
  } finally {
    await rm(file, { force: true });
    reconciled.delete(logPath(context.home, sessionId));
  }
}

/** The session into a database that lacks it: inserted directly where baton can (database-insert.ts), else imported by the CLI. */
async function putIntoDatabase(context: OpencodeSessionContext, sessionId: string, document: string): Promise<void> {
  if (insertSession(databasePath(context.home, context.env), document, context.cwd) === 'inserted') reconciled.delete(logPath(context.home, sessionId));
  else await importDocument(context, sessionId, document);
}

async function deleteSession(context: OpencodeSessionContext, sessionId: string): Promise<void> {
  await runChoreOrFail('session delete', await context.executable(), ['session', 'delete', sessionId], { cwd: context.home, env: context.env });
  reconciled.delete(logPath(context.home, sessionId));
}

/**
 * Puts the stored session where OpenCode finds it, for a run in `context.cwd`. Local copies follow the rules of
 * the other harnesses: the same session or an older state of it is replaced by the store's; a copy that went on
 * past the store's (a run here stopped before its final save) is kept and reported; any other copy is
 * REHYDRATE_CONFLICT and nothing is written.
 */
export async function rehydrateOpencodeSession(envelope: Envelope, context: OpencodeSessionContext): Promise<RehydratedTranscript> {
  const sessionId = envelope.sessionId;
  const path = logPath(context.home, sessionId);
  const stored = mainFile(envelope).content;
  const document = foldLog(stored); // TRANSCRIPT_CORRUPT before anything is written
  const info = sessionInfoOf(stored).last;
  if (info?.id !== sessionId) {
    throw new BatonError('TRANSCRIPT_CORRUPT', `the stored OpenCode session log belongs to ${quoted(String(info?.id))}, not ${sessionId}`, { hint: 're-import the conversation from an export made by baton' });
  }
  const local = await locateOpencodeSession(context, sessionId);
  const onDisk = local ? await readFileIfExists(path) : undefined;
  const inDatabase = sessionFingerprint(databasePath(context.home, context.env), sessionId)?.exists ?? (local !== undefined);
  let relation = compareLocalCopy(onDisk, stored);
  if (relation === 'different' && onDisk) {
    const localDocument = safeFold(onDisk);
    if (localDocument === document) relation = 'same';
    else if (isEarlierStateOf(onDisk, stored)) relation = 'older';
  }
  if (relation === 'different') throw localCopyConflict(path, sessionId, 'XDG_DATA_HOME');
  const keep = relation === 'longer' ? onDisk! : stored;
  const wanted = relation === 'longer' ? foldLog(onDisk!) : document;
  const current = reconciled.get(path)?.exportText;
  if (!inDatabase) await putIntoDatabase(context, sessionId, wanted);
  else if (current !== wanted) {
    // An older state, or the same one holding what the store has redacted: the database must be what the store holds.
    await deleteSession(context, sessionId);
    await importDocument(context, sessionId, wanted);
  }
  if (!onDisk?.equals(keep)) await writePrivateFileAtomic(path, keep, { durable: false });
  return { files: [{ key: MAIN_FILE_KEY, path }], keptLocal: relation === 'longer' ? [MAIN_FILE_KEY] : [] };
}

function safeFold(log: Buffer): string | undefined {
  try {
    return foldLog(log);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Display.

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** One tool part as view items (verified with opencode 1.18.33: `{type:"tool", tool, callID, state:{status,input,output,metadata,error}}`). */
function toolItem(part: Record<string, unknown>): ViewItem {
  const state = isRecord(part.state) ? part.state : {};
  const input = isRecord(state.input) ? state.input : {};
  const metadata = isRecord(state.metadata) ? state.metadata : {};
  const callId = text(part.callID);
  const output = state.status === 'completed' ? (text(state.output) ?? '') : state.status === 'error' ? (text(state.error) ?? 'error') : text(metadata.output);
  const tool = text(part.tool) ?? 'tool';
  if (tool === 'bash' && typeof input.command === 'string') {
    return { kind: 'command', callId, command: input.command, output, exitCode: typeof metadata.exit === 'number' ? metadata.exit : undefined };
  }
  if (tool === 'edit' && typeof input.filePath === 'string' && typeof input.oldString === 'string' && typeof input.newString === 'string') {
    return { ...textEdit(callId, input.filePath, input.oldString, input.newString), output };
  }
  if (tool === 'write' && typeof input.filePath === 'string' && typeof input.content === 'string') return { ...textEdit(callId, input.filePath, '', input.content), output };
  if (tool === 'apply_patch' && typeof input.patchText === 'string') {
    const edit = patchEdit(callId, input.patchText);
    if (edit) return { ...edit, output };
  }
  return { kind: 'tool', callId, name: tool, input: JSON.stringify(input), output };
}

export function viewOpencodeSession(content: Buffer): TranscriptView {
  const { messages, unparsed } = logMessages(content);
  const items: ViewItem[] = [];
  for (const message of messages) {
    const role = message.info.role;
    for (const part of message.parts) {
      if (part.type === 'text' && typeof part.text === 'string' && part.synthetic !== true && part.ignored !== true && part.text.trim() !== '') {
        items.push({ kind: role === 'user' ? 'user' : 'assistant', text: part.text });
      } else if (part.type === 'tool' && role === 'assistant') items.push(toolItem(part));
    }
  }
  return { items, unparsedLines: unparsed };
}
