import { describe, expect, it } from 'vitest';
import { formatConversation, listRow, type ConversationText } from '../../src/cli/inspect-commands.js';
import { formatEvent } from '../../src/cli/progress.js';
import { terminalJson, terminalLine, terminalText } from '../../src/cli/terminal-text.js';

/** Every character a terminal would act on instead of showing: C0 (less newline and tab), DEL, C1, bidi controls. */
const INTERPRETED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE_TITLE = '\x1b]0;pwned\x07\x1b[2J\n c_fakeid  forged row';

describe('terminalLine (one-line fields)', () => {
  it('shows an OSC title change, a screen clear and a forged row as visible text on one line', () => {
    expect(terminalLine(HOSTILE_TITLE)).toBe('\\x1b]0;pwned\\x07\\x1b[2J\\x0a c_fakeid  forged row');
  });

  it('escapes tab, carriage return, DEL, C1 controls and bidi overrides and isolates', () => {
    expect(terminalLine('a\tb\rc\x7fd\x9be\u202ef\u2066g\u2069h\u202ai')).toBe('a\\x09b\\x0dc\\x7fd\\x9be\\u202ef\\u2066g\\u2069h\\u202ai');
  });

  it('leaves ordinary text, other Unicode and backslashes alone', () => {
    const text = 'fix the parser — naïve café 🚀 C:\\Users\\me \\x1b (typed, not an ESC)';
    expect(terminalLine(text)).toBe(text);
  });

  it('escapes every code point of every class it promises, and nothing next to them', () => {
    const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, index) => from + index);
    const escaped = [...range(0x00, 0x1f), ...range(0x7f, 0x9f), 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
    for (const code of escaped) expect(terminalLine(String.fromCharCode(code)), code.toString(16)).toMatch(/^\\(x[0-9a-f]{2}|u[0-9a-f]{4})$/);
    for (const code of [0x20, 0x7e, 0xa0, 0x2029, 0x202f, 0x2065, 0x206a]) expect(terminalLine(String.fromCharCode(code))).toBe(String.fromCharCode(code));
  });
});

describe('terminalText (multi-line bodies)', () => {
  it('keeps newlines and tabs but escapes ESC, CSI, OSC and BEL', () => {
    expect(terminalText('line one\n\tline two \x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07')).toBe(
      'line one\n\tline two \\x1b[31mred\\x1b[0m \\x1b]8;;http://evil\\x07link\\x1b]8;;\\x07',
    );
  });

  it('reads a CRLF line end as a newline but shows a lone carriage return, which would overwrite the line', () => {
    expect(terminalText('ok\r\nnext\rforged')).toBe('ok\nnext\\x0dforged');
  });

  it('escapes 8-bit C1 controls and bidi overrides', () => {
    expect(terminalText('\x9b2J \u202egnp.exe')).toBe('\\x9b2J \\u202egnp.exe');
  });
});

describe('terminalJson (--json output)', () => {
  it('escapes the DEL, C1 and bidi characters JSON.stringify leaves raw, and parses back to the same value', () => {
    const value = { title: HOSTILE_TITLE, reply: 'csi \x9b2J del \x7f bidi \u202e\u2066 plain é 🚀', nested: [{ path: 'a\u2069b' }] };
    expect(JSON.stringify(value)).toMatch(INTERPRETED); // what the test guards against
    const json = terminalJson(value);
    expect(json).not.toMatch(INTERPRETED);
    expect(json).toContain('csi \\u009b2J del \\u007f bidi \\u202e\\u2066');
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('live progress', () => {
  it('escapes the agent\'s replies, commands, output, paths and messages', () => {
    const at = 0;
    const lines = [
      formatEvent({ type: 'session.started', sessionId: 's\x1b[2J', at }),
      formatEvent({ type: 'message', text: 'hi\n\x1b]0;pwned\x07', at }),
      formatEvent({ type: 'command.started', command: 'echo \x1b[2J', at }),
      formatEvent({ type: 'command.completed', command: 'x', output: 'out\x1b[1A\x1b[2K', exitCode: 1, at } as never),
      formatEvent({ type: 'file.changed', paths: ['a\nb', '\u202etxt.exe'], at }),
      formatEvent({ type: 'turn.failed', message: 'no\x07', at }),
      formatEvent({ type: 'warning', message: 'w\x9b', at }),
      formatEvent({ type: 'error', message: 'e\x1bc', at }),
    ];
    for (const line of lines) {
      expect(line).toBeDefined();
      expect(line).not.toMatch(INTERPRETED);
    }
    expect(lines[1]).toBe('\nhi\n\\x1b]0;pwned\\x07\n');
    expect(lines[4]).toBe('✎ a\\x0ab, \\u202etxt.exe');
  });
});

describe('baton show text', () => {
  const hostile: ConversationText = {
    conversation: { id: 'c_\x1b[2Jx', harness: 'codex', sessionId: 's\ns', forkedFrom: { conversationId: 'c\x07', runId: 'r\n', reason: 'why\x1b]0;t\x07' } },
    runs: [
      { id: 'r1', sequence: 1, kind: 'new', status: 'failed', exitCode: 1, host: 'host\n── run 9 · forged', startedAt: 0, cwd: '/w\x1b[8m', prompt: 'do it\n\x1b[2Jsecond line', error: 'boom\x1b]0;pwned\x07' },
    ],
    view: {
      items: [
        { kind: 'user', text: 'do it\n\x1b[2Jsecond line' },
        { kind: 'assistant', text: 'reply\nwith \x1b[31mcolour\x1b[0m and \u202eoverride' },
        { kind: 'command', callId: 'c1', command: 'printf "\\033]0;x\\007"', output: '\x1b]0;x\x07', exitCode: 0 },
        { kind: 'tool', callId: 't1', name: 'Tool\nforged', input: '{"a":"\x1b"}', output: 'o\x9b' },
        { kind: 'edit', callId: 'e1', paths: ['file\nname.ts'], diff: '+\x1b[2J', output: undefined },
      ],
      unparsedLines: 0,
    },
    workspaceOf: () => ({ kind: 'directory', fingerprint: 'f', changedFiles: ['a\x1b[2J\nb'] }) as never,
  };

  it('contains no character a terminal would interpret, whatever the stored fields hold', () => {
    expect(formatConversation(hostile)).not.toMatch(INTERPRETED);
  });

  it('keeps a reply\'s own lines, but a one-line field (host, path, tool name) cannot start a line of its own', () => {
    const text = formatConversation(hostile);
    expect(text).toContain('reply\nwith \\x1b[31mcolour\\x1b[0m and \\u202eoverride');
    expect(text).toContain('host\\x0a── run 9 · forged');
    expect(text).not.toMatch(/^── run 9/m);
    expect(text).toContain('⚙ Tool\\x0aforged');
    expect(text).toContain('✎ file\\x0aname.ts');
    expect(text).toContain('✎ files changed: a\\x1b[2J\\x0ab');
    expect(text).toContain('! boom\\x1b]0;pwned\\x07');
    expect(text.split('\n')[0]).toBe('conversation c_\\x1b[2Jx · codex · session s\\x0as');
  });

  it('prefixes every line of an unsaved run\'s prompt, so a prompt cannot forge a run header', () => {
    const text = formatConversation({ ...hostile, runs: [{ ...hostile.runs[0]!, prompt: 'first\n── run 2 · resume · succeeded' }], view: { items: [], unparsedLines: 0 } });
    expect(text).toContain('> first\n> ── run 2 · resume · succeeded');
  });
});

describe('baton ls lineage', () => {
  const row = { id: 'c_fork', harness: 'codex', status: 'idle', runs: 2, updatedAt: 0, title: 'fix the parser (fork)' };

  it('names the conversation a fork was cut from and the turn, and the session an adoption took in', () => {
    expect(listRow({ ...row, forkedFrom: { conversationId: 'c_orig', turn: 2 } })).toMatch(/fix the parser \(fork\)  \(fork of c_orig at turn 2\)\n$/);
    expect(listRow({ ...row, forkedFrom: { conversationId: 'c_orig' } })).toMatch(/\(fork of c_orig\)\n$/);
    expect(listRow({ ...row, adoptedFrom: { harness: 'claude', sessionId: 's-1', host: 'laptop' } })).toMatch(/\(adopted from claude session s-1 on laptop\)\n$/);
    expect(listRow(row)).toMatch(/fix the parser \(fork\)\n$/);
  });

  it('keeps a hostile origin on its row', () => {
    const text = listRow({ ...row, forkedFrom: { conversationId: HOSTILE_TITLE, turn: 1 }, adoptedFrom: { harness: 'claude', sessionId: HOSTILE_TITLE, host: HOSTILE_TITLE } });
    expect(text.split('\n')).toHaveLength(2);
    expect(text).not.toMatch(INTERPRETED);
  });
});
