/**
 * `baton run` and `baton resume` alone: the entry of the bundle that bundle-entry.ts starts for those command lines
 * (scripts/bundle.mjs). A build of its own, so that an agent run loads a few files made for it instead of the
 * dozens of shared pieces that splitting every command's code makes (each ES module file costs Node ~1 ms).
 */
import { takeMasterKeyFromEnvironment } from '../store/master-key.js';
import { commandNamed } from './command-name.js';
import { createProgram, globalsOf, runProgram } from './program.js';
import { registerRunCommands } from './run-command.js';

// Before anything runs: no CLI or agent this process starts inherits the store's master key.
takeMasterKeyFromEnvironment();

const program = createProgram();
const named = commandNamed(process.argv.slice(2));
await registerRunCommands(program, globalsOf(program), named === 'resume' ? 'resume' : 'run');
await runProgram(program);
// The run is recorded and the store closed: nothing is left to wait for but what was written to stdout and stderr.
// Exiting here skips the teardown a natural exit does (the heap, the loaded code), which comes after the outcome
// has been printed and is on the clock of every script that waits for `baton run`.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
process.exit();
