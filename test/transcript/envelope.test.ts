/** The envelope's files: line count and sha256 that verify the bytes, and a serialised form that keeps them exactly. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BatonError } from '../../src/errors.js';
import {
  deserialiseFile,
  mainFile,
  MAIN_FILE_KEY,
  serialiseFile,
  type SerialisedFile,
  transcriptFile,
  verifyTranscriptFile,
  type TranscriptFile,
} from '../../src/transcript/envelope.js';
import { countLines } from '../../src/transcript/jsonl.js';

const FIXTURE_FOLDER = fileURLToPath(new URL('../fixtures/codex/resumed-twice/', import.meta.url));
const realRollout = readFileSync(join(FIXTURE_FOLDER, readdirSync(FIXTURE_FOLDER).find((name) => name.endsWith('.jsonl'))!));
const REAL_ROLLOUT_SHA256 = '117c6d131b4f989c02ba53064e7945458be09d83702546b53401af21d4b43165';

/** A JSONL line holding bytes that are not valid UTF-8 (a stray 0xff, and a UTF-8 sequence cut short). */
const notUtf8 = Buffer.concat([Buffer.from('{"type":"event_msg","text":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}\n{"cut":"'), Buffer.from([0xe2])]);

function thrownBy(action: () => unknown): BatonError {
  try {
    action();
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw error;
  }
  throw new Error('expected a BatonError, but nothing was thrown');
}

/** The same file through an export: serialised, written as JSON, read back, validated, deserialised. */
function throughExport(file: TranscriptFile): TranscriptFile {
  return deserialiseFile(JSON.parse(JSON.stringify(serialiseFile(file))) as SerialisedFile);
}

describe('transcriptFile and verifyTranscriptFile', () => {
  it('records the line count and sha256 of the bytes', () => {
    expect(transcriptFile(MAIN_FILE_KEY, Buffer.from('abc'))).toEqual({
      key: MAIN_FILE_KEY,
      content: Buffer.from('abc'),
      lineCount: 1,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
    const file = transcriptFile(MAIN_FILE_KEY, realRollout);
    expect(file.lineCount).toBe(47);
    expect(file.sha256).toBe(REAL_ROLLOUT_SHA256);
    expect(() => verifyTranscriptFile(file, 'conversation c1')).not.toThrow();
  });

  it('rejects a file with one flipped byte as TRANSCRIPT_CORRUPT, even though its line count is unchanged', () => {
    const file = transcriptFile(MAIN_FILE_KEY, realRollout);
    const flipped = Buffer.from(realRollout);
    flipped[1000] = flipped[1000]! ^ 0x01;
    expect(countLines(flipped)).toBe(file.lineCount);
    const error = thrownBy(() => verifyTranscriptFile({ ...file, content: flipped }, 'conversation c1'));
    expect(error.code).toBe('TRANSCRIPT_CORRUPT');
    expect(error.message).toContain('conversation c1');
    expect(error.hint).toBeTruthy();
  });

  it('rejects a truncated file, and a file whose recorded line count is wrong, as TRANSCRIPT_CORRUPT', () => {
    const file = transcriptFile(MAIN_FILE_KEY, realRollout);
    const lastLineStart = realRollout.lastIndexOf(0x0a, realRollout.length - 2) + 1;
    expect(thrownBy(() => verifyTranscriptFile({ ...file, content: realRollout.subarray(0, lastLineStart) }, 'c1')).code).toBe('TRANSCRIPT_CORRUPT');
    expect(thrownBy(() => verifyTranscriptFile({ ...file, lineCount: 46 }, 'c1')).code).toBe('TRANSCRIPT_CORRUPT');
  });
});

describe('serialiseFile and deserialiseFile', () => {
  it('carry a real rollout as UTF-8 text and give back the same bytes, line count and sha256', () => {
    const file = transcriptFile(MAIN_FILE_KEY, realRollout);
    const serialised = serialiseFile(file);
    expect(serialised).toEqual({ key: MAIN_FILE_KEY, lineCount: 47, sha256: REAL_ROLLOUT_SHA256, encoding: 'utf8', content: realRollout.toString('utf8') });

    const restored = throughExport(file);
    expect(restored.content.equals(realRollout)).toBe(true);
    expect(restored).toEqual(file);
    expect(() => verifyTranscriptFile(restored, 'the import')).not.toThrow();
  });

  it('carry content that is not valid UTF-8 as base64 and give back the same bytes', () => {
    const file = transcriptFile(MAIN_FILE_KEY, notUtf8);
    const serialised = serialiseFile(file);
    expect(serialised.encoding).toBe('base64');
    expect(Buffer.from(serialised.content, 'base64').equals(notUtf8)).toBe(true);

    const restored = throughExport(file);
    expect(restored.content.equals(notUtf8)).toBe(true);
    expect(() => verifyTranscriptFile(restored, 'the import')).not.toThrow();
  });

  it('give back a leading byte-order mark and an empty file exactly', () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n')]);
    expect(throughExport(transcriptFile('main', withBom)).content.equals(withBom)).toBe(true);
    const empty = throughExport(transcriptFile('main', Buffer.alloc(0)));
    expect(empty.content.length).toBe(0);
    expect(empty.lineCount).toBe(0);
  });

  it('lets verification catch content altered in the serialised form', () => {
    const serialised = serialiseFile(transcriptFile(MAIN_FILE_KEY, realRollout));
    const altered = deserialiseFile({ ...serialised, content: serialised.content.replace('What was my first request?', 'What was my last request?') });
    expect(thrownBy(() => verifyTranscriptFile(altered, 'the import')).code).toBe('TRANSCRIPT_CORRUPT');
  });
});

describe('mainFile', () => {
  it('finds the main file, and calls an envelope without one TRANSCRIPT_CORRUPT', () => {
    const main = transcriptFile(MAIN_FILE_KEY, realRollout);
    const other = transcriptFile('subagents/a.jsonl', Buffer.from('{}\n'));
    const envelope = { harness: 'codex' as const, sessionId: '01a21a00-e515-7ec1-a52c-23e5cb77e528', meta: { sessionId: '01a21a00-e515-7ec1-a52c-23e5cb77e528', sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined } };
    expect(mainFile({ ...envelope, files: [other, main] })).toBe(main);
    expect(thrownBy(() => mainFile({ ...envelope, files: [other] })).code).toBe('TRANSCRIPT_CORRUPT');
  });
});
