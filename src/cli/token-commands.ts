/** `baton token create|list|revoke`: the bearer tokens `baton serve` accepts, one tenant each. */
import type { Command } from 'commander';
import type { TokenSummary } from '../fleet/tokens.js';
import type { GlobalOptions } from './context.js';
import { openServedStore } from './fleet-store.js';

const time = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function tokenTable(tokens: TokenSummary[]): string {
  const rows = [['ID', 'TENANT', 'CREATED', 'LAST USED', 'REVOKED'], ...tokens.map((token) => [token.id, token.tenant, time(token.createdAt), time(token.lastUsedAt), time(token.revokedAt)])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

export function registerTokenCommands(program: Command, globals: () => GlobalOptions): void {
  const token = program.command('token').description('manage API tokens for `baton serve`');

  token
    .command('create')
    .description('create a bearer token for a tenant; the token is printed once, alone on the last line')
    .requiredOption('--tenant <tenant>', 'the tenant whose conversations the token reaches')
    .action(async (options: { tenant: string }) => {
      const { createToken, assertTenantName } = await import('../fleet/tokens.js');
      assertTenantName(options.tenant);
      const { store } = await openServedStore(globals(), 'token create');
      try {
        const created = await createToken(store, options.tenant);
        process.stderr.write(`created token ${created.id} for tenant ${created.tenant}; it is shown only now, store it as a secret:\n`);
        process.stdout.write(`${created.token}\n`);
      } finally {
        await store.close();
      }
    });

  token
    .command('list')
    .description('list the tokens (id, tenant, when created, last used and revoked), never the tokens themselves')
    .option('--tenant <tenant>', 'only this tenant\'s tokens')
    .option('--json', 'print JSON')
    .action(async (options: { tenant?: string; json?: boolean }) => {
      const { listTokens, assertTenantName } = await import('../fleet/tokens.js');
      if (options.tenant !== undefined) assertTenantName(options.tenant);
      const { store } = await openServedStore(globals(), 'token list');
      try {
        const tokens = await listTokens(store, options.tenant === undefined ? {} : { tenant: options.tenant });
        if (options.json) {
          const rows = tokens.map((summary) => ({ id: summary.id, tenant: summary.tenant, createdAt: iso(summary.createdAt), lastUsedAt: iso(summary.lastUsedAt), revokedAt: iso(summary.revokedAt) }));
          process.stdout.write(`${JSON.stringify(rows)}\n`);
        } else if (tokens.length === 0) {
          process.stderr.write(`no tokens${options.tenant === undefined ? '' : ` of tenant ${options.tenant}`} in ${store.location}; create one with \`baton token create --tenant ${options.tenant ?? 'T'}\`\n`);
        } else process.stdout.write(tokenTable(tokens));
      } finally {
        await store.close();
      }
    });

  token
    .command('revoke')
    .description('revoke a token: every `baton serve` on this store refuses it (401) within a second')
    .argument('<token-id>', 'the id of the token (t_…), as `baton token list` shows it')
    .action(async (id: string) => {
      const { revokeToken } = await import('../fleet/tokens.js');
      const { store } = await openServedStore(globals(), 'token revoke');
      try {
        const { token: revoked, alreadyRevoked } = await revokeToken(store, id);
        process.stderr.write(
          alreadyRevoked
            ? `token ${revoked.id} of tenant ${revoked.tenant} was already revoked at ${time(revoked.revokedAt)}\n`
            : `revoked token ${revoked.id} of tenant ${revoked.tenant}; every baton serve on ${store.location} refuses it within a second\n`,
        );
      } finally {
        await store.close();
      }
    });
}
