/**
 * What every command needs: the config (--config, BATON_CONFIG, ~/.baton) and the store, chosen by --store, BATON_STORE,
 * config, default; its bodies in object storage with --blobs, BATON_BLOBS or the config's `blobs`.
 */
import { ignoredConfigNote, loadConfig, resolveBlobsLocation, resolveStoreLocation, type BatonConfig } from '../config.js';
import { resolveMasterKey } from '../store/master-key.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';

export interface GlobalOptions {
  store?: string;
  /** Object storage for transcript bodies and workspace blobs: s3://bucket/prefix (else $BATON_BLOBS). */
  blobs?: string;
  config?: string;
  /** A file holding the store's master key (else $BATON_MASTER_KEY). */
  masterKeyFile?: string;
}

let ignoredConfigNoted = false;

export async function openContext(options: GlobalOptions, open: { allowPlaintextWithKey?: boolean } = {}): Promise<{ config: BatonConfig; store: Store }> {
  const { config, path } = await loadConfig(process.env, process.cwd(), options.config);
  if (!ignoredConfigNoted) {
    ignoredConfigNoted = true;
    const note = await ignoredConfigNote(path);
    if (note) process.stderr.write(`${note}\n`);
  }
  const location = resolveStoreLocation(options.store, process.env, config);
  const masterKey = await resolveMasterKey({ file: options.masterKeyFile });
  const blobs = resolveBlobsLocation(options.blobs, process.env, config);
  // Loaded only with object storage: the AWS SDK is large, and `baton run` starts without it.
  const chunkBodies = blobs === undefined ? undefined : await (await import('../store/s3-bodies.js')).openS3ChunkBodies(blobs);
  const storeOptions = { masterKey, allowPlaintextWithKey: open.allowPlaintextWithKey === true, chunkBodies };
  if (/^postgres(ql)?:\/\//.test(location)) {
    // Loaded on demand: pg is only needed for a shared store.
    const { openPostgresStore } = await import('../store/postgres.js');
    return { config, store: await openPostgresStore(location, storeOptions) };
  }
  return { config, store: await openSqliteStore(location, storeOptions) };
}

export async function withStore<T>(options: GlobalOptions, action: (context: { config: BatonConfig; store: Store }) => Promise<T>): Promise<T> {
  const context = await openContext(options);
  try {
    return await action(context);
  } finally {
    await context.store.close();
  }
}
