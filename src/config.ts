/**
 * baton's own configuration. Precedence: explicit option, then environment variable, then config file, then
 * default. The config file is BATON_CONFIG, else ./baton.config.json, else ~/.baton/config.json (first found).
 */
import { readFile } from 'node:fs/promises';
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
  harnesses?: Partial<Record<HarnessId, HarnessConfig>> | undefined;
}

export interface LoadedConfig {
  config: BatonConfig;
  path: string | undefined;
}

export function batonDirectory(env: NodeJS.ProcessEnv): string {
  return join(env.HOME && env.HOME !== '' ? env.HOME : homedir(), '.baton');
}

export async function loadConfig(env: NodeJS.ProcessEnv = process.env, workingDirectory = process.cwd()): Promise<LoadedConfig> {
  const candidates = env.BATON_CONFIG
    ? [resolve(workingDirectory, env.BATON_CONFIG)]
    : [join(workingDirectory, 'baton.config.json'), join(batonDirectory(env), 'config.json')];
  for (const path of candidates) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !env.BATON_CONFIG) continue;
      throw new BatonError('CONFIG_INVALID', `cannot read the config file ${path}: ${errorMessage(error)}`, {
        hint: 'check BATON_CONFIG, or remove the variable to use ./baton.config.json or ~/.baton/config.json',
      });
    }
    return { config: await parseConfig(text, path), path };
  }
  return { config: {}, path: undefined };
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

export function commandTemplates(config: BatonConfig, harness: HarnessId): CommandTemplates {
  const entry: HarnessConfig | undefined = config.harnesses?.[harness];
  return { command: entry?.command, newArgs: entry?.args?.new, resumeArgs: entry?.args?.resume };
}

export function harnessEnvironment(config: BatonConfig, harness: HarnessId): Record<string, string> {
  return config.harnesses?.[harness]?.env ?? {};
}
