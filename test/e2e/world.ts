/**
 * A small world for end-to-end tests: a scripted model server, a shared SQLite store, and "machines" (each
 * its own HOME, CODEX_HOME and working directory) that run the real `baton` and the real `codex`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { commandOutput } from '../../src/testing/demo-script.js';
import { createMachine, type Machine } from '../../src/testing/machine.js';
import { startScriptedModelServer, type RecordedRequest, type Script, type ScriptedModelServer } from '../../src/testing/scripted-model-server.js';

export const BATON = resolve('dist/cli/baton.mjs');
/** package.json's `bin`: the command a user's `npx baton` or installed `baton` runs (it starts BATON with node). */
export const LAUNCHER = resolve('bin/baton');

/**
 * The tests' model: `RUN <command>` asks the agent to run a command; a tool result is answered by quoting the
 * command's output (held back for a minute when it contains SLOW, so a test can interrupt the run there);
 * any other prompt gets `ACK <prompt>`. Replies depend on the request only, so every machine's server agrees.
 */
export const testScript: Script = (request) => {
  if (request.lastIsToolOutput) {
    const output = commandOutput(request.toolOutput ?? '');
    return { kind: 'text', text: `The command printed: ${output}`, ...(output.includes('SLOW') ? { delayMs: 60_000 } : {}) };
  }
  const prompt = request.prompt ?? '';
  if (prompt.startsWith('RUN ')) return { kind: 'shell', command: prompt.slice(4) };
  return { kind: 'text', text: `ACK ${prompt}`, ...(prompt.includes('SLOW') ? { delayMs: 60_000 } : {}) };
};

export interface BatonResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningBaton {
  pid: number;
  result: Promise<BatonResult>;
  kill(signal: NodeJS.Signals): void;
}

export interface BatonOptions {
  store?: string;
  cwd?: string;
  /** Variables added to the machine's environment. */
  env?: NodeJS.ProcessEnv;
  /** The whole environment instead of the machine's (e.g. a machine where no CLI is set up). */
  onlyEnv?: NodeJS.ProcessEnv;
  stdin?: string;
  /** Start baton as a user does, through LAUNCHER, instead of `node dist/cli/baton.mjs`. */
  launcher?: boolean;
}

export interface World {
  root: string;
  model: ScriptedModelServer;
  storePath: string;
  machine(name: string, project?: string): Promise<Machine>;
  /** Starts `baton --store <shared store> …args` on a machine. */
  start(machine: Machine, args: string[], options?: BatonOptions): RunningBaton;
  baton(machine: Machine, args: string[], options?: BatonOptions): Promise<BatonResult>;
  /** The model turns received so far (requests that carried a conversation). */
  turns(): RecordedRequest[];
  cleanup(): Promise<void>;
}

export async function createWorld(script: Script = testScript): Promise<World> {
  const root = await mkdtemp(join(tmpdir(), 'baton-e2e-'));
  const model = await startScriptedModelServer({ script });
  const storePath = join(root, 'store', 'baton.db');
  const start: World['start'] = (machine, args, options = {}) => {
    const argv = ['--store', options.store ?? storePath, ...args];
    const child = spawn(options.launcher ? LAUNCHER : process.execPath, options.launcher ? argv : [BATON, ...argv], {
      cwd: options.cwd ?? machine.cwd,
      env: options.onlyEnv ?? { ...machine.env, ...options.env },
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const result = new Promise<BatonResult>((resolvePromise) => {
      child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    });
    return { pid: child.pid!, result, kill: (signal) => child.kill(signal) };
  };
  return {
    root,
    model,
    storePath,
    machine: (name, project) => createMachine(root, name, model, project),
    start,
    baton: (machine, args, options) => start(machine, args, options).result,
    turns: () => model.requests.filter((request) => request.turn),
    async cleanup() {
      await model.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The JSON object `baton run|resume --json` prints: it must be the only thing on stdout. */
export function runJson(result: BatonResult): { conversationId: string; harness: string; sessionId: string | null; runId: string; status: string; exitCode: number | null; errorCode: string | null } {
  const lines = result.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON on stdout, got:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return JSON.parse(lines[0]!);
}

/** Items of a Responses API request's `input`, simplified to what a resume test asserts on. */
export function inputItems(request: RecordedRequest): Array<{ type: string; role?: string; text?: string; name?: string; output?: string }> {
  const input: any[] = Array.isArray(request.body?.input) ? request.body.input : [];
  return input.map((item) => ({
    type: item.type,
    role: item.role,
    name: item.name,
    text: Array.isArray(item.content) ? item.content.map((part: any) => part.text ?? '').join('') : undefined,
    output: typeof item.output === 'string' ? item.output : undefined,
  }));
}

export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
}

/** Processes whose environment names `home` in `variable` and whose command line `matches`. */
export async function processesOf(variable: 'CODEX_HOME' | 'CLAUDE_CONFIG_DIR' | 'GEMINI_CLI_HOME' | 'XDG_DATA_HOME', home: string, matches: (commandLine: string[]) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8');
      const commandLine = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter((part) => part !== '');
      if (environ.split('\0').includes(`${variable}=${home}`) && matches(commandLine)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile, or is not ours to read
    }
  }
  return pids;
}

/**
 * Kills the agent CLI of one machine: every `codex` / `claude` / `opencode` process (the Codex launcher and its
 * native binary, Claude Code's binary, OpenCode's `run`) whose environment names that machine's home in `variable`.
 * baton's own OpenCode chores (`opencode export` …) are not the agent.
 */
export async function killAgentOf(variable: 'CODEX_HOME' | 'CLAUDE_CONFIG_DIR' | 'GEMINI_CLI_HOME' | 'XDG_DATA_HOME', home: string, signal: NodeJS.Signals): Promise<number> {
  const isAgent = (commandLine: string[]) =>
    commandLine.some((part) => /(^|\/)(codex|claude|gemini|opencode)(\.js|\.exe)?$/.test(part)) && !commandLine.includes(BATON) && !(/(^|\/)opencode$/.test(commandLine[0] ?? '') && commandLine[1] !== 'run');
  const pids = await processesOf(variable, home, isAgent);
  for (const pid of pids) process.kill(pid, signal);
  return pids.length;
}
