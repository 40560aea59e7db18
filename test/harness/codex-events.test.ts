/**
 * `codex exec --json` output → baton's events, on real output recorded from Codex 0.171:
 * exec-events.jsonl (a new conversation: one command, one reply) and exec-resume-events.jsonl (its resume).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codexHarness, parseCodexEvent } from '../../src/harness/codex/harness.js';
import type { HarnessEvent } from '../../src/harness/harness.js';

const FIXTURES = new URL('../fixtures/codex/', import.meta.url);

function fixtureLines(name: string): string[] {
  const text = readFileSync(new URL(name, FIXTURES), 'utf8');
  return text.split('\n').filter((line) => line !== '');
}

const SESSION_ID = '01a21a00-e515-7ec1-a52c-23e5cb77e528';
const COMMAND = `/bin/bash -lc 'echo "hello from the baton demo, running in $(pwd)"'`;
const MODEL_METADATA_WARNING = 'Model metadata for `scripted-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.';

describe('parseCodexEvent on real `codex exec --json` output', () => {
  it('turns a new conversation into: session id, turn start, command started and completed, reply, usage', () => {
    const lines = fixtureLines('exec-events.jsonl');
    expect(lines).toHaveLength(7);
    expect(lines.map((line) => parseCodexEvent(line))).toEqual<HarnessEvent[][]>([
      [{ type: 'session.started', sessionId: SESSION_ID }],
      [{ type: 'warning', message: MODEL_METADATA_WARNING }],
      [{ type: 'turn.started' }],
      [{ type: 'command.started', command: COMMAND }],
      [
        {
          type: 'command.completed',
          command: COMMAND,
          exitCode: 0,
          output: 'hello from the baton demo, running in /tmp/baton-fixture/machine-a/project\n',
        },
      ],
      [
        {
          type: 'message',
          text: 'The command printed: "hello from the baton demo, running in /tmp/baton-fixture/machine-a/project". Send a follow-up and I will remember this conversation.',
        },
      ],
      [{ type: 'turn.completed', inputTokens: 200, outputTokens: 126 }],
    ]);
  });

  it('reports the same session id on resume, then the reply and the turn usage', () => {
    const lines = fixtureLines('exec-resume-events.jsonl');
    expect(lines).toHaveLength(5);
    expect(lines.map((line) => parseCodexEvent(line))).toEqual<HarnessEvent[][]>([
      [{ type: 'session.started', sessionId: SESSION_ID }],
      [{ type: 'warning', message: MODEL_METADATA_WARNING }],
      [{ type: 'turn.started' }],
      [
        {
          type: 'message',
          text: 'I remember this conversation: it began with "Run a shell command that says hello, then tell me what it printed." and I can see 1 earlier prompt. You now asked "What was my first request?".',
        },
      ],
      [{ type: 'turn.completed', inputTokens: 300, outputTokens: 210 }],
    ]);
  });

  it('is what the parser from codexHarness.outputParser() reports for each line', () => {
    const parse = codexHarness.outputParser();
    for (const line of [...fixtureLines('exec-events.jsonl'), ...fixtureLines('exec-resume-events.jsonl')]) {
      expect(parse(line)).toEqual(parseCodexEvent(line));
    }
  });
});

describe('parseCodexEvent on other lines', () => {
  it('gives no events for garbage, JSON that is not an event, and events it does not know', () => {
    const lines = [
      '',
      'not json at all',
      '{"type":"thread.started","thread_id":',
      'null',
      '42',
      '"thread.started"',
      '["thread.started"]',
      '{}',
      '{"type":"thread.started"}',
      '{"type":"some.future.event","thread_id":"x"}',
      '{"type":"item.completed"}',
      '{"type":"item.completed","item":{"type":"todo_list","items":[]}}',
    ];
    for (const line of lines) expect(parseCodexEvent(line), line).toEqual([]);
  });

  it('reports a message only once it is complete', () => {
    expect(parseCodexEvent('{"type":"item.started","item":{"id":"i","type":"agent_message","text":"partial"}}')).toEqual([]);
    expect(parseCodexEvent('{"type":"item.completed","item":{"id":"i","type":"agent_message","text":""}}')).toEqual([]);
  });

  it('reports a failing command with its exit code, and a turn failure or stream error with its message', () => {
    expect(
      parseCodexEvent('{"type":"item.completed","item":{"id":"i","type":"command_execution","command":"false","aggregated_output":"","exit_code":1,"status":"failed"}}'),
    ).toEqual([{ type: 'command.completed', command: 'false', exitCode: 1, output: '' }]);
    expect(parseCodexEvent('{"type":"turn.failed","error":{"message":"stream disconnected"}}')).toEqual([{ type: 'turn.failed', message: 'stream disconnected' }]);
    expect(parseCodexEvent('{"type":"error","message":"Reconnecting... 1/5"}')).toEqual([{ type: 'error', message: 'Reconnecting... 1/5' }]);
  });

  it('reports the paths of a completed file change', () => {
    expect(
      parseCodexEvent('{"type":"item.completed","item":{"id":"i","type":"file_change","changes":[{"path":"/w/a.ts","kind":"update"},{"path":"/w/b.ts","kind":"add"}],"status":"completed"}}'),
    ).toEqual([{ type: 'file.changed', paths: ['/w/a.ts', '/w/b.ts'] }]);
  });
});
