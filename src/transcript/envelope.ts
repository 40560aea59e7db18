/**
 * The envelope: the stored form of one conversation's transcript — the CLI's native files, byte for byte,
 * with the metadata needed to put them back and to check that they are whole.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { BatonError } from '../errors.js';
import type { HarnessId } from '../harness/ids.js';
import { countLines } from './jsonl.js';

/** Session metadata read from the transcript itself (e.g. Codex's `session_meta` line). */
export interface SessionMeta {
  sessionId: string;
  /** ISO timestamp of the session start, as the CLI recorded it. */
  sessionStartedAt: string | undefined;
  cwd: string | undefined;
  cliVersion: string | undefined;
}

/**
 * One native file of a transcript. `key` names its role, not a path: `main` for the session file, or a
 * relative name such as `subagents/<name>.jsonl`; each harness maps keys to paths under its home.
 */
export interface TranscriptFile {
  key: string;
  content: Buffer;
  lineCount: number;
  sha256: string;
}

/** Which harness and session an envelope holds, and the session's metadata: all that a resume's argv needs. */
export interface EnvelopeHeader {
  harness: HarnessId;
  sessionId: string;
  meta: SessionMeta;
}

export interface Envelope extends EnvelopeHeader {
  files: TranscriptFile[];
}

/** True when `onDisk` is a strict prefix of `stored`: an older copy of the same transcript, safe to replace. */
export function isOlderCopy(onDisk: Buffer, stored: Buffer): boolean {
  return onDisk.length < stored.length && stored.subarray(0, onDisk.length).equals(onDisk);
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function transcriptFile(key: string, content: Buffer): TranscriptFile {
  return { key, content, lineCount: countLines(content), sha256: sha256Hex(content) };
}

/** Re-checks a file's line count and sha256; a mismatch is TRANSCRIPT_CORRUPT, never a silent resume. */
export function verifyTranscriptFile(file: TranscriptFile, where: string): void {
  const lines = countLines(file.content);
  const digest = sha256Hex(file.content);
  if (lines !== file.lineCount || digest !== file.sha256) {
    throw new BatonError(
      'TRANSCRIPT_CORRUPT',
      `transcript file "${file.key}" of ${where} does not verify (expected ${file.lineCount} lines, sha256 ${file.sha256.slice(0, 12)}…; found ${lines} lines, sha256 ${digest.slice(0, 12)}…)`,
      { hint: 'the stored copy is damaged; restore the store from a backup or re-import an export of this conversation' },
    );
  }
}

export function mainFile(envelope: Envelope): TranscriptFile {
  const main = envelope.files.find((file) => file.key === MAIN_FILE_KEY);
  if (!main) {
    throw new BatonError('TRANSCRIPT_CORRUPT', `the transcript of session ${envelope.sessionId} has no main file`, {
      hint: 're-import an export of this conversation',
    });
  }
  return main;
}

export const MAIN_FILE_KEY = 'main';

// ---------------------------------------------------------------------------------------------------------
// Serialised form (export files, the HTTP API): content as UTF-8 text when it round-trips, else base64.

export interface SerialisedFile {
  key: string;
  lineCount: number;
  sha256: string;
  encoding: 'utf8' | 'base64';
  content: string;
}

export function serialiseFile(file: TranscriptFile): SerialisedFile {
  // Valid UTF-8 is exactly what decodes to text and re-encodes to the same bytes.
  const roundTrips = isUtf8(file.content);
  return {
    key: file.key,
    lineCount: file.lineCount,
    sha256: file.sha256,
    encoding: roundTrips ? 'utf8' : 'base64',
    content: file.content.toString(roundTrips ? 'utf8' : 'base64'),
  };
}

export function deserialiseFile(file: SerialisedFile): TranscriptFile {
  const content = Buffer.from(file.content, file.encoding);
  return { key: file.key, content, lineCount: file.lineCount, sha256: file.sha256 };
}
