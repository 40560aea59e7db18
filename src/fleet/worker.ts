/**
 * `baton worker`: takes queued runs from the job queue and runs them with the runner, each in a fresh home and
 * working directory (run-home.ts). It heartbeats; a worker that stops heartbeating is presumed dead, and any
 * other worker unlocks its jobs, whose runs are then marked failed with the transcript up to their last save.
 * On stop (SIGTERM) it takes no new run, lets the active ones finish for a while, then interrupts them (final
 * save) and hands them back to the queue, where another worker continues them.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { run as runQueue, type JobHelpers, type Runner, type WorkerUtils } from 'graphile-worker';
import { errorMessage } from '../errors.js';
import type { PostgresStore } from '../store/postgres.js';
import type { Run } from '../store/store.js';
import { handBackRun, migrateQueue, queueLogger, queueUtils, RUN_TASK, type RunJobPayload } from './queue.js';
import { RunExecutor, type RunExecutorOptions } from './run-executor.js';

export interface WorkerOptions extends Omit<RunExecutorOptions, 'store' | 'host' | 'logPrefix' | 'log'> {
  store: PostgresStore;
  /** Names the worker in runs' `host` and in logs; default `<hostname>-<pid>`. */
  name?: string | undefined;
  /** Runs at once. */
  concurrency: number;
  /** On stop, how long active runs may go on before they are interrupted and handed back. */
  drainMs: number;
  log?: (line: string) => void;
}

export class FleetWorker {
  readonly name: string;
  readonly id: string;
  private runner: Runner | undefined;
  private utils: WorkerUtils | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly queueWorkerIds = new Set<string>();
  private readonly active = new Map<string, AbortController>();
  private stopping: Promise<void> | undefined;
  private readonly log: (line: string) => void;
  private readonly executor: RunExecutor;

  constructor(private readonly options: WorkerOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.name = options.name ?? `${hostname()}-${process.pid}`;
    this.id = `w_${this.name.replace(/[^A-Za-z0-9.-]/g, '-')}_${randomBytes(3).toString('hex')}`;
    this.executor = new RunExecutor({ ...options, host: this.name, logPrefix: `worker ${this.id}`, log: this.log });
  }

  async start(): Promise<void> {
    const { store } = this.options;
    await this.executor.start();
    await migrateQueue(store);
    await store.fleetWorkers.register({ id: this.id, host: this.name, pid: process.pid, startedAt: Date.now() });
    this.utils = await queueUtils(store);
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), Math.max(250, Math.floor(this.options.leaseMs / 3)));
    this.runner = await runQueue({
      connectionString: store.url,
      concurrency: this.options.concurrency,
      noHandleSignals: true,
      pollInterval: 2_000,
      logger: queueLogger,
      crontab: '',
      taskList: { [RUN_TASK]: (payload, helpers) => this.handle(payload, helpers) },
    });
    this.log(`worker ${this.id}: waiting for runs (${this.options.concurrency} at a time) in ${store.location}`);
  }

  /** Settles when the worker has stopped. */
  get finished(): Promise<void> {
    return this.runner?.promise ?? Promise.resolve();
  }

  /**
   * Takes no new run; active runs get `drainMs` to finish, then are interrupted (final save) and handed back.
   * Calling it again interrupts them at once.
   */
  stop(): Promise<void> {
    if (this.stopping) {
      this.interruptAll();
      return this.stopping;
    }
    this.log(`worker ${this.id}: stopping${this.active.size > 0 ? `; ${this.active.size} active run(s) get ${Math.round(this.options.drainMs / 1000)} s to finish before they are handed back` : ''}`);
    const drain = setTimeout(() => this.interruptAll(), this.options.drainMs);
    this.stopping = (async () => {
      try {
        await this.runner?.stop();
        // graphile-worker does not wait for the completion of a job that ended during its shutdown, and a job
        // left locked by a stopped worker blocks its conversation's queue for hours. Unlock our jobs: one that
        // did complete is gone; one that did not is picked up again, and its handler sees its run finished
        // (or handed back) and acts on that.
        if (this.queueWorkerIds.size > 0) await this.utils?.forceUnlockWorkers([...this.queueWorkerIds]);
      } finally {
        clearTimeout(drain);
        clearInterval(this.heartbeat);
        await this.options.store.fleetWorkers.remove(this.id).catch(() => undefined);
        await this.utils?.release();
        await this.executor.close();
        this.log(`worker ${this.id}: stopped`);
      }
    })();
    return this.stopping;
  }

  private interruptAll(): void {
    for (const controller of this.active.values()) controller.abort(`handed back: worker ${this.id} is shutting down`);
  }

  /** Records that we are alive, and unlocks the jobs of workers that stopped heartbeating. */
  private async beat(): Promise<void> {
    const { store, leaseMs } = this.options;
    try {
      await store.fleetWorkers.heartbeat(this.id, [...this.queueWorkerIds], Date.now());
      const dead = await store.fleetWorkers.silentSince(Date.now() - leaseMs);
      for (const worker of dead) {
        if (worker.queueWorkerIds.length > 0) await this.utils?.forceUnlockWorkers(worker.queueWorkerIds);
        await store.fleetWorkers.remove(worker.id);
        this.log(`worker ${this.id}: worker ${worker.id} on ${worker.host} stopped heartbeating; its runs are released`);
      }
    } catch (error) {
      this.log(`worker ${this.id}: heartbeat failed (will retry): ${errorMessage(error)}`);
    }
  }

  private async handle(payload: unknown, helpers: JobHelpers): Promise<void> {
    const { runId } = payload as RunJobPayload;
    const { store } = this.options;
    if (helpers.job.locked_by && !this.queueWorkerIds.has(helpers.job.locked_by)) {
      this.queueWorkerIds.add(helpers.job.locked_by);
      await this.beat();
    }
    const run = await store.getRun(runId);
    if (!run) return; // deleted with its conversation
    if (run.status === 'running') return this.settleAbandoned(run);
    if (run.status !== 'queued') return; // already finished: nothing to do
    await this.execute(run);
  }

  /** A run still marked running whose job came back: its worker died. Fail it once its lease has expired. */
  private async settleAbandoned(run: Run): Promise<void> {
    const { store, leaseMs } = this.options;
    for (let waited = 0; ; ) {
      const conversation = await store.getConversation(run.conversationId);
      const leaseLeft = conversation?.activeRunId === run.id ? (conversation.leaseExpiresAt ?? 0) - Date.now() : 0;
      if (leaseLeft <= 0) break;
      if (waited > 2 * leaseMs) throw new Error(`run ${run.id} is still renewing its lease on ${run.host}; will retry`);
      const pause = Math.min(leaseLeft + 250, leaseMs);
      await new Promise((resolve) => setTimeout(resolve, pause));
      waited += pause;
    }
    const current = await store.getRun(run.id);
    if (current?.status !== 'running') return;
    await store.finishRun(run.id, {
      status: 'failed',
      exitCode: undefined,
      error: `the worker on ${run.host} stopped while running it (lease expired); the transcript is kept up to its last save`,
    });
    this.log(`worker ${this.id}: run ${run.id} of ${run.conversationId} failed: its worker on ${run.host} died`);
  }

  private async execute(run: Run): Promise<void> {
    const { store } = this.options;
    const controller = new AbortController();
    this.active.set(run.id, controller);
    let result;
    try {
      result = await this.executor.execute(run, controller.signal);
    } finally {
      this.active.delete(run.id);
    }
    if (!result) return;
    if (result.status === 'interrupted' && controller.signal.aborted && (await handBackRun(store, run))) {
      this.log(`worker ${this.id}: run ${run.id} handed back to the queue`);
      return;
    }
    this.log(`worker ${this.id}: run ${run.id} ${result.status}${result.error ? `: ${result.error}` : ''}`);
  }
}
