/**
 * The script `baton demo` plays: it shows a tool call on the first prompt and, on a follow-up,
 * that the model really sees the earlier turns. Every reply is chosen from the request's content,
 * never from a counter, so a conversation resumed against a different server (another machine)
 * gets the right answer.
 */
import type { Script } from './scripted-reply.js';

/** The file the demo's first command writes on machine A, which travels with the conversation's workspace. */
export const DEMO_FILE = 'baton-demo.txt';
/** The shell command the demo model asks the agent to run on a first prompt: it prints a line and keeps it in {@link DEMO_FILE}. */
// verified with gemini 0.61.0: its shell tool refuses command substitution (`$(…)`, backticks); a variable is fine.
export const DEMO_COMMAND = `echo "hello from the baton demo, running in $PWD" | tee ${DEMO_FILE}`;
/** What the model asks machine B's agent to run on the follow-up: read the file that came with the workspace. */
export const DEMO_READ_COMMAND = `cat ${DEMO_FILE}`;

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
 * - a new conversation → ask the agent to run {@link DEMO_COMMAND}; its result → quote what it printed;
 * - a follow-up (the conversation has earlier prompts: a resume) → ask the agent to read {@link DEMO_FILE};
 * - that result → the proof: the first prompt and the first command's output, both from the conversation's history
 *   (the transcript that came from machine A), and the file's content as read here (the workspace that came with it),
 *   each said where it came from.
 */
export const demoScript: Script = (request) => {
  const [firstPrompt] = request.userPrompts;
  const earlierPrompts = request.userPrompts.length - 1;
  const followUp = firstPrompt !== undefined && earlierPrompts > 0;
  if (!followUp) {
    if (request.lastIsToolOutput) {
      return {
        kind: 'text',
        text: `The command printed: ${quote(commandOutput(request.toolOutput ?? ''))} and kept it in ${DEMO_FILE}. Send a follow-up and I will remember this conversation.`,
      };
    }
    return { kind: 'shell', command: DEMO_COMMAND };
  }
  if (!request.lastIsToolOutput) return { kind: 'shell', command: DEMO_READ_COMMAND };
  const [earlierOutput] = request.toolOutputs;
  return {
    kind: 'text',
    text: [
      `I remember this conversation: it began with ${quote(firstPrompt)}, I can see ${earlierPrompts} earlier prompt${earlierPrompts === 1 ? '' : 's'}, and you now asked ${quote(request.prompt ?? '')}.`,
      `The first command printed ${quote(commandOutput(earlierOutput ?? ''))} (from the conversation's history, saved on the first machine).`,
      `${DEMO_FILE} here holds ${quote(commandOutput(request.toolOutput ?? ''))} (from the workspace that came with the conversation).`,
    ].join('\n'),
  };
};
