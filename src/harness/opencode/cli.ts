/**
 * Finding the OpenCode binary and running it for baton's own chores (export, import, session delete).
 *
 * verified with opencode 1.18.33: the `opencode-ai` npm package's `bin/opencode.exe` is a 479-byte shell stub
 * until its postinstall hard-links the platform binary over it (`opencode-linux-x64/bin/opencode`, or the
 * `-baseline` build on a CPU without AVX2; `-musl` variants on musl). baton starts the platform package's binary
 * itself, so the pinned CLI works without running any install script.
 */
import { spawn } from 'node:child_process';
import { constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { access, mkdir, open, readFile, rm } from 'node:fs/promises';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../fs/private-files.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join, sep } from 'node:path';
import { BatonError } from '../../errors.js';
import { findOnPath, resolveExecutable } from '../executable.js';

const PACKAGE = 'opencode-ai';
const CONFIG_KEY = 'harnesses.opencode.command';

function hasAvx2(): boolean {
  try {
    return /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'latin1'));
  } catch {
    return true;
  }
}

/** The platform packages to try, best first (what the package's postinstall would pick). */
export function platformPackages(platform = process.platform, arch = process.arch, avx2 = hasAvx2()): string[] {
  const os = platform === 'win32' ? 'windows' : platform;
  const base = `opencode-${os}-${arch}`;
  if (arch !== 'x64') return [base, `${base}-musl`];
  return avx2 ? [base, `${base}-baseline`, `${base}-musl`, `${base}-baseline-musl`] : [`${base}-baseline`, `${base}-baseline-musl`, base, `${base}-musl`];
}

/** The platform binary of the `opencode-ai` package installed next to baton, or undefined. */
export function bundledOpencode(): string | undefined {
  let packageRoot: string;
  try {
    packageRoot = dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`));
  } catch {
    // Or a platform package installed on its own (baton's tests pin `opencode-linux-x64`: the registry they install
    // from lacks the other platforms' packages, so a lockfile naming `opencode-ai` cannot be complete there).
    return platformBinaryOf(dirname(fileURLToPath(import.meta.url)));
  }
  return platformBinaryOf(packageRoot);
}

/**
 * The platform binary behind an `opencode-ai` npm launcher (`…/opencode-ai/bin/opencode.exe`, also linked as
 * `node_modules/.bin/opencode`), or undefined when `path` is something else. The launcher may be the install stub.
 */
export function platformBinaryBehind(path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  if (!real.endsWith(`${sep}${PACKAGE}${sep}bin${sep}opencode.exe`) && !real.endsWith(`${sep}${PACKAGE}${sep}bin${sep}opencode`)) return undefined;
  return platformBinaryOf(dirname(dirname(real)));
}

function platformBinaryOf(packageRoot: string): string | undefined {
  const require = createRequire(join(packageRoot, 'package.json'));
  for (const name of platformPackages()) {
    try {
      const file = join(dirname(require.resolve(`${name}/package.json`)), 'bin', process.platform === 'win32' ? 'opencode.exe' : 'opencode');
      if (existsSync(file)) return file;
    } catch {
      // not installed for this platform
    }
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** baton's config, then `opencode` on PATH, then the platform binary pinned in baton's own node_modules. */
export async function resolveOpencode(configured: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (configured !== undefined) return resolveExecutable({ binName: 'opencode', packageName: PACKAGE, configKey: CONFIG_KEY }, configured, env);
  const onPath = await findOnPath('opencode', env);
  // npm's launcher is the platform binary itself once its postinstall ran, else a stub that only exits 1.
  if (onPath) return platformBinaryBehind(onPath) ?? onPath;
  const bundled = bundledOpencode();
  if (bundled && (await isExecutable(bundled))) return bundled;
  throw new BatonError('CLI_NOT_FOUND', 'opencode not found on PATH or next to baton', {
    hint: `install it with \`npm i -g ${PACKAGE}\` or set ${CONFIG_KEY} in ~/.baton/config.json`,
  });
}

/**
 * The environment of baton's own OpenCode chores: the run's, without the startup work a chore does not need.
 * verified with opencode 1.18.33: OPENCODE_DISABLE_MODELS_FETCH=1 skips the models.dev fetch (1–2 s offline);
 * OPENCODE_DISABLE_PROJECT_CONFIG=1 skips the cwd's opencode.json and .opencode/ (plugins there are code); OPENCODE_PURE=1
 * loads no external plugins. A chore runs outside any sandbox, so it must not run a project's or a user's plugin.
 */
export function choreEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_PROJECT_CONFIG: '1',
    OPENCODE_PURE: '1',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    OPENCODE_DISABLE_SHARE: '1',
  };
}

export interface ChoreResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** How long a chore may take: an export of a large session on a busy machine takes seconds, not minutes. */
const CHORE_TIMEOUT_MS = 120_000;

/** Runs `opencode ARGS` to its end (stdin closed, its own process group, killed whole on timeout). */
/**
 * `stdoutFile`: the chore writes its stdout into this file (created 0600, read back and removed once it exits).
 * verified with opencode 1.18.33: `opencode export` exits before a pipe on its stdout is drained, and a document over
 * ~150 KB then arrives cut short; written to a file it is always whole.
 */
export async function runChore(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; stdoutFile?: string }): Promise<ChoreResult> {
  if (options.stdoutFile === undefined) return runChoreProcess(file, args, options, 'pipe');
  await mkdir(dirname(options.stdoutFile), { recursive: true, mode: PRIVATE_DIR_MODE });
  const handle = await open(options.stdoutFile, 'wx', PRIVATE_FILE_MODE);
  try {
    const result = await runChoreProcess(file, args, options, handle.fd);
    return { ...result, stdout: await readFile(options.stdoutFile) };
  } finally {
    await handle.close();
    await rm(options.stdoutFile, { force: true });
  }
}

function runChoreProcess(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }, stdoutTo: 'pipe' | number): Promise<ChoreResult> {
  return new Promise((resolve, reject) => {
    // PWD: OpenCode works in $PWD when it is set (see the harness's command()); import binds the session to it.
    const child = spawn(file, args, { cwd: options.cwd, env: { ...choreEnvironment(options.env), PWD: options.cwd }, stdio: ['ignore', stdoutTo, 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-8192);
    });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(killGroup, CHORE_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new BatonError('CLI_NOT_FOUND', `cannot start ${file}: ${error.message}`, { hint: `check that OpenCode is installed, or set ${CONFIG_KEY}`, cause: error }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      killGroup(); // whatever it left behind (its background plugin install) goes with it
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    });
  });
}

/** Runs a chore and fails with CLI_FAILED (the tail of its stderr attached) unless it exits 0. */
export async function runChoreOrFail(what: string, file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; stdoutFile?: string }): Promise<Buffer> {
  const result = await runChore(file, args, options);
  if (result.code !== 0) {
    // verified with opencode 1.18.33: the spinner ("Exporting session: …") and errors go to stderr, with colour codes.
    const tail = result.stderr.replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n').slice(-5).join(' ').slice(-600);
    throw new BatonError('CLI_FAILED', `opencode ${what} failed (exit ${result.code ?? 'by signal'}): ${tail}`, {
      hint: 'check the OpenCode data directory ($XDG_DATA_HOME/opencode) and its log folder',
    });
  }
  return result.stdout;
}
