/** Tenant secrets (`baton secret set --tenant T NAME`): sealed under the tenant's data key, never kept in plaintext. */
import { BatonError } from '../../errors.js';
import { tenantKeyOwner } from '../encryption.js';
import type { SqlContext } from './context.js';
import { secretIdentity } from './rows.js';

/** A secret is never written to a store that a copy of the file would show it in. */
export function secretsNeedEncryption(location: string): BatonError {
  return new BatonError('STORE_NOT_ENCRYPTED', `the store ${location} is not encrypted, so it does not keep secrets`, {
    hint: 'encrypt it with `baton keys enable` (see the README, "Encryption at rest"), then set the secret again',
  });
}

export class SqlTenantSecrets {
  constructor(private readonly context: SqlContext) {}

  /**
   * Stores (or replaces) a tenant's secret, encrypted under the tenant's data key. Refused in a plaintext
   * store: a secret is never written where a copy of the file would show it.
   */
  async set(tenant: string, name: string, value: string): Promise<void> {
    const { db, encryption, location } = this.context;
    // Loaded here: the names it refuses come from every harness's descriptor, which no other store call needs.
    (await import('../secret-names.js')).assertSecretName(name);
    // It becomes an environment variable, where a NUL cannot go.
    if (value.includes('\0')) throw new BatonError('USAGE', `the value of secret ${name} holds a NUL character`, { hint: 'store the value without it' });
    if (!encryption.encrypted) throw secretsNeedEncryption(location);
    const owner = tenantKeyOwner(tenant);
    const existing = await encryption.forTenant(db, tenant);
    const key = existing ? undefined : encryption.newDataKey();
    const cipher = existing ?? key!.cipher;
    const now = Date.now();
    const sealed = cipher.sealText(secretIdentity(tenant, name), value);
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('tenant_secrets')
        .values({ tenant, name, value: sealed, created_at: now, updated_at: now })
        .onConflict((conflict) => conflict.columns(['tenant', 'name']).doUpdateSet({ value: sealed, updated_at: now }))
        .execute();
      if (key) await encryption.saveDataKey(trx, owner, key);
    });
    if (key) encryption.remember(owner, cipher);
  }

  /** The names of a tenant's secrets, sorted; never their values. */
  async listNames(tenant: string): Promise<string[]> {
    const rows = await this.context.db.selectFrom('tenant_secrets').select('name').where('tenant', '=', tenant).orderBy('name').execute();
    return rows.map((row) => row.name);
  }

  /** Removes a tenant's secret; false when there was none by that name. */
  async delete(tenant: string, name: string): Promise<boolean> {
    const result = await this.context.db.deleteFrom('tenant_secrets').where('tenant', '=', tenant).where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** A tenant's secrets, name → value, for the environment of that tenant's runs. */
  async values(tenant: string): Promise<Record<string, string>> {
    const { db, encryption } = this.context;
    const rows = await db.selectFrom('tenant_secrets').select(['name', 'value']).where('tenant', '=', tenant).orderBy('name').execute();
    if (rows.length === 0) return {};
    const cipher = await encryption.forTenant(db, tenant);
    if (!cipher) throw encryption.missingDataKey(tenantKeyOwner(tenant));
    return Object.fromEntries(rows.map((row) => [row.name, cipher.openText(secretIdentity(tenant, row.name), row.value, `secret ${row.name} of tenant ${tenant}`)]));
  }
}
