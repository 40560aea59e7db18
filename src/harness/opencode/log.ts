/**
 * OpenCode's session, as baton stores it: a JSONL log derived losslessly from `opencode export`.
 *
 * verified with opencode 1.18.33: `opencode export ID` prints `JSON.stringify({info, messages: [{info, parts}]},
 * null, 2)` and a newline, deterministically (the same bytes for the same session), and `opencode import FILE`
 * accepts exactly that document. But the document changes in the middle as the session grows (a part is updated in
 * place while a turn runs; a new message goes before the closing brackets), so storing it raw would make every
 * save a full new version. The log keeps one line per record instead:
 *
 *   {"type":"session","data":<info>}          first line; again whenever the session info changes
 *   {"type":"message","data":<message info>}  once per message, again whenever it changes
 *   {"type":"part","data":<part>}             once per part, again whenever it changes
 *
 * The last line for an id wins. Messages keep the order of their first line, parts the order of theirs within
 * their message (`data.messageID`), which is the export's own order (messages by creation, parts by id, both
 * ascending in creation order). Folding the log gives the export byte for byte; every append is checked by
 * folding it, and a log that cannot reproduce the export (a record was deleted, e.g. by a revert, or the order
 * changed) is written anew, which the saver stores as a full new version. A document this scheme cannot carry at
 * all is kept whole in one `{"type":"export","text":…}` line, so nothing is ever lost.
 */
import { BatonError } from '../../errors.js';
import { isRecord } from '../../transcript/jsonl.js';

type Json = Record<string, unknown>;

/** What a log describes: the session, its messages and their parts, each as the exact JSON text of its line. */
interface LogState {
  session: string | undefined;
  sessionData: Json | undefined;
  messages: Map<string, { data: Json; line: string }>;
  parts: Map<string, { data: Json; line: string; messageId: string }>;
  /** A whole document carried verbatim (the fallback). */
  verbatim: string | undefined;
  /** Lines that were not records of this log (counted for the view, never dropped from the stored bytes). */
  unparsed: number;
}

function emptyState(): LogState {
  return { session: undefined, sessionData: undefined, messages: new Map(), parts: new Map(), verbatim: undefined, unparsed: 0 };
}

const NEWLINE = 0x0a;

function corrupt(reason: string): BatonError {
  return new BatonError('TRANSCRIPT_CORRUPT', `the stored OpenCode session log is damaged: ${reason}`, {
    hint: 're-import the conversation from an export made by baton',
  });
}

function sessionLine(data: Json): string {
  return JSON.stringify({ type: 'session', data });
}
function messageLine(data: Json): string {
  return JSON.stringify({ type: 'message', data });
}
function partLine(data: Json): string {
  return JSON.stringify({ type: 'part', data });
}

/**
 * Reads a log; a line that is not one of its records is counted, a record without an id is damage. `lines: false`
 * (a fold, a view) skips re-serialising every record for the `line` texts that only comparisons read: a third of a
 * fold's time.
 */
function readLog(log: Buffer, options: { lines: boolean } = { lines: true }): LogState {
  const state = emptyState();
  let start = 0;
  while (start < log.length) {
    let end = log.indexOf(NEWLINE, start);
    if (end === -1) end = log.length;
    const text = log.subarray(start, end).toString('utf8');
    start = end + 1;
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      state.unparsed++;
      continue;
    }
    if (!isRecord(record)) {
      state.unparsed++;
      continue;
    }
    apply(state, record, options.lines);
  }
  return state;
}

function apply(state: LogState, record: Json, lines = true): void {
  if (record.type === 'export' && typeof record.text === 'string') {
    state.verbatim = record.text;
    return;
  }
  const data = record.data;
  if (!isRecord(data) || typeof data.id !== 'string') {
    state.unparsed++;
    return;
  }
  switch (record.type) {
    case 'session':
      state.session = lines ? JSON.stringify(data) : '';
      state.sessionData = data;
      return;
    case 'message': {
      const line = lines ? JSON.stringify(data) : '';
      const known = state.messages.get(data.id);
      if (known) Object.assign(known, { data, line });
      else state.messages.set(data.id, { data, line });
      return;
    }
    case 'part': {
      if (typeof data.messageID !== 'string') throw corrupt(`part ${data.id} names no message`);
      const line = lines ? JSON.stringify(data) : '';
      const known = state.parts.get(data.id);
      if (known) Object.assign(known, { data, line, messageId: data.messageID });
      else state.parts.set(data.id, { data, line, messageId: data.messageID });
      return;
    }
    default:
      state.unparsed++;
  }
}

/** The export document a log describes, byte for byte as `opencode export` printed it. */
export function foldLog(log: Buffer): string {
  return foldState(readLog(log, { lines: false }));
}

function foldState(state: LogState): string {
  if (state.verbatim !== undefined) return state.verbatim;
  if (!state.sessionData) throw corrupt('it has no session line');
  const partsOf = new Map<string, Json[]>();
  for (const part of state.parts.values()) {
    const list = partsOf.get(part.messageId);
    if (list) list.push(part.data);
    else partsOf.set(part.messageId, [part.data]);
  }
  for (const messageId of partsOf.keys()) if (!state.messages.has(messageId)) throw corrupt(`parts of message ${messageId}, which it lacks`);
  const messages = [...state.messages.entries()].map(([id, message]) => ({ info: message.data, parts: partsOf.get(id) ?? [] }));
  return `${JSON.stringify({ info: state.sessionData, messages }, null, 2)}\n`;
}

interface ExportDocument {
  info: Json;
  messages: Array<{ info: Json; parts: Json[] }>;
}

/** The export as records; undefined when it is not the shape this log can carry (it is then kept verbatim). */
export function parseExport(exportText: string): ExportDocument | undefined {
  let document: unknown;
  try {
    document = JSON.parse(exportText);
  } catch {
    return undefined;
  }
  if (!isRecord(document) || !isRecord(document.info) || typeof document.info.id !== 'string' || !Array.isArray(document.messages)) return undefined;
  const messages: ExportDocument['messages'] = [];
  for (const message of document.messages) {
    if (!isRecord(message) || !isRecord(message.info) || typeof message.info.id !== 'string' || !Array.isArray(message.parts)) return undefined;
    const parts: Json[] = [];
    for (const part of message.parts) {
      if (!isRecord(part) || typeof part.id !== 'string' || part.messageID !== message.info.id) return undefined;
      parts.push(part);
    }
    messages.push({ info: message.info, parts });
  }
  return { info: document.info, messages };
}

/** A complete log of one export (a first save, or a log written anew). */
export function exportToLog(exportText: string): Buffer {
  const document = parseExport(exportText);
  if (document) {
    const lines = [sessionLine(document.info)];
    for (const message of document.messages) {
      lines.push(messageLine(message.info));
      for (const part of message.parts) lines.push(partLine(part));
    }
    const log = Buffer.from(`${lines.join('\n')}\n`);
    if (foldLog(log) === exportText) return log;
  }
  return Buffer.from(`${JSON.stringify({ type: 'export', text: exportText })}\n`);
}

export interface LogUpdate {
  /** The log after the update. */
  log: Buffer;
  /** How it relates to the log before: unchanged, extended by new lines, or written anew. */
  change: 'none' | 'appended' | 'rewritten';
  /** The lines appended (when `change` is "appended"). */
  appended: Buffer;
}

/**
 * The log brought up to date with a newer export: the lines of every record that is new or changed, appended in
 * the export's order; written anew when appending cannot reproduce the export.
 */
export function updateLog(log: Buffer | undefined, exportText: string): LogUpdate {
  if (!log || log.length === 0) return { log: exportToLog(exportText), change: 'rewritten', appended: Buffer.alloc(0) };
  let state: LogState;
  try {
    state = readLog(log);
  } catch {
    return { log: exportToLog(exportText), change: 'rewritten', appended: Buffer.alloc(0) };
  }
  const document = parseExport(exportText);
  if (!document || state.verbatim !== undefined || state.unparsed > 0) {
    const fresh = exportToLog(exportText);
    return fresh.equals(log) ? { log, change: 'none', appended: Buffer.alloc(0) } : { log: fresh, change: 'rewritten', appended: Buffer.alloc(0) };
  }
  const lines: string[] = [];
  if (JSON.stringify(document.info) !== state.session) lines.push(sessionLine(document.info));
  for (const message of document.messages) {
    if (state.messages.get(message.info.id as string)?.line !== JSON.stringify(message.info)) lines.push(messageLine(message.info));
    for (const part of message.parts) if (state.parts.get(part.id as string)?.line !== JSON.stringify(part)) lines.push(partLine(part));
  }
  if (lines.length === 0 && foldState(state) === exportText) return { log, change: 'none', appended: Buffer.alloc(0) };
  const separator = log[log.length - 1] === NEWLINE ? '' : '\n';
  const appended = Buffer.from(`${separator}${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`);
  const extended = Buffer.concat([log, appended]);
  if (lines.length > 0 && foldLog(extended) === exportText) return { log: extended, change: 'appended', appended };
  return { log: exportToLog(exportText), change: 'rewritten', appended: Buffer.alloc(0) };
}

/**
 * Whether the log `local` folds to the state of the stored log after one of its lines (before its last): the
 * local copy is an older state of the stored session. Linear: the mismatching records are counted as the stored
 * log is replayed line by line.
 */
export function isEarlierStateOf(local: Buffer, stored: Buffer): boolean {
  let target: LogState;
  try {
    target = readLog(local);
  } catch {
    return false;
  }
  if (target.verbatim !== undefined || !target.session) return false;
  const want = new Map<string, string>([[`s`, target.session]]);
  for (const [id, message] of target.messages) want.set(`m:${id}`, message.line);
  for (const [id, part] of target.parts) want.set(`p:${id}`, `${part.messageId}\n${part.line}`);
  const have = new Map<string, string>();
  let mismatches = want.size;
  const lines = stored.toString('utf8').split('\n').filter((line) => line.trim() !== '');
  for (let index = 0; index < lines.length - 1; index++) {
    let record: unknown;
    try {
      record = JSON.parse(lines[index]!);
    } catch {
      return false;
    }
    if (!isRecord(record) || !isRecord(record.data) || typeof record.data.id !== 'string') return false;
    const key = record.type === 'session' ? 's' : record.type === 'message' ? `m:${record.data.id}` : record.type === 'part' ? `p:${record.data.id}` : undefined;
    if (key === undefined) return false;
    const value = record.type === 'part' ? `${String(record.data.messageID)}\n${JSON.stringify(record.data)}` : JSON.stringify(record.data);
    const before = have.get(key);
    const wanted = want.get(key);
    if (wanted === undefined) {
      if (before === undefined) mismatches++; // a record the local copy lacks (counted once)
    } else if (before === wanted && value !== wanted) mismatches++;
    else if (before !== wanted && value === wanted) mismatches--;
    have.set(key, value);
    if (mismatches === 0) return true;
  }
  return false;
}

/** The session info of a log (its newest session line), or undefined. */
export function sessionInfoOf(log: Buffer): { first: Json | undefined; last: Json | undefined } {
  let first: Json | undefined;
  let last: Json | undefined;
  // Only session lines are read: found with indexOf in the bytes, not by decoding and splitting all 50 MB.
  const marker = Buffer.from('{"type":"session"');
  for (let start = 0; start < log.length; ) {
    const found = log.indexOf(marker, start);
    if (found === -1) break;
    const newline = log.indexOf(0x0a, found);
    const end = newline === -1 ? log.length : newline;
    start = end + 1;
    if (found !== 0 && log[found - 1] !== 0x0a) continue; // inside a line, not at its start
    const text = log.subarray(found, end).toString('utf8');
    try {
      const record: unknown = JSON.parse(text);
      if (isRecord(record) && isRecord(record.data)) {
        first ??= record.data;
        last = record.data;
      }
    } catch {
      // counted by the view
    }
  }
  return { first, last };
}

/** The messages of a log with their parts, in order, and how many lines were not records. */
export function logMessages(log: Buffer): { messages: Array<{ info: Json; parts: Json[] }>; unparsed: number } {
  let state: LogState;
  try {
    state = readLog(log, { lines: false });
  } catch {
    return { messages: [], unparsed: 1 };
  }
  if (state.verbatim !== undefined) return { messages: parseExport(state.verbatim)?.messages ?? [], unparsed: state.unparsed };
  const partsOf = new Map<string, Json[]>();
  for (const part of state.parts.values()) {
    const list = partsOf.get(part.messageId);
    if (list) list.push(part.data);
    else partsOf.set(part.messageId, [part.data]);
  }
  return { messages: [...state.messages.entries()].map(([id, message]) => ({ info: message.data, parts: partsOf.get(id) ?? [] })), unparsed: state.unparsed };
}
