/**
 * The `baton` program that every entry shares: the global options, and the parse with baton's error handling (user
 * errors print one line and a hint, and exit non-zero; never a stack trace). main.ts registers every command on
 * it, run-main.ts only `run` or `resume`.
 */
import { Command, CommanderError } from 'commander';
import { BatonError, errorMessage, NOTHING_RAN_CODES } from '../errors.js';
import type { GlobalOptions } from './context.js';
import { terminalLine } from './terminal-text.js';

export function createProgram(): Command {
  return new Command()
    .name('baton')
    .description('Run coding-agent CLIs headless and resume every conversation anywhere.')
    .version('0.1.0')
    .option('--config <file>', 'the config file (default: $BATON_CONFIG, else ~/.baton/config.json; ./baton.config.json is never read implicitly)')
    .option('--store <location>', 'the store: a SQLite file path or a postgres:// URL (default: $BATON_STORE, else ~/.baton/baton.db)')
    .option('--blobs <url>', 'keep transcript bodies and workspace blobs in S3-compatible object storage: s3://bucket/prefix (default: $BATON_BLOBS; endpoint and credentials from the AWS_* variables)')
    .option('--master-key-file <file>', 'a file (mode 0600) holding the master key of an encrypted store (default: $BATON_MASTER_KEY)')
    .showHelpAfterError('(run `baton --help` for usage)')
    .exitOverride();
}

/** The global options as parsed, for the commands' actions. */
export function globalsOf(program: Command): () => GlobalOptions {
  return () => program.opts<GlobalOptions>();
}

/** Error messages quote stored text (file names, a CLI's stderr, a server's answer), so they are escaped too. */
function fail(message: string, hint: string | undefined, exitCode: number): never {
  // One line each, whatever a message quotes from a hostile file or a server.
  process.stderr.write(`error: ${terminalLine(message)}\n${hint ? `hint: ${terminalLine(hint)}\n` : ''}`);
  process.exit(exitCode);
}

export async function runProgram(program: Command): Promise<void> {
  // A reader that stopped reading (`baton ls | head`) is not an error: the rest of the output goes nowhere, and
  // the command goes on to its end (a run to its final save).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed its message; help and version are not errors.
      process.exit(error.exitCode === 0 ? 0 : 2);
    }
    if (error instanceof BatonError) fail(error.message, error.hint, NOTHING_RAN_CODES.has(error.code) ? 2 : 1);
    if (process.env.BATON_DEBUG) console.error(error);
    fail(`unexpected: ${errorMessage(error)}`, 'this is a bug in baton; re-run with BATON_DEBUG=1 for details and report it', 1);
  }
}
