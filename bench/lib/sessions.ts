/**
 * One synthetic session per harness and size, with what the storage benchmark needs to know about its harness:
 * where the CLI keeps the file, how the session's metadata is read, and the two ways baton writes it back
 * (the harness's `rehydrate`, which a resume calls, and the transcript module's function underneath it).
 */
import { join } from 'node:path';
import { claudeHarness } from '../../src/harness/claude/harness.js';
import { readClaudeMeta, rehydrateClaudeSession, repairInterruptedToolUse } from '../../src/harness/claude/transcript.js';
import { codexHarness } from '../../src/harness/codex/harness.js';
import { readRolloutMeta, rehydrateRollout } from '../../src/harness/codex/transcript.js';
import type { HarnessId } from '../../src/harness/ids.js';
import type { Envelope, SessionMeta } from '../../src/transcript/envelope.js';
import { synthesiseClaudeSession } from './claude-synth.js';
import { nextLines, synthesiseRollout } from './synth.js';

export interface BenchSession {
  harness: HarnessId;
  content: Buffer;
  lineCount: number;
  sessionId: string;
  /** The session file's path under the CLI home (CODEX_HOME, CLAUDE_CONFIG_DIR) for a run in `realCwd`. */
  relativePath(realCwd: string): string;
  /** The next `count` lines the CLI would append. */
  more(count: number): Buffer;
  meta(content: Buffer): SessionMeta;
  /** What a rehydrate writes for `content` (Claude: the interrupted-tool repair, a no-op on complete turns). */
  expected(content: Buffer, realCwd: string): Buffer;
  /** `harness.rehydrate`: what `baton resume` calls. Returns the written path. */
  harnessRehydrate(envelope: Envelope, home: string, realCwd: string): Promise<string>;
  /** The transcript module's rehydrate alone. Returns the written path. */
  rehydrate(envelope: Envelope, home: string, realCwd: string): Promise<string>;
  /** Parts of the rehydrate that are not a plain file write, timed on their own (Claude: the repair scan). */
  rehydrateSteps: Record<string, (content: Buffer, realCwd: string) => unknown>;
}

export function codexSession(bytes: number, seed: number): BenchSession {
  const { content, lineCount, synth } = synthesiseRollout(bytes, { seed });
  const sessionId = synth.sessionId;
  return {
    harness: 'codex',
    content,
    lineCount,
    sessionId,
    relativePath: () => join('sessions', '2026', '11', '20', synth.fileName()),
    more: (count) => nextLines(synth, count),
    meta: (bytes) => readRolloutMeta(bytes, sessionId),
    expected: (bytes) => bytes,
    harnessRehydrate: async (envelope, home, cwd) => (await codexHarness.rehydrate(envelope, { home, cwd, env: { ...process.env, CODEX_HOME: home } })).files[0]!.path,
    rehydrate: async (envelope, home) => (await rehydrateRollout(envelope, home)).files[0]!.path,
    rehydrateSteps: {},
  };
}

export function claudeSession(bytes: number, seed: number): BenchSession {
  const { content, lineCount, synth } = synthesiseClaudeSession(bytes, seed);
  const sessionId = synth.sessionId;
  return {
    harness: 'claude',
    content,
    lineCount,
    sessionId,
    relativePath: (realCwd) => synth.relativePath(realCwd),
    more: (count) => Buffer.from(Array.from({ length: count }, () => synth.nextLine()).join('')),
    meta: (bytes) => readClaudeMeta(bytes, sessionId),
    expected: (bytes, realCwd) => repairInterruptedToolUse(bytes, realCwd),
    harnessRehydrate: async (envelope, home, cwd) => (await claudeHarness.rehydrate(envelope, { home, cwd, env: { ...process.env, CLAUDE_CONFIG_DIR: home } })).files[0]!.path,
    rehydrate: async (envelope, home, cwd) => (await rehydrateClaudeSession(envelope, home, cwd)).files[0]!.path,
    rehydrateSteps: { 'repair scan': (bytes, realCwd) => repairInterruptedToolUse(bytes, realCwd) },
  };
}
