/**
 * A terminal for tests of interactive UIs: one private tmux server per terminal (its own socket, no user
 * config), 200×50, whose single pane runs a command given as argv (tmux execs it, no shell). The pane stays
 * after the command exits, so its last screen and exit status can be read. Typing and reading go through tmux:
 * `send-keys` and `capture-pane`.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Terminal {
  /** The visible screen, as text. */
  screen(): Promise<string>;
  /** Waits until the screen matches; the error shows the last screen. */
  waitForScreen(pattern: RegExp, what: string, timeoutMs?: number): Promise<string>;
  /** Types text literally (no key names), then Enter after a pause (see type()). */
  type(text: string): Promise<void>;
  press(key: string): Promise<void>;
  /** The command's exit status once it has exited, else undefined. */
  exitStatus(): Promise<number | undefined>;
  waitForExit(timeoutMs?: number): Promise<number>;
  /** Closes the terminal: the tmux server exits and the pane's processes get SIGHUP, as when a window is closed. */
  close(): Promise<void>;
}

export async function openTerminal(options: { dir: string; name: string; argv: string[]; cwd: string; env: NodeJS.ProcessEnv }): Promise<Terminal> {
  const socket = join(options.dir, `${options.name}.tmux`);
  const config = join(options.dir, `${options.name}.tmux.conf`);
  await writeFile(config, 'set -g remain-on-exit on\nset -g history-limit 5000\n');
  const tmux = (...args: string[]) => run('tmux', ['-S', socket, ...args], { env: options.env });
  // The server starts with the machine's environment, which the pane's command inherits.
  await run('tmux', ['-S', socket, '-f', config, 'new-session', '-d', '-s', 'main', '-x', '200', '-y', '50', '-c', options.cwd, '--', ...options.argv], { env: { ...options.env, TERM: 'xterm-256color', COLORTERM: 'truecolor' } });
  const screen = async () => (await tmux('capture-pane', '-p', '-t', 'main')).stdout;
  const exitStatus = async (): Promise<number | undefined> => {
    const { stdout } = await tmux('display-message', '-p', '-t', 'main', '#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}');
    const [dead, status, signal] = stdout.trim().split('|');
    if (dead !== '1') return undefined;
    // The pane is dead once its terminal closes; the exit status arrives when tmux has reaped the process.
    if (status === '' && signal === '') return undefined;
    if (status === '') throw new Error(`the command was killed by signal ${signal}; the screen was:\n${await screen()}`);
    return Number(status);
  };
  const waitForScreen = async (pattern: RegExp, what: string, timeoutMs = 150_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      last = await screen().catch(() => last);
      if (pattern.test(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${last}`);
      await sleep(200);
    }
  };
  return {
    screen,
    waitForScreen,
    // verified with codex 0.171 and gemini 0.61: an Enter sent straight after the text is taken as part of a paste
    // (codex: a newline; gemini: lost), so Enter comes after a pause.
    async type(text) {
      await tmux('send-keys', '-t', 'main', '-l', text);
      await sleep(700);
      await tmux('send-keys', '-t', 'main', 'Enter');
    },
    async press(key) {
      await tmux('send-keys', '-t', 'main', key);
    },
    exitStatus,
    async waitForExit(timeoutMs = 150_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await exitStatus();
        if (status !== undefined) return status;
        if (Date.now() > deadline) throw new Error(`timed out waiting for the command to exit; the screen was:\n${await screen()}`);
        await sleep(200);
      }
    },
    async close() {
      await tmux('kill-server').catch(() => undefined);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
