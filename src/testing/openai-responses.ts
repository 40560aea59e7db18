/**
 * The OpenAI Responses API side of the scripted model server: how a Codex request is read
 * into a {@link ModelRequestView} and how a {@link ScriptedReply} is written back as the
 * server-sent events Codex expects (verified with Codex CLI 0.171).
 */
import { DEFAULT_SCRIPTED_USAGE, type ModelRequestView, type ScriptedReply, type ScriptedUsage } from './scripted-reply.js';
import { contentText, estimateTokens, isRecord, sseFrame, type JsonObject } from './wire.js';

/** Name of the shell tool Codex 0.171 offers the model; its arguments are `{"cmd": "…"}`. */
export const CODEX_SHELL_TOOL = 'exec_command';
/** Name of the shell tool OpenCode 1.18 offers the model; its arguments are `{"command": "…", "description": "…"}`. */
export const OPENCODE_SHELL_TOOL = 'bash';

/**
 * The shell tool a request offers: OpenCode's `bash` when it offers that and not Codex's `exec_command`
 * (verified with opencode 1.18.33: its tools are apply_patch, bash, glob, grep, read, skill, task, todowrite, webfetch).
 */
export function shellToolOf(body: unknown): typeof CODEX_SHELL_TOOL | typeof OPENCODE_SHELL_TOOL {
  const tools = isRecord(body) && Array.isArray(body['tools']) ? body['tools'] : [];
  const names = new Set(tools.map((tool) => (isRecord(tool) && typeof tool['name'] === 'string' ? tool['name'] : undefined)));
  return names.has(OPENCODE_SHELL_TOOL) && !names.has(CODEX_SHELL_TOOL) ? OPENCODE_SHELL_TOOL : CODEX_SHELL_TOOL;
}

/**
 * Text blocks Codex adds to the conversation as `user` messages that the person did not type:
 * the environment context, AGENTS.md / user instructions and turn-abort markers.
 */
const CODEX_CONTEXT_PREFIXES = [
  '<environment_context>',
  '<user_instructions>',
  '# AGENTS.md instructions',
  '<turn_aborted>',
  '<user_shell_command>',
];

function isCodexContextText(text: string): boolean {
  const trimmed = text.trimStart();
  return CODEX_CONTEXT_PREFIXES.some((prefix) => trimmed.startsWith(prefix));
}

/** The text a person typed in one `user` message item, or undefined for context-only items. */
function userPromptText(item: JsonObject): string | undefined {
  if (item['type'] !== undefined && item['type'] !== 'message') return undefined;
  if (item['role'] !== 'user') return undefined;
  const content = item['content'];
  const blocks: unknown[] = typeof content === 'string' ? [{ text: content }] : Array.isArray(content) ? content : [];
  const texts = blocks
    .map((block) => (isRecord(block) && typeof block['text'] === 'string' ? block['text'] : ''))
    .filter((text) => text !== '' && !isCodexContextText(text));
  return texts.length === 0 ? undefined : texts.join('\n');
}

const TOOL_OUTPUT_TYPES = new Set(['function_call_output', 'custom_tool_call_output', 'local_shell_call_output']);

/** Reads a `POST /v1/responses` body into the normalised view a script sees. */
export function viewOpenAIRequest(body: unknown): ModelRequestView {
  const input = isRecord(body) && Array.isArray(body['input']) ? body['input'] : [];
  const userPrompts: string[] = [];
  for (const item of input) {
    if (!isRecord(item)) continue;
    const text = userPromptText(item);
    if (text !== undefined) userPrompts.push(text);
  }
  const last: unknown = input[input.length - 1];
  const lastIsToolOutput = isRecord(last) && typeof last['type'] === 'string' && TOOL_OUTPUT_TYPES.has(last['type']);
  return {
    api: 'openai-responses',
    prompt: userPrompts[userPrompts.length - 1],
    userPrompts,
    lastIsToolOutput,
    toolOutput: lastIsToolOutput ? contentText((last as JsonObject)['output']) : undefined,
    toolOutputs: input.filter((item): item is JsonObject => isRecord(item) && typeof item['type'] === 'string' && TOOL_OUTPUT_TYPES.has(item['type'])).map((item) => contentText(item['output'])),
    body,
  };
}

export interface OpenAIReplyIds {
  responseId: string;
  itemId: string;
  callId: string;
  /** The shell tool a call goes to (see {@link shellToolOf}); default Codex's. */
  shellTool?: typeof CODEX_SHELL_TOOL | typeof OPENCODE_SHELL_TOOL;
}

/** The single output item of a reply: an assistant message or an `exec_command` function call. */
function outputItem(reply: ScriptedReply, ids: OpenAIReplyIds): JsonObject {
  return reply.kind === 'text'
    ? {
        type: 'message',
        role: 'assistant',
        id: ids.itemId,
        status: 'completed',
        content: [{ type: 'output_text', text: reply.text, annotations: [] }],
      }
    : {
        type: 'function_call',
        id: ids.itemId,
        call_id: ids.callId,
        name: ids.shellTool ?? CODEX_SHELL_TOOL,
        arguments: JSON.stringify(ids.shellTool === OPENCODE_SHELL_TOOL ? { command: reply.command, description: 'Run the scripted command' } : { cmd: reply.command }),
        status: 'completed',
      };
}

/** The usage a reply reports: its script's, else the default input and an output estimated from the item. */
export function openAIReplyUsage(reply: ScriptedReply, ids: OpenAIReplyIds): ScriptedUsage {
  return { ...DEFAULT_SCRIPTED_USAGE, outputTokens: estimateTokens(outputItem(reply, ids)), ...reply.usage };
}

/** The completed response object, as `response.completed` carries it and non-streaming calls return it. */
export function openAIResponseObject(reply: ScriptedReply, ids: OpenAIReplyIds): JsonObject {
  const item = outputItem(reply, ids);
  const usage = openAIReplyUsage(reply, ids);
  return {
    id: ids.responseId,
    object: 'response',
    status: 'completed',
    output: [item],
    // The Responses API's shape: input_tokens counts the cached ones too.
    usage: {
      input_tokens: usage.inputTokens,
      input_tokens_details: { cached_tokens: usage.cachedInputTokens },
      output_tokens: usage.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
  };
}

/**
 * The event stream for one reply, split where a delay may be inserted: `head`
 * (`response.created`) is sent at once, `tail` (`response.output_item.done` per item, then
 * `response.completed`) after the reply's delay, so a test can kill the CLI mid-turn. A message item is also
 * announced with `response.output_item.added` and its text sent as one `response.output_text.delta`, as the
 * real API does: verified with opencode 1.18.33 (the AI SDK's Responses client), which fails a message whose
 * text was never started ("text part … not found"); Codex reads the finished item either way.
 */
export function openAIReplyFrames(reply: ScriptedReply, ids: OpenAIReplyIds): { head: string; tail: string } {
  const response = openAIResponseObject(reply, ids);
  const items = response['output'] as JsonObject[];
  const head = sseFrame({ type: 'response.created', response: { id: ids.responseId, object: 'response', status: 'in_progress', output: [] } });
  const itemFrames = (item: JsonObject, index: number): string => {
    if (item['type'] !== 'message') return sseFrame({ type: 'response.output_item.done', output_index: index, item });
    const text = reply.kind === 'text' ? reply.text : '';
    return (
      sseFrame({ type: 'response.output_item.added', output_index: index, item: { ...item, status: 'in_progress', content: [] } }) +
      sseFrame({ type: 'response.output_text.delta', item_id: item['id'], output_index: index, content_index: 0, delta: text }) +
      sseFrame({ type: 'response.output_item.done', output_index: index, item })
    );
  };
  const tail = items.map(itemFrames).join('') + sseFrame({ type: 'response.completed', response });
  return { head, tail };
}

/**
 * The model list for `GET /v1/models`, in the shape of the OpenAI API. Codex may ask for it to
 * learn about the configured model; answering keeps it from logging errors or retrying.
 */
export function openAIModelList(modelIds: string[]): JsonObject {
  return {
    object: 'list',
    data: modelIds.map((id) => ({ id, object: 'model', created: 0, owned_by: 'baton-scripted' })),
  };
}
