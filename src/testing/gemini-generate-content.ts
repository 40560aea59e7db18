/**
 * The Gemini API side of the scripted model server: how a Gemini CLI request
 * (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse`) is read into a {@link ModelRequestView} and how a
 * {@link ScriptedReply} is written back as the SSE frames the CLI expects (verified with Gemini CLI 0.61.0), or as
 * one JSON object for the CLI's non-streaming side calls (`…:generateContent`: model routing, loop checks).
 */
import { DEFAULT_SCRIPTED_USAGE, type ModelRequestView, type ScriptedReply, type ScriptedUsage } from './scripted-reply.js';
import { estimateTokens, isRecord, type JsonObject } from './wire.js';

/** Name of Gemini CLI's shell tool; its arguments are `{"command": "…", "description"?: "…"}`. */
export const GEMINI_SHELL_TOOL = 'run_shell_command';

/** Text the CLI puts in user turns itself: the session context (directory listing) and hook output. */
const GEMINI_CONTEXT = /^\s*<(session_context|hook_context)>/;

function partsOf(content: unknown): JsonObject[] {
  return isRecord(content) && Array.isArray(content['parts']) ? content['parts'].filter(isRecord) : [];
}

/**
 * The prompts a person typed in one content: each text part of a `user` content that is not the CLI's context.
 * verified with gemini 0.61.0: the first user content is `[<session_context>…, prompt]`, and on resume two
 * consecutive prompts can share one content (the CLI merges them), so every part counts on its own.
 */
function typedTexts(content: unknown): string[] {
  if (!isRecord(content) || content['role'] !== 'user') return [];
  return partsOf(content)
    .flatMap((part) => (typeof part['text'] === 'string' && part['thought'] !== true ? [part['text']] : []))
    .filter((text) => text.trim() !== '' && !GEMINI_CONTEXT.test(text));
}

/**
 * The command's output inside a shell tool's response, as the CLI sends it:
 * `<untrusted_context>\nOutput: <output>\nProcess Group PGID: N\n</untrusted_context>` (plus `Exit Code: N` or
 * `Error: …` lines when there are some). Other tools' responses are returned as JSON.
 */
export function geminiToolOutput(response: unknown): string {
  if (!isRecord(response)) return '';
  const raw = typeof response['output'] === 'string' ? response['output'] : typeof response['error'] === 'string' ? response['error'] : JSON.stringify(response);
  const match = /Output: ([\s\S]*?)(?:\n(?:Error|Exit Code|Signal|Background PIDs|Process Group PGID):|\n<\/untrusted_context>|$)/.exec(raw);
  return match ? match[1]! : raw;
}

/** Reads a `…:streamGenerateContent` (or `…:generateContent`) body into the normalised view a script sees. */
export function viewGeminiRequest(body: unknown): ModelRequestView {
  const contents = isRecord(body) && Array.isArray(body['contents']) ? body['contents'] : [];
  const userPrompts = contents.flatMap(typedTexts);
  const last: unknown = contents[contents.length - 1];
  const responses = isRecord(last) && last['role'] === 'user' ? partsOf(last).filter((part) => isRecord(part['functionResponse'])) : [];
  // A tool result followed by a typed prompt in the same content (a resumed run the CLI merged) is a prompt.
  const lastIsToolOutput = responses.length > 0 && typedTexts(last).length === 0;
  const response = responses.at(-1)?.['functionResponse'] as JsonObject | undefined;
  return {
    api: 'gemini-generate-content',
    prompt: userPrompts[userPrompts.length - 1],
    userPrompts,
    lastIsToolOutput,
    toolOutput: lastIsToolOutput ? geminiToolOutput(response?.['response']) : undefined,
    toolOutputs: contents
      .filter((content): content is JsonObject => isRecord(content) && content['role'] === 'user')
      .flatMap((content) => partsOf(content).filter((part) => isRecord(part['functionResponse'])))
      .map((part) => geminiToolOutput((part['functionResponse'] as JsonObject)['response'])),
    body,
  };
}

/**
 * Whether a request is a conversation turn: turns stream and offer the model tools; the CLI's side calls
 * (`generateContent` for routing and checks) do neither.
 */
export function isGeminiTurn(path: string, body: unknown): boolean {
  return path.includes(':streamGenerateContent') && isRecord(body) && Array.isArray(body['tools']);
}

/** The model parts of a reply: its text, or one `run_shell_command` call (the CLI gives the call its id). */
function replyParts(reply: ScriptedReply): JsonObject[] {
  return reply.kind === 'text' ? [{ text: reply.text }] : [{ functionCall: { name: GEMINI_SHELL_TOOL, args: { command: reply.command } } }];
}

export function geminiReplyUsage(reply: ScriptedReply): ScriptedUsage {
  return { ...DEFAULT_SCRIPTED_USAGE, outputTokens: estimateTokens(replyParts(reply)), ...reply.usage };
}

/** Gemini's usage: `promptTokenCount` counts every input token, the cached ones (`cachedContentTokenCount`) too. */
function usageMetadata(usage: ScriptedUsage): JsonObject {
  return {
    promptTokenCount: usage.inputTokens,
    candidatesTokenCount: usage.outputTokens,
    totalTokenCount: usage.inputTokens + usage.outputTokens,
    cachedContentTokenCount: usage.cachedInputTokens,
  };
}

function candidate(parts: JsonObject[], finished: boolean, model: string, usage?: ScriptedUsage): JsonObject {
  return {
    candidates: [{ content: { role: 'model', parts }, ...(finished ? { finishReason: 'STOP' } : {}), index: 0 }],
    ...(usage ? { usageMetadata: usageMetadata(usage) } : {}),
    modelVersion: model,
  };
}

/** One SSE frame as the Gemini API sends it: `data: <json>` and a blank line, no event name. */
function geminiFrame(payload: JsonObject): string {
  return `data: ${JSON.stringify(payload)}\r\n\r\n`;
}

/**
 * The event stream for one reply, split where a delay may be inserted. A text reply sends its first characters
 * at once (`head`) and the rest with `finishReason` and usage after the delay (`tail`); a function call is one
 * frame, all in the tail (the CLI only runs a call it received whole).
 */
export function geminiReplyFrames(reply: ScriptedReply, model: string): { head: string; tail: string } {
  const usage = geminiReplyUsage(reply);
  if (reply.kind === 'text' && reply.text.length > 8) {
    return {
      head: geminiFrame(candidate([{ text: reply.text.slice(0, 8) }], false, model)),
      tail: geminiFrame(candidate([{ text: reply.text.slice(8) }], true, model, usage)),
    };
  }
  return { head: '', tail: geminiFrame(candidate(replyParts(reply), true, model, usage)) };
}

/** A whole reply as one JSON object (the non-streaming `generateContent`). */
export function geminiReplyObject(reply: ScriptedReply, model: string): JsonObject {
  return candidate(replyParts(reply), true, model, geminiReplyUsage(reply));
}

/**
 * The answer to a side call: JSON when the CLI asks for JSON (its model router's classifier wants
 * `{complexity_reasoning, complexity_score}`; other checks `{next_speaker}` …), else a short text.
 */
export function geminiSideCallReply(body: unknown): ScriptedReply {
  const config = isRecord(body) && isRecord(body['generationConfig']) ? body['generationConfig'] : {};
  const wantsJson = config['responseMimeType'] === 'application/json' || config['responseJsonSchema'] !== undefined || config['responseSchema'] !== undefined;
  const text = wantsJson
    ? JSON.stringify({ reasoning: 'scripted', complexity_reasoning: 'scripted', complexity_score: 1, next_speaker: 'user' })
    : 'Scripted session';
  return { kind: 'text', text };
}

/** The model a request names in its path: `/v1beta/models/<model>:<action>`. */
export function geminiModelOf(modelAction: string): string {
  const colon = modelAction.indexOf(':');
  return colon === -1 ? modelAction : modelAction.slice(0, colon);
}
