/**
 * `baton open CONVERSATION_ID`: continue a conversation in the CLI's own interactive UI on this terminal. The
 * conversation is leased, rehydrated and its workspace restored exactly as for `baton resume`; while the person
 * works in the UI, baton saves the transcript and the workspace every few seconds and renews the lease; when they
 * quit (or the terminal goes away) it makes the final save and hands the conversation back, idle, to any machine.
 */
import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { BatonError } from '../errors.js';
import { projectFilesThatRunCode } from '../harness/registry.js';
import type { TimedEvent } from '../run/events.js';
import { openConversation, type RunResult } from '../run/runner.js';
import { loadConfig, type BatonConfig } from '../config.js';
import { STORE_API_MAX_SNAPSHOT_BYTES } from '../server/store-api-limits.js';
import type { Store } from '../store/store.js';
import { withStore, type GlobalOptions } from './context.js';
import { remoteTarget } from './remote.js';
import { RemoteStore } from './remote-store.js';
import { formatEvent } from './progress.js';
import { leaseMs, sandboxOptions, workspaceOptions, type RunCommandOptions } from './run-command.js';
import { terminalLine, terminalText } from './terminal-text.js';

interface OpenOptions extends RunCommandOptions {
  bypassPermissions?: boolean;
  server?: string;
}

/**
 * What a UI killed by a signal may leave switched on (verified with codex 0.171: after SIGTERM the terminal stays on
 * the alternate screen): back to the main screen, the cursor shown, mouse reporting and bracketed paste off.
 */
const TERMINAL_RESET = '\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l';

export function registerOpenCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('open')
    .description("continue a conversation in the agent CLI's own interactive UI on this terminal, saved as you go")
    .argument('<conversation-id>')
    .option('--cwd <dir>', 'working directory of the agent (default: the current directory)')
    .option('--bypass-permissions', "let the agent run tools without asking, as headless runs do (default: the CLI's normal approval prompts)")
    .option('--workspace <mode>', 'when the directory holds other work: refuse (default "restore"), "overwrite" it, or "skip" the files')
    .option('--no-workspace', "neither restore nor save the working directory's files")
    .option('--trust', `trust an imported conversation: restore its workspace whole, with the files that make a CLI run commands (${projectFilesThatRunCode({ gitRepositoryMadeByBaton: true }).join(', ')})`)
    .option('--include-secrets', 'also save files that look like secrets (.env*, *.pem, id_rsa* …)')
    .option('--max-workspace-mb <n>', 'largest workspace snapshot to store (default 200)')
    .option('--sandbox', "run the agent in a bubblewrap sandbox that sees only its cwd and the CLI's home")
    .option('--no-redact', 'store the transcript byte for byte, secrets included (default: redacted; see Security model)')
    .option('--server <url>', "open a conversation kept on a baton server (default $BATON_SERVER; token from $BATON_TOKEN): the run is recorded there, its saves go there")
    .action(async (conversationId: string, options: OpenOptions) => {
      const remote = remoteTarget(options.server);
      if (remote && options.trust) {
        throw new BatonError('USAGE', '--trust cannot be used with --server: a conversation the server keeps untrusted stays untrusted', {
          hint: 'drop --trust: its workspace is restored without the files that make a CLI run commands',
        });
      }
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new BatonError('USAGE', 'baton open needs a terminal: it starts the CLI\'s interactive UI here', {
          hint: `from a script, continue the conversation with \`baton resume ${conversationId} PROMPT\``,
        });
      }
      const workspace = workspaceOptions(options, 'resume');
      // A snapshot travels to the server in one request: larger than its limit, it is recorded as too large.
      if (remote && workspace.enabled !== false) workspace.maxBytes = Math.min(workspace.maxBytes ?? STORE_API_MAX_SNAPSHOT_BYTES, STORE_API_MAX_SNAPSHOT_BYTES);
      await withOpenStore(globals(), remote, async ({ store, config }) => {
        const session = terminalSession();
        const notes: TimedEvent[] = [];
        process.stderr.write(`opening ${terminalLine(conversationId)}: saved every 5 s and when you quit the CLI; quit it to hand the conversation back\n`);
        let result: RunResult;
        try {
          result = await openConversation({
            store,
            config,
            conversationId,
            permissions: options.bypassPermissions ? 'bypass' : 'ask',
            cwd: options.cwd ?? process.cwd(),
            signal: session.signal,
            sandbox: sandboxOptions(options),
            workspace,
            redaction: { enabled: options.redact !== false },
            ...(leaseMs() ? { leaseMs: leaseMs() } : {}),
            // Before the UI takes the screen: the CLI found and its version; its own UI can log a person in.
            preflight: { warn: (message: string) => process.stderr.write(`warning: ${terminalLine(message)}\n`), credentials: false },
            // The UI owns the screen while it runs: baton's own warnings are shown once it has quit.
            onEvent: (event) => {
              if (event.type === 'warning' || event.type === 'error') notes.push(event);
            },
          });
        } finally {
          session.dispose();
        }
        if (result.status !== 'succeeded') resetTerminal();
        for (const note of notes) {
          const line = formatEvent(note);
          if (line) process.stderr.write(`${line}\n`);
        }
        reportOpened(result, remote ? ` --server ${terminalLine(remote.url)}` : '');
      });
    });
}

/**
 * The store `baton open` (and `baton adopt`) works with: the local one (--store, BATON_STORE …), or with --server the server's, through
 * its store API (RemoteStore): the lease, the run, its events and every save are the server's.
 */
export async function withOpenStore<T>(globals: GlobalOptions, remote: ReturnType<typeof remoteTarget>, action: (context: { config: BatonConfig; store: Store }) => Promise<T>): Promise<T> {
  if (!remote) return withStore(globals, action);
  const { config } = await loadConfig(process.env, process.cwd(), globals.config);
  const store = new RemoteStore(remote);
  try {
    return await action({ config, store });
  } finally {
    await store.close();
  }
}

/**
 * While the UI runs it reads the keys itself, Ctrl-C included; a Ctrl-C that still reaches baton (the UI left raw
 * mode for a moment) must not end baton before the final save. SIGTERM and SIGHUP (the terminal went away) stop
 * the UI, and the run is saved and released. Once the terminal is gone, writing to it fails: that must not either.
 */
function terminalSession(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const ignore = (): void => undefined;
  const stop = (): void => controller.abort('the terminal was closed or baton was stopped');
  const swallow = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  process.stdout.on('error', swallow);
  process.stderr.on('error', swallow);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
    },
  };
}

function resetTerminal(): void {
  if (!process.stdout.isTTY) return;
  process.stdout.write(TERMINAL_RESET);
  // Cooked mode and echo back, should the UI have died in raw mode (argv, no shell).
  spawnSync('stty', ['sane'], { stdio: 'inherit' });
}

/** `where`: the --server option that names where the conversation is, for the commands this suggests. */
function reportOpened(result: RunResult, where: string): void {
  const id = result.conversationId;
  if (result.status === 'succeeded') {
    process.stderr.write(`saved ${terminalLine(id)}; continue it anywhere with \`baton open${where} ${terminalLine(id)}\` or \`baton resume${where} ${terminalLine(id)} PROMPT\`\n`);
    process.exitCode = 0;
    return;
  }
  process.stderr.write(`error: the interactive run ${terminalLine(result.status)}${result.errorCode ? ` (${result.errorCode})` : ''}: ${terminalText(result.error ?? 'unknown error')}\n`);
  process.stderr.write(`hint: ${result.forkedInto ? `its unsaved work is kept in ${terminalLine(result.forkedInto)}` : `what the CLI had written is saved; continue with \`baton open${where} ${terminalLine(id)}\``}\n`);
  process.exitCode = result.status === 'interrupted' ? 130 : 1;
}
