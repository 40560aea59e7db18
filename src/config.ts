/**
 * baton's own configuration. Precedence: explicit option, then environment variable, then config file, then
 * default. The config file is `--config FILE`, else $BATON_CONFIG, else ~/.baton/config.json: always one the user
 * chose. Never ./baton.config.json implicitly — the config can set the command baton executes, and the cwd may be a
 * restored workspace or a fresh clone of somebody else's repository.
 */
import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { BatonError, errorMessage } from './errors.js';
import type { CommandTemplates, TemplateItem } from './harness/harness.js';
import type { HarnessId } from './harness/ids.js';

/** One harness's settings in baton.config.json. */
export interface HarnessConfig {
  /** The executable: a path, or a name looked up on PATH. */
  command?: string | undefined;
  /** argv templates; see CommandTemplates. */
  args?: { new?: TemplateItem[] | undefined; resume?: TemplateItem[] | undefined } | undefined;
  /** Extra environment variables for the CLI. */
  env?: Record<string, string> | undefined;
}

export interface BatonConfig {
  $schema?: string | undefined;
  store?: string | undefined;
  /** Object storage for transcript bodies and workspace blobs: `s3://bucket/prefix` (see src/store/s3-bodies.ts). */
  blobs?: string | undefined;
  harnesses?: Partial<Record<HarnessId, HarnessConfig>> | undefined;
}

export interface LoadedConfig {
  config: BatonConfig;
  path: string | undefined;
}

export function batonDirectory(env: NodeJS.ProcessEnv): string {
  return join(env.HOME && env.HOME !== '' ? env.HOME : homedir(), '.baton');
}

/** Where the config comes from: `--config`, $BATON_CONFIG, or the default in the user's ~/.baton. */
export type ConfigSource = { kind: 'option' | 'environment'; path: string } | { kind: 'default'; path: string };

export function configSource(option: string | undefined, env: NodeJS.ProcessEnv, workingDirectory = process.cwd()): ConfigSource {
  if (option !== undefined && option !== '') return { kind: 'option', path: resolve(workingDirectory, option) };
  if (env.BATON_CONFIG) return { kind: 'environment', path: resolve(workingDirectory, env.BATON_CONFIG) };
  return { kind: 'default', path: join(batonDirectory(env), 'config.json') };
}

/** A config file in the cwd that baton does not read: the caller says so once, so nobody wonders why it is ignored. */
export const IGNORED_CWD_CONFIG = 'baton.config.json';

export async function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  workingDirectory = process.cwd(),
  option?: string,
): Promise<LoadedConfig> {
  const source = configSource(option, env, workingDirectory);
  let text: string;
  try {
    text = await readFile(source.path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && source.kind === 'default') return { config: {}, path: undefined };
    const named = source.kind === 'option' ? '--config' : source.kind === 'environment' ? 'BATON_CONFIG' : 'the config file';
    throw new BatonError('CONFIG_INVALID', `cannot read the config file ${source.path} (from ${named}): ${errorMessage(error)}`, {
      hint: source.kind === 'default' ? `fix the permissions of ${source.path}` : `check ${named}, or leave it out to use ~/.baton/config.json`,
    });
  }
  return { config: await parseConfig(text, source.path), path: source.path };
}

/** The note for a ./baton.config.json that is present and not read (undefined when there is none, or it is the one in use). */
export async function ignoredConfigNote(loadedPath: string | undefined, workingDirectory = process.cwd()): Promise<string | undefined> {
  const local = join(workingDirectory, IGNORED_CWD_CONFIG);
  if (loadedPath !== undefined && resolve(loadedPath) === local) return undefined;
  try {
    await access(local);
  } catch {
    return undefined;
  }
  return `note: ignoring ./${IGNORED_CWD_CONFIG} (baton reads only --config FILE, $BATON_CONFIG or ~/.baton/config.json); pass --config ./${IGNORED_CWD_CONFIG} to use it`;
}

export async function parseConfig(text: string, path: string): Promise<BatonConfig> {
  // The schema (and zod) load only when there is a config file: a plain `baton run` starts faster without it.
  const { configSchema } = await import('./config-schema.js');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BatonError('CONFIG_INVALID', `${path} is not valid JSON: ${errorMessage(error)}`, { hint: 'fix the JSON syntax of the file' });
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new BatonError('CONFIG_INVALID', `${path}: ${where}: ${issue.message}`, {
      hint: 'see the README section "Configuration" for the keys baton.config.json accepts',
    });
  }
  return parsed.data;
}

export function resolveStoreLocation(option: string | undefined, env: NodeJS.ProcessEnv, config: BatonConfig): string {
  return option ?? (env.BATON_STORE || undefined) ?? config.store ?? join(batonDirectory(env), 'baton.db');
}

/** Object storage for the store's bodies (--blobs, BATON_BLOBS, config `blobs`); undefined: in the database rows. */
export function resolveBlobsLocation(option: string | undefined, env: NodeJS.ProcessEnv, config: BatonConfig): string | undefined {
  return option ?? (env.BATON_BLOBS || undefined) ?? config.blobs;
}

export function commandTemplates(config: BatonConfig, harness: HarnessId): CommandTemplates {
  const entry: HarnessConfig | undefined = config.harnesses?.[harness];
  return { command: entry?.command, newArgs: entry?.args?.new, resumeArgs: entry?.args?.resume };
}

export function harnessEnvironment(config: BatonConfig, harness: HarnessId): Record<string, string> {
  return config.harnesses?.[harness]?.env ?? {};
}
