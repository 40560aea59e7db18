/**
 * What wakes `baton serve`'s event streams (and its in-process worker) when a run changes: LISTEN/NOTIFY on
 * PostgreSQL (run-changes.ts), the file's commit counter on SQLite (sqlite-changes.ts). A feed may wake a
 * waiter for a change to another run; waiters re-read what they follow, so a spurious wake costs one query.
 */
export interface RunChangeFeed {
  /** Resolves when run `runId` (or, on a feed that cannot tell runs apart, anything) changes, after the feed's poll interval at the latest, or when `signal` aborts. */
  waitForChange(runId: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
