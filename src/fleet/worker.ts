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
import type { BatonConfig } from '../config.js';
import { BatonError, errorMessage, isBatonError } from '../errors.js';
import { runQueuedRun, type RunResult } from '../run/runner.js';
import { MODEL_KEY_VARIABLES } from '../run/model-access.js';
import type { PostgresStore } from '../store/postgres.js';
import type { Run, Store } from '../store/store.js';
import { handBackRun, migrateQueue, queueLogger, queueUtils, RUN_TASK, type RunJobPayload } from './queue.js';
import type { SandboxMode } from '../sandbox/sandbox.js';
import { assertCloneSource } from './clone-source.js';
import { cloneWorkspace, createRunPlace } from './run-home.js';
import { startModelProxy, type ModelProxy, type ModelProxyOptions, type RunGrant } from './model-proxy/proxy.js';
import { assertTemplateHoldsNoKey, withoutModelKeys } from './model-proxy/upstreams.js';

export interface WorkerOptions {
  store: PostgresStore;
  /** Names the worker in runs' `host` and in logs; default `<hostname>-<pid>`. */
  name?: string | undefined;
  config: BatonConfig;
  /** Runs, homes and working directories live under here. */
  dataDir: string;
  /** Parent of the per-run homes, if not under dataDir. */
  homesDir?: string | undefined;
  /** Copied into every fresh home first. */
  homeTemplate?: string | undefined;
  /** Runs at once. */
  concurrency: number;
  /** A conversation's lease, and how long a silent worker counts as alive. */
  leaseMs: number;
  /** On stop, how long active runs may go on before they are interrupted and handed back. */
  drainMs: number;
  /** The environment the CLIs inherit (HOME is replaced per run; in the sandbox only what it passes on). */
  env?: NodeJS.ProcessEnv;
  /** How each run is contained; bubblewrap unless the operator says otherwise. */
  sandbox?: SandboxMode;
  /** Variables the sandboxed CLIs get besides their own: names, or prefixes ending in `*`. */
  passEnvironment?: string[];
  /** Clone `workspace.git` paths and file:// URLs (paths on this machine). */
  allowLocalClone?: boolean;
  /** false (`--no-redact`): runs store their transcripts byte for byte, secrets included. */
  redact?: boolean;
  /**
   * The model-API proxy (src/fleet/model-proxy/): each run's CLI gets the proxy's URL and a per-run token, never
   * a model key. `false`: the runs inherit the worker's model keys as they are (every agent can read them).
   */
  modelProxy?: ModelProxyOptions | false;
  log?: (line: string) => void;
}

/**
 * The tenant's own secrets (`baton secret set --tenant T NAME`) as environment variables of its run, and only of
 * its runs: a conversation without a tenant (a local one) gets none. The sandbox passes exactly these names on.
 */
export async function tenantSecretEnvironment(store: Pick<Store, 'tenantSecrets'>, tenant: string | undefined): Promise<Record<string, string>> {
  return tenant === undefined ? {} : store.tenantSecrets(tenant);
}

/** Said to the agent when a run continues on another worker after its first worker shut down. */
export function continuationPrompt(prompt: string): string {
  return `[baton] Your previous turn was interrupted because the machine running you shut down; the conversation so far is above. Carry on with this request and finish it:\n\n${prompt}`;
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
  private modelProxy: ModelProxy | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.name = options.name ?? `${hostname()}-${process.pid}`;
    this.id = `w_${this.name.replace(/[^A-Za-z0-9.-]/g, '-')}_${randomBytes(3).toString('hex')}`;
  }

  async start(): Promise<void> {
    const { store } = this.options;
    if (this.options.modelProxy) {
      const operatorKeys = this.operatorKeys();
      if (this.options.homeTemplate) await assertTemplateHoldsNoKey(this.options.homeTemplate, operatorKeys);
      this.modelProxy = await startModelProxy(this.options.modelProxy);
      this.log(`worker: model proxy on ${this.modelProxy.url} (OpenAI → ${this.options.modelProxy.upstreams['openai-responses'].baseUrl.origin}, Anthropic → ${this.options.modelProxy.upstreams['anthropic-messages'].baseUrl.origin}); agents get per-run tokens${this.options.modelProxy.maxTokensPerRun === undefined ? '' : `, at most ${this.options.modelProxy.maxTokensPerRun} tokens a run`}`);
    } else {
      this.log('worker: no model proxy (--no-model-proxy): every agent can read the model keys of this worker\'s environment');
    }
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
        await this.modelProxy?.close();
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
    const conversation = await store.getConversation(run.conversationId);
    if (!conversation) return;
    const place = await createRunPlace({ dataDir: this.options.dataDir, homesDir: this.options.homesDir, homeTemplate: this.options.homeTemplate, runId: run.id, baseEnv: this.options.env ?? process.env });
    const controller = new AbortController();
    this.active.set(run.id, controller);
    const source = conversation.options.workspace;
    const sandbox = this.options.sandbox ?? 'bubblewrap';
    this.log(`worker ${this.id}: run ${run.id} of ${conversation.id} (${conversation.harness}) started${sandbox === 'none' ? ' WITHOUT a sandbox (--sandbox none): its agent can read and write whatever this worker can' : ''}`);
    let result: RunResult | undefined;
    let grant: RunGrant | undefined;
    try {
      let env = place.env;
      if (this.modelProxy) {
        grant = await this.modelProxy.grant({ runId: run.id, tenant: conversation.tenant });
        env = withoutModelKeys(place.env, [...this.operatorKeys(), ...Object.values(grant.keys).map((key) => key.value)]);
      }
      if (source && 'git' in source && !conversation.sessionId) {
        assertCloneSource(source.git, { allowLocal: this.options.allowLocalClone === true });
        await cloneWorkspace(source, place.cwd);
      }
      const allSecrets = await tenantSecretEnvironment(store, conversation.tenant);
      // Behind the proxy a tenant's own model keys are the proxy's to use (tenantKeysFromSecrets), never the agent's.
      const secrets = this.modelProxy ? Object.fromEntries(Object.entries(allSecrets).filter(([name]) => !MODEL_KEY_VARIABLES.includes(name))) : allSecrets;
      result = await runQueuedRun({
        store,
        runId: run.id,
        cwd: place.cwd,
        env: { ...env, ...secrets },
        modelAccess: grant,
        config: this.options.config,
        signal: controller.signal,
        leaseMs: this.options.leaseMs,
        saveIntervalMs: Math.min(5_000, Math.floor(this.options.leaseMs / 3)),
        eventFlushMs: 200,
        host: this.name,
        workspace: { enabled: !(source && 'enabled' in source && !source.enabled) },
        // Every secret of the tenant is redacted, also the model keys the agent never sees.
        redaction: { enabled: this.options.redact !== false, secrets: Object.entries(allSecrets).map(([name, value]) => ({ name, value })) },
        sandbox: { mode: sandbox, homeIsRunOwn: true, passEnvironment: [...(this.options.passEnvironment ?? []), ...Object.keys(secrets)], warnUnconfined: sandbox === 'none' },
        ...(run.handoffs > 0 && conversation.sessionId ? { prompt: continuationPrompt(run.prompt) } : {}),
      });
    } catch (error) {
      if (isBatonError(error) && error.code === 'CONVERSATION_BUSY') throw error; // a local run holds it: retry later
      await this.failUnstarted(run, error);
    } finally {
      // The runner revokes it once the CLI exits; here too, for a run that failed before its CLI started.
      grant?.revoke();
      this.active.delete(run.id);
      await place.remove().catch((error: unknown) => this.log(`worker ${this.id}: cannot remove ${place.home}: ${errorMessage(error)}`));
    }
    if (!result) return;
    if (result.status === 'interrupted' && controller.signal.aborted && (await handBackRun(store, run))) {
      this.log(`worker ${this.id}: run ${run.id} handed back to the queue`);
      return;
    }
    this.log(`worker ${this.id}: run ${run.id} ${result.status}${result.error ? `: ${result.error}` : ''}`);
  }

  /** The operator's model keys the proxy holds: none of them may reach a run. */
  private operatorKeys(): string[] {
    const proxy = this.options.modelProxy;
    if (!proxy) return [];
    return Object.values(proxy.upstreams).flatMap((upstream) => (upstream.key ? [upstream.key.value] : []));
  }

  /** The runner records a run it started; a run that failed before that is recorded failed here. */
  private async failUnstarted(run: Run, error: unknown): Promise<void> {
    const message = error instanceof BatonError && error.hint ? `${error.message} (${error.hint})` : errorMessage(error);
    this.log(`worker ${this.id}: run ${run.id} failed: ${message}`);
    const current = await this.options.store.getRun(run.id);
    if (current?.status !== 'queued') return;
    await this.options.store.appendRunEvents(run.id, [{ at: Date.now(), type: 'error', data: { message } }]);
    await this.options.store.finishRun(run.id, { status: 'failed', exitCode: undefined, error: message });
  }
}
