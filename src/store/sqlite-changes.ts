/**
 * The change feed of a SQLite store: its own read-only connection asks `PRAGMA data_version` every `checkMs`.
 * SQLite changes that number whenever another connection commits — and for this connection every writer is
 * another one: this process's store, the in-process worker, a `baton run` in a terminal. One pragma on an idle
 * connection costs microseconds, so the feed wakes streams within `checkMs` of any commit, whoever made it,
 * without a notification channel between processes.
 */
import { EventEmitter } from 'node:events';
import Sqlite from 'better-sqlite3';
import type { RunChangeFeed } from './change-feed.js';

const CHECK_MS = 100;

export class SqliteChanges implements RunChangeFeed {
  private readonly emitter = new EventEmitter();
  private readonly db: Sqlite.Database;
  private readonly timer: NodeJS.Timeout;
  private version: number;

  constructor(
    path: string,
    readonly pollMs = 2_000,
    checkMs = CHECK_MS,
  ) {
    this.emitter.setMaxListeners(0);
    this.db = new Sqlite(path, { readonly: true, fileMustExist: true });
    this.version = this.dataVersion();
    this.timer = setInterval(() => this.check(), checkMs);
    this.timer.unref();
  }

  private dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  private check(): void {
    let version: number;
    try {
      version = this.dataVersion();
    } catch {
      return; // busy or closing: the next check sees it, and waiters poll anyway
    }
    if (version === this.version) return;
    this.version = version;
    this.emitter.emit('change');
  }

  /** Calls `listener` after every commit to the store (by any connection); returns what stops it. */
  onChange(listener: () => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  waitForChange(_runId: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.emitter.off('change', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.emitter.on('change', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.emitter.emit('change');
    this.db.close();
  }
}
