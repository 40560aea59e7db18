/**
 * A Claude Code session cut after a turn, for a fork. `--resume` rebuilds the conversation from the last message
 * line back along `parentUuid`, so a prefix of the file that ends with a turn's last line is a session of its own
 * (verified with Claude Code 2.1.332: such a prefix under a new session id resumes with `--resume <id>`, beside the
 * original in the same home, and the model request carries the turns kept only); lines that point past the cut (a
 * `last-prompt` or `summary`'s `leafUuid`, a `file-history-snapshot`'s `messageId`) are dropped with it. A turn starts with the
 * `queue-operation` lines of its prompt, then the prompt's `user` line. The session id is in every line's
 * `sessionId` and in the paths of the main file, of subagent transcripts and of task lists (all derived from the
 * envelope's session id on rehydrate) and in the keys of old-style todo files (`todos/<id>-agent-*.json`).
 */
import { MAIN_FILE_KEY, transcriptFile, type TranscriptFile } from '../../transcript/envelope.js';
import { joinLines, promptsInTurns, rawLines, replaceSessionId, type ForkCut } from '../../transcript/fork-cut.js';
import type { ForkedSession, ForkSessionIds } from '../harness.js';
import { isClaudePrompt, viewClaudeSession } from './transcript.js';

/** Fields through which a line names another line. */
function references(record: Record<string, unknown>): string[] {
  const named = [record.leafUuid, record.type === 'file-history-snapshot' ? record.messageId : undefined];
  return named.filter((value): value is string => typeof value === 'string');
}

export function cutClaudeSession(content: Buffer, cut: ForkCut): Buffer {
  const keep = promptsInTurns(viewClaudeSession(content), cut.turns);
  const lines = rawLines(content);
  let prompts = 0;
  let end = lines.length;
  for (let index = 0; index < lines.length; index++) {
    const record = lines[index]!.record;
    if (!record || !isClaudePrompt(record)) continue;
    prompts++;
    if (prompts === keep + 1) {
      end = index;
      while (end > 0 && lines[end - 1]!.record?.type === 'queue-operation') end--;
      break;
    }
  }
  if (end === lines.length) return content;
  const uuidOf = (record: Record<string, unknown> | undefined): string | undefined => (typeof record?.uuid === 'string' ? record.uuid : undefined);
  const dropped = new Set(lines.slice(end).flatMap((line) => [uuidOf(line.record)].filter((uuid): uuid is string => uuid !== undefined)));
  const kept = lines.slice(0, end).filter((line) => !line.record || !references(line.record).some((uuid) => dropped.has(uuid)));
  return joinLines(content, kept);
}

function renameKey(key: string, ids: ForkSessionIds): string {
  const todo = /^todos\/(.*)$/.exec(key);
  return todo && todo[1]!.startsWith(`${ids.original}-agent-`) ? `todos/${ids.fork}${todo[1]!.slice(ids.original.length)}` : key;
}

/** Subagent transcripts and task lists go with the fork whole: the CLI reads them only for a subagent it resumes. */
export function forkClaudeSession(files: TranscriptFile[], cut: ForkCut, ids: ForkSessionIds): ForkedSession {
  const forked = files.map((file) => {
    const content = file.key === MAIN_FILE_KEY ? cutClaudeSession(file.content, cut) : file.content;
    return transcriptFile(renameKey(file.key, ids), replaceSessionId(content, ids.original, ids.fork));
  });
  return { files: forked, sessionId: ids.fork };
}
