/**
 * Claude Code transcripts: where they live, what their lines say, and how to put them back.
 *
 * verified with Claude Code 2.1: the session file is `$CLAUDE_CONFIG_DIR/projects/<encoded cwd>/<uuid>.jsonl`,
 * where the encoded cwd is the real path with every UTF-16 code unit other than a-zA-Z0-9 replaced by "-".
 * `claude --resume <uuid>` finds the file only under the project folder of its current working directory, so a
 * rehydrate writes into the folder of the resume's cwd (verified with 2.1.332: it also finds the file in another
 * project folder, but the cwd's folder wins, and baton must know which file grows). Long folder names: the first
 * 200 characters, "-", and a base-36 Java-style hash of the unsanitised path (read from the CLI and reproduced).
 * Subagent transcripts live in `projects/<encoded cwd>/<uuid>/subagents/agent-<id>.jsonl` (+ `.meta.json`), task
 * lists in `tasks/<uuid>/<n>.json` (older CLIs: todo lists in `todos/<uuid>-agent-*.json`). The recorded `cwd`
 * fields need no rewriting (the CLI only tells the model the directory changed); no index file is involved.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { BatonError } from '../../errors.js';
import { readFileIfExists, writePrivateFileAtomic } from '../../fs/private-files.js';
import { isOlderCopy, MAIN_FILE_KEY, type Envelope, type SessionMeta } from '../../transcript/envelope.js';
import { fileReaders, mainFileReader, type StoredEnvelope, type TranscriptFileReader, type VerifiedRead } from '../../transcript/file-reader.js';
import { stageStoredFile, type StagedFile } from '../../fs/streamed-file.js';
import { isRecord, parseJsonLines } from '../../transcript/jsonl.js';
import { attachOutput, textEdit, type TranscriptView, type ViewItem } from '../../transcript/view.js';
import { assertSessionId, compareLocalCopy, invalidSessionFile, localCopyConflict, type FoundSession, type RehydratedTranscript, type SessionQuery, type TranscriptLocation } from '../harness.js';
import { isSameDirectory, newestFirst, sessionFileOf } from '../find-session.js';

/** Longest encoded project folder name the CLI uses before it cuts the name and adds a hash. */
export const MAX_PROJECT_FOLDER_LENGTH = 200;

/** Claude Code's own hash for long folder names: Java's String.hashCode over UTF-16 units, |h| in base 36. */
export function projectFolderHash(path: string): string {
  let hash = 0;
  for (let index = 0; index < path.length; index++) hash = (Math.imul(31, hash) + path.charCodeAt(index)) | 0;
  return Math.abs(hash).toString(36);
}

/** The project folder name for a cwd (which must already be a real path: symlinks resolved). */
export function encodeProjectFolder(realCwd: string): string {
  // Without the `u` flag a regex sees UTF-16 code units: an emoji (a surrogate pair) becomes two dashes.
  const encoded = realCwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (encoded.length <= MAX_PROJECT_FOLDER_LENGTH) return encoded;
  return `${encoded.slice(0, MAX_PROJECT_FOLDER_LENGTH)}-${projectFolderHash(realCwd)}`;
}

export function projectDirectory(configDir: string, realCwd: string): string {
  return join(configDir, 'projects', encodeProjectFolder(realCwd));
}

/** Names of the extra files a session has; keys are `subagents/<name>` and `todos/<name>`. */
const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

async function listFiles(directory: string, accept: (name: string) => boolean): Promise<string[]> {
  try {
    const entries = await readdir(directory, { withFileTypes: true });
    return entries.filter((entry) => entry.isFile() && accept(entry.name)).map((entry) => entry.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Finds the session's main file: first under the cwd's project folder, else under any project folder. */
async function findMainFile(configDir: string, sessionId: string, realCwd: string): Promise<string | undefined> {
  const preferred = join(projectDirectory(configDir, realCwd), `${sessionId}.jsonl`);
  if (await isFile(preferred)) return preferred;
  const projects = join(configDir, 'projects');
  let folders: string[];
  try {
    folders = (await readdir(projects, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch {
    return undefined;
  }
  const candidates: Array<{ path: string; modified: number }> = [];
  for (const folder of folders) {
    const path = join(projects, folder, `${sessionId}.jsonl`);
    try {
      candidates.push({ path, modified: (await stat(path)).mtimeMs });
    } catch {
      // not in this project folder
    }
  }
  return candidates.sort((a, b) => b.modified - a.modified)[0]?.path;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function locateClaudeSession(configDir: string, sessionId: string, realCwd: string): Promise<TranscriptLocation | undefined> {
  assertSessionId(sessionId);
  const main = await findMainFile(configDir, sessionId, realCwd);
  return main ? sessionFilesOf(configDir, sessionId, main) : undefined;
}

/** A session's files around its main file: its subagents beside it, and (for a file in this home) its task lists. */
async function sessionFilesOf(configDir: string | undefined, sessionId: string, main: string): Promise<TranscriptLocation> {
  const sessionFolder = main.slice(0, -'.jsonl'.length);
  const subagents = await listFiles(join(sessionFolder, 'subagents'), (name) => SAFE_FILE_NAME.test(name) && (name.endsWith('.jsonl') || name.endsWith('.meta.json')));
  const tasks = configDir ? await listFiles(join(configDir, 'tasks', sessionId), (name) => SAFE_FILE_NAME.test(name) && name.endsWith('.json')) : [];
  const todos = configDir ? await listFiles(join(configDir, 'todos'), (name) => SAFE_FILE_NAME.test(name) && name.startsWith(`${sessionId}-agent-`) && name.endsWith('.json')) : [];
  return {
    files: [
      { key: MAIN_FILE_KEY, path: main },
      ...subagents.map((name) => ({ key: `subagents/${name}`, path: join(sessionFolder, 'subagents', name) })),
      ...(configDir ? tasks.map((name) => ({ key: `tasks/${name}`, path: join(configDir, 'tasks', sessionId, name) })) : []),
      ...(configDir ? todos.map((name) => ({ key: `todos/${name}`, path: join(configDir, 'todos', name) })) : []),
    ],
  };
}

const SESSION_FILE_NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i;

/**
 * A Claude Code session for `baton adopt`: by id (the cwd's project folder first, then any); by a `<uuid>.jsonl` file
 * the user names, whose records must carry that session id; or the most recently modified session in the project
 * folder of the directory asked about whose records say they ran there (two directories can share a folder name).
 */
export async function findClaudeSession(configDir: string, realCwd: string, query: SessionQuery): Promise<FoundSession | undefined> {
  if ('sessionId' in query) {
    const location = await locateClaudeSession(configDir, query.sessionId, realCwd);
    if (!location) return undefined;
    const content = await readFileIfExists(location.files[0]!.path);
    return { sessionId: query.sessionId, cwd: content ? readClaudeMeta(content, query.sessionId).cwd : undefined, location };
  }
  if ('file' in query) {
    const path = await sessionFileOf('Claude Code', query.file);
    const named = SESSION_FILE_NAME.exec(basename(path));
    if (!named) throw invalidSessionFile('Claude Code', query.file, 'its name is not <session id>.jsonl (the CLI resumes a session only under that name)');
    const sessionId = named[1]!;
    const meta = readClaudeMeta((await readFileIfExists(path)) ?? Buffer.alloc(0), sessionId);
    if (meta.cwd === undefined || meta.sessionId !== sessionId) throw invalidSessionFile('Claude Code', query.file, `it holds no message of session ${sessionId}`);
    // Its subagents are beside it wherever it is; its task lists only when it is in this home's projects folder.
    const inHome = dirname(dirname(path)) === join(configDir, 'projects');
    return { sessionId, cwd: meta.cwd, location: await sessionFilesOf(inHome ? configDir : undefined, sessionId, path) };
  }
  const folder = projectDirectory(configDir, query.latestFor);
  const names = await listFiles(folder, (name) => SESSION_FILE_NAME.test(name));
  for (const path of await newestFirst(names.map((name) => join(folder, name)))) {
    const sessionId = SESSION_FILE_NAME.exec(basename(path))![1]!;
    const content = await readFileIfExists(path);
    const meta = content ? readClaudeMeta(content, sessionId) : undefined;
    if (meta && meta.sessionId === sessionId && (await isSameDirectory(meta.cwd, query.latestFor))) {
      return { sessionId, cwd: meta.cwd, location: await sessionFilesOf(configDir, sessionId, path) };
    }
  }
  return undefined;
}

/** Session metadata from the first line that carries it (user and assistant lines all carry cwd and version). */
export function readClaudeMeta(content: Buffer, sessionId: string): SessionMeta {
  let sessionStartedAt: string | undefined;
  for (const line of parseJsonLines(content)) {
    if (!line.ok || !isRecord(line.value)) continue;
    const record = line.value;
    if (sessionStartedAt === undefined && typeof record.timestamp === 'string') sessionStartedAt = record.timestamp;
    if (typeof record.cwd === 'string' && typeof record.sessionId === 'string') {
      return {
        sessionId: record.sessionId,
        sessionStartedAt: sessionStartedAt ?? (typeof record.timestamp === 'string' ? record.timestamp : undefined),
        cwd: record.cwd,
        cliVersion: typeof record.version === 'string' ? record.version : undefined,
      };
    }
  }
  return { sessionId, sessionStartedAt, cwd: undefined, cliVersion: undefined };
}

/** Where a file of the envelope goes, for a resume in `realCwd`; refuses anything that could leave the home. */
export function rehydrationPath(configDir: string, sessionId: string, realCwd: string, key: string): string {
  assertSessionId(sessionId);
  const project = projectDirectory(configDir, realCwd);
  if (key === MAIN_FILE_KEY) return join(project, `${sessionId}.jsonl`);
  const [kind, name, ...rest] = key.split('/');
  if (rest.length === 0 && name !== undefined && SAFE_FILE_NAME.test(name)) {
    if (kind === 'subagents' && (name.endsWith('.jsonl') || name.endsWith('.meta.json'))) return join(project, sessionId, 'subagents', name);
    if (kind === 'tasks' && name.endsWith('.json')) return join(configDir, 'tasks', sessionId, name);
    if (kind === 'todos' && name.startsWith(`${sessionId}-agent-`) && name.endsWith('.json')) return join(configDir, 'todos', name);
  }
  throw new BatonError('TRANSCRIPT_CORRUPT', `the transcript holds a file "${key}" that Claude Code does not keep`, {
    hint: 're-import the conversation from an export made by baton',
  });
}

/**
 * Writes every file of the envelope into the resume cwd's project folder. Like Codex: an identical file or an
 * older copy (a strict prefix) is replaced; a file with content the store does not have is never clobbered.
 * A file with no copy here is streamed from the store; every such file is renamed into place only once all of
 * them have verified, after every local copy was checked.
 */
export async function rehydrateClaudeSession(envelope: Envelope | StoredEnvelope, configDir: string, realCwd: string): Promise<RehydratedTranscript> {
  mainFileReader(envelope);
  const files = fileReaders(envelope).map((file) => ({ file, path: rehydrationPath(configDir, envelope.sessionId, realCwd, file.key) }));
  const plans: Array<{ path: string; write: Buffer | undefined; key: string; keptLocal: boolean }> = [];
  const absent: typeof files = [];
  for (const { file, path } of files) {
    if (!path.startsWith(configDir + sep)) throw new BatonError('TRANSCRIPT_CORRUPT', `refusing to write outside ${configDir}`, { hint: 're-import the conversation' });
    const onDisk = await readFileIfExists(path);
    if (!onDisk) {
      absent.push({ file, path });
      plans.push({ path, write: undefined, key: file.key, keptLocal: false });
      continue;
    }
    const { content } = await file.whole();
    const write = file.key === MAIN_FILE_KEY ? repairInterruptedToolUse(content, realCwd) : content;
    // Task and todo lists are rewritten whole by the CLI: only the session's transcripts are checked for a conflict.
    const isRewrittenWhole = file.key.startsWith('tasks/') || file.key.startsWith('todos/') || file.key.endsWith('.meta.json');
    // The stored bytes decide (the repaired copy only adds what the CLI itself would write on resume).
    const local = compareLocalCopy(onDisk, content);
    if (onDisk.equals(write)) plans.push({ path, write: undefined, key: file.key, keptLocal: false });
    else if (local === 'longer' && !isRewrittenWhole) plans.push({ path, write: undefined, key: file.key, keptLocal: true });
    else if (local === 'different' && !isRewrittenWhole && !isOlderCopy(onDisk, write)) throw localCopyConflict(path, envelope.sessionId, 'CLAUDE_CONFIG_DIR');
    else plans.push({ path, write, key: file.key, keptLocal: false });
  }
  const staged: Array<{ file: StagedFile; path: string }> = [];
  try {
    for (const { file, path } of absent) {
      const repair = file.key === MAIN_FILE_KEY ? { tailBytes: REPAIR_SCAN_BYTES, append: async (read: VerifiedRead) => (await repairAfter(read, file, realCwd)) } : {};
      staged.push({ file: await stageStoredFile(dirname(path), basename(path), file, repair), path });
    }
  } catch (error) {
    for (const { file } of staged) await file.discard();
    throw error;
  }
  for (const { file, path } of staged) await file.commit(path);
  for (const plan of plans) if (plan.write) await writePrivateFileAtomic(plan.path, plan.write, { durable: false });
  return { files: plans.map(({ key, path }) => ({ key, path })), keptLocal: plans.filter((plan) => plan.keptLocal).map((plan) => plan.key) };
}

// ---------------------------------------------------------------------------------------------------------
// A run killed mid-tool leaves an assistant `tool_use` without its `tool_result`; the API refuses such a
// history. The rehydrated copy (never the stored bytes) gets the result line the CLI itself synthesises for a
// session that ended before a call's result was recorded. verified with Claude Code 2.1.332: it repairs such a
// transcript on resume by itself with exactly this text and shape; baton writes it too, so that older CLIs and
// `baton show` see a complete history.

export const INTERRUPTED_TOOL_RESULT =
  "[Tool call interrupted: the session ended before this call's result was recorded, so its outcome is unknown. Check whether it took effect before relying on it or running it again.]";

function contentBlocks(record: Record<string, unknown>): Array<Record<string, unknown>> {
  const message = isRecord(record.message) ? record.message : undefined;
  return Array.isArray(message?.content) ? message.content.filter(isRecord) : [];
}

/**
 * The last lines of a transcript: a run cut off mid-tool leaves its unanswered calls at the end (an earlier one
 * was answered when the CLI itself resumed), so a rehydrate need not parse a 50 MB transcript to find them.
 */
const REPAIR_SCAN_BYTES = 1024 * 1024;

function transcriptTail(content: Buffer): Buffer {
  if (content.length <= REPAIR_SCAN_BYTES) return content;
  const start = content.indexOf(0x0a, content.length - REPAIR_SCAN_BYTES);
  return start === -1 ? content : content.subarray(start + 1);
}

/**
 * The tail's lines that can hold a tool_use or a tool_result block, parsed: a line without the bytes `tool_use`
 * has neither (a block's type is `"tool_use"`, a result's id `"tool_use_id"`; the CLI writes JSON.stringify's output,
 * which never escapes a letter), so the scan skips JSON.parse for the others: most of a 1 MB tail.
 */
function toolLines(tail: Buffer): unknown[] {
  const records: unknown[] = [];
  for (let start = 0; start < tail.length; ) {
    const newline = tail.indexOf(0x0a, start);
    const end = newline === -1 ? tail.length : newline;
    const found = tail.indexOf('tool_use', start);
    if (found !== -1 && found < end) {
      try {
        records.push(JSON.parse(tail.subarray(start, end).toString('utf8')));
      } catch {
        // Not JSON: nothing to repair on this line.
      }
    }
    // A line after which no line holds a match at all: the rest is skipped at once.
    start = found === -1 ? tail.length : found < end ? end + 1 : tail.lastIndexOf(0x0a, found) + 1;
  }
  return records;
}

/** Tool uses that no later line answers with a tool_result, each with the assistant line that holds it. */
export function danglingToolUses(content: Buffer): Array<{ toolUseId: string; assistant: Record<string, unknown> }> {
  return danglingIn(transcriptTail(content));
}

function danglingIn(region: Buffer): Array<{ toolUseId: string; assistant: Record<string, unknown> }> {
  const pending = new Map<string, Record<string, unknown>>();
  for (const value of toolLines(region)) {
    if (!isRecord(value) || value.isSidechain === true) continue;
    const record = value;
    if (record.type === 'assistant') {
      for (const block of contentBlocks(record)) if (block.type === 'tool_use' && typeof block.id === 'string') pending.set(block.id, record);
    } else if (record.type === 'user') {
      for (const block of contentBlocks(record)) if (block.type === 'tool_result' && typeof block.tool_use_id === 'string') pending.delete(block.tool_use_id);
    }
  }
  return [...pending].map(([toolUseId, assistant]) => ({ toolUseId, assistant }));
}

/** A UUID fixed by its inputs, so that repairing the same stored transcript twice writes the same bytes. */
function derivedUuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\0')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Appends, for each unanswered tool_use, the line the CLI itself writes: a user tool_result marked as an error
 * and interrupted, whose parentUuid is the assistant line that made the call (with a wrong parent the CLI drops
 * the call from the model's history). The line is deterministic (uuid derived from the call, timestamp of the
 * call): a rehydrate that is retried before anything was saved (e.g. prepare failed) must find the same bytes
 * on disk, not a "conflict". `cwd` is the resume's, as in the line the CLI writes when it repairs on resume.
 */
export function repairInterruptedToolUse(content: Buffer, cwd?: string): Buffer {
  const suffix = repairSuffix(transcriptTail(content), content, cwd);
  return suffix ? Buffer.concat([content, suffix]) : content;
}

/**
 * The repair of a file read as a stream, from its verified last bytes (`read.tail`, REPAIR_SCAN_BYTES of them):
 * the same bytes repairInterruptedToolUse appends. Where the last line is longer than those bytes, the scan
 * covers the whole file, as repairInterruptedToolUse's does: read whole for it.
 */
async function repairAfter(read: VerifiedRead, file: TranscriptFileReader, cwd: string): Promise<Buffer | undefined> {
  const { tail } = read;
  if (read.byteLength <= REPAIR_SCAN_BYTES) return repairSuffix(tail, tail, cwd);
  const newline = tail.indexOf(0x0a, tail.length - REPAIR_SCAN_BYTES);
  if (newline === -1) {
    const { content } = await file.whole();
    return repairSuffix(content, content, cwd);
  }
  return repairSuffix(tail.subarray(newline + 1), tail, cwd);
}

/** The lines that answer the dangling tool uses of `region` (the end of a transcript that ends with `end`). */
function repairSuffix(region: Buffer, end: Buffer, cwd: string | undefined): Buffer | undefined {
  const dangling = danglingIn(region);
  if (dangling.length === 0) return undefined;
  const lines = dangling.map(({ toolUseId, assistant }) =>
    JSON.stringify({
      parentUuid: typeof assistant.uuid === 'string' ? assistant.uuid : null,
      isSidechain: false,
      userType: 'external',
      cwd: cwd ?? assistant.cwd,
      sessionId: assistant.sessionId,
      version: assistant.version,
      type: 'user',
      message: { role: 'user', content: [{ type: 'tool_result', content: INTERRUPTED_TOOL_RESULT, is_error: true, tool_use_id: toolUseId }] },
      toolUseResult: INTERRUPTED_TOOL_RESULT,
      toolDenialKind: 'interrupted',
      sourceToolAssistantUUID: assistant.uuid,
      uuid: derivedUuid('baton-interrupted-tool-result', String(assistant.sessionId), String(assistant.uuid), toolUseId),
      timestamp: typeof assistant.timestamp === 'string' ? assistant.timestamp : new Date().toISOString(),
    }),
  );
  const separator = end.length > 0 && end[end.length - 1] !== 0x0a ? '\n' : '';
  return Buffer.from(`${separator}${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Display.

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Text the CLI adds to user messages for the model, not typed by the user. */
const SYSTEM_TEXT = /^\s*<(system-reminder|command-name|local-command-stdout|command-message)>/;

function toolResultText(block: Record<string, unknown>): string {
  if (typeof block.content === 'string') return block.content;
  if (Array.isArray(block.content)) return block.content.flatMap((part) => (isRecord(part) && typeof part.text === 'string' ? [part.text] : [])).join('\n');
  return '';
}

/** True for the line of a prompt the user typed: what the view shows as a user item (a turn's start). */
export function isClaudePrompt(record: Record<string, unknown>): boolean {
  if (record.type !== 'user' || record.isSidechain === true || record.isMeta === true || !isRecord(record.message)) return false;
  const content = record.message.content;
  if (typeof content === 'string') return !SYSTEM_TEXT.test(content);
  return contentBlocks(record).some((block) => block.type === 'text' && typeof block.text === 'string' && !SYSTEM_TEXT.test(block.text));
}

export function viewClaudeSession(content: Buffer): TranscriptView {
  const items: ViewItem[] = [];
  let unparsedLines = 0;
  for (const line of parseJsonLines(content)) {
    if (!line.ok) {
      unparsedLines++;
      continue;
    }
    if (!isRecord(line.value) || line.value.isSidechain === true || line.value.isMeta === true) continue;
    const record = line.value;
    const message = isRecord(record.message) ? record.message : undefined;
    if (record.type === 'user' && message) {
      if (typeof message.content === 'string') {
        if (!SYSTEM_TEXT.test(message.content)) items.push({ kind: 'user', text: message.content });
        continue;
      }
      const typed: string[] = [];
      for (const block of contentBlocks(record)) {
        if (block.type === 'tool_result') attachOutput(items, text(block.tool_use_id), toolResultText(block));
        else if (block.type === 'text' && typeof block.text === 'string' && !SYSTEM_TEXT.test(block.text)) typed.push(block.text);
      }
      if (typed.length > 0) items.push({ kind: 'user', text: typed.join('\n') });
    } else if (record.type === 'assistant') {
      for (const block of contentBlocks(record)) {
        if (block.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') items.push({ kind: 'assistant', text: block.text });
        else if (block.type === 'tool_use') {
          const input = isRecord(block.input) ? block.input : {};
          const callId = text(block.id);
          if (block.name === 'Bash' && typeof input.command === 'string') items.push({ kind: 'command', callId, command: input.command, output: undefined, exitCode: undefined });
          else if (block.name === 'Edit' && typeof input.file_path === 'string' && typeof input.old_string === 'string' && typeof input.new_string === 'string') items.push(textEdit(callId, input.file_path, input.old_string, input.new_string));
          else if (block.name === 'Write' && typeof input.file_path === 'string' && typeof input.content === 'string') items.push(textEdit(callId, input.file_path, '', input.content));
          else if (block.name === 'MultiEdit' && typeof input.file_path === 'string' && Array.isArray(input.edits)) {
            const edits = input.edits.filter((edit): edit is { old_string: string; new_string: string } => isRecord(edit) && typeof edit.old_string === 'string' && typeof edit.new_string === 'string');
            const parts = edits.map((edit) => textEdit(callId, input.file_path as string, edit.old_string, edit.new_string));
            items.push({ kind: 'edit', callId, paths: [input.file_path], diff: parts.map((part) => part.diff).join('\n'), output: undefined });
          } else items.push({ kind: 'tool', callId, name: text(block.name) ?? 'tool', input: JSON.stringify(input), output: undefined });
        }
      }
    }
  }
  return { items, unparsedLines };
}

/** A fresh session id for a new conversation: baton chooses it and passes it with --session-id. */
export function newClaudeSessionId(): string {
  return randomUUID();
}
