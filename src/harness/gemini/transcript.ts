/**
 * Gemini CLI sessions: where they live, what their records say, and how to put one back.
 *
 * verified with gemini 0.61.0:
 * - a session is `<home>/.gemini/tmp/<slug>/chats/session-<UTC YYYY-MM-DDTHH-MM>-<first 8 of id>.jsonl`, the
 *   slug being the project folder of the real cwd (see config.ts); the timestamp is the session's start;
 * - line 1 is `{sessionId, projectHash, startTime, lastUpdated, kind}`; then records appended with
 *   appendFileSync, one a line: messages with an `id` (the last record of an id wins), `{"$set":{…}}` (a
 *   `messages` array replaces the whole list), `{"$rewindTo": id}` (drops that message and what follows);
 * - `--resume <id>` looks only in `tmp/<slug of the cwd>/chats/`, matching the `sessionId` inside the files;
 *   `projectHash` and the recorded directories do not matter, so the file is rehydrated unchanged;
 * - resume appends to the same file (earlier bytes unchanged: saves can append), and first creates a stray twin
 *   `session-<now>-<id8>.jsonl` with the same sessionId holding only metadata and a `<session_context>`: the file
 *   that grows is the one holding resumable content, never simply the newest with that suffix.
 */
import { randomUUID } from 'node:crypto';
import { chmod, readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { BatonError } from '../../errors.js';
import { PRIVATE_FILE_MODE, readFileIfExists, writePrivateFileAtomic } from '../../fs/private-files.js';
import { MAIN_FILE_KEY, type Envelope, type SessionMeta } from '../../transcript/envelope.js';
import { mainFileReader, type StoredEnvelope } from '../../transcript/file-reader.js';
import { stageStoredFile } from '../../fs/streamed-file.js';
import { isRecord, parseJsonLines } from '../../transcript/jsonl.js';
import { attachOutput, textEdit, type TranscriptView, type ViewItem } from '../../transcript/view.js';
import { assertSessionId, compareLocalCopy, invalidSessionFile, localCopyConflict, UUID_PATTERN, type FoundSession, type RehydratedTranscript, type SessionQuery, type TranscriptLocation } from '../harness.js';
import { newestFirst, sessionFileOf } from '../find-session.js';
import { ensureProjectSlug, findProjectSlug, GEMINI_HOME_VARIABLE, geminiStateDirectory, projectRootOf } from './config.js';

export function chatsDirectory(home: string, slug: string): string {
  return join(geminiStateDirectory(home), 'tmp', slug, 'chats');
}

/** `session-<UTC YYYY-MM-DDTHH-MM>-<id8>.jsonl` for a session start (the epoch when it has none). */
export function sessionFileName(sessionId: string, startTime: string | undefined): string {
  assertSessionId(sessionId);
  const parsed = startTime ? new Date(startTime) : undefined;
  const year = parsed?.getUTCFullYear() ?? Number.NaN;
  const start = parsed && year >= 0 && year <= 9999 ? parsed : new Date(0);
  return `session-${start.toISOString().slice(0, 16).replace(/:/g, '-')}-${sessionId.slice(0, 8).toLowerCase()}.jsonl`;
}

// ---------------------------------------------------------------------------------------------------------
// Records → messages, as the CLI rebuilds them (packages/core/src/services/chatRecordingService.ts in the bundle).

export type GeminiMessage = Record<string, unknown> & { id: string; type: string };

export interface GeminiSession {
  meta: Record<string, unknown> | undefined;
  messages: GeminiMessage[];
  unparsedLines: number;
}

function isMessage(value: unknown): value is GeminiMessage {
  return isRecord(value) && typeof value.id === 'string' && typeof value.type === 'string';
}

export function readGeminiSession(content: Buffer): GeminiSession {
  const session: GeminiSession = { meta: undefined, messages: [], unparsedLines: 0 };
  for (const line of parseJsonLines(content)) {
    if (!line.ok) session.unparsedLines++;
    else applyGeminiRecord(session, line.value);
  }
  return session;
}

/** One record's effect on the session, as the CLI applies it when it loads the file. */
export function applyGeminiRecord(session: GeminiSession, record: unknown): void {
  if (!isRecord(record)) return;
  if (isRecord(record.$set)) {
    if (Array.isArray(record.$set.messages)) session.messages = record.$set.messages.filter(isMessage);
    return;
  }
  if (typeof record.$rewindTo === 'string') {
    const index = session.messages.findIndex((message) => message.id === record.$rewindTo);
    session.messages = index === -1 ? [] : session.messages.slice(0, index);
    return;
  }
  if (isMessage(record)) {
    const index = session.messages.findIndex((existing) => existing.id === record.id);
    if (index === -1) session.messages.push(record);
    else session.messages[index] = record;
  } else if (session.meta === undefined && typeof record.sessionId === 'string') session.meta = record;
}

/**
 * The session's metadata record (what readGeminiSession returns as `meta`) without reading past it: the first
 * line, in the files the CLI writes, so a rehydrate need not parse a 50 MB session to name its file.
 */
export function readGeminiMetaRecord(content: Buffer): Record<string, unknown> | undefined {
  for (let start = 0; start < content.length; ) {
    const newline = content.indexOf(0x0a, start);
    const end = newline === -1 ? content.length : newline;
    const line = content.subarray(start, end).toString('utf8');
    start = end + 1;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isRecord(record) || isRecord(record.$set) || typeof record.$rewindTo === 'string' || isMessage(record)) continue;
    if (typeof record.sessionId === 'string') return record;
  }
  return undefined;
}

/** Text the CLI adds to user turns itself: the session context and hook output. */
const CONTEXT_TEXT = /^\s*<(session_context|hook_context)>/;

function partsOf(content: unknown): Array<Record<string, unknown>> {
  if (typeof content === 'string') return [{ text: content }];
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

/** The text a person typed in a user message; undefined for context, tool results and commands. */
function typedText(message: GeminiMessage): string | undefined {
  const texts = partsOf(message.content)
    .flatMap((part) => (typeof part.text === 'string' ? [part.text] : []))
    .filter((text) => text.trim() !== '' && !CONTEXT_TEXT.test(text));
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** True for a user message the view shows as a prompt (a turn's start). */
export function isGeminiPrompt(message: GeminiMessage): boolean {
  return message.type === 'user' && typedText(message) !== undefined;
}

/** The CLI's test for a session it can resume: a typed prompt, or a reply with text, tool calls or thoughts. */
export function isResumableSession(session: GeminiSession): boolean {
  if (!session.meta) return false;
  return session.messages.some((message) => {
    if (message.type === 'user') {
      const text = typedText(message);
      return text !== undefined && !/^\s*[/?]/.test(text);
    }
    if (message.type === 'gemini') {
      const text = typeof message.content === 'string' ? message.content : '';
      return text.trim() !== '' || (Array.isArray(message.toolCalls) && message.toolCalls.length > 0) || (Array.isArray(message.thoughts) && message.thoughts.length > 0);
    }
    return false;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Locating and rehydrating.

interface SessionFile {
  path: string;
  content: Buffer;
  /** Whether it holds a turn the CLI would resume: a parse of every line, so asked only where two files compete. */
  resumable(): boolean;
}

function sessionFile(path: string, content: Buffer): SessionFile {
  let resumable: boolean | undefined;
  return { path, content, resumable: () => (resumable ??= isResumableSession(readGeminiSession(content))) };
}

/** The files in `chats/` whose first record names the session (the CLI's file names carry only 8 characters). */
async function sessionFilesIn(directory: string, sessionId: string): Promise<SessionFile[]> {
  const suffix = `-${sessionId.slice(0, 8).toLowerCase()}.jsonl`;
  let names: string[];
  try {
    names = (await readdir(directory, { withFileTypes: true })).filter((entry) => entry.isFile() && entry.name.startsWith('session-') && entry.name.toLowerCase().endsWith(suffix)).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: SessionFile[] = [];
  for (const name of names.sort()) {
    const path = join(directory, name);
    const content = await readFileIfExists(path);
    if (!content) continue;
    // The first record names the session: a locate before every periodic save need not parse 50 MB to see it.
    if (readGeminiMetaRecord(content)?.sessionId !== sessionId) continue;
    files.push(sessionFile(path, content));
  }
  return files;
}

/**
 * The file of a session in the cwd's project: the one holding resumable content (the largest, should there be
 * several), else — a new session before its first prompt is recorded — the only one. Every file of the session
 * is made private: the CLI creates them 0644 (verified with gemini 0.61.0), stray twins included, and they hold
 * the session context (the directory listing) and the conversation.
 */
export async function locateGeminiSession(home: string, realCwd: string, sessionId: string): Promise<TranscriptLocation | undefined> {
  assertSessionId(sessionId);
  const slug = await findProjectSlug(home, realCwd);
  if (slug === undefined) return undefined;
  const chosen = await chooseSessionFile(await sessionFilesIn(chatsDirectory(home, slug), sessionId));
  return chosen ? { files: [{ key: MAIN_FILE_KEY, path: chosen.path }] } : undefined;
}

/** The file of a session among its files in one chats folder (see locateGeminiSession); every one made private. */
async function chooseSessionFile(files: SessionFile[]): Promise<SessionFile | undefined> {
  for (const file of files) await chmod(file.path, PRIVATE_FILE_MODE).catch(() => undefined);
  // The only file is the one, resumable or not (a new session before its first prompt).
  if (files.length === 1) return files[0];
  const resumable = files.filter((file) => file.resumable()).sort((a, b) => b.content.length - a.content.length);
  return resumable[0];
}

async function projectSlugs(home: string): Promise<string[]> {
  try {
    return (await readdir(join(geminiStateDirectory(home), 'tmp'), { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}

/**
 * A Gemini CLI session for `baton adopt`: by id (the cwd's project first, then every project's chats folder); by a
 * session file the user names (its first record must name a session id, and it must hold a turn); or the most
 * recently modified resumable session in the chats folder of the directory asked about (the CLI's project of it).
 */
export async function findGeminiSession(home: string, realCwd: string, query: SessionQuery): Promise<FoundSession | undefined> {
  const found = async (file: SessionFile, sessionId: string, slug: string | undefined): Promise<FoundSession> => ({
    sessionId,
    cwd: readGeminiMeta(file.content, sessionId).cwd ?? (slug === undefined ? undefined : await projectRootOf(home, slug)),
    location: { files: [{ key: MAIN_FILE_KEY, path: file.path }] },
  });
  if ('sessionId' in query) {
    assertSessionId(query.sessionId);
    const own = await findProjectSlug(home, realCwd);
    const slugs = [...(own === undefined ? [] : [own]), ...(await projectSlugs(home)).filter((slug) => slug !== own)];
    for (const slug of slugs) {
      const chosen = await chooseSessionFile(await sessionFilesIn(chatsDirectory(home, slug), query.sessionId));
      if (chosen) return found(chosen, query.sessionId, slug);
    }
    return undefined;
  }
  if ('file' in query) {
    const path = await sessionFileOf('Gemini CLI', query.file);
    const content = (await readFileIfExists(path)) ?? Buffer.alloc(0);
    const session = readGeminiSession(content);
    const sessionId = typeof session.meta?.sessionId === 'string' ? session.meta.sessionId : undefined;
    if (!sessionId || !UUID_PATTERN.test(sessionId)) throw invalidSessionFile('Gemini CLI', query.file, 'its first record names no session id');
    if (!isResumableSession(session)) throw invalidSessionFile('Gemini CLI', query.file, 'it holds no turn the CLI would resume');
    // A file in this home's chats folder of a project: that project's directory, should the file not name it.
    const chats = dirname(path);
    const inHome = basename(chats) === 'chats' && dirname(dirname(chats)) === join(geminiStateDirectory(home), 'tmp');
    return found(sessionFile(path, content), sessionId, inHome ? basename(dirname(chats)) : undefined);
  }
  const slug = await findProjectSlug(home, query.latestFor);
  if (slug === undefined) return undefined;
  const directory = chatsDirectory(home, slug);
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.startsWith('session-') && name.endsWith('.jsonl'));
  } catch {
    return undefined;
  }
  for (const path of await newestFirst(names.map((name) => join(directory, name)))) {
    const content = await readFileIfExists(path);
    const session = content ? readGeminiSession(content) : undefined;
    const sessionId = typeof session?.meta?.sessionId === 'string' ? session.meta.sessionId : undefined;
    // A resume's stray twin is the newest file but holds no turn: the session's real file is the resumable one.
    if (!session || !sessionId || !UUID_PATTERN.test(sessionId) || !isResumableSession(session)) continue;
    const chosen = await chooseSessionFile(await sessionFilesIn(directory, sessionId));
    if (chosen) return { sessionId, cwd: query.latestFor, location: { files: [{ key: MAIN_FILE_KEY, path: chosen.path }] } };
  }
  return undefined;
}

/** Session metadata from the first line; the cwd from the session context the CLI wrote for the model. */
export function readGeminiMeta(content: Buffer, sessionId: string): SessionMeta {
  const session = readGeminiSession(content);
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  let cwd: string | undefined;
  for (const message of session.messages) {
    for (const part of partsOf(message.content)) {
      const match = typeof part.text === 'string' ? /<session_context>[\s\S]*?Workspace Directories:\*\*\n\s+- ([^\n]+)/.exec(part.text) : null;
      if (match) cwd = match[1];
    }
  }
  return {
    sessionId: text(session.meta?.sessionId) ?? sessionId,
    sessionStartedAt: text(session.meta?.startTime),
    cwd,
    // verified with gemini 0.61.0: the session file does not record the CLI's version.
    cliVersion: undefined,
  };
}

/**
 * Writes the session into the chats folder of the project the resume's cwd maps to (registering the cwd as the
 * CLI would), under its canonical name. A local copy of the session there is replaced only when it is identical
 * to, or a prefix of, the stored one; a longer local copy is kept; a copy with turns the store lacks is
 * REHYDRATE_CONFLICT, as are two resumable copies. Stray twins (no resumable content) are left alone: the CLI
 * ignores them.
 */
export async function rehydrateGeminiSession(envelope: Envelope | StoredEnvelope, home: string, realCwd: string): Promise<RehydratedTranscript> {
  assertSessionId(envelope.sessionId);
  const main = mainFileReader(envelope);
  const slug = await ensureProjectSlug(home, realCwd);
  const directory = chatsDirectory(home, slug);
  const existing = (await sessionFilesIn(directory, envelope.sessionId)).filter((file) => file.resumable());
  if (existing.length > 1) {
    throw new BatonError('REHYDRATE_CONFLICT', `${directory} holds ${existing.length} copies of session ${envelope.sessionId}`, {
      hint: `remove the stale ones (${existing.map((file) => relative(home, file.path)).join(', ')}) or resume with a fresh ${GEMINI_HOME_VARIABLE}`,
    });
  }
  const targetFor = (metaRecord: Record<string, unknown> | undefined): string => {
    const startTime = metaRecord?.startTime;
    const target = existing[0]?.path ?? join(directory, sessionFileName(envelope.sessionId, typeof startTime === 'string' ? startTime : envelope.meta.sessionStartedAt));
    if (!target.startsWith(geminiStateDirectory(home) + sep)) {
      throw new BatonError('TRANSCRIPT_CORRUPT', `refusing to write outside ${geminiStateDirectory(home)}`, { hint: 're-import the conversation' });
    }
    return target;
  };
  if (existing.length === 0) {
    // No copy of the session here: streamed from the store, named from its metadata line once it has verified.
    const scan = new MetaRecordScan();
    const staged = await stageStoredFile(directory, `session-${envelope.sessionId}`, main, { observe: (piece) => scan.push(piece.unverifiedBytes) });
    let target: string;
    try {
      target = targetFor(scan.end());
    } catch (error) {
      await staged.discard();
      throw error;
    }
    // A stray twin of that name (no resumable content) is compared below, as any local copy.
    if (!(await readFileIfExists(target))) {
      await staged.commit(target);
      return { files: [{ key: MAIN_FILE_KEY, path: target }], keptLocal: [] };
    }
    await staged.discard();
  }
  const { content } = await main.whole();
  const target = targetFor(readGeminiMetaRecord(content));
  const location = { files: [{ key: MAIN_FILE_KEY, path: target }] };
  switch (compareLocalCopy(await readFileIfExists(target), content)) {
    case 'same':
      return { ...location, keptLocal: [] };
    case 'longer':
      return { ...location, keptLocal: [MAIN_FILE_KEY] };
    case 'different':
      throw localCopyConflict(target, envelope.sessionId, GEMINI_HOME_VARIABLE);
    default:
      await writePrivateFileAtomic(target, content, { durable: false });
      return { ...location, keptLocal: [] };
  }
}

/** readGeminiMetaRecord over a file read piece by piece: whole lines in order, until the record is found. */
class MetaRecordScan {
  private carry: Buffer | undefined;
  private found: Record<string, unknown> | undefined;
  private done = false;

  push(bytes: Buffer): void {
    if (this.done || bytes.length === 0) return;
    const data = this.carry ? Buffer.concat([this.carry, bytes]) : bytes;
    const lastNewline = data.lastIndexOf(0x0a);
    if (lastNewline !== -1) {
      this.found = readGeminiMetaRecord(data.subarray(0, lastNewline + 1));
      this.done = this.found !== undefined;
    }
    // Copied: the piece's buffer is reused.
    this.carry = this.done ? undefined : Buffer.from(data.subarray(lastNewline + 1));
  }

  end(): Record<string, unknown> | undefined {
    if (!this.done && this.carry && this.carry.length > 0) this.found = readGeminiMetaRecord(this.carry);
    return this.found;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Display.

/** A shell tool's output as the model got it: `<untrusted_context>\nOutput: …\nProcess Group PGID: N\n…`. */
function shellOutput(raw: string): { output: string; exitCode: number | undefined } {
  const exit = /^Exit Code: (-?\d+)$/m.exec(raw);
  const body = /Output: ([\s\S]*?)(?:\n(?:Error|Exit Code|Signal|Background PIDs|Process Group PGID):|\n<\/untrusted_context>|$)/.exec(raw);
  return { output: body ? body[1]! : raw, exitCode: exit ? Number(exit[1]) : 0 };
}

function functionResponseOutput(result: unknown): string | undefined {
  for (const part of Array.isArray(result) ? result : []) {
    const response = isRecord(part) && isRecord(part.functionResponse) && isRecord(part.functionResponse.response) ? part.functionResponse.response : undefined;
    if (response) return typeof response.output === 'string' ? response.output : typeof response.error === 'string' ? response.error : JSON.stringify(response);
  }
  return undefined;
}

function toolItem(call: Record<string, unknown>): ViewItem {
  const callId = typeof call.id === 'string' ? call.id : undefined;
  const name = typeof call.name === 'string' ? call.name : 'tool';
  const args = isRecord(call.args) ? call.args : {};
  const raw = functionResponseOutput(call.result);
  const display = typeof call.resultDisplay === 'string' ? call.resultDisplay : undefined;
  if (name === 'run_shell_command' && typeof args.command === 'string') {
    const parsed = raw === undefined ? undefined : shellOutput(raw);
    return { kind: 'command', callId, command: args.command, output: display ?? parsed?.output, exitCode: parsed?.exitCode };
  }
  if (name === 'write_file' && typeof args.file_path === 'string' && typeof args.content === 'string') return { ...textEdit(callId, args.file_path, '', args.content), output: raw };
  if (name === 'replace' && typeof args.file_path === 'string' && typeof args.old_string === 'string' && typeof args.new_string === 'string') {
    return { ...textEdit(callId, args.file_path, args.old_string, args.new_string), output: raw };
  }
  return { kind: 'tool', callId, name, input: JSON.stringify(args), output: raw ?? display };
}

/**
 * A tool result in a user message: onto its call when that has no output yet; a second copy of one already shown
 * is dropped (verified with gemini 0.61.0: a resumed history carries each functionResponse twice).
 */
function attachResponse(items: ViewItem[], response: Record<string, unknown>): void {
  const callId = typeof response.id === 'string' ? response.id : undefined;
  const raw = functionResponseOutput([{ functionResponse: response }]) ?? '';
  const call = items.find((item): item is Exclude<ViewItem, { kind: 'user' | 'assistant' }> => item.kind !== 'user' && item.kind !== 'assistant' && item.callId === callId && callId !== undefined);
  if (call && call.output !== undefined) return;
  if (call?.kind === 'command') {
    const parsed = shellOutput(raw);
    call.output = parsed.output;
    call.exitCode = parsed.exitCode;
    return;
  }
  attachOutput(items, callId, raw);
}

export function viewGeminiSession(content: Buffer): TranscriptView {
  const session = readGeminiSession(content);
  const items: ViewItem[] = [];
  for (const message of session.messages) {
    if (message.type === 'user') {
      for (const part of partsOf(message.content)) if (isRecord(part.functionResponse)) attachResponse(items, part.functionResponse);
      const text = typedText(message);
      if (text !== undefined) items.push({ kind: 'user', text });
    } else if (message.type === 'gemini') {
      // As recorded: `content` is the reply's text and `toolCalls` its calls with their results. In the history a
      // resume writes with `$set`, `content` is the model's parts: text and functionCall — and sometimes the
      // recorded `toolCalls` too (verified with gemini 0.61.0), then a call is shown once, from `toolCalls`.
      const parts = partsOf(message.content);
      const text = typeof message.content === 'string' ? message.content : parts.flatMap((part) => (typeof part.text === 'string' && part.thought !== true ? [part.text] : [])).join('');
      if (text.trim() !== '') items.push({ kind: 'assistant', text });
      const calls = Array.isArray(message.toolCalls) ? message.toolCalls.filter(isRecord) : [];
      const recorded = new Set(calls.flatMap((call) => (typeof call.id === 'string' ? [call.id] : [])));
      for (const part of parts) if (isRecord(part.functionCall) && !(typeof part.functionCall.id === 'string' && recorded.has(part.functionCall.id))) items.push(toolItem(part.functionCall));
      for (const call of calls) items.push(toolItem(call));
    }
  }
  return { items, unparsedLines: session.unparsedLines };
}

/** A fresh session id for a new conversation: baton chooses it and passes it with --session-id. */
export function newGeminiSessionId(): string {
  return randomUUID();
}
