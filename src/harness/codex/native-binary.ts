/**
 * Starting Codex without its Node launcher. verified with codex 0.171: the npm package's `bin/codex.js` only
 * finds the platform package's native binary (`@openai/codex-<os>-<arch>/vendor/<triple>/bin/codex`), sets
 * CODEX_MANAGED_BY_NPM=1 and CODEX_MANAGED_PACKAGE_ROOT, and execs it. baton does the same and saves a second
 * Node start (~160 ms here) on every run. Anything unexpected falls back to the launcher.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

const TARGETS: Record<string, { triple: string; packageName: string }> = {
  'linux-x64': { triple: 'x86_64-unknown-linux-musl', packageName: '@openai/codex-linux-x64' },
  'linux-arm64': { triple: 'aarch64-unknown-linux-musl', packageName: '@openai/codex-linux-arm64' },
  'darwin-x64': { triple: 'x86_64-apple-darwin', packageName: '@openai/codex-darwin-x64' },
  'darwin-arm64': { triple: 'aarch64-apple-darwin', packageName: '@openai/codex-darwin-arm64' },
};

const LAUNCHER_SUFFIX = `${sep}@openai${sep}codex${sep}bin${sep}codex.js`;

export interface NativeCodex {
  file: string;
  env: Record<string, string>;
}

/** The native binary behind an npm-installed Codex launcher, or undefined when `launcher` is something else. */
export function nativeCodexBehind(launcher: string): NativeCodex | undefined {
  let real: string;
  try {
    real = realpathSync(launcher);
  } catch {
    return undefined;
  }
  const target = TARGETS[`${process.platform}-${process.arch}`];
  if (!real.endsWith(LAUNCHER_SUFFIX) || !target) return undefined;
  const packageRoot = dirname(dirname(real));
  try {
    const require = createRequire(join(packageRoot, 'package.json'));
    const platformRoot = dirname(require.resolve(`${target.packageName}/package.json`));
    const file = join(platformRoot, 'vendor', target.triple, 'bin', 'codex');
    if (!existsSync(file)) return undefined;
    return { file, env: { CODEX_MANAGED_BY_NPM: '1', CODEX_MANAGED_PACKAGE_ROOT: packageRoot } };
  } catch {
    return undefined;
  }
}
