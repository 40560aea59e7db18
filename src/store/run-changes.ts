/**
 * The listening half of RUN_CHANGES_CHANNEL (PostgresStore.announce is the other), kept with the store's other
 * SQL: it wakes `baton serve`'s event streams when a run changes, one LISTEN connection per server, fed by every
 * worker's PostgresStore. If the connection drops, streams fall back to polling (every `pollMs`) while it
 * reconnects, so a missed notification delays an event but never loses it.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { RUN_CHANGES_CHANNEL } from './postgres.js';
import type { RunChangeFeed } from './change-feed.js';

const RECONNECT_MS = 2_000;

export class RunChanges implements RunChangeFeed {
  private readonly emitter = new EventEmitter();
  private client: pg.Client | undefined;
  private closed = false;
  private reconnect: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    readonly pollMs = 2_000,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'baton-serve-listen' });
    client.on('notification', (message) => {
      if (message.payload) this.emitter.emit(message.payload);
    });
    client.on('error', () => this.retry(client));
    client.on('end', () => this.retry(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_CHANGES_CHANNEL}`);
      this.client = client;
    } catch {
      this.retry(client);
    }
  }

  private retry(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed || this.reconnect) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      void this.start();
    }, RECONNECT_MS);
  }

  /** Resolves when run `runId` changes, after `pollMs` at the latest, or when `signal` aborts. */
  waitForChange(runId: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.emitter.off(runId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.emitter.on(runId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    await this.client?.end().catch(() => undefined);
  }
}
