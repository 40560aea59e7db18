/**
 * `baton serve`'s in-process worker on the embedded (SQLite) store: it takes the runs the API queues — and any a
 * terminal queued — from the runs table (store/sql/local-queue.ts) and runs them with the fleet worker's executor
 * (run-executor.ts): the same runner, fresh homes, model proxy and sandbox rules as `baton worker`. It wakes on
 * every commit to the store (sqlite-changes.ts) and looks again every second.
 *
 * A run still marked running whose lease expired — its `baton serve` or terminal `baton run` died — is failed with
 * its transcript up to the last save. On stop it takes no new run, lets the active ones finish for `drainMs`, then
 * interrupts them (final save) and puts them back in the queue, where the next `baton serve` continues them.
 */
import { errorMessage, isBatonError } from '../errors.js';
import type { SqlStore } from '../store/sql-store.js';
import type { Run } from '../store/store.js';
import { RunExecutor, type RunExecutorOptions } from './run-executor.js';

const RESCAN_MS = 1_000;

export interface LocalWorkerOptions extends Omit<RunExecutorOptions, 'store' | 'logPrefix' | 'log'> {
  store: SqlStore;
  /** Calls its listener after every commit to the store; returns what stops it (SqliteChanges.onChange). */
  onStoreChange: (listener: () => void) => () => void;
  /** Runs at once. */
  concurrency: number;
  /** On stop, how long active runs may go on before they are interrupted and handed back. */
  drainMs: number;
  log?: (line: string) => void;
}

interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

export class LocalWorker {
  private readonly executor: RunExecutor;
  private readonly active = new Map<string, ActiveRun>();
  private readonly log: (line: string) => void;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private lastSweep = 0;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: LocalWorkerOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.executor = new RunExecutor({ ...options, logPrefix: 'baton serve', log: this.log });
  }

  async start(): Promise<void> {
    await this.executor.start();
    this.unsubscribe = this.options.onStoreChange(() => this.wake());
    this.timer = setInterval(() => this.wake(), RESCAN_MS);
    this.wake();
    await this.scanning;
    this.log(`baton serve: runs queued runs itself, ${this.options.concurrency} at a time`);
  }

  /** The runs this worker is running now. */
  get activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  /** Looks for runs to start (and abandoned ones), once at a time; a wake during a look asks for another. */
  private wake(): void {
    if (this.stopping) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = (async () => {
      do {
        this.rescan = false;
        await this.scan().catch((error: unknown) => this.log(`baton serve: cannot read the queue (will retry): ${errorMessage(error)}`));
      } while (this.rescan && !this.stopping);
    })().finally(() => {
      this.scanning = undefined;
    });
  }

  private async scan(): Promise<void> {
    const { store, leaseMs } = this.options;
    const now = Date.now();
    if (now - this.lastSweep >= Math.min(leaseMs, 10_000)) {
      this.lastSweep = now;
      await this.failAbandoned();
    }
    const free = this.options.concurrency - this.active.size;
    if (free <= 0) return;
    for (const { runId } of await store.localQueue.claimable(free + this.active.size)) {
      if (this.active.size >= this.options.concurrency || this.stopping) return;
      if (this.active.has(runId)) continue;
      const run = await store.getRun(runId);
      if (run?.status === 'queued') this.launch(run);
    }
  }

  private launch(run: Run): void {
    const controller = new AbortController();
    const done = this.execute(run, controller).finally(() => {
      this.active.delete(run.id);
      this.wake();
    });
    this.active.set(run.id, { controller, done });
  }

  private async execute(run: Run, controller: AbortController): Promise<void> {
    try {
      const result = await this.executor.execute(run, controller.signal);
      if (!result) return;
      if (result.status === 'interrupted' && controller.signal.aborted && (await this.options.store.localQueue.handBack(run.id))) {
        this.log(`baton serve: run ${run.id} handed back to the queue`);
        return;
      }
      this.log(`baton serve: run ${run.id} ${result.status}${result.error ? `: ${result.error}` : ''}`);
    } catch (error) {
      // CONVERSATION_BUSY: a terminal's run took the conversation between the look and the claim; the run stays queued.
      if (!(isBatonError(error) && error.code === 'CONVERSATION_BUSY')) this.log(`baton serve: run ${run.id}: ${errorMessage(error)}`);
    }
  }

  /** Fails the runs marked running that no live process holds (their lease expired), keeping their last save. */
  private async failAbandoned(): Promise<void> {
    const { store } = this.options;
    for (const { runId, conversationId } of await store.localQueue.abandoned()) {
      if (this.active.has(runId)) continue;
      await store.finishRun(runId, {
        status: 'failed',
        exitCode: undefined,
        error: 'the process running it stopped without a final save (lease expired); the transcript is kept up to its last save',
      });
      this.log(`baton serve: run ${runId} of ${conversationId} failed: the process running it died`);
    }
  }

  /** Takes no new run; active runs get `drainMs` to finish, then are interrupted and handed back. Again: at once. */
  stop(): Promise<void> {
    if (this.stopping) {
      this.interruptAll();
      return this.stopping;
    }
    if (this.active.size > 0) this.log(`baton serve: ${this.active.size} active run(s) get ${Math.round(this.options.drainMs / 1000)} s to finish before they are handed back`);
    const drain = setTimeout(() => this.interruptAll(), this.options.drainMs);
    this.stopping = (async () => {
      try {
        this.unsubscribe?.();
        clearInterval(this.timer);
        await this.scanning;
        await Promise.all([...this.active.values()].map((active) => active.done));
      } finally {
        clearTimeout(drain);
        await this.executor.close();
      }
    })();
    return this.stopping;
  }

  private interruptAll(): void {
    for (const { controller } of this.active.values()) controller.abort('handed back: baton serve is stopping');
  }
}
