/**
 * The OpenCode session log (src/harness/opencode/log.ts) on real `opencode export` output recorded from opencode
 * 1.18.33: export-tool-turn.json (a new session: a bash call, its output, a reply), export-resumed.json (the same
 * session imported on another machine and resumed once), export-after-sigterm.json (a run killed mid-tool).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportToLog, foldLog, isEarlierStateOf, logMessages, sessionInfoOf, updateLog } from '../../src/harness/opencode/log.js';
import { readOpencodeMeta, viewOpencodeSession } from '../../src/harness/opencode/transcript.js';

const FIXTURES = new URL('../fixtures/opencode/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');
const EXPORTS = ['export-tool-turn.json', 'export-resumed.json', 'export-after-sigterm.json'];

const linesOf = (log: Buffer): Array<{ type: string; data: { id: string } }> =>
  log
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));

/** The export as it was earlier in the same run: the reply's text part only half written, the last step not finished. */
function earlierState(exportText: string): string {
  const document = JSON.parse(exportText);
  const last = document.messages.at(-1);
  const text = last.parts.find((part: { type: string }) => part.type === 'text');
  text.text = text.text.slice(0, 5);
  delete text.time.end;
  last.parts = last.parts.filter((part: { type: string }) => part.type !== 'step-finish');
  delete last.info.time.completed;
  delete last.info.finish;
  return `${JSON.stringify(document, null, 2)}\n`;
}

describe('the OpenCode session log', () => {
  it.each(EXPORTS)('folds back into the export byte for byte (%s)', (name) => {
    const exportText = fixture(name);
    const log = exportToLog(exportText);
    expect(foldLog(log)).toBe(exportText);
    const records = linesOf(log);
    expect(records[0]!.type).toBe('session');
    const document = JSON.parse(exportText);
    const partCount = document.messages.reduce((sum: number, message: { parts: unknown[] }) => sum + message.parts.length, 0);
    expect(records).toHaveLength(1 + document.messages.length + partCount);
    expect(records.every((record) => record.type !== 'export')).toBe(true);
  });

  it('appends only the records a follow-up added or changed, and the longer log folds into the newer export', () => {
    const first = fixture('export-tool-turn.json');
    const resumed = fixture('export-resumed.json');
    const log = exportToLog(first);
    const update = updateLog(log, resumed);
    expect(update.change).toBe('appended');
    expect(update.log.subarray(0, log.length).equals(log)).toBe(true);
    expect(update.log.subarray(log.length).equals(update.appended)).toBe(true);
    expect(foldLog(update.log)).toBe(resumed);
    // The session info changed (new directory, tokens, time) and two messages with their parts are new. verified
    // with opencode 1.18.33: import re-encodes rows, so some earlier records come back from the next export with
    // their keys in another order — appended once more (the bytes are what OpenCode prints), never a rewrite.
    const textOf = (text: string): Map<string, string> => {
      const document = JSON.parse(text);
      const records = new Map<string, string>([['session', JSON.stringify(document.info)]]);
      for (const message of document.messages) {
        records.set(message.info.id, JSON.stringify(message.info));
        for (const part of message.parts) records.set(part.id, JSON.stringify(part));
      }
      return records;
    };
    const before = textOf(first);
    const after = textOf(resumed);
    const changed = [...after].filter(([id, text]) => before.get(id) !== text).map(([id]) => id);
    const appended = linesOf(update.appended).map((record) => (record.type === 'session' ? 'session' : record.data.id));
    expect(appended).toEqual(changed);
    expect(appended).toEqual(expect.arrayContaining(['session', ...JSON.parse(resumed).messages.slice(3).map((message: { info: { id: string } }) => message.info.id)]));
    expect(appended.length).toBeLessThan(after.size);
  });

  it('appends a part again when it changed in place, and the last line for an id wins', () => {
    const finished = fixture('export-tool-turn.json');
    const earlier = earlierState(finished);
    const log = exportToLog(earlier);
    const update = updateLog(log, finished);
    expect(update.change).toBe('appended');
    const appended = linesOf(update.appended);
    // The reply's message (completed), its text part (grown) and the new step-finish; nothing else.
    expect(appended.map((record) => record.type)).toEqual(['message', 'part', 'part']);
    expect(foldLog(update.log)).toBe(finished);
    expect(isEarlierStateOf(log, update.log)).toBe(true);
    expect(isEarlierStateOf(update.log, log)).toBe(false);
  });

  it('changes nothing when the export did not change', () => {
    const exportText = fixture('export-tool-turn.json');
    const log = exportToLog(exportText);
    expect(updateLog(log, exportText)).toMatchObject({ change: 'none', log });
  });

  it('writes the log anew when a record disappeared (a revert), so the saver stores a full new version', () => {
    const resumed = fixture('export-resumed.json');
    const reverted = JSON.parse(resumed);
    reverted.messages = reverted.messages.slice(0, 3);
    const revertedText = `${JSON.stringify(reverted, null, 2)}\n`;
    const update = updateLog(exportToLog(resumed), revertedText);
    expect(update.change).toBe('rewritten');
    expect(foldLog(update.log)).toBe(revertedText);
  });

  it('keeps a document it cannot split into records whole, in one line', () => {
    const odd = '{\n  "info": {"id": "ses_x"},\n  "messages": "not a list"\n}\n';
    const log = exportToLog(odd);
    expect(linesOf(log).map((record) => record.type)).toEqual(['export']);
    expect(foldLog(log)).toBe(odd);
  });

  it('refuses a log without a session line as TRANSCRIPT_CORRUPT', () => {
    expect(() => foldLog(Buffer.from('{"type":"message","data":{"id":"msg_1"}}\n'))).toThrow(expect.objectContaining({ code: 'TRANSCRIPT_CORRUPT' }));
  });

  it('finds the first and the newest session line, not a session record nested inside another line', () => {
    const line = (type: string, data: object): string => JSON.stringify({ type, data });
    const log = Buffer.from(
      [line('session', { id: 'ses_1', title: 'first' }), line('message', { id: 'msg_1', inner: { type: 'session', data: { id: 'nested' } } }), `x${line('session', { id: 'mid-line' })}`, 'not json', line('session', { id: 'ses_1', title: 'newest' })].join('\n'),
    );
    expect(sessionInfoOf(log)).toEqual({ first: { id: 'ses_1', title: 'first' }, last: { id: 'ses_1', title: 'newest' } });
    expect(sessionInfoOf(Buffer.from(line('message', { id: 'msg_1' })))).toEqual({ first: undefined, last: undefined });
  });

  it('reads the session metadata from the first session line', () => {
    const log = updateLog(exportToLog(fixture('export-tool-turn.json')), fixture('export-resumed.json')).log;
    expect(readOpencodeMeta(log, 'ses_dc927d695ffenlflE9ucRXeuFQ')).toEqual({
      sessionId: 'ses_dc927d695ffenlflE9ucRXeuFQ',
      sessionStartedAt: new Date(1796216465771).toISOString(),
      cwd: '/tmp/ocp/h1/cwd',
      cliVersion: '1.18.33',
    });
  });

  it('shows the conversation: prompts, the command with its output and exit code, replies', () => {
    const log = updateLog(exportToLog(fixture('export-tool-turn.json')), fixture('export-resumed.json')).log;
    expect(logMessages(log).messages).toHaveLength(5);
    expect(viewOpencodeSession(Buffer.concat([log, Buffer.from('not json\n')]))).toEqual({
      items: [
        { kind: 'user', text: 'RUN echo hi-there' },
        { kind: 'command', callId: 'call_scripted_71e8360b_3', command: 'echo hi-there', output: 'hi-there\n', exitCode: 0 },
        { kind: 'assistant', text: 'The command printed: hi-there' },
        { kind: 'user', text: 'what did the command print?' },
        { kind: 'assistant', text: expect.stringContaining('ACK') },
      ],
      unparsedLines: 1,
    });
  });

  it('shows a tool the killed run left running, with the output it had so far', () => {
    const view = viewOpencodeSession(exportToLog(fixture('export-after-sigterm.json')));
    const command = view.items.find((item) => item.kind === 'command');
    expect(command).toMatchObject({ kind: 'command', command: expect.stringContaining('sleep') });
  });
});
