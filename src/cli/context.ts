/** What every command needs: the config and the store, chosen by --store, BATON_STORE, config, default. */
import { loadConfig, resolveStoreLocation, type BatonConfig } from '../config.js';
import { BatonError } from '../errors.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';

export interface GlobalOptions {
  store?: string;
}

export async function openContext(options: GlobalOptions): Promise<{ config: BatonConfig; store: Store }> {
  const { config } = await loadConfig();
  const location = resolveStoreLocation(options.store, process.env, config);
  if (/^postgres(ql)?:\/\//.test(location)) {
    throw new BatonError('USAGE', 'this baton has no PostgreSQL store yet', {
      hint: 'use a SQLite file path with --store or BATON_STORE (the default is ~/.baton/baton.db)',
    });
  }
  return { config, store: await openSqliteStore(location) };
}

export async function withStore<T>(options: GlobalOptions, action: (context: { config: BatonConfig; store: Store }) => Promise<T>): Promise<T> {
  const context = await openContext(options);
  try {
    return await action(context);
  } finally {
    await context.store.close();
  }
}
