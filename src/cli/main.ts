#!/usr/bin/env node
/** The `baton` command line. User errors print one line and a hint, and exit non-zero; never a stack trace. */
import { Command, CommanderError } from 'commander';
import { BatonError, errorMessage, NOTHING_RAN_CODES } from '../errors.js';
import type { GlobalOptions } from './context.js';
import { terminalLine } from './terminal-text.js';
import { takeMasterKeyFromEnvironment } from '../store/master-key.js';
import { HARNESS_IDS } from '../harness/ids.js';
import { commandNamed } from './command-name.js';

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
// `baton run` and `baton resume` load only their own command (and what it imports): every other command's
// modules (the server, the fleet, inspection, import/export) would add their parse and compile time to the start
// of each agent run. Any other command line — help, a typo commander suggests a fix for — registers them all.
const named = commandNamed(process.argv.slice(2));
if (named === 'run' || named === 'resume') {
  await (await import('./run-command.js')).registerRunCommands(program, globals, named);
} else if (!(process.argv.length === 3 && ['--version', '-V'].includes(process.argv[2]!))) {
  await registerEveryCommand(program, globals);
}

async function registerEveryCommand(program: Command, globals: () => GlobalOptions): Promise<void> {
  const [run, inspect, rm, fleet, fork, open, adopt, keys, secrets, doctor] = await Promise.all([
    import('./run-command.js'),
    import('./inspect-commands.js'),
    import('./rm-command.js'),
    import('./fleet-commands.js'),
    import('./fork-command.js'),
    import('./open-command.js'),
    import('./adopt-command.js'),
    import('./key-commands.js'),
    import('./secret-commands.js'),
    import('./doctor-command.js'),
  ]);
  await run.registerRunCommands(program, globals);
  inspect.registerInspectCommands(program, globals);
  rm.registerRmCommand(program, globals);
  fleet.registerFleetCommands(program, globals);
  fork.registerForkCommand(program, globals);
  open.registerOpenCommand(program, globals);
  adopt.registerAdoptCommand(program, globals);
  keys.registerKeyCommands(program, globals);
  secrets.registerSecretCommands(program, globals);
  doctor.registerDoctorCommand(program, globals);
  program
    .command('demo')
    .description(`offline demo: real conversations of every agent CLI (${HARNESS_IDS.join(', ')}) on machine A, resumed on machine B (scripted model)`)
    .option('--harness <name>', `show one harness only: ${HARNESS_IDS.join(', ')}`)
    .option('--keep', 'keep the temporary machines and store, and print where they are')
    // Loaded on demand: the scripted model server is only needed here.
    .action(async (options: { keep?: boolean; harness?: string }) => (await import('./demo-command.js')).runDemo(options));
}

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
  if (error instanceof BatonError) fail(error.message, error.hint, NOTHING_RAN_CODES.has(error.code) ? 2 : 1);
  if (process.env.BATON_DEBUG) console.error(error);
  fail(`unexpected: ${errorMessage(error)}`, 'this is a bug in baton; re-run with BATON_DEBUG=1 for details and report it', 1);
}
