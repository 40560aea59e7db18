/** Finding a CLI's executable: baton's config, then PATH, then the copy pinned in baton's own node_modules. */
import { accessSync, closeSync, constants, openSync, readSync, realpathSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { BatonError } from '../errors.js';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first executable `name` on PATH. Each candidate is checked with a plain access(2), not through the thread pool:
 * a PATH of 17 folders took 17 round trips there, queued behind the module files a starting `baton run` reads
 * (bwrap, near PATH's end, is looked up before every launch); a call takes microseconds.
 */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const directory of (env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The bin script of an npm package installed next to baton (e.g. @openai/codex → bin/codex.js). */
function bundledBin(packageName: string, binName: string): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const manifestPath = require.resolve(`${packageName}/package.json`);
    const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
    const relative = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[binName];
    return relative ? join(dirname(manifestPath), relative) : undefined;
  } catch {
    return undefined;
  }
}

export interface ExecutableSource {
  binName: string;
  packageName: string;
  configKey: string;
}

export async function resolveExecutable(source: ExecutableSource, configured: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (configured !== undefined) {
    const candidate = isAbsolute(configured) || configured.includes('/') ? resolve(configured) : await findOnPath(configured, env);
    if (candidate && (await isExecutable(candidate))) return candidate;
    throw new BatonError('CLI_NOT_FOUND', `${source.configKey} is "${configured}", which is not an executable file`, {
      hint: `fix ${source.configKey} in the config file (~/.baton/config.json), or remove it to use ${source.binName} from PATH`,
    });
  }
  const onPath = await findOnPath(source.binName, env);
  if (onPath) return onPath;
  const bundled = bundledBin(source.packageName, source.binName);
  if (bundled && (await isExecutable(bundled))) return bundled;
  throw new BatonError('CLI_NOT_FOUND', `${source.binName} not found on PATH or next to baton`, {
    hint: `install it with \`npm i -g ${source.packageName}\` or set ${source.configKey} in ~/.baton/config.json`,
  });
}

/**
 * The folders a sandboxed CLI must be able to read to start (src/sandbox/): the whole `node_modules` that holds
 * its package (its platform binary is a sibling package), or the executable's own folder; and Node's
 * installation when the executable is a script Node runs. Folders under /usr need nothing: the sandbox has it.
 */
export function packagePathsOf(executable: string): string[] {
  let real: string;
  try {
    real = realpathSync(executable);
  } catch {
    return [];
  }
  const parts = real.split(sep);
  const nodeModules = parts.lastIndexOf('node_modules');
  const paths = [nodeModules > 0 ? parts.slice(0, nodeModules + 1).join(sep) : dirname(real)];
  if (isNodeScript(real)) paths.push(dirname(dirname(realpathSync(process.execPath))));
  return paths.filter((path) => !path.startsWith(`${sep}usr${sep}`));
}

function isNodeScript(path: string): boolean {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(path, 'r');
    const head = Buffer.alloc(128);
    const length = readSync(descriptor, head, 0, head.length, 0);
    const firstLine = head.subarray(0, length).toString('latin1').split('\n')[0]!;
    return firstLine.startsWith('#!') && firstLine.includes('node');
  } catch {
    return false;
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}
