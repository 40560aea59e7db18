/**
 * API tokens: each bound to one tenant. Only a token's sha256 is stored (tokens are 256 random bits, so a
 * fast hash is enough: there is nothing to brute-force); the token itself is shown once, when created.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BatonError } from '../errors.js';
import type { PostgresStore } from '../store/postgres.js';

const TOKEN_PREFIX = 'baton_';
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface CreatedToken {
  id: string;
  tenant: string;
  token: string;
}

export function assertTenantName(tenant: string): void {
  if (!TENANT_PATTERN.test(tenant)) {
    throw new BatonError('USAGE', `"${tenant}" is not a valid tenant name`, {
      hint: 'use 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    });
  }
}

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

export async function createToken(store: PostgresStore, tenant: string): Promise<CreatedToken> {
  assertTenantName(tenant);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = `t_${randomBytes(6).toString('hex')}`;
  await store.db.insertInto('api_tokens').values({ id, tenant, token_sha256: digest(token), created_at: Date.now() }).execute();
  return { id, tenant, token };
}

/** The tenant a token belongs to, or undefined for an unknown token. */
export async function tenantOfToken(store: PostgresStore, token: string): Promise<string | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const row = await store.db.selectFrom('api_tokens').select('tenant').where('token_sha256', '=', digest(token)).executeTakeFirst();
  return row?.tenant;
}

/**
 * tenantOfToken with a short memory of known tokens, since every API call checks one. Unknown tokens are always
 * looked up, so a token works as soon as it is created; a known one is looked up again after `ttlMs`.
 */
export function tokenChecker(store: PostgresStore, ttlMs = 30_000, maxEntries = 10_000): (token: string) => Promise<string | undefined> {
  const known = new Map<string, { tenant: string; until: number }>();
  return async (token) => {
    const key = digest(token);
    const cached = known.get(key);
    if (cached && cached.until > Date.now()) return cached.tenant;
    const tenant = await tenantOfToken(store, token);
    if (tenant === undefined) known.delete(key);
    else {
      if (known.size >= maxEntries) known.delete(known.keys().next().value!);
      known.set(key, { tenant, until: Date.now() + ttlMs });
    }
    return tenant;
  };
}
