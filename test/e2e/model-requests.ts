/**
 * What a model was sent, in one shape for both APIs, so one contract test can assert on Codex's Responses API
 * requests and Claude Code's Messages API requests alike.
 */
import type { RecordedRequest } from '../../src/testing/scripted-model-server.js';

export type Turn =
  | { kind: 'user'; text: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'tool_call'; text: string }
  | { kind: 'tool_output'; text: string };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: any) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

export function conversationOf(request: RecordedRequest): Turn[] {
  const body = request.body ?? {};
  if (request.api === 'openai-responses') {
    const input: any[] = Array.isArray(body.input) ? body.input : [];
    return input.flatMap((item): Turn[] => {
      // OpenCode's Responses client (the AI SDK) sends messages as {role, content} without a type.
      const isMessage = item.type === 'message' || (item.type === undefined && typeof item.role === 'string');
      if (isMessage && item.role === 'user') return [{ kind: 'user', text: textOf(item.content) }];
      if (isMessage && item.role === 'assistant') return [{ kind: 'assistant', text: textOf(item.content) }];
      if (item.type === 'function_call') return [{ kind: 'tool_call', text: String(item.arguments ?? '') }];
      if (item.type === 'function_call_output') return [{ kind: 'tool_output', text: typeof item.output === 'string' ? item.output : JSON.stringify(item.output) }];
      return [];
    });
  }
  if (request.api === 'gemini-generate-content') {
    // Each typed part is a turn of its own (the CLI merges consecutive user prompts into one content); a model
    // content's text parts are one reply, streamed in chunks.
    const contents: any[] = Array.isArray(body.contents) ? body.contents : [];
    return contents.flatMap((content): Turn[] => {
      const parts: any[] = Array.isArray(content.parts) ? content.parts : [];
      const turns: Turn[] = [];
      let reply = '';
      for (const part of parts) {
        if (typeof part.text === 'string' && part.thought !== true) {
          if (content.role === 'model') reply += part.text;
          else if (!/^\s*<(session_context|hook_context)>/.test(part.text)) turns.push({ kind: 'user', text: part.text });
        } else if (part.functionCall) turns.push({ kind: 'tool_call', text: JSON.stringify(part.functionCall.args) });
        else if (part.functionResponse) turns.push({ kind: 'tool_output', text: typeof part.functionResponse.response?.output === 'string' ? part.functionResponse.response.output : JSON.stringify(part.functionResponse.response) });
      }
      return reply !== '' ? [{ kind: 'assistant', text: reply }, ...turns] : turns;
    });
  }
  const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
  return messages.flatMap((message): Turn[] => {
    if (message.role !== 'user' && message.role !== 'assistant') return [];
    if (typeof message.content === 'string') return [{ kind: message.role, text: message.content }];
    const blocks: any[] = Array.isArray(message.content) ? message.content : [];
    return blocks.flatMap((block): Turn[] => {
      if (block.type === 'text') return [{ kind: message.role, text: block.text }];
      if (block.type === 'tool_use') return [{ kind: 'tool_call', text: JSON.stringify(block.input) }];
      if (block.type === 'tool_result') return [{ kind: 'tool_output', text: textOf(block.content) }];
      return [];
    });
  });
}

/** The last prompt the user typed in a request (Claude's system reminders are separate text blocks). */
export function lastUserText(request: RecordedRequest): string | undefined {
  return conversationOf(request).filter((turn) => turn.kind === 'user').at(-1)?.text;
}
