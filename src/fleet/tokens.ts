/**
 * API tokens: each bound to one tenant. Only a token's sha256 is stored (tokens are 256 random bits, so a
 * fast hash is enough: there is nothing to brute-force); the token itself is shown once, when created.
 * A revoked token keeps its row, marked with when it was revoked, and is refused from then on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BatonError } from '../errors.js';
import type { ApiTokenStore, TokenSummary } from '../store/api-tokens.js';

export type { TokenSummary } from '../store/api-tokens.js';

const TOKEN_PREFIX = 'baton_';
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A token's last use is recorded to this precision: at most one write per token, server and minute. */
const LAST_USE_PRECISION_MS = 60_000;

/** What the token functions need of a store: its tokens (either backend). */
export interface TokenStore {
  tokens: ApiTokenStore;
}

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

export async function createToken(store: TokenStore, tenant: string): Promise<CreatedToken> {
  assertTenantName(tenant);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = `t_${randomBytes(6).toString('hex')}`;
  await store.tokens.insert({ id, tenant, tokenSha256: digest(token), createdAt: Date.now() });
  return { id, tenant, token };
}

/** Every token (of one tenant, with `tenant`), revoked ones too, oldest first. */
export async function listTokens(store: TokenStore, filter: { tenant?: string } = {}): Promise<TokenSummary[]> {
  return store.tokens.list(filter);
}

/**
 * Revokes token `id` and bumps the revocation generation in the same transaction, so that every server's
 * tokenChecker drops the token within a second. Revoking a revoked token changes nothing (`alreadyRevoked`).
 */
export async function revokeToken(store: TokenStore, id: string): Promise<{ token: TokenSummary; alreadyRevoked: boolean }> {
  // Not echoed: it is a secret.
  if (id.startsWith(TOKEN_PREFIX)) throw new BatonError('USAGE', 'that is a token, not a token id', { hint: 'pass the token\'s id (t_…): `baton token list` shows them' });
  const revoked = await store.tokens.revoke(id, Date.now());
  if (!revoked) {
    throw new BatonError('TOKEN_NOT_FOUND', `no token with the id ${JSON.stringify(id)}`, {
      hint: 'see the token ids with `baton token list`',
    });
  }
  return revoked;
}

async function lookupToken(store: TokenStore, token: string): Promise<{ id: string; tenant: string } | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  return store.tokens.findUnrevoked(digest(token));
}

/** The tenant a token belongs to, or undefined for an unknown or revoked token. */
export async function tenantOfToken(store: TokenStore, token: string): Promise<string | undefined> {
  return (await lookupToken(store, token))?.tenant;
}

export interface TokenCheckerOptions {
  /** How stale the revocation generation may be: a revoked token is refused at most this long after. Default 1 s. */
  revalidateMs?: number;
  /** A cached token is looked up again after this long, whatever the generation says (a row deleted by hand). */
  maxAgeMs?: number;
  maxEntries?: number;
  /** A monotonic clock in milliseconds (tests move it by hand). */
  now?: () => number;
}

/**
 * tenantOfToken with a memory of known tokens, since every API call checks one.
 *
 * Revocation is effective within `revalidateMs` (1 s) on every server without a store query per request:
 * instead of asking about each token, a server asks for the store's revocation generation (one row, bumped
 * by every `revokeToken`) at most once per `revalidateMs`, and only while requests come in. When it has
 * changed, the whole cache is dropped and each token is looked up again on its next use. A short per-token
 * TTL would also bound revocation to 1 s, but costs one query per active token per second on every server;
 * the generation costs one per server per second however many tenants there are, and revocations are rare
 * enough that dropping every entry on each one costs nothing worth keeping apart.
 *
 * Why this holds: a request arriving at time T waits, if need be, for a generation read that started after
 * T - revalidateMs; a revocation that committed before that read started is seen by it. A token looked up
 * while a read that saw a new generation was in flight is not cached (its lookup may predate the revocation),
 * hence `clearedAt` is the end of that read. Unknown and revoked tokens are never cached, so a new token works
 * at once. A store that cannot answer fails the request (503), never lets it through.
 */
export function tokenChecker(store: TokenStore, options: TokenCheckerOptions = {}): (token: string) => Promise<string | undefined> {
  const revalidateMs = options.revalidateMs ?? 1_000;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? (() => performance.now());
  const known = new Map<string, { id: string; tenant: string; lookedUpAt: number; useRecordedAt: number }>();
  let generation: number | undefined;
  let generationReadAt = Number.NEGATIVE_INFINITY;
  let clearedAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;

  const readGeneration = (): Promise<void> =>
    (reading ??= (async () => {
      const startedAt = now();
      try {
        const current = await store.tokens.revocationGeneration();
        if (current !== generation) {
          known.clear();
          clearedAt = now();
          generation = current;
        }
        generationReadAt = startedAt;
      } finally {
        reading = undefined;
      }
    })());

  /** Best effort and off the request's path: the token's last use, to the minute. */
  const recordUse = (id: string): void => {
    void store.tokens.recordUse(id, Date.now(), LAST_USE_PRECISION_MS).catch(() => undefined);
  };

  return async (token) => {
    const arrivedAt = now();
    // At most twice: a read already in flight may have started too early for this request.
    while (arrivedAt - generationReadAt >= revalidateMs) await readGeneration();
    const key = digest(token);
    const cached = known.get(key);
    if (cached && now() - cached.lookedUpAt < maxAgeMs) {
      if (now() - cached.useRecordedAt >= LAST_USE_PRECISION_MS) {
        cached.useRecordedAt = now();
        recordUse(cached.id);
      }
      return cached.tenant;
    }
    const lookedUpAt = now();
    const found = await lookupToken(store, token);
    if (!found) {
      known.delete(key);
      return undefined;
    }
    if (lookedUpAt >= clearedAt) {
      known.delete(key);
      if (known.size >= maxEntries) known.delete(known.keys().next().value!);
      known.set(key, { ...found, lookedUpAt, useRecordedAt: now() });
    }
    recordUse(found.id);
    return found.tenant;
  };
}
