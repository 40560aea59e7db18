/** The raw line codec: line boundaries found on bytes, lines parsed for display, nothing re-serialised. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countLines, parseJsonLines, splitCompleteLines, textLines } from '../../src/transcript/jsonl.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

const FIXTURE_FOLDER = fileURLToPath(new URL('../fixtures/codex/resumed-twice/', import.meta.url));
const realRollout = readFileSync(join(FIXTURE_FOLDER, readdirSync(FIXTURE_FOLDER).find((name) => name.endsWith('.jsonl'))!));

describe('splitCompleteLines', () => {
  it('splits at the last newline: complete lines (with their newline) and the partial line after it', () => {
    const { complete, partial } = splitCompleteLines(bytes('{"a":1}\n{"b":2}\n{"c":'));
    expect(complete.toString()).toBe('{"a":1}\n{"b":2}\n');
    expect(partial.toString()).toBe('{"c":');
  });

  it('has an empty partial when the bytes end with a newline, and no complete lines when there is no newline', () => {
    expect(splitCompleteLines(bytes('one\ntwo\n'))).toEqual({ complete: bytes('one\ntwo\n'), partial: bytes('') });
    expect(splitCompleteLines(bytes('half a line'))).toEqual({ complete: bytes(''), partial: bytes('half a line') });
    expect(splitCompleteLines(bytes(''))).toEqual({ complete: bytes(''), partial: bytes('') });
  });

  it('works on bytes: a UTF-8 character cut in the partial line is kept as its raw bytes', () => {
    const whole = bytes('{"a":1}\n{"text":"é');
    const cut = whole.subarray(0, whole.length - 1); // the first byte of "é" only
    const { complete, partial } = splitCompleteLines(cut);
    expect(Buffer.concat([complete, partial]).equals(cut)).toBe(true);
    expect(partial.equals(cut.subarray(8))).toBe(true);
  });
});

describe('countLines', () => {
  it.each([
    ['', 0],
    ['\n', 1],
    ['a', 1],
    ['a\n', 1],
    ['a\nb', 2],
    ['a\nb\n', 2],
    ['a\n\nb\n', 3],
    ['\n\n', 2],
  ])('counts %j as %i lines', (text, expected) => {
    expect(countLines(bytes(text))).toBe(expected);
  });

  it('counts the 47 lines of a real rollout', () => {
    expect(countLines(realRollout)).toBe(47);
  });
});

describe('textLines', () => {
  it.each([
    ['', []],
    ['a', ['a']],
    ['a\n', ['a']],
    ['a\nb', ['a', 'b']],
    ['a\nb\n', ['a', 'b']],
    ['a\n\nb\n', ['a', '', 'b']],
    ['\n', ['']],
  ])('reads %j as %j, as many lines as countLines counts', (text, expected) => {
    expect(textLines(bytes(text))).toEqual(expected);
    expect(textLines(bytes(text))).toHaveLength(countLines(bytes(text)));
  });
});

describe('parseJsonLines', () => {
  it('parses each line, numbering lines from 1, and keeps a line that is not JSON raw instead of dropping it', () => {
    expect(parseJsonLines(bytes('{"type":"session_meta"}\nnot json {\n[1,2]\n{"cut":'))).toEqual([
      { ok: true, lineNumber: 1, value: { type: 'session_meta' } },
      { ok: false, lineNumber: 2, raw: 'not json {' },
      { ok: true, lineNumber: 3, value: [1, 2] },
      { ok: false, lineNumber: 4, raw: '{"cut":' },
    ]);
  });

  it('parses every line of a real rollout', () => {
    const lines = parseJsonLines(realRollout);
    expect(lines).toHaveLength(47);
    expect(lines.every((line) => line.ok)).toBe(true);
    expect(lines[0]).toMatchObject({ ok: true, lineNumber: 1, value: { type: 'session_meta' } });
  });

  it('gives nothing for empty bytes', () => {
    expect(parseJsonLines(bytes(''))).toEqual([]);
  });
});
