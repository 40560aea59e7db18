/**
 * `opencode run --format json` output → baton's events, on real output recorded from opencode 1.18.33 against the
 * scripted model server: run-events.jsonl (a new session: one bash call, then a reply), run-resume-events.jsonl
 * (its follow-up after an import elsewhere), run-error-events.jsonl (a model API failure).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/transcript/envelope.js';
import type { HarnessEvent } from '../../src/harness/harness.js';
import { OPENCODE_ARGS, opencodeHarness, opencodeOutputParser } from '../../src/harness/opencode/harness.js';
import { newOpencodeSessionId } from '../../src/harness/opencode/transcript.js';

const FIXTURES = new URL('../fixtures/opencode/', import.meta.url);
const fixtureLines = (name: string): string[] =>
  readFileSync(new URL(name, FIXTURES), 'utf8')
    .split('\n')
    .filter((line) => line !== '');

const SESSION_ID = 'ses_dc927d695ffenlflE9ucRXeuFQ';

describe('the OpenCode output parser on real `opencode run --format json` output', () => {
  it('turns a tool turn into: session id, turn start, the command with its output, the reply, the summed usage', () => {
    const parse = opencodeOutputParser();
    expect(fixtureLines('run-events.jsonl').map((line) => parse(line))).toEqual<HarnessEvent[][]>([
      [{ type: 'session.started', sessionId: SESSION_ID }, { type: 'turn.started' }],
      [
        { type: 'command.started', command: 'echo hi-there' },
        { type: 'command.completed', command: 'echo hi-there', exitCode: 0, output: 'hi-there\n' },
      ],
      [],
      [],
      [{ type: 'message', text: 'The command printed: hi-there' }],
      // Both steps: 60 uncached + 40 cached input tokens each, 55 + 45 output tokens.
      [{ type: 'turn.completed', inputTokens: 200, outputTokens: 100 }],
    ]);
  });

  it('reports the resumed session once and its reply', () => {
    const parse = opencodeOutputParser();
    expect(fixtureLines('run-resume-events.jsonl').flatMap((line) => parse(line))).toEqual<HarnessEvent[]>([
      { type: 'session.started', sessionId: SESSION_ID },
      { type: 'turn.started' },
      { type: 'message', text: 'ACK what did the command print?' },
      { type: 'turn.completed', inputTokens: 100, outputTokens: 46 },
    ]);
  });

  it('turns an error event into a failed turn with the API message', () => {
    const events = fixtureLines('run-error-events.jsonl').flatMap((line) => opencodeOutputParser()(line));
    expect(events).toEqual([
      { type: 'session.started', sessionId: 'ses_dc942a007ffekjAySOrIYjX3wE' },
      { type: 'turn.started' },
      { type: 'turn.failed', message: 'scripted failure 500' },
    ]);
  });

  it('ignores lines that are not JSON events', () => {
    expect(opencodeOutputParser()('Exporting session')).toEqual([]);
    expect(opencodeOutputParser()('[1,2]')).toEqual([]);
  });
});

describe('the OpenCode harness', () => {
  const envelope = (sessionId: string, harness: Envelope['harness'] = 'opencode'): Envelope => ({
    harness,
    sessionId,
    meta: { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined },
    files: [],
  });

  it('chooses session ids in OpenCode\'s own shape, newest sorting first', () => {
    const older = newOpencodeSessionId(1_796_216_465_771);
    const newer = newOpencodeSessionId(1_796_216_465_772);
    expect(older).toMatch(/^ses_[0-9a-f]{12}[0-9A-Za-z]{14}$/);
    expect(newer < older).toBe(true);
    // The time part of a real id: ses_dc927d695ffe… belongs to a session created at 1796216465771 (its id 1 ms before).
    expect(newOpencodeSessionId(1_796_216_465_770).slice(0, 14)).toBe('ses_dc927d695f');
  });

  it('validates the resume at the boundary: ses_ ids only, and only its own envelopes', () => {
    expect(opencodeHarness.resumeInfo(envelope(SESSION_ID))).toEqual({ sessionId: SESSION_ID });
    expect(() => opencodeHarness.resumeInfo(envelope('11111111-1111-4111-8111-111111111111'))).toThrow(expect.objectContaining({ code: 'INVALID_SESSION_ID' }));
    expect(() => opencodeHarness.resumeInfo(envelope('ses_../../etc'))).toThrow(expect.objectContaining({ code: 'INVALID_SESSION_ID' }));
    expect(() => opencodeHarness.resumeInfo(envelope(SESSION_ID, 'codex'))).toThrow(expect.objectContaining({ code: 'HARNESS_MISMATCH' }));
  });

  it('puts the prompt on stdin, never in argv (OpenCode quotes argv items with spaces)', async () => {
    const context = { home: '/tmp/nowhere/data/opencode', cwd: '/tmp', env: { ...process.env, XDG_DATA_HOME: '/tmp/nowhere/data' } };
    const prompt = 'two words "quoted" -m 42\nsecond line';
    const spec = await opencodeHarness.command(context, { kind: 'resume', prompt, setup: { model: 'gpt-5.1' }, resume: { sessionId: SESSION_ID } }, { command: undefined, newArgs: undefined, resumeArgs: undefined });
    expect(spec.args).toEqual(['run', '--format', 'json', '--auto', '-s', SESSION_ID, '-m', 'openai/gpt-5.1']);
    expect(spec.stdin).toBe(prompt);
    expect(spec.file).toMatch(/opencode$/);
    expect(spec.env.XDG_DATA_HOME).toBe('/tmp/nowhere/data');
    expect(OPENCODE_ARGS.flat().some((item) => item.includes('{prompt}'))).toBe(false);
    // verified with opencode 1.18.33: it works in $PWD when set; baton's own must not reach it.
    expect(spec.env.PWD).toBe('/tmp');
  });

  it('lets the CLI create a new session, named by the prompt\'s first line in one --title= item (no title request to the model)', async () => {
    const context = { home: '/tmp/nowhere/data/opencode', cwd: '/tmp', env: { ...process.env, XDG_DATA_HOME: '/tmp/nowhere/data', PWD: '/somewhere/else' } };
    expect(opencodeHarness.newSessionId()).toBeUndefined();
    const spec = await opencodeHarness.command(context, { kind: 'new', prompt: '--help me\nsecond line', setup: {}, sessionId: undefined }, { command: undefined, newArgs: undefined, resumeArgs: undefined });
    expect(spec.args).toEqual(['run', '--format', 'json', '--auto', '--title=--help me']);
    expect(spec.stdin).toBe('--help me\nsecond line');
    expect(spec.env.PWD).toBe('/tmp');
  });
});
