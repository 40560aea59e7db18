/**
 * The last lines a CLI wrote to its stderr, kept while it runs so that its exit error carries the evidence
 * (CONVENTIONS.md 16). Bounded whatever the CLI writes: a ring of the last few non-empty lines, each cut to a
 * maximum length, and the line still being written cut the same way. A line is kept as a terminal would show it
 * (colour codes and other escape sequences removed, a spinner's `\r` redraws reduced to their last frame with
 * text) and with nothing left that a terminal or a log reader would act on: it is hostile like any CLI output.
 */
import { StringDecoder } from 'node:string_decoder';

export const STDERR_TAIL_LINES = 5;
export const STDERR_TAIL_LINE_CHARS = 500;

/** CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC ] … ESC \`) and the two-character escapes. */
const ESCAPE_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?/g;
/** Runs of C0 controls (tab included), DEL, C1 controls, bidi embeddings/overrides/isolates and lone surrogates. */
const UNSAFE_RUN = /(?:[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])+/g;

export class StderrTail {
  private readonly decoder = new StringDecoder('utf8');
  private readonly kept: string[] = [];
  /** The line being written, bounded (see `bounded`): its escape sequences are removed once it is complete. */
  private partial = '';

  constructor(
    private readonly maxLines = STDERR_TAIL_LINES,
    private readonly maxLineChars = STDERR_TAIL_LINE_CHARS,
  ) {}

  write(chunk: Buffer): void {
    // The decoder holds back a character cut between two chunks.
    const text = this.decoder.write(chunk);
    const parts = text.split('\n');
    const last = parts.pop() ?? '';
    for (const part of parts) {
      this.keep(this.partial + part);
      this.partial = '';
    }
    this.partial = this.bounded(this.partial + last);
  }

  /** The last non-empty lines, oldest first; an unfinished last line counts as a line. */
  lines(): string[] {
    const unfinished = terminalSafeLine(this.partial, this.maxLineChars);
    return unfinished ? [...this.kept, unfinished].slice(-this.maxLines) : [...this.kept];
  }

  private keep(line: string): void {
    const safe = terminalSafeLine(line, this.maxLineChars);
    if (!safe) return;
    this.kept.push(safe);
    if (this.kept.length > this.maxLines) this.kept.shift();
  }

  /**
   * The unfinished line, bounded: of the frames a spinner drew (each after a carriage return) only the last one
   * with text and the one being drawn can still show, and each is cut to enough of its start to fill the limit
   * once its escape sequences are gone, and to show that it was cut.
   */
  private bounded(line: string): string {
    const room = this.maxLineChars * 4;
    const frames = line.split('\r').map((frame) => (frame.length > room ? frame.slice(0, room + 1) : frame));
    const drawing = frames.pop() ?? '';
    const shown = frames.findLast((frame) => visible(frame) !== '');
    return shown === undefined ? drawing : `${shown}\r${drawing}`;
  }
}

/** One stderr line as a terminal would show it, without controls, trimmed, and cut to `max` characters. */
export function terminalSafeLine(line: string, max = STDERR_TAIL_LINE_CHARS): string {
  // A spinner redraws its line after a carriage return: what is worth showing is the last frame that has text.
  const shown = line.split('\r').map(visible).findLast((frame) => frame !== '') ?? '';
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}

/** One frame of a line without its escape sequences, with every other control blanked, trimmed. */
function visible(frame: string): string {
  return frame.replace(ESCAPE_SEQUENCE, '').replace(UNSAFE_RUN, ' ').trim();
}
