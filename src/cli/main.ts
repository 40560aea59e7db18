#!/usr/bin/env node
/** The `baton` command line. User errors print one line and a hint, and exit non-zero; never a stack trace. */
import { Command, CommanderError } from 'commander';
import { BatonError, errorMessage } from '../errors.js';
import type { GlobalOptions } from './context.js';
import { registerAdoptCommand } from './adopt-command.js';
import { registerFleetCommands } from './fleet-commands.js';
import { registerForkCommand } from './fork-command.js';
import { registerOpenCommand } from './open-command.js';
import { registerInspectCommands } from './inspect-commands.js';
import { registerRmCommand } from './rm-command.js';
import { registerRunCommands } from './run-command.js';
import { terminalLine } from './terminal-text.js';
import { registerKeyCommands } from './key-commands.js';
import { registerSecretCommands } from './secret-commands.js';
import { takeMasterKeyFromEnvironment } from '../store/master-key.js';
import { HARNESS_IDS } from '../harness/ids.js';

// Before anything runs: no CLI or agent this process starts inherits the store's master key.
takeMasterKeyFromEnvironment();

const program = new Command();
program
  .name('baton')
  .description('Run coding-agent CLIs headless and resume every conversation anywhere.')
  .version('0.1.0')
  .option('--config <file>', 'the config file (default: $BATON_CONFIG, else ~/.baton/config.json; ./baton.config.json is never read implicitly)')
  .option('--store <location>', 'the store: a SQLite file path or a postgres:// URL (default: $BATON_STORE, else ~/.baton/baton.db)')
  .option('--blobs <url>', 'keep transcript bodies and workspace blobs in S3-compatible object storage: s3://bucket/prefix (default: $BATON_BLOBS; endpoint and credentials from the AWS_* variables)')
  .option('--master-key-file <file>', 'a file (mode 0600) holding the master key of an encrypted store (default: $BATON_MASTER_KEY)')
  .showHelpAfterError('(run `baton --help` for usage)')
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
registerRunCommands(program, globals);
registerInspectCommands(program, globals);
registerRmCommand(program, globals);
registerFleetCommands(program, globals);
registerForkCommand(program, globals);
registerOpenCommand(program, globals);
registerAdoptCommand(program, globals);
registerKeyCommands(program, globals);
registerSecretCommands(program, globals);
program
  .command('demo')
  .description(`offline demo: real conversations of every agent CLI (${HARNESS_IDS.join(', ')}) on machine A, resumed on machine B (scripted model)`)
  .option('--harness <name>', `show one harness only: ${HARNESS_IDS.join(', ')}`)
  .option('--keep', 'keep the temporary machines and store, and print where they are')
  // Loaded on demand: the scripted model server is only needed here.
  .action(async (options: { keep?: boolean; harness?: string }) => (await import('./demo-command.js')).runDemo(options));

/** Error messages quote stored text (file names, a CLI's stderr, a server's answer), so they are escaped too. */
function fail(message: string, hint: string | undefined, exitCode: number): never {
  // One line each, whatever a message quotes from a hostile file or a server.
  process.stderr.write(`error: ${terminalLine(message)}\n${hint ? `hint: ${terminalLine(hint)}\n` : ''}`);
  process.exit(exitCode);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has already printed its message; help and version are not errors.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof BatonError) fail(error.message, error.hint, error.code === 'USAGE' ? 2 : 1);
  if (process.env.BATON_DEBUG) console.error(error);
  fail(`unexpected: ${errorMessage(error)}`, 'this is a bug in baton; re-run with BATON_DEBUG=1 for details and report it', 1);
}
