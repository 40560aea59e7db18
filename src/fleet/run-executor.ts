/**
 * How a worker runs one queued run, whoever hands it the run — a fleet worker (worker.ts, from graphile-worker's
 * jobs) or `baton serve`'s in-process worker on the embedded store (local-worker.ts): a fresh home and working
 * directory (run-home.ts), the model proxy's per-run grant instead of model keys, the tenant's secrets, the
 * sandbox, and the runner. Both kinds of worker therefore run every run by the same rules.
 */
import { BatonError, errorMessage, isBatonError } from '../errors.js';
import type { BatonConfig } from '../config.js';
import { runQueuedRun, type RunResult } from '../run/runner.js';
import { MODEL_KEY_VARIABLES } from '../run/model-access.js';
import { limitWithin } from '../run/run-limits.js';
import type { SandboxMode } from '../sandbox/sandbox.js';
import type { Run, Store } from '../store/store.js';
import { assertCloneSource } from './clone-source.js';
import { cloneWorkspace, createRunPlace } from './run-home.js';
import { startModelProxy, type ModelProxy, type ModelProxyOptions, type RunGrant } from './model-proxy/proxy.js';
import { assertTemplateHoldsNoKey, withoutModelKeys } from './model-proxy/upstreams.js';

export interface RunExecutorOptions {
  store: Store;
  config: BatonConfig;
  /** Names the worker in runs' `host`. */
  host: string;
  /** Starts the executor's log lines ("worker w_…"). */
  logPrefix: string;
  /** Runs, homes and working directories live under here. */
  dataDir: string;
  /** Parent of the per-run homes, if not under dataDir. */
  homesDir?: string | undefined;
  /** Copied into every fresh home first. */
  homeTemplate?: string | undefined;
  /** A conversation's lease. */
  leaseMs: number;
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
   * The model-API proxy (model-proxy/): each run's CLI gets the proxy's URL and a per-run token, never a model
   * key. `false`: the runs inherit the worker's model keys as they are (every agent can read them).
   */
  modelProxy?: ModelProxyOptions | false;
  /** Runs' time limits: the defaults for a run that asks for none, and the most one may ask for (WorkerRunLimits). */
  runLimits?: WorkerRunLimits | undefined;
  log: (line: string) => void;
}

/**
 * A worker's time limits for its runs (milliseconds; 0 = off): the stall timeout and the time cap a run gets when
 * its request names none, and the caps a run's own request cannot exceed (0 or undefined: none).
 */
export interface WorkerRunLimits {
  stallTimeoutMs?: number | undefined;
  maxRunTimeMs?: number | undefined;
  stallTimeoutCapMs?: number | undefined;
  maxRunTimeCapMs?: number | undefined;
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

export class RunExecutor {
  private modelProxy: ModelProxy | undefined;

  constructor(private readonly options: RunExecutorOptions) {}

  /** Starts the model proxy (when configured) after checking that no operator key reaches a run through the home template. */
  async start(): Promise<void> {
    const { modelProxy, log } = this.options;
    if (modelProxy) {
      const operatorKeys = this.operatorKeys();
      if (this.options.homeTemplate) await assertTemplateHoldsNoKey(this.options.homeTemplate, operatorKeys);
      this.modelProxy = await startModelProxy(modelProxy);
      log(`${this.options.logPrefix}: model proxy on ${this.modelProxy.url} (OpenAI → ${modelProxy.upstreams['openai-responses'].baseUrl.origin}, Anthropic → ${modelProxy.upstreams['anthropic-messages'].baseUrl.origin}); agents get per-run tokens${modelProxy.maxTokensPerRun === undefined ? '' : `, at most ${modelProxy.maxTokensPerRun} tokens a run`}`);
    } else {
      log(`${this.options.logPrefix}: no model proxy (--no-model-proxy): every agent can read the model keys of this environment`);
    }
  }

  async close(): Promise<void> {
    await this.modelProxy?.close();
    this.modelProxy = undefined;
  }

  /**
   * Runs `run` (queued) to its end; undefined when it never started (its failure is recorded). Throws
   * CONVERSATION_BUSY when a run elsewhere holds the conversation: the caller retries later.
   */
  async execute(run: Run, signal: AbortSignal): Promise<RunResult | undefined> {
    const { store, log } = this.options;
    const conversation = await store.getConversation(run.conversationId);
    if (!conversation) return undefined;
    const place = await createRunPlace({ dataDir: this.options.dataDir, homesDir: this.options.homesDir, homeTemplate: this.options.homeTemplate, runId: run.id, baseEnv: this.options.env ?? process.env });
    const source = conversation.options.workspace;
    const sandbox = this.options.sandbox ?? 'bubblewrap';
    log(`${this.options.logPrefix}: run ${run.id} of ${conversation.id} (${conversation.harness}) started${sandbox === 'none' ? ' WITHOUT a sandbox (--sandbox none): its agent can read and write whatever this worker can' : ''}`);
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
      return await runQueuedRun({
        store,
        runId: run.id,
        cwd: place.cwd,
        env: { ...env, ...secrets },
        modelAccess: grant,
        config: this.options.config,
        signal,
        leaseMs: this.options.leaseMs,
        saveIntervalMs: Math.min(5_000, Math.floor(this.options.leaseMs / 3)),
        eventFlushMs: 200,
        host: this.options.host,
        ...this.limitsOf(run),
        workspace: { enabled: !(source && 'enabled' in source && !source.enabled) },
        // Every secret of the tenant is redacted, also the model keys the agent never sees.
        redaction: { enabled: this.options.redact !== false, secrets: Object.entries(allSecrets).map(([name, value]) => ({ name, value })) },
        sandbox: { mode: sandbox, homeIsRunOwn: true, passEnvironment: [...(this.options.passEnvironment ?? []), ...Object.keys(secrets)], warnUnconfined: sandbox === 'none' },
        ...(run.handoffs > 0 && conversation.sessionId ? { prompt: continuationPrompt(run.prompt) } : {}),
      });
    } catch (error) {
      if (isBatonError(error) && error.code === 'CONVERSATION_BUSY') throw error; // a local run holds it: retry later
      await this.failUnstarted(run, error);
      return undefined;
    } finally {
      // The runner revokes it once the CLI exits; here too, for a run that failed before its CLI started.
      grant?.revoke();
      await place.remove().catch((error: unknown) => log(`${this.options.logPrefix}: cannot remove ${place.home}: ${errorMessage(error)}`));
    }
  }

  /** The run's stall timeout and time cap: its own (from its request) within the worker's caps, else the worker's defaults. */
  private limitsOf(run: Run): { stallTimeoutMs?: number; maxRunTimeMs?: number } {
    const worker = this.options.runLimits ?? {};
    const stallTimeoutMs = limitWithin(run.limits?.stallTimeoutMs, worker.stallTimeoutMs, worker.stallTimeoutCapMs);
    const maxRunTimeMs = limitWithin(run.limits?.maxRunTimeMs, worker.maxRunTimeMs, worker.maxRunTimeCapMs);
    return { ...(stallTimeoutMs !== undefined ? { stallTimeoutMs } : {}), ...(maxRunTimeMs !== undefined ? { maxRunTimeMs } : {}) };
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
    this.options.log(`${this.options.logPrefix}: run ${run.id} failed: ${message}`);
    const current = await this.options.store.getRun(run.id);
    if (current?.status !== 'queued') return;
    await this.options.store.appendRunEvents(run.id, [{ at: Date.now(), type: 'error', data: { message } }]);
    await this.options.store.finishRun(run.id, { status: 'failed', exitCode: undefined, error: message });
  }
}
