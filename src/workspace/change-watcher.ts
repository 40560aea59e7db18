/**
 * A cheap "did anything change?" for the workspace, so an unchanged workspace costs nothing at a save instead
 * of a scan of every file. A recursive fs.watch runs in a worker thread (its set-up walks the tree
 * synchronously: ~0.7 s for 10,000 files here, which must not stall the run) and raises a shared flag on any
 * event. Until the watcher is ready, or if it fails (e.g. inotify limits), every save scans.
 */
import { Worker } from 'node:worker_threads';

const READY = 0;
const DIRTY = 1;
const FAILED = 2;

const WORKER_SOURCE = `
const { watch } = require('node:fs');
const { workerData } = require('node:worker_threads');
const flags = new Int32Array(workerData.buffer);
try {
  const watcher = watch(workerData.dir, { recursive: true }, (_event, name) => {
    // git freshens existing objects when a snapshot stages files: not a change to the workspace.
    if (typeof name === 'string' && (name.startsWith('.git/objects/') || name.endsWith('.lock'))) return;
    Atomics.store(flags, ${DIRTY}, 1);
  });
  watcher.on('error', () => Atomics.store(flags, ${FAILED}, 1));
  Atomics.store(flags, ${READY}, 1);
} catch {
  Atomics.store(flags, ${FAILED}, 1);
}
`;

export class ChangeWatcher {
  private readonly flags: Int32Array;
  private readonly worker: Worker;

  constructor(dir: string) {
    const buffer = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    this.flags = new Int32Array(buffer);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { dir, buffer } });
    this.worker.on('error', () => Atomics.store(this.flags, FAILED, 1));
    this.worker.unref();
  }

  /** True when the watcher is running and can vouch that nothing changed. */
  get trustworthy(): boolean {
    return Atomics.load(this.flags, READY) === 1 && Atomics.load(this.flags, FAILED) === 0;
  }

  /** Whether anything changed since the last call (and forgets it). */
  takeChanged(): boolean {
    return Atomics.exchange(this.flags, DIRTY, 0) === 1;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
