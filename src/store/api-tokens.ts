/**
 * The API tokens' rows, on either backend: only a token's sha256 is kept, and a revoked token keeps its row,
 * marked with when it was revoked. The rules (token format, tenant names, the server's cache) are the fleet's:
 * src/fleet/tokens.ts.
 */

/** What may be shown about a token: never the token itself, nor its hash. */
export interface TokenSummary {
  id: string;
  tenant: string;
  createdAt: number;
  lastUsedAt: number | undefined;
  revokedAt: number | undefined;
}

export interface ApiTokenStore {
  insert(token: { id: string; tenant: string; tokenSha256: string; createdAt: number }): Promise<void>;
  /** Every token (of one tenant, with `tenant`), revoked ones too, oldest first. */
  list(filter?: { tenant?: string }): Promise<TokenSummary[]>;
  /**
   * Marks token `id` revoked and bumps the revocation generation, in one transaction; a revoked token stays as
   * it is (`alreadyRevoked`). Undefined when there is no such token.
   */
  revoke(id: string, at: number): Promise<{ token: TokenSummary; alreadyRevoked: boolean } | undefined>;
  /** The token with this sha256, unless it was revoked. */
  findUnrevoked(tokenSha256: string): Promise<{ id: string; tenant: string } | undefined>;
  /** A number every revocation bumps: one small read tells a server whether any token was revoked. */
  revocationGeneration(): Promise<number>;
  /** Notes a use at `at`, unless one within `precisionMs` before it is noted already. */
  recordUse(id: string, at: number, precisionMs: number): Promise<void>;
}
