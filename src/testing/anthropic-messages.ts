/**
 * The Anthropic Messages API side of the scripted model server: how a Claude Code request is
 * read into a {@link ModelRequestView} and how a {@link ScriptedReply} is written back, either as
 * a server-sent event stream or as one JSON message for non-streaming calls.
 */
import { DEFAULT_SCRIPTED_USAGE, type ModelRequestView, type ScriptedReply, type ScriptedUsage } from './scripted-reply.js';
import { contentText, estimateTokens, isRecord, sseFrame, type JsonObject } from './wire.js';

/** Name of Claude Code's shell tool; its input is `{"command": "…"}`. */
export const CLAUDE_SHELL_TOOL = 'Bash';

const SYSTEM_REMINDER = /<system-reminder>[\s\S]*?<\/system-reminder>/g;

/** What a person typed in one `user` message: its text blocks without `<system-reminder>` parts. */
function userPromptText(message: JsonObject): string | undefined {
  if (message['role'] !== 'user') return undefined;
  const content = message['content'];
  const blocks: unknown[] = typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? content : [];
  const texts = blocks
    .map((block) =>
      isRecord(block) && block['type'] === 'text' && typeof block['text'] === 'string'
        ? block['text'].replace(SYSTEM_REMINDER, '').trim()
        : '',
    )
    .filter((text) => text !== '');
  return texts.length === 0 ? undefined : texts.join('\n');
}

/**
 * Reads a `POST /v1/messages` body into the normalised view a script sees. `messages` may hold
 * `role: "system"` entries; they are neither prompts nor tool results and are skipped.
 */
export function viewAnthropicRequest(body: unknown): ModelRequestView {
  const messages = isRecord(body) && Array.isArray(body['messages']) ? body['messages'] : [];
  const userPrompts: string[] = [];
  for (const message of messages) {
    if (!isRecord(message)) continue;
    const text = userPromptText(message);
    if (text !== undefined) userPrompts.push(text);
  }
  const conversational = messages.filter(
    (message): message is JsonObject => isRecord(message) && (message['role'] === 'user' || message['role'] === 'assistant'),
  );
  const last = conversational[conversational.length - 1];
  const lastContent = last !== undefined && last['role'] === 'user' && Array.isArray(last['content']) ? last['content'] : [];
  const toolResults = lastContent.filter((block): block is JsonObject => isRecord(block) && block['type'] === 'tool_result');
  const lastIsToolOutput = toolResults.length > 0;
  return {
    api: 'anthropic-messages',
    prompt: userPrompts[userPrompts.length - 1],
    userPrompts,
    lastIsToolOutput,
    toolOutput: lastIsToolOutput ? toolResults.map((block) => contentText(block['content'])).join('\n') : undefined,
    toolOutputs: conversational
      .filter((message) => message['role'] === 'user' && Array.isArray(message['content']))
      .flatMap((message) => (message['content'] as unknown[]).filter((block): block is JsonObject => isRecord(block) && block['type'] === 'tool_result'))
      .map((block) => contentText(block['content'])),
    body,
  };
}

/**
 * Whether a Messages request is a conversation turn, as opposed to a side call Claude Code makes
 * on its own (quota probe, title or topic generation): turns offer the model tools.
 */
export function isAnthropicTurn(body: unknown): boolean {
  return isRecord(body) && Array.isArray(body['tools']) && body['tools'].length > 0;
}

export interface AnthropicIds {
  messageId: string;
  toolUseId: string;
}

function contentBlock(reply: ScriptedReply, ids: AnthropicIds): JsonObject {
  return reply.kind === 'text'
    ? { type: 'text', text: reply.text }
    : { type: 'tool_use', id: ids.toolUseId, name: CLAUDE_SHELL_TOOL, input: { command: reply.command } };
}

/** The usage a reply reports: its script's, else the default input and an output estimated from the block. */
export function anthropicReplyUsage(reply: ScriptedReply, ids: AnthropicIds): ScriptedUsage {
  return { ...DEFAULT_SCRIPTED_USAGE, outputTokens: estimateTokens(contentBlock(reply, ids)), ...reply.usage };
}

/** The Messages API's shape: input_tokens is the uncached part; cache reads are counted apart. */
function wireUsage(usage: ScriptedUsage, outputTokens: number): JsonObject {
  return {
    input_tokens: usage.inputTokens - usage.cachedInputTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cachedInputTokens,
  };
}

/** A complete non-streaming Messages API response for one reply. */
export function anthropicReplyMessage(reply: ScriptedReply, model: string, ids: AnthropicIds): JsonObject {
  const block = contentBlock(reply, ids);
  return {
    id: ids.messageId,
    type: 'message',
    role: 'assistant',
    model,
    content: [block],
    stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage: wireUsage(anthropicReplyUsage(reply, ids), anthropicReplyUsage(reply, ids).outputTokens),
  };
}

/**
 * The event stream for one reply, split where a delay may be inserted: `head` (message_start)
 * is sent at once, `tail` (the content block, message_delta, message_stop) after the delay.
 */
export function anthropicReplyFrames(reply: ScriptedReply, model: string, ids: AnthropicIds): { head: string; tail: string } {
  const usage = anthropicReplyUsage(reply, ids);
  const head =
    sseFrame({
      type: 'message_start',
      message: {
        id: ids.messageId,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // As the real API streams it: message_start has the input and a first output count, message_delta the final output.
        usage: wireUsage(usage, 1),
      },
    }) + sseFrame({ type: 'ping' });
  const start =
    reply.kind === 'text'
      ? { type: 'text', text: '' }
      : { type: 'tool_use', id: ids.toolUseId, name: CLAUDE_SHELL_TOOL, input: {} };
  const delta =
    reply.kind === 'text'
      ? { type: 'text_delta', text: reply.text }
      : { type: 'input_json_delta', partial_json: JSON.stringify({ command: reply.command }) };
  const tail =
    sseFrame({ type: 'content_block_start', index: 0, content_block: start }) +
    sseFrame({ type: 'content_block_delta', index: 0, delta }) +
    sseFrame({ type: 'content_block_stop', index: 0 }) +
    sseFrame({
      type: 'message_delta',
      delta: { stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null },
      usage: { output_tokens: usage.outputTokens },
    }) +
    sseFrame({ type: 'message_stop' });
  return { head, tail };
}

/** A rough answer for `POST /v1/messages/count_tokens`. */
export function anthropicTokenCount(body: unknown): JsonObject {
  return { input_tokens: estimateTokens(body) };
}
