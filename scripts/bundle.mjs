// Bundles the `baton` command into dist/cli. Loading a few files instead of several hundred ES modules (kysely and
// zod alone are hundreds) cuts the CLI's start-up — which every `baton run` pays on top of the agent CLI — by about
// half. better-sqlite3 stays external: it is a native addon.
//
// Three builds: dist/cli/baton.mjs (src/cli/bundle-entry.ts, which package.json's `bin`, bin/baton, starts) reads the command line and starts
// one of the other two. dist/cli/run/baton-run.mjs has `baton run` and `baton resume` alone (src/cli/run-main.ts):
// split with every other command's code, the run path was cut into ~40 files by which commands share each module,
// and each ES module file costs Node about a millisecond to resolve, read and instantiate before the agent starts.
// dist/cli/baton-all.mjs is every command (src/cli/main.ts). A process loads one of them, never both.
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

// Chunk names carry content hashes: clear the old ones so they do not pile up.
await Promise.all(['dist/cli/chunks', 'dist/cli/run'].map((dir) => rm(dir, { recursive: true, force: true })));

const common = {
  bundle: true,
  splitting: true, // e.g. the demo's scripted model server is a separate chunk, loaded only by `baton demo`
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // graphile-worker loads its presets and plugins at run time; only the fleet commands load it. The AWS SDK is
  // loaded only with --blobs (object storage), from node_modules as it is published.
  external: ['better-sqlite3', 'graphile-worker', '@aws-sdk/client-s3'],
  sourcemap: 'linked',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(); give the ES module one.
  banner: { js: "import { createRequire as __batonCreateRequire } from 'node:module'; const require = __batonCreateRequire(import.meta.url);" },
};

await Promise.all([
  build({ ...common, entryPoints: { 'baton-all': 'src/cli/main.ts' }, outdir: 'dist/cli' }),
  build({ ...common, entryPoints: { 'baton-run': 'src/cli/run-main.ts' }, outdir: 'dist/cli/run' }),
  // The dispatcher: command-name.ts and nothing else; the bundles it starts are found beside it at run time.
  build({ ...common, splitting: false, banner: {}, entryPoints: { baton: 'src/cli/bundle-entry.ts' }, outdir: 'dist/cli' }),
]);
