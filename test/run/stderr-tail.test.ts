/** The end of a CLI's stderr, as kept for its exit error: bounded, line by line, and safe to show. */
import { describe, expect, it } from 'vitest';
import { StderrTail, STDERR_TAIL_LINE_CHARS, STDERR_TAIL_LINES, terminalSafeLine } from '../../src/run/stderr-tail.js';

describe('StderrTail', () => {
  it(`keeps the last ${STDERR_TAIL_LINES} non-empty lines, oldest first, across chunks cut anywhere (mid-line, mid-character)`, () => {
    const tail = new StderrTail();
    const text = Buffer.from(['one', '', 'two', '   ', 'three', 'four', 'five', 'six — é', '', ''].join('\n'));
    for (let index = 0; index < text.length; index += 3) tail.write(text.subarray(index, index + 3));
    expect(tail.lines()).toEqual(['two', 'three', 'four', 'five', 'six — é']);
  });

  it('counts a last line without a newline as a line', () => {
    const tail = new StderrTail();
    tail.write(Buffer.from('first\nError: no newline at the end'));
    expect(tail.lines()).toEqual(['first', 'Error: no newline at the end']);
  });

  it('stays bounded whatever the CLI writes: a long line is cut, an endless one too', () => {
    const tail = new StderrTail();
    tail.write(Buffer.from(`${'a'.repeat(100_000)}\n`));
    for (let index = 0; index < 100; index++) tail.write(Buffer.from('b'.repeat(10_000)));
    const [long, endless] = tail.lines();
    expect(long).toBe(`${'a'.repeat(STDERR_TAIL_LINE_CHARS - 1)}…`);
    expect(endless).toBe(`${'b'.repeat(STDERR_TAIL_LINE_CHARS - 1)}…`);
    expect((tail as unknown as { partial: string }).partial.length).toBeLessThanOrEqual(STDERR_TAIL_LINE_CHARS * 4 + 1);
  });

  it('follows a spinner that redraws one line for ever: its newest frame with text, in bounded memory', () => {
    const tail = new StderrTail();
    tail.write(Buffer.from('before\n'));
    for (let frame = 0; frame < 10_000; frame++) tail.write(Buffer.from(`\r\x1b[2K${'⠋⠙⠹'[frame % 3]} exporting session ${frame}`));
    tail.write(Buffer.from('\r\x1b[2K'));
    expect(tail.lines()).toEqual(['before', '⠋ exporting session 9999']);
    tail.write(Buffer.from('Error: export failed\n'));
    expect(tail.lines()).toEqual(['before', 'Error: export failed']);
    expect((tail as unknown as { partial: string }).partial).toBe('');
  });
});

describe('terminalSafeLine', () => {
  it('removes colour codes and other escape sequences (CSI, OSC window titles)', () => {
    expect(terminalSafeLine('\x1b[31;1merror:\x1b[0m bad \x1b]0;pwned\x07config')).toBe('error: bad config');
  });

  it('keeps the last frame a spinner drew with carriage returns, and a CRLF line end is a line end', () => {
    expect(terminalSafeLine('⠋ loading\r⠙ loading\rError: failed to load\r')).toBe('Error: failed to load');
    expect(terminalSafeLine('Error: x\r')).toBe('Error: x');
    expect(terminalSafeLine('Error: kept\r\x1b[2K\r')).toBe('Error: kept');
  });

  it('blanks every other control, bidi override and lone surrogate, and trims', () => {
    expect(terminalSafeLine('\tkey:\x00\x07value\u202e\u0085end\ud800!  ')).toBe('key: value end !');
  });
});
