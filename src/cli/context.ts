/**
 * What every command needs: the config (--config, BATON_CONFIG, ~/.baton) and the store, chosen by --store, BATON_STORE,
 * config, default; its bodies in object storage with --blobs, BATON_BLOBS or the config's `blobs`.
 */
import { ignoredConfigNote, loadConfig, resolveBlobsLocation, resolveStoreLocation, type BatonConfig } from '../config.js';
import { resolveMasterKey, type KeyMaterial } from '../store/master-key.js';
import type { Store } from '../store/store.js';

export interface GlobalOptions {
  store?: string;
  /** Object storage for transcript bodies and workspace blobs: s3://bucket/prefix (else $BATON_BLOBS). */
  blobs?: string;
  config?: string;
  /** A file holding the store's master key (else $BATON_MASTER_KEY). */
  masterKeyFile?: string;
}

/** Where the store is and how to open it: all a command knows before the store itself is open. */
export interface StoreTarget {
  location: string;
  /** Object storage for the bodies (s3://bucket/prefix), if any. */
  blobs: string | undefined;
  masterKey: KeyMaterial | undefined;
  allowPlaintextWithKey: boolean;
}

let ignoredConfigNoted = false;

/** The config, and the store it names; nothing opened yet. */
export async function resolveContext(options: GlobalOptions, open: { allowPlaintextWithKey?: boolean } = {}): Promise<{ config: BatonConfig; target: StoreTarget }> {
  const { config, path } = await loadConfig(process.env, process.cwd(), options.config);
  if (!ignoredConfigNoted) {
    ignoredConfigNoted = true;
    const note = await ignoredConfigNote(path);
    if (note) process.stderr.write(`${note}\n`);
  }
  const location = resolveStoreLocation(options.store, process.env, config);
  const masterKey = await resolveMasterKey({ file: options.masterKeyFile });
  const blobs = resolveBlobsLocation(options.blobs, process.env, config);
  return { config, target: { location, blobs, masterKey, allowPlaintextWithKey: open.allowPlaintextWithKey === true } };
}

/**
 * Opens (and on first use creates and migrates) the store. Each backend is loaded on demand: the SQL builder
 * and the driver are a large share of the CLI's start-up, which `baton run` overlaps with the agent CLI's own.
 */
export async function openStore(target: StoreTarget): Promise<Store> {
  // Loaded only with object storage: the AWS SDK is large, and `baton run` starts without it.
  const chunkBodies = target.blobs === undefined ? undefined : await (await import('../store/s3-bodies.js')).openS3ChunkBodies(target.blobs);
  const storeOptions = { masterKey: target.masterKey, allowPlaintextWithKey: target.allowPlaintextWithKey, chunkBodies };
  if (/^postgres(ql)?:\/\//.test(target.location)) {
    const { openPostgresStore } = await import('../store/postgres.js');
    return openPostgresStore(target.location, storeOptions);
  }
  const { openSqliteStore } = await import('../store/sqlite.js');
  return openSqliteStore(target.location, storeOptions);
}

export async function openContext(options: GlobalOptions, open: { allowPlaintextWithKey?: boolean } = {}): Promise<{ config: BatonConfig; store: Store }> {
  const { config, target } = await resolveContext(options, open);
  return { config, store: await openStore(target) };
}

export async function withStore<T>(options: GlobalOptions, action: (context: { config: BatonConfig; store: Store }) => Promise<T>): Promise<T> {
  const context = await openContext(options);
  try {
    return await action(context);
  } finally {
    await context.store.close();
  }
}
