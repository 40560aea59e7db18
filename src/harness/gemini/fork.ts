/**
 * A Gemini CLI session cut after a turn, for a fork. The file is a log the CLI folds when it loads it (messages by
 * id, `$set` replacing the list, `$rewindTo`; see transcript.ts), so the cut is the longest prefix of lines whose
 * fold holds the prompts kept and not the next one: the stored bytes up to that line, unchanged. verified with
 * gemini 0.61.0: such a prefix resumes with `--resume <id>` and the model request carries the turns kept only.
 * The session id is in the metadata line and `$set` records (`sessionId`) and, by its first 8 characters, in the
 * file name, which rehydrate derives from the envelope's session id.
 */
import { MAIN_FILE_KEY, transcriptFile, type TranscriptFile } from '../../transcript/envelope.js';
import { joinLines, promptsInTurns, rawLines, replaceSessionId, type ForkCut } from '../../transcript/fork-cut.js';
import type { ForkedSession, ForkSessionIds } from '../harness.js';
import { applyGeminiRecord, isGeminiPrompt, viewGeminiSession, type GeminiSession } from './transcript.js';

export function cutGeminiSession(content: Buffer, cut: ForkCut): Buffer {
  const keep = promptsInTurns(viewGeminiSession(content), cut.turns);
  const lines = rawLines(content);
  const session: GeminiSession = { meta: undefined, messages: [], unparsedLines: 0 };
  for (let index = 0; index < lines.length; index++) {
    applyGeminiRecord(session, lines[index]!.record);
    if (session.messages.filter(isGeminiPrompt).length > keep) return joinLines(content, lines.slice(0, index));
  }
  return content;
}

export function forkGeminiSession(files: TranscriptFile[], cut: ForkCut, ids: ForkSessionIds): ForkedSession {
  const forked = files
    .filter((file) => file.key === MAIN_FILE_KEY)
    .map((file) => transcriptFile(file.key, replaceSessionId(cutGeminiSession(file.content, cut), ids.original, ids.fork)));
  return { files: forked, sessionId: ids.fork };
}
