/**
 * Preflight: before a conversation is created, is the CLI there, a version baton is tested with, able to reach a
 * model (credentials the CLI will find), and is the working directory usable? A failure is one line with the fix
 * and creates nothing; an untested version is a warning. It stays off the hot path's clock: the credentials are
 * found from variables and files (src/harness/<id>/credentials.ts); a version comes from the CLI's package.json,
 * or once per executable from `--version`; a CLI's own status command, where one is asked, is asked once an hour
 * per home. What it learns is cached in ~/.baton/preflight.json (no secrets: paths, versions, times).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { BatonError, errorMessage, isBatonError } from '../errors.js';
import type { Harness, HarnessContext, HarnessExecutable } from '../harness/harness.js';
import type { CliAuthStatus, CredentialCheck } from '../harness/preflight.js';
import { readFileIfExists, writePrivateFileAtomic } from '../fs/private-files.js';

export interface PreflightReport {
  executable: string;
  /** The CLI's version, when baton could tell it. */
  version: string | undefined;
  /** Where the CLI's credentials are (a variable, a file), or that a model proxy gives them. */
  credentials: string;
  /** Lines to show the user (an untested version, a version baton could not read); never a refusal. */
  warnings: string[];
}

export interface PreflightInput {
  harness: Harness;
  /** false: skip the credentials (the CLI's interactive UI can log in by itself). */
  credentials?: boolean;
  context: HarnessContext;
  /** The executable baton's config names for this harness (`harnesses.<id>.command`), if any. */
  configuredCommand: string | undefined;
  /** Where the cache lives (~/.baton). */
  batonDirectory: string;
}

/** How long a CLI's own "logged in" answer is trusted for the same home. */
const AUTH_STATUS_TTL_MS = 60 * 60 * 1000;
const CACHE_FILE = 'preflight.json';

/** Throws CWD_UNUSABLE, CLI_NOT_FOUND or CLI_NOT_LOGGED_IN (one line and the fix); else what it found. */
export async function preflight(input: PreflightInput): Promise<PreflightReport> {
  const { harness, context } = input;
  const cache = await PreflightCache.open(join(input.batonDirectory, CACHE_FILE));
  try {
    const [, executable] = await Promise.all([assertUsableDirectory(context.cwd), harness.locateExecutable(context.env, input.configuredCommand)]);
    const [version, credentials] = await Promise.all([
      cliVersion(harness, executable, context.env, cache),
      (input.credentials === false ? Promise.resolve('not checked (the CLI\'s own UI logs in)') : credentialSource(harness, context, executable, cache)).catch((error: unknown) => {
        if (!isBatonError(error, 'CLI_NOT_LOGGED_IN')) throw error;
        throw new BatonError(error.code, error.message, { hint: `${error.hint}; or pass --skip-preflight if the CLI finds its credentials another way` });
      }),
    ]);
    const warning = versionWarning(harness, executable, version);
    return { executable, version: version.kind === 'known' ? version.version : undefined, credentials, warnings: warning ? [warning] : [] };
  } finally {
    await cache.save();
  }
}

/** The CLI's executable, its version and the warning about it, if any: `baton doctor`'s check of one harness's CLI. */
export async function checkCli(input: Omit<PreflightInput, 'context'> & { env: NodeJS.ProcessEnv }): Promise<{ executable: string; version: string | undefined; warning: string | undefined }> {
  const cache = await PreflightCache.open(join(input.batonDirectory, CACHE_FILE));
  try {
    const executable = await input.harness.locateExecutable(input.env, input.configuredCommand);
    const version = await cliVersion(input.harness, executable, input.env, cache);
    return { executable, version: version.kind === 'known' ? version.version : undefined, warning: versionWarning(input.harness, executable, version) };
  } finally {
    await cache.save();
  }
}

/** Where the CLI finds its credentials; CLI_NOT_LOGGED_IN with the fix when nowhere: `baton doctor`'s check. */
export async function checkCredentials(input: PreflightInput & { executable: string }): Promise<string> {
  const cache = await PreflightCache.open(join(input.batonDirectory, CACHE_FILE));
  try {
    return await credentialSource(input.harness, input.context, input.executable, cache);
  } finally {
    await cache.save();
  }
}

function versionWarning(harness: Harness, executable: string, version: CliVersion): string | undefined {
  const tested = harness.preflight.testedVersions;
  if (version.kind === 'unknown') return `could not tell which ${harness.displayName} ${executable} is (${version.why}); baton is tested with ${tested}.x`;
  if (isTested(version.version, tested)) return undefined;
  return `${harness.displayName} ${version.version} (${executable}) is not a version baton is tested with (${tested}.x); if a run misbehaves, try \`npm i -g ${harness.executable.packageName}@${tested}\``;
}

/** True when `version` (e.g. `0.171.0`, `2.1.332 (Claude Code)`) is on the tested `major.minor` line. */
export function isTested(version: string, tested: string): boolean {
  const [major, minor] = version.split('.');
  return `${major}.${minor}` === tested;
}

async function assertUsableDirectory(cwd: string): Promise<void> {
  try {
    await access(cwd, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new BatonError('CWD_UNUSABLE', `the working directory ${cwd} is not one the agent can work in: ${errorMessage(error)}`, {
      hint: 'run from (or pass --cwd) a directory you can read and write',
    });
  }
}

async function credentialSource(harness: Harness, context: HarnessContext, executable: string, cache: PreflightCache): Promise<string> {
  if (context.modelEndpoint) return 'the model proxy of this run';
  const check: CredentialCheck = await harness.preflight.credentials(context);
  if (check.kind === 'found') return check.source;
  if (check.askCli) {
    const key = `${harness.id} ${context.home}`;
    if (cache.loggedInRecently(key)) return `${harness.displayName}'s own login (checked within the hour)`;
    if (await askCli(executable, check.askCli, context)) {
      cache.rememberLoggedIn(key);
      return `${harness.displayName}'s own login`;
    }
  }
  throw new BatonError('CLI_NOT_LOGGED_IN', check.message, { hint: check.fix });
}

function askCli(executable: string, status: CliAuthStatus, context: HarnessContext): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(executable, [...status.args], { env: context.env, cwd: context.cwd, timeout: 5000, maxBuffer: 1024 * 1024 }, (error, stdout) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
      resolve(status.loggedIn(String(stdout), code));
    });
  });
}

type CliVersion = { kind: 'known'; version: string } | { kind: 'unknown'; why: string };
const VERSION = /\d+\.\d+\.\d+[0-9A-Za-z.+-]*/;

/**
 * The version from the package the executable belongs to (the CLI's own or its platform package), else from
 * `--version`, asked once per executable (its path, size and mtime) and cached.
 */
async function cliVersion(harness: Harness, executable: string, env: NodeJS.ProcessEnv, cache: PreflightCache): Promise<CliVersion> {
  const real = await realpath(executable).catch(() => executable);
  const fromPackage = await packageVersion(real, harness.executable);
  if (fromPackage) return { kind: 'known', version: fromPackage };
  const stats = await stat(real).catch(() => undefined);
  const identity = stats ? `${stats.size}:${Math.round(stats.mtimeMs)}` : 'unknown';
  const cached = cache.version(real, identity);
  if (cached) return { kind: 'known', version: cached };
  return new Promise((resolve) => {
    execFile(real, ['--version'], { env, timeout: 15_000, maxBuffer: 1024 * 1024 }, (error, stdout) => {
      const version = VERSION.exec(String(stdout))?.[0];
      if (error || !version) {
        resolve({ kind: 'unknown', why: error ? `\`--version\` failed: ${errorMessage(error).split('\n')[0]}` : '`--version` printed no version' });
        return;
      }
      cache.rememberVersion(real, identity, version);
      resolve({ kind: 'known', version });
    });
  });
}

/** The version in the package.json of the npm package `file` is in, when that package is the CLI's own or its platform build. */
async function packageVersion(file: string, executable: HarnessExecutable): Promise<string | undefined> {
  const parts = file.split(sep);
  const nodeModules = parts.lastIndexOf('node_modules');
  if (nodeModules < 0) return undefined;
  const scoped = parts[nodeModules + 1]?.startsWith('@') === true;
  const root = parts.slice(0, nodeModules + (scoped ? 3 : 2)).join(sep);
  const manifest = await readFile(join(root, 'package.json'), 'utf8').catch(() => undefined);
  if (!manifest) return undefined;
  try {
    const { name, version } = JSON.parse(manifest) as { name?: unknown; version?: unknown };
    const ours = typeof name === 'string' && (name === executable.packageName || (executable.platformPackagePrefix !== undefined && name.startsWith(executable.platformPackagePrefix)));
    return ours && typeof version === 'string' ? VERSION.exec(version)?.[0] : undefined;
  } catch {
    return undefined;
  }
}

interface CacheContent {
  versions: Record<string, { identity: string; version: string }>;
  loggedIn: Record<string, number>;
}

/**
 * ~/.baton/preflight.json: read once, and written once if anything changed — what this process learnt merged
 * into the file as it is then, so that checks running side by side (`baton doctor`'s, two runs at once) keep
 * each other's entries. A damaged file is started afresh.
 */
class PreflightCache {
  private readonly learnt: CacheContent = { versions: {}, loggedIn: {} };

  private constructor(
    private readonly path: string,
    private readonly content: CacheContent,
  ) {}

  static async open(path: string): Promise<PreflightCache> {
    return new PreflightCache(path, await readCache(path));
  }

  version(executable: string, identity: string): string | undefined {
    const entry = this.content.versions[executable];
    return entry && entry.identity === identity ? entry.version : undefined;
  }
  rememberVersion(executable: string, identity: string, version: string): void {
    this.content.versions[executable] = this.learnt.versions[executable] = { identity, version };
  }
  loggedInRecently(key: string): boolean {
    const at = this.content.loggedIn[key];
    return typeof at === 'number' && Date.now() - at < AUTH_STATUS_TTL_MS;
  }
  rememberLoggedIn(key: string): void {
    this.content.loggedIn[key] = this.learnt.loggedIn[key] = Date.now();
  }
  /** Best effort: a cache that cannot be written costs the next run a `--version`, nothing else. */
  async save(): Promise<void> {
    if (Object.keys(this.learnt.versions).length === 0 && Object.keys(this.learnt.loggedIn).length === 0) return;
    // One save at a time per file in this process: each reads what the one before it wrote.
    const previous = savesInFlight.get(this.path) ?? Promise.resolve();
    const saving = previous.then(async () => {
      const current = await readCache(this.path);
      const merged: CacheContent = { versions: { ...current.versions, ...this.learnt.versions }, loggedIn: { ...current.loggedIn, ...this.learnt.loggedIn } };
      await writePrivateFileAtomic(this.path, `${JSON.stringify(merged, null, 2)}\n`, { durable: false });
    }).catch(() => undefined);
    savesInFlight.set(this.path, saving);
    await saving;
    if (savesInFlight.get(this.path) === saving) savesInFlight.delete(this.path);
  }
}

const savesInFlight = new Map<string, Promise<void>>();

async function readCache(path: string): Promise<CacheContent> {
  let parsed: Partial<CacheContent> = {};
  try {
    parsed = JSON.parse((await readFileIfExists(path))?.toString('utf8') ?? '{}') as Partial<CacheContent>;
  } catch {
    parsed = {};
  }
  return { versions: isObject(parsed.versions) ? parsed.versions : {}, loggedIn: isObject(parsed.loggedIn) ? parsed.loggedIn : {} };
}

const isObject = <T>(value: unknown): value is Record<string, T> => typeof value === 'object' && value !== null && !Array.isArray(value);
