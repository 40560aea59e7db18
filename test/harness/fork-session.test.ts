/**
 * forkSession() of every harness, on real sessions recorded from the real CLIs (test/fixtures/): a cut after turn
 * N shows exactly the first N turns of the original (as `baton show` numbers them), carries the fork's session id
 * and never the original's, and — for the CLIs whose files are append-only logs — is the original's bytes up to a
 * line, unchanged but for the id.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cutClaudeSession } from '../../src/harness/claude/fork.js';
import { cutRollout, newCodexThreadId } from '../../src/harness/codex/fork.js';
import { cutGeminiSession } from '../../src/harness/gemini/fork.js';
import type { Harness } from '../../src/harness/harness.js';
import type { HarnessId } from '../../src/harness/ids.js';
import { exportToLog, foldLog, parseExport } from '../../src/harness/opencode/log.js';
import { OPENCODE_SESSION_ID } from '../../src/harness/opencode/transcript.js';
import { getHarness } from '../../src/harness/registry.js';
import { MAIN_FILE_KEY, transcriptFile, type TranscriptFile } from '../../src/transcript/envelope.js';
import { turnCount } from '../../src/transcript/fork-cut.js';
import { splitTurns } from '../../src/transcript/view.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

function filesUnder(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

interface Session {
  name: string;
  harness: HarnessId;
  sessionId: string;
  files: TranscriptFile[];
}

function codexSession(folder: string): Session {
  const [path] = filesUnder(join(FIXTURES, 'codex', folder));
  const sessionId = /([0-9a-f-]{36})\.jsonl$/.exec(path!)![1]!;
  return { name: `codex ${folder}`, harness: 'codex', sessionId, files: [transcriptFile(MAIN_FILE_KEY, readFileSync(path!))] };
}

function claudeSession(folder: string): Session {
  const root = join(FIXTURES, 'claude', folder);
  const paths = filesUnder(root);
  const main = paths.find((path) => /projects\/[^/]+\/[0-9a-f-]{36}\.jsonl$/.test(path))!;
  const sessionId = /([0-9a-f-]{36})\.jsonl$/.exec(main)![1]!;
  const files = paths.flatMap((path) => {
    const subagent = /\/subagents\/([^/]+)$/.exec(path);
    const task = /\/tasks\/[^/]+\/([^/]+)$/.exec(path);
    const key = path === main ? MAIN_FILE_KEY : subagent ? `subagents/${subagent[1]}` : task ? `tasks/${task[1]}` : undefined;
    return key ? [transcriptFile(key, readFileSync(path))] : [];
  });
  return { name: `claude ${folder}`, harness: 'claude', sessionId, files };
}

function geminiSession(folder: string): Session {
  const [path] = filesUnder(join(FIXTURES, 'gemini', folder));
  const content = readFileSync(path!);
  const sessionId = (JSON.parse(content.toString('utf8').split('\n')[0]!) as { sessionId: string }).sessionId;
  return { name: `gemini ${folder}`, harness: 'gemini', sessionId, files: [transcriptFile(MAIN_FILE_KEY, content)] };
}

function opencodeSession(file: string): Session {
  const text = readFileSync(join(FIXTURES, 'opencode', file), 'utf8');
  const sessionId = parseExport(text)!.info.id as string;
  return { name: `opencode ${file}`, harness: 'opencode', sessionId, files: [transcriptFile(MAIN_FILE_KEY, exportToLog(text))] };
}

const SESSIONS: Session[] = [
  codexSession('resumed-twice'),
  codexSession('tool-call'),
  codexSession('killed-mid-turn'),
  ...['resumed-twice', 'resumed', 'subagent', 'todowrite', 'killed-mid-tool-resumed', 'killed-parallel-tools-resumed', 'tool-call'].map(claudeSession),
  ...['resumed', 'resumed-history-with-tool-calls', 'killed-mid-tool'].map(geminiSession),
  ...['export-resumed.json', 'export-tool-turn.json', 'export-after-sigterm.json'].map(opencodeSession),
];

const CUTTERS: Partial<Record<HarnessId, (content: Buffer, cut: { turns: number }) => Buffer>> = { codex: cutRollout, claude: cutClaudeSession, gemini: cutGeminiSession };

function main(files: TranscriptFile[]): Buffer {
  return files.find((file) => file.key === MAIN_FILE_KEY)!.content;
}

describe.each(SESSIONS)('$name', (session) => {
  const harness: Harness = getHarness(session.harness);
  const turns = splitTurns(harness.viewTranscript(session.files).items);

  it('has turns to cut', () => {
    expect(turns.length).toBeGreaterThan(0);
  });

  it.each([...turns.keys()].map((index) => index + 1))('cut after turn %i shows exactly the first turns, under the fork\'s session id', (n) => {
    const forkId = harness.forkSessionId();
    const forked = harness.forkSession(session.files, { turns: n }, { original: session.sessionId, fork: forkId });
    expect(forked.sessionId).toBe(forkId);
    const view = harness.viewTranscript(forked.files);
    expect(turnCount(view)).toBe(n);
    expect(splitTurns(view.items)).toEqual(turns.slice(0, n));
    for (const file of forked.files) {
      expect(file.content.includes(session.sessionId)).toBe(false);
      expect(file.key.includes(session.sessionId)).toBe(false);
    }
    expect(main(forked.files).includes(forkId)).toBe(true);
    expect(harness.readSessionMeta(main(forked.files), 'unknown').sessionId).toBe(forkId);
    const cutter = CUTTERS[session.harness];
    if (cutter) {
      // The cut is the stored bytes up to a line: a prefix (Claude drops lines that point past it, none here).
      const cutBytes = cutter(main(session.files), { turns: n });
      expect(main(session.files).subarray(0, cutBytes.length).equals(cutBytes)).toBe(true);
      expect(cutBytes[cutBytes.length - 1]).toBe(0x0a);
    }
  });
});

describe('codex', () => {
  it('a turn of the rollout ends with its task_complete: the next run\'s settings and task_started go with the next turn', () => {
    const session = codexSession('resumed-twice');
    const cut = cutRollout(main(session.files), { turns: 1 }).toString('utf8').trim().split('\n');
    expect((JSON.parse(cut.at(-1)!) as { payload: { type: string } }).payload.type).toBe('task_complete');
  });

  it('fork thread ids are UUID version 7, like the ones Codex makes', () => {
    expect(newCodexThreadId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('claude', () => {
  it('a cut drops the queue operations of the next prompt and lines that point past the cut', () => {
    const session = claudeSession('resumed-twice');
    const original = main(session.files).toString('utf8');
    // A summary line that names the last message (of turn 3) must not survive a cut after turn 1.
    const lines = original.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const lastAssistant = lines.filter((line) => line.type === 'assistant').at(-1)!.uuid as string;
    const withSummary = Buffer.from(`${JSON.stringify({ type: 'summary', summary: 'x', leafUuid: lastAssistant })}\n${original}`);
    const cut = cutClaudeSession(withSummary, { turns: 1 }).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(cut.some((line) => line.type === 'summary')).toBe(false);
    expect(cut.at(-1)!.type).not.toBe('queue-operation');
    expect(cut.filter((line) => line.type === 'user' && typeof (line.message as { content: unknown }).content === 'string')).toHaveLength(1);
  });

  it('every kept line\'s parentUuid names a kept line', () => {
    const session = claudeSession('resumed-twice');
    for (const n of [1, 2]) {
      const lines = cutClaudeSession(main(session.files), { turns: n }).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const uuids = new Set(lines.map((line) => line.uuid));
      for (const line of lines) if (typeof line.parentUuid === 'string') expect(uuids.has(line.parentUuid)).toBe(true);
    }
  });
});

describe('opencode', () => {
  it('the fork\'s session, messages and parts get fresh ids of the same shape, in the same order', () => {
    const session = opencodeSession('export-resumed.json');
    const harness = getHarness('opencode');
    const forkId = harness.forkSessionId();
    expect(forkId).toMatch(OPENCODE_SESSION_ID);
    const forked = parseExport(foldLog(main(harness.forkSession(session.files, { turns: 1 }, { original: session.sessionId, fork: forkId }).files)))!;
    const original = parseExport(foldLog(main(session.files)))!;
    expect(forked.info.id).toBe(forkId);
    expect(forked.messages.length).toBeLessThan(original.messages.length);
    forked.messages.forEach((message, index) => {
      const before = original.messages[index]!;
      expect(message.info.id).not.toBe(before.info.id);
      expect(String(message.info.id).slice(0, 16)).toBe(String(before.info.id).slice(0, 16));
      expect(message.info.sessionID).toBe(forkId);
      for (const part of message.parts) expect(part.messageID).toBe(message.info.id);
    });
    const ids = forked.messages.map((message) => String(message.info.id));
    expect([...ids].sort()).toEqual(ids);
    // An assistant message names its prompt by the prompt's new id.
    const known = new Set(ids);
    for (const message of forked.messages) if (typeof message.info.parentID === 'string') expect(known.has(message.info.parentID)).toBe(true);
  });
});

it('the fixtures are read from test/fixtures', () => {
  expect(relative(FIXTURES, FIXTURES)).toBe('');
});
