/**
 * One synthetic session per harness and size, with what the storage benchmark needs to know about its harness.
 * Most of it comes from the harness registry (the CLI's home variables, where it keeps the session and how it finds
 * it again, its metadata reader, `rehydrate`); each harness adds its synthesiser and the transcript module's
 * function underneath its `rehydrate` (BENCHES below: a harness without one does not compile).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repairInterruptedToolUse, rehydrateClaudeSession } from '../../src/harness/claude/transcript.js';
import { rehydrateRollout } from '../../src/harness/codex/transcript.js';
import { readGeminiMetaRecord, readGeminiSession, rehydrateGeminiSession } from '../../src/harness/gemini/transcript.js';
import type { HarnessContext } from '../../src/harness/harness.js';
import type { HarnessId } from '../../src/harness/ids.js';
import { bundledOpencode, resolveOpencode } from '../../src/harness/opencode/cli.js';
import { foldLog } from '../../src/harness/opencode/log.js';
import { logPath, rehydrateOpencodeSession } from '../../src/harness/opencode/transcript.js';
import { getHarness } from '../../src/harness/registry.js';
import { MAIN_FILE_KEY, transcriptFile, type Envelope, type SessionMeta } from '../../src/transcript/envelope.js';
import type { StoredEnvelope } from '../../src/transcript/file-reader.js';
import { synthesiseClaudeSession } from './claude-synth.js';
import { synthesiseGeminiSession } from './gemini-synth.js';
import { synthesiseOpencodeSession } from './opencode-synth.js';
import { nextLines, synthesiseRollout } from './synth.js';

/** What the CLI appends before the next periodic save, and baton's own work to get it into the saved file (ms by step). */
export interface Grown {
  bytes: Buffer;
  steps: Record<string, number>;
}

export interface BenchSession {
  harness: HarnessId;
  content: Buffer;
  lineCount: number;
  sessionId: string;
  /** Writes `content` where the CLI keeps it, in a CLI home in `directory`, for a run in `realCwd`; returns its path. */
  placeSource(directory: string, realCwd: string): Promise<string>;
  /**
   * `harness.locateTranscript` on that home: what a run does before every save. Undefined where it would need the
   * CLI's own state (OpenCode: its database; what it runs then, `opencode export`, is timed on its own).
   */
  locate: ((directory: string, realCwd: string) => Promise<string | undefined>) | undefined;
  /** The next `count` lines the CLI's session gains (OpenCode: lines of baton's log, with the updateLog that made them). */
  more(count: number): Grown;
  /** baton's own work before a first (full) save reads the file, ms by step (OpenCode: exportToLog of the whole export). */
  fullSaveSteps: Record<string, number>;
  meta(content: Buffer): SessionMeta;
  /** What a rehydrate writes for `content` (Claude: the interrupted-tool repair, a no-op on complete turns). */
  expected(content: Buffer, realCwd: string): Buffer;
  /** `harness.rehydrate` into a fresh CLI home in `directory`: what `baton resume` calls. Returns the written path. */
  harnessRehydrate(envelope: Envelope | StoredEnvelope, directory: string, realCwd: string): Promise<string>;
  /** The transcript module's rehydrate alone; undefined where it is `harness.rehydrate` but for the resume check. */
  rehydrate: ((envelope: Envelope, directory: string, realCwd: string) => Promise<string>) | undefined;
  /** Parts of the rehydrate that are not a plain file write, timed on their own (Claude: the repair scan). */
  rehydrateSteps: Record<string, (content: Buffer, realCwd: string) => unknown>;
  /**
   * Whether a rehydrate runs the CLI (OpenCode: `opencode import`, seconds): the resume is then measured with fewer
   * repetitions, and `choreTimes` says how long the CLI's own chores took in a home.
   */
  runsCli: boolean;
  choreTimes(directory: string): Record<string, number>;
  /** After a resume into `directory` (OpenCode: the CLI's export of the imported session, and baton's save path). */
  afterResume: ((directory: string, realCwd: string) => Promise<Record<string, number | string | boolean>>) | undefined;
}

/** The CLI home in `directory`: each of the harness's home variables names `directory` itself, or a folder in it when there are several. */
export function homeIn(harness: HarnessId, directory: string, extraEnv: NodeJS.ProcessEnv = {}): { home: string; env: NodeJS.ProcessEnv } {
  const { homeVariables, resolveHome } = getHarness(harness);
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  for (const variable of homeVariables) env[variable] = homeVariables.length === 1 ? directory : join(directory, variable.toLowerCase());
  return { home: resolveHome(env), env };
}

interface Synthetic {
  content: Buffer;
  lineCount: number;
  sessionId: string;
  more(count: number): Grown;
  fullSaveSteps?: Record<string, number>;
}

/** What one harness adds to its registry entry for the benchmark. */
interface HarnessBench {
  synthesise(bytes: number, seed: number): Synthetic;
  /** The transcript module's rehydrate under `harness.rehydrate`. Returns the written path. */
  rehydrate: ((envelope: Envelope, context: HarnessContext) => Promise<string>) | undefined;
  expected?: (content: Buffer, realCwd: string) => Buffer;
  rehydrateSteps?: Record<string, (content: Buffer, realCwd: string) => unknown>;
  /** Extra environment for the CLI home (OpenCode: the PATH shim that times its chores). */
  environment?: (directory: string) => NodeJS.ProcessEnv;
  /** Instead of `harness.rehydrate` (which for OpenCode would import the session into the CLI's database). */
  placeSource?: (synthetic: Synthetic, context: HarnessContext) => Promise<string>;
  locates?: boolean;
  runsCli?: boolean;
  /** Each periodic save's own work grows with the session (OpenCode: updateLog re-reads the whole log). */
  slowDeltas?: boolean;
  afterResume?: (synthetic: Synthetic, context: HarnessContext) => Promise<Record<string, number | string | boolean>>;
}

const firstPath = (rehydrated: { files: Array<{ path: string }> }): string => rehydrated.files[0]!.path;
const lines = (synthetic: { content: Buffer; lineCount: number; synth: { sessionId: string } }, next: (count: number) => Buffer): Synthetic => ({
  content: synthetic.content,
  lineCount: synthetic.lineCount,
  sessionId: synthetic.synth.sessionId,
  more: (count) => ({ bytes: next(count), steps: {} }),
});

// ---------------------------------------------------------------------------------------------------------
// OpenCode: its chores are timed by an `opencode` on PATH that notes when the real one started and ended.

const CHORE_LOG = 'chores.log';

function opencodeShim(directory: string): NodeJS.ProcessEnv {
  const real = bundledOpencode();
  if (!real) throw new Error('bench: the pinned OpenCode binary (opencode-linux-x64) is not installed');
  const bin = join(directory, 'bin');
  mkdirSync(bin, { recursive: true });
  const shim = join(bin, 'opencode');
  writeFileSync(shim, `#!/bin/bash\nstarted=$EPOCHREALTIME\n${JSON.stringify(real)} "$@"\nstatus=$?\necho "$1 $started $EPOCHREALTIME" >> ${JSON.stringify(join(directory, CHORE_LOG))}\nexit $status\n`);
  chmodSync(shim, 0o755);
  return { PATH: `${bin}:${process.env.PATH ?? ''}` };
}

function readChoreLog(directory: string): Record<string, number> {
  let text = '';
  try {
    text = readFileSync(join(directory, CHORE_LOG), 'utf8');
  } catch {
    return {};
  }
  const times: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [name, start, end] = line.split(' ');
    if (name && start && end) times[`opencode ${name}`] = (times[`opencode ${name}`] ?? 0) + (Number(end) - Number(start)) * 1000;
  }
  return times;
}

/** The export document without the session's binding to a directory, which `opencode import` sets to its cwd. */
const unbound = (document: string): string => document.replace(/\n {4}"directory": "[^"\n]*",\n {4}"path": "[^"\n]*",/, '');

async function opencodeAfterResume(synthetic: Synthetic, context: HarnessContext): Promise<Record<string, number | string | boolean>> {
  const { spawnSync } = await import('node:child_process');
  const harness = getHarness('opencode');
  const bin = await resolveOpencode(undefined, context.env);
  // The CLI alone, into a file: how long an export of this session takes, and whether it is the document baton stored.
  const out = join(context.home, '..', 'export.json');
  const started = performance.now();
  const exported = spawnSync('sh', ['-c', `"$0" export "$1" > "$2" 2>/dev/null`, bin, synthetic.sessionId, out], { cwd: context.home, env: { ...context.env, OPENCODE_DISABLE_MODELS_FETCH: '1', OPENCODE_PURE: '1', OPENCODE_DISABLE_AUTOUPDATE: '1' } });
  const exportMs = performance.now() - started;
  const document = readFileSync(out, 'utf8');
  const stored = foldLog(synthetic.content);
  // What a save runs once the session changed: locateTranscript (fingerprint, `opencode export` through a pipe, updateLog).
  const located = performance.now();
  const location = await harness.locateTranscript(context, synthetic.sessionId);
  const locateMs = performance.now() - located;
  const log = readFileSync(location!.files[0]!.path);
  const exportedThroughBaton = log.subarray(0, 20).toString().startsWith('{"type":"session"') ? foldLog(log).length : -1;
  return {
    exportMs,
    exportStatus: exported.status ?? -1,
    exportBytes: document.length,
    exportIsStored: unbound(document) === unbound(stored),
    locateMs,
    /** The document baton's own export read, by length (-1: it could not parse what it read, and kept it as one `export` line). */
    locateDocumentBytes: exportedThroughBaton,
  };
}

// ---------------------------------------------------------------------------------------------------------

const BENCHES: Record<HarnessId, HarnessBench> = {
  codex: {
    synthesise: (bytes, seed) => {
      const rollout = synthesiseRollout(bytes, { seed });
      return lines(rollout, (count) => nextLines(rollout.synth, count));
    },
    rehydrate: async (envelope, context) => firstPath(await rehydrateRollout(envelope, context.home)),
  },
  claude: {
    synthesise: (bytes, seed) => {
      const session = synthesiseClaudeSession(bytes, seed);
      return lines(session, (count) => nextLines(session.synth, count));
    },
    rehydrate: async (envelope, context) => firstPath(await rehydrateClaudeSession(envelope, context.home, context.cwd)),
    expected: (bytes, realCwd) => repairInterruptedToolUse(bytes, realCwd),
    rehydrateSteps: { 'repair scan': (bytes, realCwd) => repairInterruptedToolUse(bytes, realCwd) },
  },
  gemini: {
    synthesise: (bytes, seed) => {
      const session = synthesiseGeminiSession(bytes, seed);
      return lines(session, (count) => nextLines(session.synth, count));
    },
    rehydrate: async (envelope, context) => firstPath(await rehydrateGeminiSession(envelope, context.home, context.cwd)),
    // rehydrateGeminiSession reads the metadata line for the start time of its file name; it read every line before.
    rehydrateSteps: { 'meta line': (bytes) => readGeminiMetaRecord(bytes), 'all lines (before)': (bytes) => readGeminiSession(bytes) },
  },
  opencode: {
    synthesise: (bytes, seed) => {
      const session = synthesiseOpencodeSession(bytes, seed);
      return { content: session.content, lineCount: session.lineCount, sessionId: session.synth.sessionId, more: (count) => {
        const { bytes: appended, updateLogMs } = session.more(count);
        return { bytes: appended, steps: { updateLog: updateLogMs } };
      }, fullSaveSteps: { exportToLog: session.exportToLogMs } };
    },
    // rehydrateOpencodeSession is harness.rehydrate but for the resume check; each imports the session (seconds).
    rehydrate: undefined,
    rehydrateSteps: { foldLog: (bytes) => foldLog(bytes) },
    environment: opencodeShim,
    placeSource: async (synthetic, context) => {
      const path = logPath(context.home, synthetic.sessionId);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, synthetic.content);
      return path;
    },
    locates: false,
    runsCli: true,
    slowDeltas: true,
    afterResume: opencodeAfterResume,
  },
};

/** What the benchmark must plan for, before it builds a session. */
export function benchTraits(harness: HarnessId): { runsCli: boolean; slowDeltas: boolean } {
  const bench = BENCHES[harness];
  return { runsCli: bench.runsCli ?? false, slowDeltas: bench.slowDeltas ?? false };
}

/** A synthetic session of at least `bytes` bytes in `harness`'s stored form, seeded. */
export function benchSession(harness: HarnessId, bytes: number, seed: number): BenchSession {
  const bench = BENCHES[harness];
  const registered = getHarness(harness);
  const synthetic = bench.synthesise(bytes, seed);
  const { sessionId } = synthetic;
  const context = (directory: string, cwd: string): HarnessContext => ({ ...homeIn(harness, directory, bench.environment?.(directory)), cwd });
  const envelopeOf = (content: Buffer): Envelope => ({ harness, sessionId, meta: registered.readSessionMeta(content, sessionId), files: [transcriptFile(MAIN_FILE_KEY, content)] });
  const harnessRehydrate = async (envelope: Envelope | StoredEnvelope, directory: string, cwd: string): Promise<string> => firstPath(await registered.rehydrate(envelope, context(directory, cwd)));
  return {
    harness,
    content: synthetic.content,
    lineCount: synthetic.lineCount,
    sessionId,
    placeSource: async (directory, cwd) => (bench.placeSource ? bench.placeSource(synthetic, context(directory, cwd)) : harnessRehydrate(envelopeOf(synthetic.content), directory, cwd)),
    locate:
      bench.locates === false
        ? undefined
        : async (directory, cwd) => {
            const location = await registered.locateTranscript(context(directory, cwd), sessionId);
            return location?.files.find((file) => file.key === MAIN_FILE_KEY)?.path;
          },
    more: (count) => synthetic.more(count),
    fullSaveSteps: synthetic.fullSaveSteps ?? {},
    meta: (content) => registered.readSessionMeta(content, sessionId),
    expected: bench.expected ?? ((content) => content),
    harnessRehydrate,
    rehydrate: bench.rehydrate && ((envelope, directory, cwd) => bench.rehydrate!(envelope, context(directory, cwd))),
    rehydrateSteps: bench.rehydrateSteps ?? {},
    runsCli: bench.runsCli ?? false,
    choreTimes: readChoreLog,
    afterResume: bench.afterResume && ((directory, cwd) => bench.afterResume!(synthetic, context(directory, cwd))),
  };
}
