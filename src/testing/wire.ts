/** Small helpers for reading loosely typed JSON request bodies. */

export type JsonObject = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The text of a content value as both APIs carry it: a plain string, or an array of blocks whose
 * `text` fields are joined with newlines (`input_text`, `output_text`, Anthropic `text` blocks).
 */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((block) => (isRecord(block) && typeof block['text'] === 'string' ? block['text'] : ''))
      .filter((text) => text !== '')
      .join('\n');
  }
  if (isRecord(content) && typeof content['content'] === 'string') return content['content'];
  return '';
}

/** One server-sent event; the `event:` name is the payload's `type`, as both APIs do. */
export function sseFrame(payload: JsonObject): string {
  return `event: ${String(payload['type'])}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/** A rough token count for usage fields: a quarter of the JSON length, at least 1. */
export function estimateTokens(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value).length / 4));
}
