/**
 * The raw line codec. Transcripts are kept byte for byte: these helpers only find line boundaries and
 * parse lines for metadata and display; nothing here re-serialises a line for storage.
 */
const NEWLINE = 0x0a;

/** Splits bytes into the complete lines (up to and including the last newline) and a trailing partial line. */
export function splitCompleteLines(bytes: Buffer): { complete: Buffer; partial: Buffer } {
  const lastNewline = bytes.lastIndexOf(NEWLINE);
  if (lastNewline === -1) return { complete: bytes.subarray(0, 0), partial: bytes };
  return { complete: bytes.subarray(0, lastNewline + 1), partial: bytes.subarray(lastNewline + 1) };
}

/** Number of newline bytes. */
export function countNewlines(bytes: Buffer): number {
  let count = 0;
  for (let index = bytes.indexOf(NEWLINE); index !== -1; index = bytes.indexOf(NEWLINE, index + 1)) count++;
  return count;
}

/** Number of lines: every newline ends one, and a non-empty tail without a newline is one more. */
export function countLines(bytes: Buffer): number {
  const count = countNewlines(bytes);
  const endsWithNewline = bytes.length === 0 || bytes[bytes.length - 1] === NEWLINE;
  return endsWithNewline ? count : count + 1;
}

/** The lines as text, without their newlines. A trailing newline does not make an empty last line. */
export function textLines(bytes: Buffer): string[] {
  if (bytes.length === 0) return [];
  const text = bytes.toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export type ParsedLine =
  | { ok: true; lineNumber: number; value: unknown }
  | { ok: false; lineNumber: number; raw: string };

/** Parses each line as JSON; a line that is not JSON is kept raw and reported, never dropped. */
export function parseJsonLines(bytes: Buffer): ParsedLine[] {
  return textLines(bytes).map((raw, index) => {
    const lineNumber = index + 1;
    try {
      return { ok: true, lineNumber, value: JSON.parse(raw) as unknown };
    } catch {
      return { ok: false, lineNumber, raw };
    }
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
