/** Starts `baton serve`: the HTTP API on a port, fed run changes by LISTEN/NOTIFY. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { BatonError } from '../errors.js';
import { migrateQueue } from '../fleet/queue.js';
import type { PostgresStore } from '../store/postgres.js';
import { createApi } from './app.js';
import { RunChanges } from '../store/run-changes.js';

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

export async function startServer(options: { store: PostgresStore; port: number; host: string; version: string; allowLocalClone?: boolean }): Promise<RunningServer> {
  await migrateQueue(options.store);
  const changes = new RunChanges(options.store.url);
  await changes.start();
  const app = createApi({ store: options.store, changes, version: options.version, webRoot: findWebRoot(), allowLocalClone: options.allowLocalClone ?? false });
  let server: ServerType;
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
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${address.port}`,
    close: async () => {
      await changes.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open event streams would hold close() until their clients leave.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
