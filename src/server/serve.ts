/**
 * Starts `baton serve`: the HTTP API on a port. On PostgreSQL (the fleet) runs go to graphile-worker's queue for
 * `baton worker`s and run changes arrive by LISTEN/NOTIFY; on the embedded SQLite store the server runs the queued
 * runs itself (an in-process worker) and notices changes by the file's commit counter, and on a loopback address a
 * browser signs in with a printed one-time URL instead of a token (local-sign-in.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { BatonError } from '../errors.js';
import type { LocalWorker, LocalWorkerOptions } from '../fleet/local-worker.js';
import type { RunQueue } from '../fleet/run-queue.js';
import type { RunChangeFeed } from '../store/change-feed.js';
import type { SqlStore } from '../store/sql-store.js';
import { createApi, type ApiOptions } from './app.js';
import { LocalSignIn, loopbackHosts } from './local-sign-in.js';

/**
 * The built web UI: dist/web, found from wherever this module runs — dist/server (tsc), dist/cli/chunks (the
 * bundle) or src/server (tests through tsx).
 */
export function findWebRoot(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return ['../web', '../../web', '../../dist/web'].map((relative) => resolve(here, relative)).find((candidate) => existsSync(join(candidate, 'index.html')));
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  store: SqlStore;
  port: number;
  host: string;
  version: string;
  allowLocalClone?: boolean;
  /** The in-process worker of a SQLite store (required there; refused on PostgreSQL, where `baton worker`s run the runs). */
  localRuns?: Omit<LocalWorkerOptions, 'store' | 'onStoreChange'> | undefined;
  /** Told the next one-time sign-in URL of a local server after each is used (the first is `signInUrl`). */
  onSignInUrl?: (url: string) => void;
  log?: (line: string) => void;
}

/** Addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export async function startServer(options: ServeOptions): Promise<RunningServer & { signInUrl?: string | undefined }> {
  const { store } = options;
  const { PostgresStore } = await import('../store/postgres.js');
  let changes: RunChangeFeed;
  let queue: RunQueue;
  let worker: LocalWorker | undefined;
  if (store instanceof PostgresStore) {
    if (options.localRuns) throw new BatonError('USAGE', 'on a PostgreSQL store, `baton worker`s run the queued runs, not `baton serve`', { hint: 'drop --runs, and start `baton worker` on each machine that should run agents' });
    const { jobRunQueue, migrateQueue } = await import('../fleet/queue.js');
    const { RunChanges } = await import('../store/run-changes.js');
    await migrateQueue(store);
    const listening = new RunChanges(store.url);
    await listening.start();
    changes = listening;
    queue = jobRunQueue(store);
  } else {
    if (store.location === ':memory:') throw new BatonError('USAGE', 'baton serve needs a store file, not an in-memory store', { hint: 'set BATON_STORE to a file path, or leave it unset for ~/.baton/store.db' });
    if (!options.localRuns) throw new BatonError('USAGE', 'baton serve on a SQLite store runs its queued runs itself and needs the worker options', { hint: 'pass localRuns' });
    const [{ SqliteChanges }, { LocalWorker }, { storeRunQueue }] = await Promise.all([import('../store/sqlite-changes.js'), import('../fleet/local-worker.js'), import('../fleet/run-queue.js')]);
    const feed = new SqliteChanges(store.location, 1_000);
    changes = feed;
    queue = storeRunQueue(store);
    worker = new LocalWorker({ ...options.localRuns, store, onStoreChange: (listener) => feed.onChange(listener) });
  }
  let port = options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const baseUrl = (): string => `http://${host}:${port}`;
  const signIn = !(store instanceof PostgresStore) && isLoopbackHost(options.host) ? new LocalSignIn((next) => options.onSignInUrl?.(next)) : undefined;
  const apiOptions: ApiOptions = {
    store,
    changes,
    queue,
    version: options.version,
    webRoot: findWebRoot(),
    allowLocalClone: options.allowLocalClone ?? false,
    ...(options.log ? { log: options.log } : {}),
    localSignIn: signIn && { signIn, hosts: () => loopbackHosts(port), baseUrl },
  };
  const app = createApi(apiOptions);
  let server: ServerType;
  try {
    const address = await new Promise<{ port: number }>((resolve, reject) => {
      server = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, (info) => resolve(info));
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new BatonError('USAGE', `cannot listen on ${options.host}:${options.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`, {
            hint: 'choose another port with --port',
          }),
        ),
      );
    });
    port = address.port;
    await worker?.start();
  } catch (error) {
    await changes.close();
    throw error;
  }
  const signInUrl = signIn?.url(baseUrl());
  return {
    url: baseUrl(),
    signInUrl,
    close: async () => {
      await worker?.stop();
      await changes.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open event streams would hold close() until their clients leave.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
