/**
 * One run's lifecycle (DESIGN.md, "Flow of one run"): take the conversation's lease, rehydrate on resume,
 * prepare the CLI's home, start the CLI, save the transcript's new lines every few seconds, and on any exit —
 * success, failure, the CLI killed, baton interrupted — make a final save, record the run and release the lease.
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { commandTemplates, harnessEnvironment, type BatonConfig } from '../config.js';
import { BatonError, errorMessage, isBatonError, type ErrorCode } from '../errors.js';
import type { Harness, HarnessContext, HarnessEvent, UnfinishedToolCall } from '../harness/harness.js';
import type { HarnessId } from '../harness/ids.js';
import { getHarness } from '../harness/registry.js';
import { newConversationId, newRunId } from '../ids.js';
import type { Conversation, FinishedRunStatus, Store } from '../store/store.js';
import { spawnCli, type ChildExit } from './child-process.js';
import { assertSandboxAvailable, containmentFor, runsAsRoot, type SandboxOptions } from './containment.js';
import { keepLostWork } from './fork-lost-work.js';
import { LeaseKeeper } from './lease.js';
import { planLaunch, type LaunchPlan } from '../sandbox/sandbox.js';
import { RunEventRecorder, type TimedEvent } from './events.js';
import { MODEL_KEY_VARIABLES, type ModelAccess } from './model-access.js';
import { prepareLaunch } from './launch.js';
import { checkSetup, redactSetup, setupForRun, withheldWarning } from './agent-setup.js';
import { agentSetupOf } from '../model/agent-setup.js';
import type { AgentSetup } from '../model/agent-setup.js';
import type { TranscriptSaver } from './saver.js';
import type { KnownSecret } from '../redact/known-secrets.js';
import { secretsInEnvironment } from '../redact/known-secrets.js';
import { createRedactor, noRedaction, type Redactor } from '../redact/redactor.js';
import { redactManifest } from '../redact/workspace-manifest.js';
import type { WorkspaceTracker } from '../workspace/tracker.js';
import type { RestoreMode } from '../workspace/workspace.js';
import { MAIN_FILE_KEY } from '../transcript/envelope.js';

export const DEFAULT_SAVE_INTERVAL_MS = 5_000;
export const DEFAULT_LEASE_MS = 30_000;
/** After Ctrl-C the CLI gets this long to stop on its own before it is terminated, then killed. */
const INTERRUPT_GRACE_MS = 5_000;
/** A run that lost its lease must stop writing soon: it gets this long before it is terminated, then killed. */
const LEASE_LOST_GRACE_MS = 1_500;

export interface RunOptions {
  store: Store;
  prompt: string;
  /** The run's working directory; created if missing on resume. */
  cwd: string;
  /**
   * The agent setup given for this run (model, effort, system prompt, MCP servers, skills): a new conversation
   * is stored with it; on a resume the options given replace the conversation's and are stored for later runs.
   */
  setup?: AgentSetup | undefined;
  /** The environment the CLI inherits (and where its home is resolved from); default process.env. */
  env?: NodeJS.ProcessEnv;
  config?: BatonConfig;
  /** Aborting interrupts the CLI (SIGINT to its process group); the run still gets its final save. */
  signal?: AbortSignal;
  onEvent?: (event: TimedEvent) => void;
  /** The working directory travels with the conversation (see src/workspace/); on by default. */
  workspace?: WorkspaceOptions;
  saveIntervalMs?: number;
  leaseMs?: number;
  host?: string;
  /** Store events this soon after they happen (for live followers elsewhere); default: with each save. */
  eventFlushMs?: number;
  /** How the CLI is contained (src/sandbox/); default: no sandbox, but nothing outlives the run. */
  sandbox?: SandboxOptions;
  /**
   * What is redacted from everything the run saves or streams (src/redact/): on by default, with the run's
   * credential variables and the CLI's stored credentials; `secrets` adds values baton knows (a tenant's).
   * `enabled: false` (`--no-redact`) stores byte for byte, and the run records that.
   */
  redaction?: { enabled?: boolean; secrets?: KnownSecret[] };
  /**
   * The model API through a worker's model proxy: the CLI is configured with its URL and the run's token, the
   * token is revoked once the CLI has exited, the usage is stored with the run, and a refusal (a token limit)
   * fails the run.
   */
  modelAccess?: ModelAccess | undefined;
}

export interface WorkspaceOptions {
  /** false: neither restore nor snapshot the workspace. */
  enabled?: boolean;
  /** The directory to track (default: the run's cwd); a resume restores into it. */
  dir?: string;
  /** How a resume treats a directory that holds other work: refuse (default), overwrite, or skip the restore. */
  restore?: RestoreMode;
  maxBytes?: number;
  includeSecrets?: boolean;
  /**
   * The user trusts the conversation's workspace: an imported (untrusted) conversation becomes trusted, and the
   * files its restores withheld (see workspace/withhold.ts) are restored too.
   */
  trust?: boolean;
}

export interface RunResult {
  conversationId: string;
  harness: HarnessId;
  sessionId: string | undefined;
  runId: string;
  status: FinishedRunStatus;
  exitCode: number | undefined;
  error: string | undefined;
  /** The stable code of a failure baton names (SESSION_MISMATCH); undefined for a CLI that just failed. */
  errorCode: ErrorCode | undefined;
  /** The conversation that keeps this run's unsaved work, when the run lost its lease (see fork-lost-work.ts). */
  forkedInto: string | undefined;
}

export async function startConversation(options: RunOptions & { harness: HarnessId }): Promise<RunResult> {
  const harness = getHarness(options.harness);
  const cwd = await resolveWorkingDirectory(options.cwd, false);
  await assertSandboxAvailable(options.sandbox);
  const setup = checkSetup(harness, options.setup ?? {});
  const redactor = await runRedactor(harness, runContext(harness, options, cwd).context, options);
  const conversation = await options.store.createConversation({
    id: newConversationId(),
    harness: harness.id,
    title: await redactor.redactText(titleFrom(options.prompt)),
    cwd,
    options: await redactSetup(setup, redactor),
  });
  return execute(harness, conversation, cwd, options, undefined, redactor);
}

/** The CLI's environment (the caller's, with baton's configured variables) and the harness's view of it. */
function runContext(harness: Harness, options: RunOptions, cwd: string): { configured: Record<string, string>; context: HarnessContext } {
  const configured = { ...harnessEnvironment(options.config ?? {}, harness.id) };
  // Behind a model proxy the run's token is the only key: not even baton.config.json's harness env gives another.
  if (options.modelAccess) for (const name of MODEL_KEY_VARIABLES) delete configured[name];
  const env = { ...(options.env ?? process.env), ...configured };
  return { configured, context: { home: harness.resolveHome(env), cwd, env, runsAsRoot: runsAsRoot(options.sandbox), modelEndpoint: options.modelAccess?.endpoint(harness.modelApi) } };
}

/** The redactor of one run: its credential variables, the CLI's stored credentials and any secrets it was given. */
export async function runRedactor(harness: Harness, context: HarnessContext, options: Pick<RunOptions, 'redaction'>): Promise<Redactor> {
  if (options.redaction?.enabled === false) return noRedaction;
  // The model proxy's per-run token is dead once the run ends, but it is a credential while it lives.
  const runToken = context.modelEndpoint ? [{ name: 'BATON_RUN_TOKEN', value: context.modelEndpoint.token }] : [];
  return createRedactor([...secretsInEnvironment(context.env), ...(await harness.credentialSecrets(context)), ...runToken, ...(options.redaction?.secrets ?? [])]);
}

export async function resumeConversation(options: RunOptions & { conversationId: string }): Promise<RunResult> {
  const conversation = await options.store.getConversation(options.conversationId);
  if (!conversation) {
    throw new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${options.conversationId} in ${options.store.location}`, {
      hint: 'list conversations with `baton ls`, or point at the right store with --store or BATON_STORE',
    });
  }
  if (!conversation.sessionId) {
    throw new BatonError('TRANSCRIPT_NOT_FOUND', `conversation ${conversation.id} has no saved session: its first run ended before the CLI reported one`, {
      hint: 'see why with `baton show ' + conversation.id + '`, then start a new conversation with `baton run`',
    });
  }
  const harness = getHarness(conversation.harness);
  const cwd = await resolveWorkingDirectory(options.cwd, true);
  const changed = Object.fromEntries(Object.entries(options.setup ?? {}).filter(([, value]) => value !== undefined)) as AgentSetup;
  if (Object.keys(changed).length === 0) return execute(harness, conversation, cwd, options);
  // The setup given replaces the conversation's, option by option, for this run and every later one.
  const redactor = await runRedactor(harness, runContext(harness, options, cwd).context, options);
  const updated = { ...conversation.options, ...(await redactSetup(checkSetup(harness, { ...agentSetupOf(conversation.options), ...changed }), redactor)) };
  await options.store.setConversationOptions(conversation.id, updated);
  return execute(harness, { ...conversation, options: updated }, cwd, options);
}



/**
 * Runs a run that was queued for a worker (src/fleet/): a new run if the conversation has no CLI session yet,
 * else a resume. The prompt, model and system prompt come from the store.
 */
export async function runQueuedRun(options: Omit<RunOptions, 'prompt' | 'setup'> & { runId: string; prompt?: string }): Promise<RunResult> {
  const run = await options.store.getRun(options.runId);
  const conversation = run && (await options.store.getConversation(run.conversationId));
  if (!run || !conversation) throw new BatonError('CONVERSATION_NOT_FOUND', `no queued run ${options.runId} in ${options.store.location}`, { hint: 'it was deleted with its conversation' });
  const harness = getHarness(conversation.harness);
  const cwd = await resolveWorkingDirectory(options.cwd, true);
  const launch: RunOptions = { ...options, prompt: options.prompt ?? run.prompt };
  return execute(harness, conversation, cwd, launch, run.id);
}

async function execute(harness: Harness, conversation: Conversation, cwd: string, options: RunOptions, queuedRunId?: string, knownRedactor?: Redactor): Promise<RunResult> {
  const { store } = options;
  await assertSandboxAvailable(options.sandbox);
  const { configured, context } = runContext(harness, options, cwd);
  // The conversation's stored setup, as this run applies it: `${NAME}` resolved here, an import's MCP servers and skills withheld.
  const setup = setupForRun(agentSetupOf(conversation.options), context.env, conversation.trust === 'trusted' || options.workspace?.trust === true);
  const redactor =
    knownRedactor && setup.secrets.length === 0
      ? knownRedactor
      : await runRedactor(harness, context, { redaction: { ...options.redaction, secrets: [...(options.redaction?.secrets ?? []), ...setup.secrets] } });
  const isResume = conversation.sessionId !== undefined;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const run = await store.startRun({
    conversationId: conversation.id,
    runId: queuedRunId ?? newRunId(),
    kind: isResume ? 'resume' : 'new',
    prompt: await redactor.redactText(options.prompt),
    host: options.host ?? hostname(),
    cwd,
    leaseMs,
    redaction: redactor.record,
  });
  const recorder = new RunEventRecorder(store, run.id, options.onEvent, options.eventFlushMs, redactor);
  const state: RunState = { sessionId: conversation.sessionId, failure: undefined, failureCode: undefined, interrupted: false, sessionMismatch: false, leaseLost: undefined, forkedInto: undefined, toolsInFlight: [], turnEnded: false };
  // From here on the lease is renewed on its own timer; losing it stops the CLI (see supervise).
  const lease = new LeaseKeeper(store, run.id, leaseMs, (reason) => {
    state.leaseLost = reason;
    state.onLeaseLost?.();
  });
  lease.start();
  let saver: TranscriptSaver | undefined;
  let exit: ChildExit | undefined;
  let setupError: unknown;
  let workspace: WorkspaceTracker | undefined;
  const workspaceDir = options.workspace?.enabled === false ? undefined : resolve(cwd, options.workspace?.dir ?? '.');
  try {
    if (setup.withheld.length > 0) await recorder.record({ type: 'warning', message: withheldWarning(setup.withheld, conversation.id) });
    const prepared = await prepareLaunch(harness, conversation, context, options, setup.setup, run.id, recorder, workspaceDir, redactor);
    saver = prepared.saver;
    workspace = prepared.workspace;
    if (prepared.sessionId) state.sessionId = prepared.sessionId;
    const spec = await harness.command(context, prepared.request, commandTemplates(options.config ?? {}, harness.id));
    const containment = await containmentFor({ harness, context, sandbox: options.sandbox, workspaceDir, configuredVariables: Object.keys(configured) });
    const plan = await planLaunch(spec, context.env, containment);
    if (options.sandbox?.mode === 'none' && options.sandbox.warnUnconfined) {
      await recorder.record({ type: 'warning', message: 'this run is not sandboxed (--sandbox none): the agent can read and write whatever baton can on this machine' });
    }
    exit = await supervise({ harness, context, conversation, plan, saver, workspace, recorder, state, options, runId: run.id, leaseMs, isResume, lease, redactor });
  } catch (error) {
    setupError = error;
    state.failure ??= errorMessage(error);
  } finally {
    lease.stop();
    // The CLI has exited (or never started): its token dies now, before the run is recorded as finished.
    options.modelAccess?.revoke();
    // The final save runs on every path that got as far as a session id, whatever happened above.
    if (saver && state.sessionId && !state.sessionMismatch && !state.leaseLost) {
      if (state.toolsInFlight.length > 0 && harness.recordUnfinishedTools) await recordUnfinishedTools(harness, context, state.sessionId, state.toolsInFlight, recorder);
      await saveTranscript(harness, context, state.sessionId, saver, true).catch((error: unknown) => {
        if (isBatonError(error, 'LEASE_LOST')) state.leaseLost = 'the store refused the final save: another run holds the conversation';
        else state.failure ??= `final save failed: ${errorMessage(error)}`;
      });
    }
    if (saver && state.sessionId && !state.sessionMismatch && state.leaseLost) {
      // Another run owns the conversation now: this run's unsaved work becomes a conversation of its own.
      state.forkedInto = await keepLostWork({ harness, context, conversation, runId: run.id, prompt: run.prompt, sessionId: state.sessionId, saver, reason: state.leaseLost, options, leaseMs, workspaceDir, redactor }).catch(async (error: unknown) => {
        await recorder.record({ type: 'error', message: `could not keep this run's unsaved work as a fork: ${errorMessage(error)}` });
        return undefined;
      });
    }
    if (saver && workspace && !state.sessionMismatch && !state.leaseLost) {
      await saveWorkspace({ store, conversationId: conversation.id, runId: run.id, saver, workspace, recorder, final: true, redactor }).catch(async (error: unknown) => {
        await recorder.record({ type: 'warning', message: `the final workspace snapshot was refused: ${errorMessage(error)}` });
      });
    }
    await workspace?.close();
  }
  if (state.leaseLost) {
    state.interrupted = true;
    state.failure = state.forkedInto
      ? `lost the conversation's lease (${state.leaseLost}); the work it did after its last save is kept in the forked conversation ${state.forkedInto}`
      : `lost the conversation's lease (${state.leaseLost}); everything it did was saved before that`;
  }
  const status = runStatus(harness, exit, state);
  const error = status === 'succeeded' ? undefined : (state.failure ?? describeExit(harness, exit));
  if (error) await recorder.record({ type: 'error', message: error });
  await recorder.flush().catch(() => undefined);
  const finished = await store.finishRun(run.id, {
    status,
    exitCode: exit?.exitCode ?? undefined,
    error: error === undefined ? undefined : await redactor.redactText(error),
    errorCode: status === 'succeeded' ? undefined : state.failureCode,
    usage: options.modelAccess?.usage(),
  });
  // An error before the CLI ran (bad transcript, CLI missing …) is the caller's to report; the run is recorded.
  if (setupError !== undefined && exit === undefined) throw setupError;
  return {
    conversationId: conversation.id,
    harness: harness.id,
    sessionId: state.sessionId,
    runId: run.id,
    status: finished.status as RunResult['status'],
    exitCode: exit?.exitCode ?? undefined,
    error: finished.error,
    errorCode: finished.status === 'succeeded' ? undefined : state.failureCode,
    forkedInto: state.forkedInto,
  };
}

/** Stores a snapshot of the workspace if it changed, tied to the transcript version just saved. */
export async function saveWorkspace(input: { store: Store; conversationId: string; runId: string; saver: TranscriptSaver; workspace: WorkspaceTracker; recorder: RunEventRecorder; final: boolean; redactor: Redactor }): Promise<void> {
  try {
    const taken = await input.workspace.snapshot({ final: input.final });
    if (!taken) return;
    const snapshot = { ...taken, manifest: await redactManifest(taken.manifest, input.redactor) };
    const main = input.saver.cursor(MAIN_FILE_KEY);
    await input.store.saveWorkspaceSnapshot({
      conversationId: input.conversationId,
      runId: input.runId,
      snapshot,
      transcript: main ? { versionId: main.versionId, byteLength: main.byteLength } : undefined,
      asLeaseHolder: true,
    });
    if (snapshot.manifest.kind === 'too-large') {
      await input.recorder.record({ type: 'warning', message: `the workspace is too large to save (${snapshot.manifest.bytes} bytes > ${snapshot.manifest.limitBytes}); the transcript is still saved` });
    }
  } catch (error) {
    if (isBatonError(error, 'LEASE_LOST')) throw error;
    await input.recorder.record({ type: 'warning', message: `workspace snapshot failed (the transcript is saved): ${errorMessage(error)}` });
  }
}

interface RunState {
  sessionId: string | undefined;
  failure: string | undefined;
  failureCode: ErrorCode | undefined;
  interrupted: boolean;
  sessionMismatch: boolean;
  /** Why the run lost the conversation's lease, once it did: it stops, and saves nothing more to it. */
  leaseLost: string | undefined;
  forkedInto: string | undefined;
  /** Tool calls the CLI reported starting and not finishing (see Harness.recordUnfinishedTools). */
  toolsInFlight: UnfinishedToolCall[];
  /** The CLI reported the end of its turn (turn.completed or turn.failed). */
  turnEnded: boolean;
  /** Set while the CLI runs: stops it when the lease is lost. */
  onLeaseLost?: () => void;
}

function runStatus(harness: Harness, exit: ChildExit | undefined, state: RunState): RunResult['status'] {
  if (state.interrupted) return 'interrupted';
  if (state.failure || !exit) return 'failed';
  if (exit.exitCode !== 0) return 'failed';
  if (harness.reportsEveryTurnEnd && !state.turnEnded) {
    state.failure = `${harness.displayName} exited without finishing its turn: it was stopped (the transcript is saved up to there)`;
    return 'interrupted';
  }
  if (!state.sessionId) {
    state.failure = 'the CLI exited without reporting a session id, so nothing could be saved';
    return 'failed';
  }
  return 'succeeded';
}

function describeExit(harness: Harness, exit: ChildExit | undefined): string {
  if (!exit) return `${harness.displayName} did not start`;
  if (exit.signal) return `${harness.displayName} was killed by ${exit.signal}`;
  return `${harness.displayName} exited with code ${exit.exitCode}`;
}

interface SuperviseInput {
  harness: Harness;
  context: HarnessContext;
  conversation: Conversation;
  plan: LaunchPlan;
  saver: TranscriptSaver;
  workspace: WorkspaceTracker | undefined;
  recorder: RunEventRecorder;
  state: RunState;
  options: RunOptions;
  runId: string;
  leaseMs: number;
  isResume: boolean;
  lease: LeaseKeeper;
  redactor: Redactor;
}

/** Runs the CLI to its exit: events in, periodic saves out, interrupts forwarded, stopped if the lease is lost. */
async function supervise(input: SuperviseInput): Promise<ChildExit> {
  const { harness, context, saver, recorder, state, options } = input;
  const child = spawnCli(input.plan);
  const parseLine = harness.outputParser();
  // The starting state of the workspace is read while the CLI boots; a failure shows at the first snapshot.
  input.workspace?.start().catch(() => undefined);
  // Settles once, never rejects unobserved: a failed spawn is rethrown after the output loop.
  const exited = child.exited.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

  let saving: Promise<void> = Promise.resolve();
  const periodic = (): void => {
    saving = saving.then(async () => {
      try {
        // After a stall (a stopped process wakes with its timers overdue) the lease is checked before a write.
        await input.lease.renew();
        if (state.sessionId && !state.sessionMismatch && !state.leaseLost) {
          await saveTranscript(harness, context, state.sessionId, saver, false);
          if (input.workspace) await saveWorkspace({ store: options.store, conversationId: input.conversation.id, runId: input.runId, saver, workspace: input.workspace, recorder, final: false, redactor: input.redactor });
        }
        await recorder.flush();
      } catch (error) {
        if (isBatonError(error, 'LEASE_LOST')) input.lease.lose('the store refused a save: another run holds the conversation');
        else await recorder.record({ type: 'error', message: `periodic save failed (will retry): ${errorMessage(error)}` });
      }
    });
  };
  const timer = setInterval(periodic, options.saveIntervalMs ?? DEFAULT_SAVE_INTERVAL_MS);

  const escalation: NodeJS.Timeout[] = [];
  state.onLeaseLost = () => {
    void recorder.record({ type: 'error', message: `stopping ${harness.displayName}: ${state.leaseLost}` });
    child.signal('SIGINT');
    escalation.push(setTimeout(() => child.signal('SIGTERM'), LEASE_LOST_GRACE_MS));
    escalation.push(setTimeout(() => child.signal('SIGKILL'), LEASE_LOST_GRACE_MS * 2));
  };
  if (state.leaseLost) state.onLeaseLost();
  const onAbort = (): void => {
    state.interrupted = true;
    // A string reason says who interrupted (e.g. a worker shutting down); a plain abort() is the user's Ctrl-C.
    const reason: unknown = options.signal?.reason;
    state.failure ??= typeof reason === 'string' ? reason : 'interrupted by the user';
    child.signal('SIGINT');
    escalation.push(setTimeout(() => child.signal('SIGTERM'), INTERRUPT_GRACE_MS));
    escalation.push(setTimeout(() => child.signal('SIGKILL'), INTERRUPT_GRACE_MS * 2));
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  // The model proxy refused the run (its token limit): the CLI stops, the run fails with the proxy's reason.
  const modelFailed = options.modelAccess?.failed;
  const onModelRefused = (): void => {
    const reason: unknown = modelFailed?.reason;
    state.failure ??= errorMessage(reason);
    state.failureCode ??= isBatonError(reason) ? reason.code : undefined;
    void recorder.record({ type: 'error', message: `stopping ${harness.displayName}: ${errorMessage(reason)}` });
    child.signal('SIGINT');
    escalation.push(setTimeout(() => child.signal('SIGTERM'), LEASE_LOST_GRACE_MS));
    escalation.push(setTimeout(() => child.signal('SIGKILL'), LEASE_LOST_GRACE_MS * 2));
  };
  if (modelFailed?.aborted) onModelRefused();
  else modelFailed?.addEventListener('abort', onModelRefused, { once: true });

  try {
    try {
      for await (const line of child.lines) {
        for (const event of parseLine(line)) {
          if (event.type === 'session.started') await onSessionStarted(event.sessionId, input, child.signal.bind(child));
          trackTools(state.toolsInFlight, event);
          if (event.type === 'turn.completed' || event.type === 'turn.failed') state.turnEnded = true;
          await recorder.record(event);
        }
      }
    } catch (error) {
      // baton cannot follow this run any more (e.g. the store failed): stop the CLI rather than leave it unsaved.
      child.signal('SIGKILL');
      await exited;
      throw error;
    }
    const outcome = await exited;
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  } finally {
    clearInterval(timer);
    state.onLeaseLost = undefined;
    for (const handle of escalation) clearTimeout(handle);
    options.signal?.removeEventListener('abort', onAbort);
    modelFailed?.removeEventListener('abort', onModelRefused);
    await saving;
  }
}

async function onSessionStarted(sessionId: string, input: SuperviseInput, signal: (signal: NodeJS.Signals) => boolean): Promise<void> {
  const { state, conversation, options } = input;
  if (input.isResume || state.sessionId) {
    if (sessionId !== state.sessionId) {
      // Proof of resume failed: the CLI started a different session. Stop it before it does any work.
      state.sessionMismatch = true;
      state.failureCode = 'SESSION_MISMATCH';
      state.failure = `${input.harness.displayName} reported session ${sessionId} instead of ${state.sessionId}: it did not resume the conversation`;
      signal('SIGKILL');
    }
    return;
  }
  state.sessionId = sessionId;
  await options.store.setSessionId(conversation.id, sessionId);
}

/** The commands the CLI started and has not reported finished, in order. */
function trackTools(inFlight: UnfinishedToolCall[], event: HarnessEvent): void {
  if (event.type === 'command.started') inFlight.push({ command: event.command });
  else if (event.type === 'command.completed') {
    const index = inFlight.findIndex((call) => call.command === event.command);
    inFlight.splice(index === -1 ? 0 : index, 1);
  }
}

async function recordUnfinishedTools(harness: Harness, context: HarnessContext, sessionId: string, calls: UnfinishedToolCall[], recorder: RunEventRecorder): Promise<void> {
  try {
    const location = await harness.locateTranscript(context, sessionId);
    if (location) await harness.recordUnfinishedTools?.(location, calls);
  } catch (error) {
    await recorder.record({ type: 'warning', message: `could not record the tool calls the CLI left unfinished: ${errorMessage(error)}` });
  }
}

export async function saveTranscript(harness: Harness, context: HarnessContext, sessionId: string, saver: TranscriptSaver, final: boolean): Promise<void> {
  const location = await harness.locateTranscript(context, sessionId);
  if (!location) return;
  await saver.save(location.files, { final, meta: (content) => harness.readSessionMeta(content, sessionId) });
}

async function resolveWorkingDirectory(cwd: string, createIfMissing: boolean): Promise<string> {
  const absolute = resolve(cwd);
  try {
    if (!(await stat(absolute)).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    if (!createIfMissing || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new BatonError('USAGE', `the working directory ${absolute} does not exist or is not a directory`, {
        hint: 'pass an existing directory with --cwd',
      });
    }
    await mkdir(absolute, { recursive: true });
  }
  return realpath(absolute);
}

/** A conversation's title: the first line of its first prompt, cut at 80 characters. */
export function titleFrom(prompt: string): string {
  const firstLine = prompt.trim().split('\n')[0] ?? '';
  return firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine;
}
