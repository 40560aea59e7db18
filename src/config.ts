/**
 * baton's own configuration. Precedence: explicit option, then environment variable, then config file, then
 * default. The config file is BATON_CONFIG, else ./baton.config.json, else ~/.baton/config.json (first found).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BatonError, errorMessage } from './errors.js';
import type { CommandTemplates } from './harness/harness.js';
import type { HarnessId } from './harness/ids.js';

const templateSchema = z.array(z.union([z.string(), z.array(z.string()).min(1)]));

const harnessConfigSchema = z
  .object({
    /** The executable: a path, or a name looked up on PATH. */
    command: z.string().min(1).optional(),
    args: z.object({ new: templateSchema.optional(), resume: templateSchema.optional() }).strict().optional(),
    /** Extra environment variables for the CLI. */
    env: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const configSchema = z
  .object({
    $schema: z.string().optional(),
    store: z.string().min(1).optional(),
    harnesses: z.object({ codex: harnessConfigSchema.optional(), claude: harnessConfigSchema.optional() }).strict().optional(),
  })
  .strict();

export type BatonConfig = z.infer<typeof configSchema>;
export type HarnessConfig = z.infer<typeof harnessConfigSchema>;

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
    return { config: parseConfig(text, path), path };
  }
  return { config: {}, path: undefined };
}

export function parseConfig(text: string, path: string): BatonConfig {
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
