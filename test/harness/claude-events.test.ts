/**
 * `claude -p --output-format stream-json --verbose` output → baton's events, on real output recorded from
 * Claude Code 2.1.332 (test/fixtures/claude/stream-json-*.jsonl, described in notes/claude-probe.md §1 and §5).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { claudeHarness, parseClaudeEvent } from '../../src/harness/claude/harness.js';
import type { HarnessEvent, OutputParser } from '../../src/harness/harness.js';

const FIXTURES = new URL('../fixtures/claude/', import.meta.url);

function fixtureLines(name: string): string[] {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

/** Every line through one parser, as a run reads them: one array of events per line. */
function parseAll(name: string, parser: OutputParser = claudeHarness.outputParser()): HarnessEvent[][] {
  return fixtureLines(name).map((line) => parser(line));
}

const SESSION_ID = '11111111-1111-4111-8111-111111111111';
const STARTED: HarnessEvent[] = [{ type: 'session.started', sessionId: SESSION_ID }, { type: 'turn.started' }];

describe('the Claude Code output parser on real stream-json output', () => {
  it('turns a new conversation into: session id from system/init, the Bash call started and completed with its output, the reply, usage', () => {
    expect(parseAll('stream-json-events.jsonl')).toEqual<HarnessEvent[][]>([
      STARTED,
      [{ type: 'command.started', command: 'echo probe-output-123' }],
      [{ type: 'command.completed', command: 'echo probe-output-123', exitCode: 0, output: 'probe-output-123' }],
      [{ type: 'message', text: 'Done: the command printed probe-output-123.' }],
      [{ type: 'turn.completed', inputTokens: 200, outputTokens: 20 }],
    ]);
  });

  it('reports the same session id on resume, then the reply and the turn usage', () => {
    expect(parseAll('stream-json-resume-events.jsonl')).toEqual<HarnessEvent[][]>([
      STARTED,
      [{ type: 'message', text: 'Resumed: I remember probe-output-123.' }],
      [{ type: 'turn.completed', inputTokens: 100, outputTokens: 10 }],
    ]);
  });

  it('reports an API error as a failed turn: the result says is_error although its subtype is "success"', () => {
    const lines = fixtureLines('stream-json-api-error.jsonl');
    const result = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ type: 'result', subtype: 'success', is_error: true });

    const events = parseAll('stream-json-api-error.jsonl');
    expect(events[0]).toEqual([{ type: 'session.started', sessionId: '77777777-7777-4777-8777-000000000001' }, { type: 'turn.started' }]);
    expect(events.at(-1)).toEqual([
      {
        type: 'turn.failed',
        message: "There's an issue with the selected model (claude-opus-5-5). It may not exist or you may not have access to it. Run --model to pick a different model.",
      },
    ]);
    expect(events.flat().some((event) => event.type === 'turn.completed')).toBe(false);
  });

  it('reports a resume of an unknown session as a failed turn that says "No conversation found" (from the errors list)', () => {
    const events = parseAll('stream-json-resume-not-found.jsonl');
    expect(events).toEqual<HarnessEvent[][]>([[{ type: 'turn.failed', message: `No conversation found with session ID: ${SESSION_ID}` }]]);
  });

  it("does not report a foreground subagent's steps as the main agent's: only the Agent call and its hand-back", () => {
    const events = parseAll('stream-json-subagent-events.jsonl').flat();
    const agentCall = 'Agent {"description":"probe subagent","prompt":"SUBTASK-PROMPT: run echo sub-output-789","subagent_type":"general-purpose","run_in_background":false}';
    expect(events.filter((event) => event.type !== 'command.completed')).toEqual<HarnessEvent[]>([
      { type: 'session.started', sessionId: '55555555-aaaa-4aaa-8aaa-000000000001' },
      { type: 'turn.started' },
      { type: 'command.started', command: agentCall },
      { type: 'command.started', command: 'TaskCreate {"subject":"probe task","description":"a probe task","activeForm":"Probing"}' },
      { type: 'command.started', command: 'TodoWrite {"todos":[{"content":"probe todo","status":"in_progress","activeForm":"Probing"}]}' },
      { type: 'message', text: 'Main finished after subagent, task and todo.' },
      { type: 'turn.completed', inputTokens: 400, outputTokens: 40 },
    ]);
    const completed = events.filter((event): event is Extract<HarnessEvent, { type: 'command.completed' }> => event.type === 'command.completed');
    expect(completed.map((event) => [event.command.split(' ')[0], event.exitCode])).toEqual([
      ['Agent', 0],
      ['TaskCreate', 0],
      ['TodoWrite', 1],
    ]);
    expect(completed[1]!.output).toBe('Task #1 created successfully: probe task');
    // The subagent ran `echo sub-output-789` (with parent_tool_use_id set): not one of the main agent's commands.
    expect(events).not.toContainEqual({ type: 'command.started', command: 'echo sub-output-789' });
    expect(events.some((event) => event.type === 'command.completed' && event.output === 'sub-output-789')).toBe(false);
    expect(fixtureLines('stream-json-subagent-events.jsonl').some((line) => line.includes('"command":"echo sub-output-789"'))).toBe(true);
  });

  it('follows a run with a background subagent through its two init/result pairs, without the subagent steps', () => {
    const events = parseAll('stream-json-background-agent-events.jsonl').flat();
    const sessionId = '55555555-aaaa-4aaa-8aaa-0000000000b9';
    expect(events.map((event) => event.type)).toEqual([
      'session.started',
      'turn.started',
      'command.started',
      'command.completed',
      'message',
      'session.started',
      'turn.started',
      'message',
      'turn.completed',
      'turn.completed',
    ]);
    expect(events.filter((event) => event.type === 'session.started')).toEqual([
      { type: 'session.started', sessionId },
      { type: 'session.started', sessionId },
    ]);
    expect(events.filter((event) => event.type === 'turn.completed')).toEqual([
      { type: 'turn.completed', inputTokens: 200, outputTokens: 20 },
      { type: 'turn.completed', inputTokens: 100, outputTokens: 10 },
    ]);
    // The subagent's own Bash call, its output and its final text carry parent_tool_use_id: none is reported.
    expect(events).not.toContainEqual({ type: 'command.started', command: 'echo sub-output-789' });
    expect(events).not.toContainEqual({ type: 'message', text: 'Subagent finished: sub-output-789' });
    expect(events.some((event) => event.type === 'command.completed' && event.output === 'sub-output-789')).toBe(false);
  });

  it('gives no events for lines that are not stream-json events', () => {
    const parser = claudeHarness.outputParser();
    for (const line of ['', 'not json', '{"type":"result"', '[1,2,3]', 'null', '42', '"a string"', '{"type":"unknown_kind"}', '{"no_type":true}', '{"type":"system","subtype":"init"}', '{"type":"system","subtype":"task_started","session_id":"x"}']) {
      expect(parser(line), line).toEqual([]);
    }
  });

  it('keeps the tool calls in flight per parser: two runs parsed side by side do not share them', () => {
    const [init, toolUse, toolResult] = fixtureLines('stream-json-events.jsonl');
    const first = claudeHarness.outputParser();
    const second = claudeHarness.outputParser();
    first(init!);
    second(init!);
    expect(first(toolUse!)).toEqual([{ type: 'command.started', command: 'echo probe-output-123' }]);
    // The second parser never saw the call: it cannot name the command of the result.
    expect(second(toolResult!)).toEqual([{ type: 'command.completed', command: '', exitCode: 0, output: 'probe-output-123' }]);
    expect(first(toolResult!)).toEqual([{ type: 'command.completed', command: 'echo probe-output-123', exitCode: 0, output: 'probe-output-123' }]);
  });

  it('is the same as parseClaudeEvent line by line with one shared map of calls in flight', () => {
    const pending = new Map<string, string>();
    for (const name of ['stream-json-events.jsonl', 'stream-json-subagent-events.jsonl', 'stream-json-background-agent-events.jsonl']) {
      expect(fixtureLines(name).map((line) => parseClaudeEvent(line, pending))).toEqual(parseAll(name));
    }
  });
});
