/**
 * Stored text on its way to a terminal. Titles, prompts, replies, command output, file names and error strings
 * come from imports, API bodies and transcripts, so they are hostile: an ESC or a C1 CSI can set the window
 * title, clear the screen or move the cursor, a carriage return or newline can forge rows, and a bidi override
 * can make text read differently from what it is. Every such character is shown escaped (`\x1b`, `\u202e`)
 * instead of being interpreted.
 *
 * Backslashes are left alone: the point is that nothing is interpreted, not that the text can be decoded again
 * (code and Windows paths would be unreadable with every `\` doubled).
 */

/** C0 controls, DEL, C1 controls, bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069). */
const ONE_LINE_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** The same, except newline and tab, which are part of a multi-line body. */
const MULTI_LINE_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function visible(character: string): string {
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** For a one-line field (an `ls` row, a title, an id, a path): every control is escaped, newline and tab too. */
export function terminalLine(text: string): string {
  return text.replace(ONE_LINE_UNSAFE, visible);
}

/**
 * For a multi-line body (a reply, a prompt, command output, an error): newlines and tabs stay, a CRLF line end
 * reads as a newline, and every other control (ESC, a lone CR, BEL, C1 …) is escaped.
 */
export function terminalText(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(MULTI_LINE_UNSAFE, visible);
}

/** What JSON.stringify leaves raw in strings and a terminal would still act on: DEL, C1 controls, bidi controls. */
const JSON_UNSAFE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Serialised JSON made safe for stdout (`--json`, `baton export` without -o): JSON.stringify escapes C0 controls
 * but not DEL, C1 or bidi controls, which a terminal would then interpret. Such characters can only occur inside
 * JSON strings, where `\uXXXX` means the same character, so the text still parses to exactly the same value.
 */
export function terminalJsonText(json: string): string {
  return json.replace(JSON_UNSAFE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `value` as one line of JSON for stdout: see terminalJsonText. */
export function terminalJson(value: unknown): string {
  return terminalJsonText(JSON.stringify(value));
}
