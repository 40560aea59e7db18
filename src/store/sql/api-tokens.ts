/** The API tokens' rows (api_tokens) and the revocation generation (api_token_generation, one row). */
import type { Kysely } from 'kysely';
import type { ApiTokenStore, TokenSummary } from '../api-tokens.js';
import type { Database } from '../schema.js';
import { num, numOrUndefined } from './rows.js';

const SUMMARY_COLUMNS = ['id', 'tenant', 'created_at', 'last_used_at', 'revoked_at'] as const;

function toSummary(row: { id: string; tenant: string; created_at: number; last_used_at: number | null; revoked_at: number | null }): TokenSummary {
  return { id: row.id, tenant: row.tenant, createdAt: num(row.created_at), lastUsedAt: numOrUndefined(row.last_used_at), revokedAt: numOrUndefined(row.revoked_at) };
}

export class SqlApiTokens implements ApiTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(token: { id: string; tenant: string; tokenSha256: string; createdAt: number }): Promise<void> {
    await this.db.insertInto('api_tokens').values({ id: token.id, tenant: token.tenant, token_sha256: token.tokenSha256, created_at: token.createdAt, revoked_at: null, last_used_at: null }).execute();
  }

  async list(filter: { tenant?: string } = {}): Promise<TokenSummary[]> {
    let query = this.db.selectFrom('api_tokens').select(SUMMARY_COLUMNS);
    if (filter.tenant !== undefined) query = query.where('tenant', '=', filter.tenant);
    return (await query.orderBy('created_at').orderBy('id').execute()).map(toSummary);
  }

  async revoke(id: string, at: number): Promise<{ token: TokenSummary; alreadyRevoked: boolean } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // The write first: it takes the row's lock, so two revocations of one token cannot both count.
      const revoked = await trx.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      const alreadyRevoked = Number(revoked.numUpdatedRows) === 0;
      if (!alreadyRevoked) await trx.updateTable('api_token_generation').set((eb) => ({ generation: eb('generation', '+', 1) })).where('id', '=', 1).execute();
      const row = await trx.selectFrom('api_tokens').select(SUMMARY_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row ? { token: toSummary(row), alreadyRevoked } : undefined;
    });
  }

  async findUnrevoked(tokenSha256: string): Promise<{ id: string; tenant: string } | undefined> {
    return this.db.selectFrom('api_tokens').select(['id', 'tenant']).where('token_sha256', '=', tokenSha256).where('revoked_at', 'is', null).executeTakeFirst();
  }

  async revocationGeneration(): Promise<number> {
    const row = await this.db.selectFrom('api_token_generation').select('generation').where('id', '=', 1).executeTakeFirst();
    return num(row?.generation ?? 0);
  }

  async recordUse(id: string, at: number, precisionMs: number): Promise<void> {
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at - precisionMs)]))
      .execute();
  }
}
