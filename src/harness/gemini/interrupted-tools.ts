/**
 * Tool calls a killed Gemini CLI never wrote down. verified with gemini 0.61.0: a reply's record gets its
 * `toolCalls` only once every call completes (until then it is `{"type":"gemini","content":""}`), so a CLI killed
 * while its tool ran leaves a session in which the model never asked for it, and a resume would carry on as if
 * nothing ran. baton knows the call from the CLI's own stream (`tool_use`), and after the CLI has exited — nothing
 * else writes the file then — records it in the CLI's own format, answered as cut off, before the final save.
 * A record with the reply's id supersedes the earlier one (the CLI's own last-wins rule).
 */
import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { MAIN_FILE_KEY } from '../../transcript/envelope.js';
import type { TranscriptLocation, UnfinishedToolCall } from '../harness.js';
import { readGeminiSession } from './transcript.js';

/** What the model is told about a call whose result nobody saw (the result of the resumed run's history). */
export const INTERRUPTED_TOOL_TEXT = '[baton] the CLI was stopped while this tool ran; its result is unknown';

const SHELL_TOOL = 'run_shell_command';

export async function recordUnfinishedGeminiTools(location: TranscriptLocation, calls: UnfinishedToolCall[]): Promise<void> {
  const main = location.files.find((file) => file.key === MAIN_FILE_KEY);
  if (!main || calls.length === 0) return;
  const content = await readFile(main.path);
  const { messages } = readGeminiSession(content);
  const last = messages.at(-1);
  // The reply the calls belong to: the CLI's empty record for it, else a new one after the prompt.
  const reply = last?.type === 'gemini' && !Array.isArray(last.toolCalls) ? last : { id: randomUUID(), type: 'gemini', content: '' };
  const timestamp = new Date().toISOString();
  const toolCalls = calls.map((call, index) => {
    const id = `${SHELL_TOOL}__baton_interrupted_${Date.now()}_${index}`;
    return {
      id,
      name: SHELL_TOOL,
      args: { command: call.command },
      result: [{ functionResponse: { id, name: SHELL_TOOL, response: { error: INTERRUPTED_TOOL_TEXT } } }],
      status: 'cancelled',
      timestamp,
      resultDisplay: INTERRUPTED_TOOL_TEXT,
      displayName: 'Shell',
      description: call.command,
      renderOutputAsMarkdown: false,
    };
  });
  const separator = content.length > 0 && content[content.length - 1] !== 0x0a ? '\n' : '';
  await appendFile(main.path, `${separator}${JSON.stringify({ ...reply, timestamp: reply.timestamp ?? timestamp, toolCalls })}\n`, { mode: 0o600 });
}
