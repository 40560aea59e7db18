/**
 * Stored text on its way to a terminal. Anything in the store may have arrived by import (hostile: see DESIGN.md,
 * "Security model"), and a terminal obeys what it is sent: an escape sequence in a title or a transcript could
 * clear the screen, rewrite earlier lines, set the window title or hide text. Control characters and
 * bidirectional overrides are shown as visible escapes instead (`\x1b`, `\u202e`).
 */

/** C0 controls other than tab and newline, DEL, C1 controls, and the bidirectional formatting characters. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_OR_LINE_BREAK = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function visible(character: string): string {
  const code = character.charCodeAt(0);
  if (character === '\n') return '\\n';
  if (character === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Multi-line text (a transcript, a conversation as `baton show` prints it): newlines and tabs stay. */
export function terminalText(text: string): string {
  return text.replace(CONTROL, visible);
}

/** A field that must stay on its line (a title in `baton ls`, a host or cwd in a run's header). */
export function terminalLine(text: string): string {
  return text.replace(CONTROL_OR_LINE_BREAK, visible);
}
