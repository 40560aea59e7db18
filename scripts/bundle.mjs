// Bundles the `baton` command into dist/cli/baton.mjs. Loading one file instead of several hundred ES modules
// (kysely and zod alone are hundreds) cuts the CLI's start-up — which every `baton run` pays on top of the
// agent CLI — by about half. better-sqlite3 stays external: it is a native addon.
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

// Chunk names carry content hashes: clear the old ones so they do not pile up.
await rm('dist/cli/chunks', { recursive: true, force: true });

await build({
  entryPoints: { baton: 'src/cli/main.ts' },
  outdir: 'dist/cli',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true, // the demo's scripted model server is a separate chunk, loaded only by `baton demo`
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // graphile-worker loads its presets and plugins at run time; only the fleet commands load it.
  external: ['better-sqlite3', 'graphile-worker'],
  sourcemap: 'linked',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(); give the ES module one.
  banner: { js: "import { createRequire as __batonCreateRequire } from 'node:module'; const require = __batonCreateRequire(import.meta.url);" },
});
