/**
 * The script `baton demo` plays: it shows a tool call on the first prompt and, on a follow-up,
 * that the model really sees the earlier turns. Every reply is chosen from the request's content,
 * never from a counter, so a conversation resumed against a different server (another machine)
 * gets the right answer.
 */
import type { Script } from './scripted-reply.js';

/** The shell command the demo model asks the agent to run on a first prompt. */
// verified with gemini 0.61.0: its shell tool refuses command substitution (`$(…)`, backticks); a variable is fine.
export const DEMO_COMMAND = 'echo "hello from the baton demo, running in $PWD"';

/**
 * The command's own output inside a tool result. Codex wraps it in a header
 * (`Chunk ID: …\nWall time: …\nProcess exited with code 0\n…\nOutput:\n<output>`);
 * Claude Code sends the output as it is.
 */
export function commandOutput(toolOutput: string): string {
  const marker = '\nOutput:\n';
  const start = toolOutput.indexOf(marker);
  return (start === -1 ? toolOutput : toolOutput.slice(start + marker.length)).trim();
}

function quote(text: string, maxLength = 200): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return `"${oneLine.length > maxLength ? `${oneLine.slice(0, maxLength - 1)}…` : oneLine}"`;
}

/**
 * - the last input is a tool result → summarise the command's output;
 * - the conversation already has earlier prompts (a follow-up or a resume) → quote the first
 *   prompt from the history, proving the earlier turns reached the model;
 * - otherwise (a new conversation) → ask the agent to run {@link DEMO_COMMAND}.
 */
export const demoScript: Script = (request) => {
  if (request.lastIsToolOutput) {
    return {
      kind: 'text',
      text: `The command printed: ${quote(commandOutput(request.toolOutput ?? ''))}. Send a follow-up and I will remember this conversation.`,
    };
  }
  const [firstPrompt] = request.userPrompts;
  const earlierPrompts = request.userPrompts.length - 1;
  if (firstPrompt !== undefined && earlierPrompts > 0) {
    return {
      kind: 'text',
      text:
        `I remember this conversation: it began with ${quote(firstPrompt)} and I can see ` +
        `${earlierPrompts} earlier prompt${earlierPrompts === 1 ? '' : 's'}. You now asked ${quote(request.prompt ?? '')}.`,
    };
  }
  return { kind: 'shell', command: DEMO_COMMAND };
};
