/**
 * A disciplined child process: argv only (no shell), stdin closed (a piped stdin would become part of Codex's
 * prompt) unless the harness hands the prompt over on it (OpenCode), stdout read as lines, the last few lines
 * of stderr kept for the exit error (stderr-tail.ts), and signals sent to the whole process group so the CLI's own children stop
 * with it. When the CLI exits, whatever is left of its process group is killed; a supervised launch
 * (src/sandbox/) also takes everything in its PID namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { BatonError, quoted } from '../errors.js';
import type { LaunchPlan } from '../sandbox/sandbox.js';
import { StderrTail } from './stderr-tail.js';

export interface ChildExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly pid: number | undefined;
  /** Every stdout line, in order, until the process closes stdout. */
  readonly lines: AsyncIterable<string>;
  readonly exited: Promise<ChildExit>;
  /** The last few non-empty lines of the CLI's stderr, oldest first, terminal-safe (see stderr-tail.ts). */
  stderrTail(): string[];
  /** When the CLI last wrote to its stderr (Date.now()); 0 before it did. A sign of life for the stall timeout. */
  lastStderrAt(): number;
  /** Sends a signal to the CLI's process group; false once it has exited. */
  signal(signal: NodeJS.Signals): boolean;
}

export function spawnCli(plan: Pick<LaunchPlan, 'file' | 'args' | 'env' | 'cwd' | 'supervised' | 'inputs' | 'stdin' | 'terminal'>): CliProcess {
  refuseNulCharacters(plan);
  if (plan.terminal) return spawnOnTerminal(plan);
  const child = spawn(plan.file, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    stdio: [plan.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...plan.inputs.map(() => 'pipe' as const)],
    detached: true, // its own process group (and session: no controlling terminal), so a signal reaches everything it started
  });
  if (plan.stdin !== undefined) {
    child.stdin?.on('error', () => undefined); // the CLI exited before reading it all: its exit says why
    child.stdin?.end(plan.stdin);
  }
  writeInputs(child, plan.inputs);
  child.once('exit', () => {
    // Anything the CLI left in its process group goes with it (a PID namespace takes the rest).
    if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
  });
  const stderr = new StderrTail();
  let lastStderrAt = 0;
  child.stderr!.on('data', (chunk: Buffer) => {
    lastStderrAt = Date.now();
    stderr.write(chunk);
  });
  // 'close': stdout and stderr are drained too, so every line has been read.
  const exit = exitOf(child, plan, 'close');
  // Iterated from the start, so that lines the CLI prints before anyone reads them (a new conversation's CLI
  // starts while the store opens) wait in the iterator's queue instead of being emitted to no listener.
  const iterator = createInterface({ input: child.stdout!, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const lines: AsyncIterable<string> = { [Symbol.asyncIterator]: () => iterator };
  return {
    pid: child.pid,
    lines,
    exited: exit.exited,
    stderrTail: () => stderr.lines(),
    lastStderrAt: () => lastStderrAt,
    signal(signal) {
      if (exit.hasExited() || child.pid === undefined) return false;
      // A supervisor killed by SIGINT would take the CLI down before it saved: only SIGKILL goes to it.
      if (plan.supervised && signal !== 'SIGKILL') return signalGroupExcept(child.pid, signal);
      return killGroup(child.pid, signal) || safeKill(() => child.kill(signal));
    },
  };
}

/**
 * An interactive UI on baton's terminal: it inherits stdin, stdout and stderr and stays in baton's process group,
 * the terminal's foreground group, so the keys (Ctrl-C included, as the UI reads them), a hang-up and the window
 * size reach it from the terminal itself. Nothing is read from it: the saved transcript is the record. Its stderr is
 * the terminal, so there is no tail to report. baton's own signals go to the processes below the one it started
 * (a supervisor passes none on; see signalGroupExcept), and whatever the UI started dies with its PID namespace.
 */
function spawnOnTerminal(plan: Pick<LaunchPlan, 'file' | 'args' | 'env' | 'cwd' | 'supervised' | 'inputs'>): CliProcess {
  const child = spawn(plan.file, plan.args, { cwd: plan.cwd, env: plan.env, stdio: ['inherit', 'inherit', 'inherit', ...plan.inputs.map(() => 'pipe' as const)] });
  writeInputs(child, plan.inputs);
  const exit = exitOf(child, plan, 'exit');
  return {
    pid: child.pid,
    lines: (async function* () {})(),
    exited: exit.exited,
    stderrTail: () => [],
    lastStderrAt: () => 0,
    signal(signal) {
      if (exit.hasExited() || child.pid === undefined) return false;
      if (!plan.supervised || signal === 'SIGKILL') return safeKill(() => child.kill(signal));
      let sent = false;
      for (const pid of descendantsOf(child.pid)) sent = safeKill(() => process.kill(pid, signal)) || sent;
      return sent;
    },
  };
}

/** Bytes for the started process's descriptors 3, 4 … (see LaunchPlan.inputs). */
function writeInputs(child: ChildProcess, inputs: Buffer[]): void {
  inputs.forEach((bytes, index) => {
    const stream = child.stdio[3 + index] as NodeJS.WritableStream | null;
    stream?.on('error', () => undefined); // the supervisor failed to start: the exit says why
    stream?.end(bytes);
  });
}

/** How the process ends (a failed start is CLI_NOT_FOUND), settled on `event`; and whether it has. */
function exitOf(child: ChildProcess, plan: Pick<LaunchPlan, 'file' | 'supervised'>, event: 'exit' | 'close'): { exited: Promise<ChildExit>; hasExited: () => boolean } {
  let hasExited = false;
  const exited = new Promise<ChildExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      hasExited = true;
      reject(
        new BatonError('CLI_NOT_FOUND', `cannot start ${plan.file}: ${error.code ?? error.message}`, {
          hint: 'check that the CLI is installed and executable, or set its command in the config file (~/.baton/config.json)',
          cause: error,
        }),
      );
    });
    child.once(event, (exitCode: number | null, signal: NodeJS.Signals | null) => {
      hasExited = true;
      resolve(plan.supervised ? supervisedExit(exitCode, signal) : { exitCode, signal });
    });
  });
  return { exited, hasExited: () => hasExited };
}

/** Every process below `root` (children, their children …), read from /proc. Linux only, as supervisors are. */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, parent } of processTable()) children.set(parent, [...(children.get(parent) ?? []), pid]);
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function safeKill(kill: () => boolean): boolean {
  try {
    return kill();
  } catch {
    return false;
  }
}

function killGroup(groupId: number, signal: NodeJS.Signals): boolean {
  return safeKill(() => process.kill(-groupId, signal));
}

/** Signals every process of the group but its leader (the supervisor). Linux only, as supervisors are. */
function signalGroupExcept(groupId: number, signal: NodeJS.Signals): boolean {
  let sent = false;
  for (const pid of processGroupMembers(groupId)) {
    if (pid !== groupId) sent = safeKill(() => process.kill(pid, signal)) || sent;
  }
  return sent;
}

function processGroupMembers(groupId: number): number[] {
  return processTable()
    .filter((entry) => entry.group === groupId)
    .map((entry) => entry.pid);
}

/** Every process's id, parent and process group, from /proc (Linux only, as supervisors are). */
function processTable(): Array<{ pid: number; parent: number; group: number }> {
  const table: Array<{ pid: number; parent: number; group: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(entry), parent: Number(fields[1]), group: Number(fields[2]) });
    } catch {
      // ended meanwhile
    }
  }
  return table;
}

/** A supervisor exits 128 + n when the CLI died of signal n; report that as the CLI's signal. */
function supervisedExit(exitCode: number | null, signal: NodeJS.Signals | null): ChildExit {
  if (exitCode !== null && exitCode > 128) {
    const name = Object.entries(constants.signals).find(([, number]) => number === exitCode - 128)?.[0];
    if (name) return { exitCode: null, signal: name as NodeJS.Signals };
  }
  return { exitCode, signal };
}

/**
 * A NUL cannot be passed to a program (argv and the environment are C strings), and Node throws a TypeError for
 * one: a prompt or system prompt that holds one (from a file, the HTTP API or an import) is refused by name.
 */
function refuseNulCharacters(plan: Pick<LaunchPlan, 'args' | 'env'>): void {
  const argument = plan.args.find((arg) => arg.includes('\0'));
  const variable = Object.entries(plan.env).find(([name, value]) => name.includes('\0') || (value ?? '').includes('\0'))?.[0];
  if (argument === undefined && variable === undefined) return;
  const what = argument !== undefined ? `an argument (${quoted(argument, 60)})` : `the environment variable ${quoted(variable!, 60)}`;
  throw new BatonError('USAGE', `cannot start the CLI: ${what} holds a NUL character, which no program can be given`, {
    hint: 'remove NUL characters from the prompt, the system prompt or the configured arguments',
  });
}
