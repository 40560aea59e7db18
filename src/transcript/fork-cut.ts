/**
 * What every harness's forkSession() shares: which prompts a cut after turn N keeps (turns as `baton show`
 * numbers them, see splitTurns), the lines of a JSONL file with their byte offsets, and the one textual change a
 * fork makes to the stored bytes: the session id, replaced by the fork's own.
 */
import { BatonError } from '../errors.js';
import { isRecord } from './jsonl.js';
import { splitTurns, type TranscriptView } from './view.js';

/** Where a fork ends: after turn `turns` (1-based, as `baton show` numbers them). */
export interface ForkCut {
  turns: number;
}

/** How many turns a view has, as `baton show` counts them. */
export function turnCount(view: TranscriptView): number {
  return splitTurns(view.items).length;
}

/**
 * How many user prompts the first `turns` turns hold: items before the first prompt form a turn of their own
 * (an imported history that starts with a reply), so they take one of the turns.
 */
export function promptsInTurns(view: TranscriptView, turns: number): number {
  const preamble = view.items.length > 0 && view.items[0]!.kind !== 'user' ? 1 : 0;
  return Math.max(0, turns - preamble);
}

export function assertCutInRange(view: TranscriptView, cut: ForkCut): void {
  const total = turnCount(view);
  if (!Number.isInteger(cut.turns) || cut.turns < 1 || cut.turns > total) {
    throw new BatonError('USAGE', `turn ${cut.turns} is out of range: the conversation has ${total} turn${total === 1 ? '' : 's'}`, {
      hint: total === 0 ? 'it has no turn to fork from yet' : `pick a turn from 1 to ${total}, as \`baton show\` numbers them`,
    });
  }
}

export interface RawLine {
  /** Byte offset of the line's first byte. */
  start: number;
  /** Byte offset just after its newline (or the end of the file). */
  end: number;
  /** The parsed JSON record, or undefined for a line that is not a JSON object. */
  record: Record<string, unknown> | undefined;
}

/** The lines of a JSONL file with their byte ranges; blank lines are left out (they belong to no record). */
export function rawLines(content: Buffer): RawLine[] {
  const lines: RawLine[] = [];
  let start = 0;
  while (start < content.length) {
    let newline = content.indexOf(0x0a, start);
    const end = newline === -1 ? content.length : newline + 1;
    if (newline === -1) newline = content.length;
    const text = content.subarray(start, newline).toString('utf8');
    if (text.trim() !== '') {
      let record: Record<string, unknown> | undefined;
      try {
        const value: unknown = JSON.parse(text);
        record = isRecord(value) ? value : undefined;
      } catch {
        record = undefined;
      }
      lines.push({ start, end, record });
    }
    start = end;
  }
  return lines;
}

/** The bytes of the lines kept, in order, byte for byte; a last line without its newline gets one. */
export function joinLines(content: Buffer, lines: readonly RawLine[]): Buffer {
  const parts = lines.map((line) => content.subarray(line.start, line.end));
  const last = parts.at(-1);
  if (last && last[last.length - 1] !== 0x0a) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/**
 * The stored bytes with every occurrence of the old session id replaced by the new one (as written and in lower
 * case: Codex lower-cases ids in file names). Session ids are UUIDs or `ses_…` ids: they occur in a transcript
 * only where they name the session.
 */
export function replaceSessionId(content: Buffer, oldSessionId: string, newSessionId: string): Buffer {
  let text = content.toString('utf8');
  if (Buffer.byteLength(text) !== content.length) return replaceBinary(content, oldSessionId, newSessionId);
  for (const variant of new Set([oldSessionId, oldSessionId.toLowerCase()])) text = text.split(variant).join(newSessionId);
  return Buffer.from(text);
}

/** The same replacement on bytes that are not valid UTF-8 (a line the CLI wrote half): no decoding. */
function replaceBinary(content: Buffer, oldSessionId: string, newSessionId: string): Buffer {
  let bytes = content;
  for (const variant of new Set([oldSessionId, oldSessionId.toLowerCase()])) {
    const needle = Buffer.from(variant);
    const parts: Buffer[] = [];
    let from = 0;
    for (let index = bytes.indexOf(needle); index !== -1; index = bytes.indexOf(needle, from)) {
      parts.push(bytes.subarray(from, index), Buffer.from(newSessionId));
      from = index + needle.length;
    }
    parts.push(bytes.subarray(from));
    bytes = Buffer.concat(parts);
  }
  return bytes;
}
