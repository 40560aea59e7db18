/**
 * Where a worker's model proxy sends each API, with which key: the operator's upstream configuration, a
 * tenant's own keys, and keeping every such key out of what a run can read.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '../../errors.js';
import type { ModelApiId } from '../../harness/ids.js';
import { UPSTREAMS } from './upstream-options.js';
import { MODEL_KEY_VARIABLES } from '../../run/model-access.js';

/** A key and how the upstream takes it. */
export interface UpstreamKey {
  value: string;
  /** OpenAI: `Authorization: Bearer`; Anthropic: `x-api-key`, or `Authorization: Bearer` for an auth token; Gemini: `x-goog-api-key`. */
  scheme: 'bearer' | 'x-api-key' | 'x-goog-api-key';
}

export interface Upstream {
  /** The provider's base URL; a request's path below the proxy's route is appended to its path. */
  baseUrl: URL;
  /** The operator's key; undefined when the operator configured none (a tenant may bring its own). */
  key: UpstreamKey | undefined;
}

export type Upstreams = Record<ModelApiId, Upstream>;

export const DEFAULT_UPSTREAM_URLS: Record<ModelApiId, string> = {
  'openai-responses': 'https://api.openai.com/v1',
  'anthropic-messages': 'https://api.anthropic.com',
  'gemini-generate-content': 'https://generativelanguage.googleapis.com',
};

export { providerName } from './upstream-options.js';

export { MODEL_KEY_VARIABLES } from '../../run/model-access.js';

/**
 * The operator's upstreams: `--upstream-openai URL` / `--upstream-anthropic URL` / `--upstream-gemini URL`, else the
 * worker's own OPENAI_BASE_URL / ANTHROPIC_BASE_URL / GOOGLE_GEMINI_BASE_URL, else the providers' public APIs; keys
 * from the worker's OPENAI_API_KEY, ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, sent as a bearer token) and
 * GEMINI_API_KEY (or GOOGLE_API_KEY).
 */
export function resolveUpstreams(input: { urls?: Partial<Record<ModelApiId, string>> | undefined; env: NodeJS.ProcessEnv }): Upstreams {
  const urls = input.urls ?? {};
  const { env } = input;
  const anthropicKey: UpstreamKey | undefined = env.ANTHROPIC_API_KEY
    ? { value: env.ANTHROPIC_API_KEY, scheme: 'x-api-key' }
    : env.ANTHROPIC_AUTH_TOKEN
      ? { value: env.ANTHROPIC_AUTH_TOKEN, scheme: 'bearer' }
      : undefined;
  return {
    'openai-responses': {
      baseUrl: upstreamUrl('openai-responses', urls['openai-responses'] ?? (env.OPENAI_BASE_URL || undefined) ?? DEFAULT_UPSTREAM_URLS['openai-responses']),
      key: env.OPENAI_API_KEY ? { value: env.OPENAI_API_KEY, scheme: 'bearer' } : undefined,
    },
    'anthropic-messages': {
      baseUrl: upstreamUrl('anthropic-messages', urls['anthropic-messages'] ?? (env.ANTHROPIC_BASE_URL || undefined) ?? DEFAULT_UPSTREAM_URLS['anthropic-messages']),
      key: anthropicKey,
    },
    'gemini-generate-content': {
      baseUrl: upstreamUrl('gemini-generate-content', urls['gemini-generate-content'] ?? (env.GOOGLE_GEMINI_BASE_URL || undefined) ?? DEFAULT_UPSTREAM_URLS['gemini-generate-content']),
      key: env.GEMINI_API_KEY || env.GOOGLE_API_KEY ? { value: (env.GEMINI_API_KEY || env.GOOGLE_API_KEY)!, scheme: 'x-goog-api-key' } : undefined,
    },
  };
}

function upstreamUrl(api: ModelApiId, value: string): URL {
  const option = UPSTREAMS[api].flag;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BatonError('USAGE', `${option} must be an http(s) URL, not ${JSON.stringify(value)}`, { hint: `for example ${option} ${DEFAULT_UPSTREAM_URLS[api]}` });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    throw new BatonError('USAGE', `${option} must be an http(s) URL without credentials, query or fragment, not ${JSON.stringify(value)}`, { hint: 'give the key in the worker\'s environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY), never in the URL' });
  }
  return url;
}

/** A tenant's own model keys; an API without one uses the operator's. */
export interface ModelKeys {
  openai?: string | undefined;
  anthropic?: string | undefined;
  gemini?: string | undefined;
}

/** What the proxy asks about a run's tenant when it grants the run's token. */
export interface TenantModelSettings {
  keys: ModelKeys;
  /** The tenant's own limit; else the worker's --max-tokens-per-run. */
  maxTokensPerRun?: number | undefined;
}

/**
 * Looks up a tenant's model settings (bring-your-own key: `baton secret set --tenant T OPENAI_API_KEY`). The
 * default knows no tenant, so every run uses the operator's keys.
 */
export interface TenantModelAccess {
  settingsFor(tenant: string): Promise<TenantModelSettings>;
}

export const OPERATOR_KEYS_ONLY: TenantModelAccess = { settingsFor: async () => ({ keys: {} }) };

/** The tenant secret names that hold a tenant's own model keys. */
export const TENANT_KEY_SECRETS = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY', gemini: 'GEMINI_API_KEY' } as const;

/** A TenantModelAccess over a store of tenant secrets (name → value per tenant). */
export function tenantKeysFromSecrets(secretsOf: (tenant: string) => Promise<Record<string, string>>): TenantModelAccess {
  return {
    async settingsFor(tenant) {
      const secrets = await secretsOf(tenant);
      return {
        keys: {
          openai: secrets[TENANT_KEY_SECRETS.openai] || undefined,
          anthropic: secrets[TENANT_KEY_SECRETS.anthropic] || undefined,
          gemini: secrets[TENANT_KEY_SECRETS.gemini] || undefined,
        },
      };
    },
  };
}

/**
 * A run's environment without model keys: the variables of MODEL_KEY_VARIABLES, and any variable whose value
 * holds one of `secrets` (an operator who also exported the key under another name).
 */
export function withoutModelKeys(env: NodeJS.ProcessEnv, secrets: readonly string[]): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  const names = new Set<string>(MODEL_KEY_VARIABLES);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || names.has(name)) continue;
    if (secrets.some((secret) => secret !== '' && value.includes(secret))) continue;
    result[name] = value;
  }
  return result;
}

/** How much of a key identifies it (Claude Code records an approved key by its last 20 characters). */
export const KEY_FRAGMENT_LENGTH = 20;

/**
 * Refuses a home template that holds a model key (or its last 20 characters): every run's home starts as a
 * copy of it, and the agent can read its home. Looks at files up to 4 MB, at most 20 000 entries.
 */
export async function assertTemplateHoldsNoKey(template: string, secrets: readonly string[]): Promise<void> {
  const needles = secrets.filter((secret) => secret.length >= KEY_FRAGMENT_LENGTH).map((secret) => secret.slice(-KEY_FRAGMENT_LENGTH));
  if (needles.length === 0) return;
  let entries = 0;
  const walk = async (directory: string): Promise<void> => {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      if (++entries > 20_000) return;
      const path = join(directory, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && (await lstat(path)).size <= 4 * 1024 * 1024) {
        const text = (await readFile(path)).toString('latin1');
        if (needles.some((needle) => text.includes(needle))) {
          throw new BatonError('USAGE', `the home template holds a model API key in ${path}: every run's agent would be able to read it`, {
            hint: 'remove it from the template; the worker\'s model proxy holds the key (give it in the worker\'s environment, OPENAI_API_KEY / ANTHROPIC_API_KEY)',
          });
        }
      }
    }
  };
  await walk(template);
}
