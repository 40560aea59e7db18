/**
 * A Codex rollout cut after a turn, for a fork. verified with codex 0.171: a turn's lines run from its
 * `event_msg` `task_started` (a resumed run first writes `thread_settings_applied` events) to its `task_complete`;
 * a rollout cut right after a `task_complete` resumes with `codex exec resume <uuid>`, and the model request
 * carries the turns kept and nothing after. The session id is in `session_meta` (`id`, `session_id`), in every
 * event's `thread_id`, and in the file name, which rehydrate derives from the envelope's session id.
 */
import { randomBytes } from 'node:crypto';
import { MAIN_FILE_KEY, transcriptFile, type TranscriptFile } from '../../transcript/envelope.js';
import { joinLines, promptsInTurns, rawLines, replaceSessionId, type ForkCut, type RawLine } from '../../transcript/fork-cut.js';
import type { ForkedSession, ForkSessionIds } from '../harness.js';
import { isRolloutPrompt, viewRollout } from './transcript.js';

function eventType(line: RawLine): string | undefined {
  const payload = line.record?.payload;
  return line.record?.type === 'event_msg' && typeof payload === 'object' && payload !== null ? String((payload as Record<string, unknown>).type) : undefined;
}

/** The index of the first line of the turn whose prompt is line `prompt` (never before `floor`). */
function turnStart(lines: readonly RawLine[], prompt: number, floor: number): number {
  let start = prompt;
  for (let index = prompt - 1; index > floor; index--) {
    if (eventType(lines[index]!) === 'task_started') {
      start = index;
      break;
    }
    if (eventType(lines[index]!) === 'task_complete') break;
  }
  // Settings a resumed run applies before its turn belong to that run, not to the turn before.
  while (start - 1 > floor && eventType(lines[start - 1]!) === 'thread_settings_applied') start--;
  return start;
}

export function cutRollout(content: Buffer, cut: ForkCut): Buffer {
  const keep = promptsInTurns(viewRollout(content), cut.turns);
  const lines = rawLines(content);
  let prompts = 0;
  let previousPrompt = 0;
  for (let index = 0; index < lines.length; index++) {
    const record = lines[index]!.record;
    if (!record || !isRolloutPrompt(record)) continue;
    prompts++;
    if (prompts === keep + 1) return joinLines(content, lines.slice(0, turnStart(lines, index, previousPrompt)));
    previousPrompt = index;
  }
  return content;
}

export function forkRollout(files: TranscriptFile[], cut: ForkCut, ids: ForkSessionIds): ForkedSession {
  const forked = files
    .filter((file) => file.key === MAIN_FILE_KEY)
    .map((file) => transcriptFile(file.key, replaceSessionId(cutRollout(file.content, cut), ids.original, ids.fork)));
  return { files: forked, sessionId: ids.fork };
}

/** A UUID version 7 (time-ordered), the shape of the thread ids Codex makes itself. */
export function newCodexThreadId(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
