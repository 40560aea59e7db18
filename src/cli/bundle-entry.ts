#!/usr/bin/env node
/**
 * The `baton` command as bundled (dist/cli/baton.mjs, which package.json's `bin`, bin/baton, starts; scripts/bundle.mjs): `baton run` and
 * `baton resume` start the bundle made for them alone (run-main.ts), every other command line the whole CLI
 * (main.ts). Two builds, never both in one process: each has its own copy of the shared modules.
 */
import { commandNamed } from './command-name.js';
import { takeDeferredCaCertificates } from './deferred-ca-certificates.js';

// bin/baton kept NODE_EXTRA_CA_CERTS from Node's boot: back in the environment before anything reads it.
takeDeferredCaCertificates();
const named = commandNamed(process.argv.slice(2));
// Paths of the bundles beside this one (not resolvable from src/: tsc leaves them to the bundle).
const entry = named === 'run' || named === 'resume' ? './run/baton-run.mjs' : './baton-all.mjs';
await import(entry);
