import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { geminiOutputParser } from '../../src/harness/gemini/harness.js';
import type { HarnessEvent } from '../../src/harness/harness.js';

/** Every event of a stream-json capture from gemini 0.61.0, through one parser as a run uses it. */
async function eventsOf(fixture: string): Promise<HarnessEvent[]> {
  const parse = geminiOutputParser();
  const lines = (await readFile(`test/fixtures/gemini/${fixture}`, 'utf8')).split('\n').filter((line) => line !== '');
  return lines.flatMap((line) => parse(line));
}

describe('gemini stream-json events', () => {
  it('turns a new run with a shell call into session, command and one joined message', async () => {
    const events = await eventsOf('stream-json-events.jsonl');
    expect(events[0]).toEqual({ type: 'session.started', sessionId: '22222222-2222-4333-8444-555555555555' });
    expect(events[1]).toEqual({ type: 'turn.started' });
    expect(events[2]).toEqual({ type: 'command.started', command: 'echo hi-from-shell' });
    expect(events[3]).toEqual({ type: 'command.completed', command: 'echo hi-from-shell', exitCode: 0, output: 'hi-from-shell' });
    expect(events[4]).toMatchObject({ type: 'message', text: expect.stringMatching(/^The command printed: .*hi-from-shell/) });
    expect(events[5]).toEqual({ type: 'turn.completed', inputTokens: 200, outputTokens: 20 });
    expect(events).toHaveLength(6);
  });

  it('reports the resumed session id on resume', async () => {
    const events = await eventsOf('stream-json-resume-events.jsonl');
    expect(events[0]).toEqual({ type: 'session.started', sessionId: '22222222-2222-4333-8444-555555555555' });
    expect(events.at(-1)).toMatchObject({ type: 'turn.completed' });
    expect(events.filter((event) => event.type === 'message')).toHaveLength(1);
  });

  it('fails the turn on an API error with its message', async () => {
    const events = await eventsOf('stream-json-api-error.jsonl');
    expect(events.at(-1)).toEqual({ type: 'turn.failed', message: expect.stringContaining('scripted failure 400') });
  });

  it('ends an interrupted run (no result event) without completing the turn', async () => {
    const events = await eventsOf('stream-json-interrupted.jsonl');
    expect(events.map((event) => event.type)).toEqual(['session.started', 'turn.started', 'command.started', 'command.completed']);
  });

  it('reads warnings, failed tools and non-zero exits', () => {
    const parse = geminiOutputParser();
    expect(parse('{"type":"error","timestamp":"t","severity":"warning","message":"loop detected"}')).toEqual([{ type: 'warning', message: 'loop detected' }]);
    expect(parse('{"type":"tool_use","tool_name":"read_file","tool_id":"t1","parameters":{"file_path":"a"}}')).toEqual([{ type: 'command.started', command: 'read_file {"file_path":"a"}' }]);
    expect(parse('{"type":"tool_result","tool_id":"t1","status":"error","output":"Tool \\"x\\" not found","error":{"type":"tool_not_registered"}}')).toEqual([{ type: 'command.completed', command: 'read_file {"file_path":"a"}', exitCode: 1, output: 'Tool "x" not found' }]);
    expect(parse('{"type":"tool_result","tool_id":"t2","status":"success","output":"boom\\nExit Code: 3"}')).toMatchObject([{ exitCode: 3 }]);
    expect(parse('not json')).toEqual([]);
  });
});
