/**
 * One hostile export file, in process: parse, import, list, show, and resume up to the CLI's launch (the runner's
 * own path, with the CLI command set to `true`: the workspace restored and withheld, the transcript rehydrated,
 * the CLI's home prepared, the final save and snapshot made). What the test asserts on:
 * - every refusal is a BatonError with a code, a hint and a one-line message, at whatever stage;
 * - an accepted file lists and shows, and its resume either succeeds with the transcript where the CLI finds it
 *   or is refused the same way;
 * - nothing is written outside the case's CLI homes and cwd (see `Sandbox`), and the cwd holds no device, FIFO or
 *   setuid/setgid file, nor any of the files that make a CLI run commands (the import is untrusted).
 */
import { lstat, mkdir, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isBatonError } from '../../src/errors.js';
import { listRow, renderConversation } from '../../src/cli/inspect-commands.js';
import { terminalLine } from '../../src/cli/terminal-text.js';
import { getHarness, projectFilesThatRunCode } from '../../src/harness/registry.js';
import { resumeConversation } from '../../src/run/runner.js';
import { conversationStatus } from '../../src/store/conversation-status.js';
import { parseExport, withFreshIds } from '../../src/store/export-file.js';
import type { ImportedConversation, Store } from '../../src/store/store.js';
import { MAIN_FILE_KEY } from '../../src/transcript/envelope.js';
import { MARKER } from './hostile-exports.js';

/** What a terminal would obey rather than show: C0 controls but tab and newline, DEL, C1 controls, bidi overrides. */
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export type Stage = 'parse' | 'import' | 'list' | 'show' | 'resume' | 'after resume';

export type CaseOutcome =
  | { kind: 'refused'; stage: Stage; code: string; message: string; imported?: ImportedConversation }
  | { kind: 'resumed'; imported: ImportedConversation }
  | { kind: 'no session'; imported: ImportedConversation };

/** A problem the test reports: the stage where it showed and what was wrong. */
export class CaseProblem extends Error {
  constructor(
    readonly stage: Stage,
    message: string,
  ) {
    super(`${stage}: ${message}`);
  }
}

/** Refusals must look like every other user error: a BatonError, a code, a hint, one line each. */
function refusal(stage: Stage, error: unknown): CaseOutcome {
  if (!isBatonError(error)) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 6).join('\n')}` : String(error);
    throw new CaseProblem(stage, `threw something that is not a BatonError (the CLI would say "this is a bug"): ${detail.slice(0, 2000)}`);
  }
  if (/[\n\r]/.test(error.message)) throw new CaseProblem(stage, `${error.code} message spans lines: ${JSON.stringify(error.message.slice(0, 500))}`);
  if (!error.hint) throw new CaseProblem(stage, `${error.code} has no hint: ${JSON.stringify(error.message.slice(0, 300))}`);
  if (/[\n\r]/.test(error.hint)) throw new CaseProblem(stage, `${error.code} hint spans lines: ${JSON.stringify(error.hint.slice(0, 300))}`);
  if (error.message.length > 5_000) throw new CaseProblem(stage, `${error.code} message is ${error.message.length} characters long`);
  return { kind: 'refused', stage, code: error.code, message: error.message };
}

async function stage<T>(name: Stage, work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; outcome: CaseOutcome }> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof CaseProblem) throw error;
    return { ok: false, outcome: refusal(name, error) };
  }
}

/** Listing and showing must never fail, whatever was imported: a failure here is a problem, not a refusal. */
async function mustNotThrow<T>(name: Stage, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new CaseProblem(name, `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`.slice(0, 1000));
  }
}

export interface CaseDirectories {
  home: string;
  codexHome: string;
  claudeConfigDir: string;
  cwd: string;
}

export async function makeCaseDirectories(root: string): Promise<CaseDirectories> {
  const directories = { home: join(root, 'home'), codexHome: join(root, 'codex-home'), claudeConfigDir: join(root, 'claude-config'), cwd: join(root, 'cwd') };
  for (const dir of Object.values(directories)) await mkdir(dir, { recursive: true, mode: 0o700 });
  return directories;
}

/** The command the runner starts instead of the agent: this seam ends at the CLI's launch. */
const NO_CLI = { harnesses: { codex: { command: '/bin/true' }, claude: { command: '/bin/true' } } };

export async function importAndResume(store: Store, text: string, directories: CaseDirectories, options: { asNew: boolean }): Promise<CaseOutcome> {
  const parsed = await stage('parse', async () => parseExport(text, 'hostile.json'));
  if (!parsed.ok) return parsed.outcome;
  const imported = options.asNew ? withFreshIds(parsed.value) : parsed.value;
  if (imported.conversation.trust !== 'untrusted') throw new CaseProblem('parse', `an imported conversation is ${imported.conversation.trust}`);
  const stored = await stage('import', () => store.importConversation(imported));
  if (!stored.ok) return { ...stored.outcome, imported } as CaseOutcome;
  const id = imported.conversation.id;

  // `baton ls` (text and --json) over the whole store, and `baton show` (text and --json).
  await mustNotThrow('list', async () => {
    const rows = (await store.listConversationSummaries()).map(({ conversation, runs }) => ({ conversation, runs, status: conversationStatus(conversation, runs) }));
    if (!rows.some((row) => row.conversation.id === id)) throw new Error(`${id} is not listed`);
    for (const row of rows) {
      const line = listRow({ ...row.conversation, status: row.status, runs: row.runs.count });
      if (line.indexOf('\n') !== line.length - 1) throw new Error(`the row of ${row.conversation.id} spans lines: ${JSON.stringify(line.slice(0, 300))}`);
      if (TERMINAL_CONTROL.test(line)) throw new Error(`the row of ${row.conversation.id} sends the terminal a control character: ${JSON.stringify(line.slice(0, 300))}`);
    }
    JSON.stringify(rows.map(({ conversation, runs, status }) => ({ ...conversation, status, runs: runs.count })));
  });
  await mustNotThrow('show', async () => {
    const shown = await renderConversation(store, id);
    const control = TERMINAL_CONTROL.exec(shown);
    if (control) throw new Error(`baton show sends the terminal a control character: ${JSON.stringify(shown.slice(Math.max(0, control.index - 40), control.index + 40))}`);
    const lines = shown.split('\n');
    for (const run of await store.listRuns(id)) {
      const header = lines.find((line) => line.startsWith(`── run ${run.sequence} · ${run.kind} · ${run.status}`));
      if (header === undefined) throw new Error(`baton show has no header line for run ${run.sequence}`);
      if (!header.endsWith(terminalLine(run.cwd))) throw new Error(`run ${run.sequence}'s header line is cut short: ${JSON.stringify(header.slice(0, 300))}`);
    }
    const conversation = (await store.getConversation(id))!;
    const transcript = await store.loadTranscript(id);
    JSON.stringify({ conversation, runs: await store.listRuns(id), transcript: getHarness(conversation.harness).viewTranscript(transcript?.files ?? []) });
  });

  const conversation = (await store.getConversation(id))!;
  if (!conversation.sessionId) return { kind: 'no session', imported };
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR, HOME: directories.home, CODEX_HOME: directories.codexHome, CLAUDE_CONFIG_DIR: directories.claudeConfigDir };
  const resumed = await stage('resume', () =>
    resumeConversation({
      store,
      conversationId: id,
      prompt: 'a follow-up',
      cwd: directories.cwd,
      env,
      config: NO_CLI,
      // A resume launches with the conversation's own agent setup (stored options), as a worker's run does.
      host: 'fuzz',
    }),
  );
  if (!resumed.ok) return { ...resumed.outcome, imported } as CaseOutcome;
  const result = resumed.value;
  if (result.status !== 'succeeded') throw new CaseProblem('resume', `the run ${result.status}: ${result.error}`);

  // The import is untrusted: none of its MCP servers or skills reached the CLI's home (baton's ledger of what it
  // wrote there stays unwritten, and no skills folder appears).
  for (const cliHome of [directories.codexHome, directories.claudeConfigDir]) {
    for (const applied of ['baton-managed.json', 'skills']) {
      if (await lstat(join(cliHome, applied)).then(() => true, () => false)) throw new CaseProblem('after resume', `an untrusted conversation's setup reached ${join(cliHome, applied)}`);
    }
  }
  // The CLI would find its session where baton put it, byte for byte.
  const harness = getHarness(conversation.harness);
  const cwd = await realpath(directories.cwd);
  const home = harness.resolveHome(env);
  const located = await harness.locateTranscript({ home, cwd, env }, conversation.sessionId);
  const main = imported.files.find((file) => file.key === MAIN_FILE_KEY);
  const onDisk = located?.files.find((file) => file.key === MAIN_FILE_KEY);
  if (!main || !onDisk) throw new CaseProblem('after resume', `the rehydrated transcript is not where ${harness.displayName} looks for it (${located ? 'no main file' : 'nothing found'})`);
  if (!(await readFile(onDisk.path)).equals(main.content)) throw new CaseProblem('after resume', `the rehydrated ${onDisk.path} is not the imported transcript`);
  return { kind: 'resumed', imported };
}

/**
 * What may never be in a restored cwd: devices, FIFOs, sockets, setuid/setgid/sticky bits; files that make a
 * CLI run commands (the import is untrusted); git hooks or git config the snapshot brought.
 */
export async function checkRestoredCwd(cwd: string, withheldCandidates: readonly string[] = projectFilesThatRunCode({ gitRepositoryMadeByBaton: true })): Promise<void> {
  const walk = async (dir: string, relative: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const inside = relative === '' ? name : `${relative}/${name}`;
      const stats = await lstat(path);
      if (stats.isBlockDevice() || stats.isCharacterDevice() || stats.isFIFO() || stats.isSocket()) throw new CaseProblem('after resume', `the cwd holds a special file: ${inside}`);
      if ((stats.mode & 0o7000) !== 0) throw new CaseProblem('after resume', `the cwd holds ${inside} with mode ${(stats.mode & 0o7777).toString(8)}`);
      if (stats.isDirectory()) await walk(path, inside);
    }
  };
  await walk(cwd, '');
  for (const candidate of withheldCandidates) {
    const present = await lstat(join(cwd, candidate)).then(() => true, () => false);
    if (present) throw new CaseProblem('after resume', `${candidate} is in the cwd of an untrusted conversation`);
  }
  const hooks = await readdir(join(cwd, '.git', 'hooks')).catch(() => [] as string[]);
  const planted = hooks.filter((name) => !name.endsWith('.sample'));
  if (planted.length > 0) throw new CaseProblem('after resume', `the restored repository has hooks: ${planted.join(', ')}`);
  const config = await readFile(join(cwd, '.git', 'config'), 'utf8').catch(() => '');
  if (config.includes(MARKER)) throw new CaseProblem('after resume', `the restored repository's config names ${MARKER}`);
}

export async function removeCase(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}
