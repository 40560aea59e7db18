#!/usr/bin/env node
/** The `baton` command line. User errors print one line and a hint, and exit non-zero; never a stack trace. */
import type { Command } from 'commander';
import type { GlobalOptions } from './context.js';
import { createProgram, globalsOf, runProgram } from './program.js';
import { takeMasterKeyFromEnvironment } from '../store/master-key.js';
import { HARNESS_IDS } from '../harness/ids.js';
import { commandNamed } from './command-name.js';

// Before anything runs: no CLI or agent this process starts inherits the store's master key.
takeMasterKeyFromEnvironment();

const program = createProgram();
const globals = globalsOf(program);
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

await runProgram(program);
