/**
 * API tokens on both stores: listing never shows a secret, revocation reaches every server's token cache within
 * a second, and a cached token costs the store one small query per second, not one per request. Several
 * stores opened on one SQLite file or one PostgreSQL database stand for several `baton serve` processes
 * (PostgreSQL: separate connection pools, as separate machines would have).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isBatonError } from '../../src/errors.js';
import { createToken, listTokens, revokeToken, tokenChecker, type TokenStore } from '../../src/fleet/tokens.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { SqlApiTokens } from '../../src/store/sql/api-tokens.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';

let cluster: PostgresCluster | undefined;
let databases = 0;
beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

interface Backend {
  name: string;
  /** `count` stores on one new store location: as many servers sharing it. */
  open(count: number): Promise<{ stores: SqlStore[]; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    async open(count) {
      const directory = await mkdtemp(join(tmpdir(), 'baton-tokens-'));
      const stores = await Promise.all(Array.from({ length: count }, () => openSqliteStore(join(directory, 'baton.db'))));
      return {
        stores,
        cleanup: async () => {
          for (const store of stores) await store.close();
          await rm(directory, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    async open(count) {
      const name = `baton_tokens_${process.pid}_${++databases}`;
      const url = await cluster!.createDatabase(name);
      const stores: SqlStore[] = [];
      for (let index = 0; index < count; index++) stores.push(await openPostgresStore(url));
      return {
        stores,
        cleanup: async () => {
          for (const store of stores) await store.close();
          await cluster!.dropDatabase(name);
        },
      };
    },
  },
];

/** The queries a store is sent, by kind (SelectQueryNode, UpdateQueryNode …): counted, not changed. */
function countingQueries(store: SqlStore): { store: TokenStore; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      counts.set(args.node.kind, (counts.get(args.node.kind) ?? 0) + 1);
      return args.node;
    },
    transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => args.result,
  };
  return { store: { tokens: new SqlApiTokens(store.db.withPlugin(plugin)) }, counts };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(backends)('tokens on $name', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>> | undefined;
  const open = async (count: number) => (opened = await backend.open(count)).stores;
  afterEach(async () => {
    await opened?.cleanup();
    opened = undefined;
  });

  it('refuses a revoked token on every server within one second, and keeps letting the others in', async () => {
    const [serverA, serverB, admin] = await open(3);
    const checkA = tokenChecker(serverA!);
    const checkB = tokenChecker(serverB!);
    const revoked = await createToken(admin!, 'acme');
    const kept = await createToken(admin!, 'globex');
    for (const check of [checkA, checkB]) {
      expect(await check(revoked.token)).toBe('acme');
      expect(await check(kept.token)).toBe('globex');
    }

    await revokeToken(admin!, revoked.id);
    const revokedAt = performance.now();
    const refusedAfter = await Promise.all(
      [checkA, checkB].map(async (check) => {
        while ((await check(revoked.token)) !== undefined) await sleep(10);
        return performance.now() - revokedAt;
      }),
    );
    for (const ms of refusedAfter) expect(ms).toBeLessThan(1_100);
    // From one second on, no server lets it in.
    await sleep(Math.max(0, revokedAt + 1_000 - performance.now()));
    for (const check of [checkA, checkB]) {
      expect(await check(revoked.token)).toBeUndefined();
      expect(await check(kept.token)).toBe('globex');
    }
  });

  it('asks the store about a known token once per second at most, not once per request', async () => {
    const [server, admin] = await open(2);
    const { store, counts } = countingQueries(server!);
    let clock = 0;
    const check = tokenChecker(store, { now: () => clock });
    const created = await createToken(admin!, 'acme');

    for (let request = 0; request < 100; request++) expect(await check(created.token)).toBe('acme');
    // The revocation generation and the token itself, once each; one note of its use.
    expect(counts.get('SelectQueryNode')).toBe(2);
    expect(counts.get('UpdateQueryNode')).toBe(1);

    clock = 999;
    for (let request = 0; request < 100; request++) expect(await check(created.token)).toBe('acme');
    expect(counts.get('SelectQueryNode')).toBe(2);

    clock = 1_000;
    for (let request = 0; request < 100; request++) expect(await check(created.token)).toBe('acme');
    expect(counts.get('SelectQueryNode')).toBe(3); // the generation again: unchanged, so the token stays cached

    await revokeToken(admin!, created.id);
    clock = 1_999;
    expect(await check(created.token)).toBe('acme'); // still within the second of the last generation read
    clock = 2_000;
    expect(await check(created.token)).toBeUndefined();
    expect(counts.get('SelectQueryNode')).toBe(5); // the generation (changed), then the token (revoked)
    expect(counts.get('UpdateQueryNode')).toBe(1);
  });

  it('lets a new token in at once, and never caches an unknown one', async () => {
    const [server, admin] = await open(2);
    const check = tokenChecker(server!);
    const first = await createToken(admin!, 'acme');
    expect(await check(first.token)).toBe('acme');
    const second = await createToken(admin!, 'acme');
    expect(await check(second.token)).toBe('acme');
    for (const guess of ['baton_not-a-token', 'no-prefix', '']) expect(await check(guess)).toBeUndefined();
    expect(await check(`${first.token}x`)).toBeUndefined();
  });

  it('lists tokens, revoked ones too, without the secret or its hash, and notes when each was last used', async () => {
    const [server, admin] = await open(2);
    const acme = await createToken(admin!, 'acme');
    const globex = await createToken(admin!, 'globex');
    await revokeToken(admin!, globex.id);
    expect(await tokenChecker(server!)(acme.token)).toBe('acme');

    const listed = await (async () => {
      for (;;) {
        const tokens = await listTokens(admin!);
        if (tokens.find((token) => token.id === acme.id)?.lastUsedAt !== undefined) return tokens;
        await sleep(20);
      }
    })();
    // Oldest first; these two were made within the same millisecond or two.
    expect(listed.sort((a, b) => a.tenant.localeCompare(b.tenant))).toEqual([
      { id: acme.id, tenant: 'acme', createdAt: expect.any(Number), lastUsedAt: expect.any(Number), revokedAt: undefined },
      { id: globex.id, tenant: 'globex', createdAt: expect.any(Number), lastUsedAt: undefined, revokedAt: expect.any(Number) },
    ]);
    expect(Math.abs(listed[0]!.lastUsedAt! - Date.now())).toBeLessThan(60_000);
    const shown = JSON.stringify(listed);
    for (const { token } of [acme, globex]) {
      expect(shown).not.toContain(token);
      expect(shown).not.toContain(createHash('sha256').update(token).digest('hex'));
    }
    expect((await listTokens(admin!, { tenant: 'globex' })).map((token) => token.id)).toEqual([globex.id]);
    expect(await listTokens(admin!, { tenant: 'initech' })).toEqual([]);
  });

  it('refuses to revoke an unknown id, or a token given in place of its id, and revokes a token once', async () => {
    const [admin] = await open(1);
    const created = await createToken(admin!, 'acme');
    const unknown = await revokeToken(admin!, 't_000000000000').catch((error: unknown) => error);
    expect(isBatonError(unknown, 'TOKEN_NOT_FOUND')).toBe(true);
    expect(unknown).toMatchObject({ message: 'no token with the id "t_000000000000"', hint: expect.stringContaining('baton token list') });
    const secret = await revokeToken(admin!, created.token).catch((error: unknown) => error);
    expect(isBatonError(secret, 'USAGE')).toBe(true);
    expect(JSON.stringify({ message: (secret as Error).message, hint: (secret as { hint?: string }).hint })).not.toContain(created.token);

    const first = await revokeToken(admin!, created.id);
    expect(first).toMatchObject({ alreadyRevoked: false, token: { id: created.id, tenant: 'acme', revokedAt: expect.any(Number) } });
    const again = await revokeToken(admin!, created.id);
    expect(again).toEqual({ alreadyRevoked: true, token: first.token });
  });

  it('looks a cached token up again after maxAgeMs, so a row deleted by hand stops working', async () => {
    const [server, admin] = await open(2);
    let clock = 0;
    const check = tokenChecker(server!, { now: () => clock, maxAgeMs: 60_000 });
    const created = await createToken(admin!, 'acme');
    expect(await check(created.token)).toBe('acme');
    await admin!.db.deleteFrom('api_tokens').where('id', '=', created.id).execute();
    clock = 59_999;
    expect(await check(created.token)).toBe('acme');
    clock = 60_000;
    expect(await check(created.token)).toBeUndefined();
  });
});
