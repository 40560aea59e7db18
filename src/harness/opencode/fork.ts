/**
 * An OpenCode session cut after a turn, for a fork. The stored form is baton's log of `opencode export`
 * (log.ts): the cut folds it to the export document, keeps the messages before the one that holds the next
 * prompt, and writes the log of that document. OpenCode's database keys messages and parts by their own ids and
 * import never overwrites a row that exists (transcript.ts), so the fork gets fresh ids for its session, messages
 * and parts, each in the same shape (prefix, the original's time part, new random characters: the order by id is
 * kept), with every reference (`sessionID`, `messageID`, `parentID`) renamed alike. verified with opencode 1.18.33:
 * `opencode import` of such a document next to the original gives two sessions, and `opencode run -s FORK`
 * resumes with the turns kept only.
 */
import { randomBytes } from 'node:crypto';
import { BatonError } from '../../errors.js';
import { MAIN_FILE_KEY, transcriptFile, type TranscriptFile } from '../../transcript/envelope.js';
import { promptsInTurns, type ForkCut } from '../../transcript/fork-cut.js';
import { isRecord } from '../../transcript/jsonl.js';
import type { ForkedSession, ForkSessionIds } from '../harness.js';
import { exportToLog, foldLog, parseExport } from './log.js';
import { viewOpencodeSession } from './transcript.js';

type Json = Record<string, unknown>;

/** The part a view shows as a prompt (see viewOpencodeSession). */
function isPromptPart(role: unknown, part: Json): boolean {
  return role === 'user' && part.type === 'text' && typeof part.text === 'string' && part.synthetic !== true && part.ignored !== true && part.text.trim() !== '';
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `msg_<12 time characters><random>` → the same prefix and time part, new random characters. */
function freshId(id: string): string {
  const match = /^([a-z]+_)([0-9a-f]{12})(.*)$/.exec(id);
  const random = (length: number): string => [...randomBytes(length)].map((byte) => BASE62[byte % 62]).join('');
  return match ? `${match[1]}${match[2]}${random(Math.max(match[3]!.length, 8))}` : `${id.split('_')[0]}_${random(26)}`;
}

/** Every string equal to a renamed id, renamed; the rest as it is. */
function renamed(value: unknown, names: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return names.get(value) ?? value;
  if (Array.isArray(value)) return value.map((item) => renamed(item, names));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renamed(item, names)]));
  return value;
}

export function forkOpencodeSession(files: TranscriptFile[], cut: ForkCut, ids: ForkSessionIds): ForkedSession {
  const main = files.find((file) => file.key === MAIN_FILE_KEY);
  if (!main) return { files: [], sessionId: ids.fork };
  const document = parseExport(foldLog(main.content));
  if (!document) {
    throw new BatonError('TRANSCRIPT_CORRUPT', 'the stored OpenCode session is not a session document baton can cut', { hint: 'fork it at its last turn with `baton fork ID`, or re-import it' });
  }
  const keep = promptsInTurns(viewOpencodeSession(main.content), cut.turns);
  let prompts = 0;
  let end = document.messages.length;
  for (let index = 0; index < document.messages.length && end === document.messages.length; index++) {
    const message = document.messages[index]!;
    for (const part of message.parts) {
      if (!isPromptPart(message.info.role, part)) continue;
      prompts++;
      if (prompts === keep + 1) {
        end = index;
        break;
      }
    }
  }
  const messages = document.messages.slice(0, end);
  const names = new Map<string, string>([[ids.original, ids.fork]]);
  for (const message of messages) {
    names.set(String(message.info.id), freshId(String(message.info.id)));
    for (const part of message.parts) names.set(String(part.id), freshId(String(part.id)));
  }
  const forked = { info: renamed(document.info, names), messages: messages.map((message) => renamed(message, names)) };
  const log = exportToLog(`${JSON.stringify(forked, null, 2)}\n`);
  return { files: [transcriptFile(MAIN_FILE_KEY, log)], sessionId: ids.fork };
}
