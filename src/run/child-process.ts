/**
 * A disciplined child process: argv only (no shell), stdin closed (a piped stdin would become part of Codex's
 * prompt), stdout read as lines, the last few KB of stderr kept for the error message, and signals sent to the
 * whole process group so the CLI's own children stop with it.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BatonError } from '../errors.js';
import type { CommandSpec } from '../harness/harness.js';

const STDERR_TAIL_BYTES = 8192;

export interface ChildExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly pid: number | undefined;
  /** Every stdout line, in order, until the process closes stdout. */
  readonly lines: AsyncIterable<string>;
  readonly exited: Promise<ChildExit>;
  stderrTail(): string;
  /** Sends a signal to the CLI's process group; false once it has exited. */
  signal(signal: NodeJS.Signals): boolean;
}

export function spawnCli(spec: CommandSpec, inheritedEnv: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(spec.file, spec.args, {
    cwd: spec.cwd,
    env: { ...inheritedEnv, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so a signal reaches everything it started
  });
  let stderr = Buffer.alloc(0);
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = Buffer.concat([stderr, chunk]);
    if (stderr.length > STDERR_TAIL_BYTES * 2) stderr = stderr.subarray(-STDERR_TAIL_BYTES);
  });
  let hasExited = false;
  const exited = new Promise<ChildExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      hasExited = true;
      reject(
        new BatonError('CLI_NOT_FOUND', `cannot start ${spec.file}: ${error.code ?? error.message}`, {
          hint: 'check that the CLI is installed and executable, or set its command in baton.config.json',
          cause: error,
        }),
      );
    });
    child.once('close', (exitCode, signal) => {
      hasExited = true;
      resolve({ exitCode, signal });
    });
  });
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  return {
    pid: child.pid,
    lines,
    exited,
    stderrTail: () => stderr.subarray(-STDERR_TAIL_BYTES).toString('utf8'),
    signal(signal) {
      if (hasExited || child.pid === undefined) return false;
      try {
        process.kill(-child.pid, signal);
        return true;
      } catch {
        try {
          return child.kill(signal);
        } catch {
          return false;
        }
      }
    },
  };
}
