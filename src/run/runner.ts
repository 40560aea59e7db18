/**
 * One run's lifecycle (DESIGN.md, "Flow of one run"): take the conversation's lease, rehydrate on resume,
 * prepare the CLI's home, start the CLI, save the transcript's new lines every few seconds, and on any exit —
 * success, failure, the CLI killed, baton interrupted — make a final save, record the run and release the lease.
 * The public entry points and the orchestration live here; the launch's preparation in launch.ts, the CLI while
 * it runs in supervise.ts, the saves in run-transcript.ts and run-workspace.ts, the run's outcome in outcome.ts.
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { batonDirectory, commandTemplates, harnessEnvironment } from '../config.js';
import { BatonError, errorMessage } from '../errors.js';
import type { Harness, HarnessContext, InteractivePermissions, TranscriptLocation } from '../harness/harness.js';
import type { HarnessId } from '../harness/ids.js';
import { loadHarness } from '../harness/load.js';
import { newConversationId, newRunId } from '../ids.js';
import { agentSetupOf } from '../model/agent-setup-values.js';
import type { AgentSetup } from '../model/agent-setup.js';
import { secretsInEnvironment } from '../redact/known-secrets.js';
import type { Redactor } from '../redact/redactor.js';
import { planLaunch, startLaunchProbes, type LaunchPlan } from '../sandbox/sandbox.js';
import type { Conversation, Store } from '../store/store.js';
import type { WorkspaceTracker } from '../workspace/tracker.js';
import { preflight } from './preflight.js';
import { redactSetup, setupForRun, withheldWarning, type RunSetup } from './run-setup.js';
import { spawnCli, type CliProcess } from './child-process.js';
import { assertSandboxAvailable, containmentFor, runsAsRoot } from './containment.js';
import type { RunEventRecorder } from './events.js';
import { DEFAULT_LEASE_MS, type RunOptions, type RunResult } from './run-options.js';
import { runWorkspaceDir } from './run-workspace.js';
import type { TranscriptSaver } from './saver.js';
import type { SupervisedExit } from './supervise.js';
import type { TranscriptProgress } from './transcript-progress.js';

export { DEFAULT_LEASE_MS, DEFAULT_SAVE_INTERVAL_MS, type RunOptions, type RunResult, type WorkspaceOptions } from './run-options.js';

/**
 * What a run needs once it is recorded — its events, lease, saves, supervision and outcome — loaded then, not
 * with the runner: a new conversation's CLI is spawned before this code is read and compiled, which then happens
 * while the CLI boots.
 */
function loadRunModules() {
  return Promise.all([
    import('./events.js'),
    import('./launch.js'),
    import('./lease.js'),
    import('./outcome.js'),
    import('./run-state.js'),
    import('./run-transcript.js'),
    import('./run-workspace.js'),
    import('./saver.js'),
    import('./supervise.js'),
  ]);
}

/**
 * A new conversation. Its CLI is started first, with nothing but what the launch needs (the harness, its home
 * prepared, the command); the store opens meanwhile (`options.store` may still be opening), and the conversation
 * row, its lease and the redactor are made while the CLI boots: the conversation's id is unknown to anyone else
 * until it is printed, so nobody can take its lease in between. The CLI's output waits in its pipe until then. A
 * store that fails to open stops the CLI, and no conversation is left behind.
 */
export async function startConversation(options: Omit<RunOptions, 'store'> & { harness: HarnessId; store: Store | Promise<Store> | (() => Promise<Store>) }): Promise<RunResult> {
  startLaunchProbes(options.sandbox?.mode === 'bubblewrap');
  const harness = await loadHarness(options.harness);
  const cwd = await resolveWorkingDirectory(options.cwd, false);
  await assertSandboxAvailable(options.sandbox);
  const given = options.setup ?? {};
  // A setup given by flags or an API body is checked with its schema (zod); none given, nothing to check.
  const setup = Object.keys(given).length === 0 ? {} : (await import('./agent-setup.js')).checkSetup(harness, given);
  const { configured, context } = await runContext(harness, options, cwd);
  await runPreflight(harness, context, options);
  // The redactor (its credential files read, secretlint's rules loading) is made after the spawn, unless the CLI
  // is launched with a system prompt: the setup as stored, whose system prompt is redacted, waits for it.
  let redacting = setup.systemPrompt === undefined ? undefined : runRedactor(harness, context, options);
  const storedSetup = redacting === undefined ? setup : await redactSetup(setup, await redacting);
  const runSetup = setupForRun(storedSetup, context.env, true);
  let early: Awaited<ReturnType<typeof launchEarly>> | undefined;
  let launchError: unknown;
  try {
    early = await launchEarly(harness, context, configured, options, cwd, runSetup.setup);
  } catch (error) {
    // Recorded as the run's failure below, as an error before the CLI ran always was.
    launchError = error;
  }
  const stopCli = async (): Promise<void> => {
    if (!early) return;
    early.child.signal('SIGKILL');
    await early.child.exited.catch(() => undefined);
  };
  // Only now, with the CLI booting on its own: the store's code loads and the store opens (options.store may be
  // an opener), and the redactor is made.
  loadRunModules().catch(() => undefined); // awaited in execute()
  redacting ??= runRedactor(harness, context, options);
  redacting.catch(() => undefined);
  const opening = typeof options.store === 'function' ? options.store() : options.store;
  let store: Store;
  let conversation: Conversation;
  let redactor: Redactor;
  try {
    [store, redactor] = await Promise.all([opening, redacting]);
    conversation = await store.createConversation({
      id: newConversationId(),
      harness: harness.id,
      title: await redactor.redactText(titleFrom(options.prompt)),
      cwd,
      options: storedSetup,
    });
  } catch (error) {
    await stopCli();
    throw error;
  }
  return execute(harness, conversation, cwd, { ...options, store }, undefined, redactor, early ? { ...early, runSetup } : { launchError, runSetup });
}

/** What startConversation started before the store was open, or why it could not start the CLI. */
type EarlyLaunch = { child: CliProcess; plan: LaunchPlan; sessionId: string | undefined; runSetup: RunSetup } | { launchError: unknown; runSetup: RunSetup };

/** A new conversation's CLI, started: the session id minted (where the harness does), the home prepared, the command planned. */
async function launchEarly(harness: Harness, context: HarnessContext, configured: Record<string, string>, options: Pick<RunOptions, 'prompt' | 'config' | 'sandbox' | 'workspace'>, cwd: string, setup: AgentSetup): Promise<{ child: CliProcess; plan: LaunchPlan; sessionId: string | undefined }> {
  const sessionId = harness.newSessionId();
  await harness.prepare(context, setup);
  const spec = await harness.command(context, { kind: 'new', prompt: options.prompt, setup, sessionId }, commandTemplates(options.config ?? {}, harness.id));
  const workspaceDir = runWorkspaceDir(options, cwd);
  const containment = await containmentFor({ harness, context, sandbox: options.sandbox, workspaceDir, configuredVariables: Object.keys(configured) });
  const plan = await planLaunch(spec, context.env, containment);
  return { child: spawnCli(plan), plan, sessionId };
}

/** The CLI's environment (the caller's, with baton's configured variables) and the harness's view of it. */
async function runContext(harness: Harness, options: Pick<RunOptions, 'config' | 'env' | 'modelAccess' | 'sandbox'>, cwd: string): Promise<{ configured: Record<string, string>; context: HarnessContext }> {
  const configured = { ...harnessEnvironment(options.config ?? {}, harness.id) };
  // Behind a model proxy the run's token is the only key: not even baton.config.json's harness env gives another.
  // (model-access.ts names every harness's key variables, which loads every harness: only a worker's runs need it.)
  if (options.modelAccess) for (const name of (await import('./model-access.js')).MODEL_KEY_VARIABLES) delete configured[name];
  const env = { ...(options.env ?? process.env), ...configured };
  return { configured, context: { home: harness.resolveHome(env), cwd, env, runsAsRoot: runsAsRoot(options.sandbox), modelEndpoint: options.modelAccess?.endpoint(harness.modelApi) } };
}

/**
 * The preflight of a run that asks for one (RunOptions.preflight). Imported with the runner, not on demand: every
 * `baton run` but one with --skip-preflight runs it before the spawn, where a module file of its own costs more.
 */
async function runPreflight(harness: Harness, context: HarnessContext, options: Pick<RunOptions, 'preflight' | 'config'>): Promise<void> {
  if (!options.preflight) return;
  const report = await preflight({ harness, context, configuredCommand: commandTemplates(options.config ?? {}, harness.id).command, batonDirectory: batonDirectory(context.env), credentials: options.preflight.credentials !== false });
  for (const warning of report.warnings) options.preflight.warn(warning);
}

/** The redactor of one run: its credential variables, the CLI's stored credentials and any secrets it was given. */
export async function runRedactor(harness: Harness, context: HarnessContext, options: Pick<RunOptions, 'redaction'>): Promise<Redactor> {
  const { createRedactor, noRedaction } = await import('../redact/redactor.js');
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
  // No session yet (the first run ended before the CLI reported one): a follow-up starts one (prepareLaunch).
  if (!conversation.sessionId && options.interactive) {
    throw new BatonError('TRANSCRIPT_NOT_FOUND', `conversation ${conversation.id} has no saved session: its first run ended before the CLI reported one`, {
      hint: `see why with \`baton show ${conversation.id}\`, then send a follow-up with \`baton resume ${conversation.id} PROMPT\` (it starts a session)`,
    });
  }
  const harness = await loadHarness(conversation.harness);
  const cwd = await resolveWorkingDirectory(options.cwd, true);
  if (options.preflight) await runPreflight(harness, (await runContext(harness, options, cwd)).context, options);
  const changed = Object.fromEntries(Object.entries(options.setup ?? {}).filter(([, value]) => value !== undefined)) as AgentSetup;
  if (Object.keys(changed).length === 0) return execute(harness, conversation, cwd, options);
  // The setup given replaces the conversation's, option by option, for this run and every later one.
  const redactor = await runRedactor(harness, (await runContext(harness, options, cwd)).context, options);
  const { checkSetup } = await import('./agent-setup.js');
  const updated = { ...conversation.options, ...(await redactSetup(checkSetup(harness, { ...agentSetupOf(conversation.options), ...changed }), redactor)) };
  await options.store.setConversationOptions(conversation.id, updated);
  return execute(harness, { ...conversation, options: updated }, cwd, options);
}

/**
 * `baton open`: the conversation continues in the CLI's own interactive UI on this terminal, with the same lease,
 * rehydrate, workspace restore and saves (every few seconds and at exit) as a headless resume.
 */
export async function openConversation(options: Omit<RunOptions, 'prompt' | 'interactive'> & { conversationId: string; permissions: InteractivePermissions }): Promise<RunResult> {
  const { permissions, ...rest } = options;
  return resumeConversation({ ...rest, prompt: '', interactive: { permissions } });
}

/**
 * Runs a run that was queued for a worker (src/fleet/): a new run if the conversation has no CLI session yet,
 * else a resume. The prompt, model and system prompt come from the store.
 */
export async function runQueuedRun(options: Omit<RunOptions, 'prompt' | 'setup'> & { runId: string; prompt?: string }): Promise<RunResult> {
  const run = await options.store.getRun(options.runId);
  const conversation = run && (await options.store.getConversation(run.conversationId));
  if (!run || !conversation) throw new BatonError('CONVERSATION_NOT_FOUND', `no queued run ${options.runId} in ${options.store.location}`, { hint: 'it was deleted with its conversation' });
  const harness = await loadHarness(conversation.harness);
  const cwd = await resolveWorkingDirectory(options.cwd, true);
  const launch: RunOptions = { ...options, prompt: options.prompt ?? run.prompt };
  return execute(harness, conversation, cwd, launch, run.id);
}

async function execute(harness: Harness, conversation: Conversation, cwd: string, options: RunOptions, queuedRunId?: string, knownRedactor?: Redactor, early?: EarlyLaunch): Promise<RunResult> {
  const { store } = options;
  const [{ RunEventRecorder }, { newWorkspaceTracker, prepareLaunch, snapshotOptions }, { LeaseKeeper }, { runOutcome }, { newRunState }, { saveFinalTranscript }, { saveFinalWorkspace }, { TranscriptSaver }, { supervise }] =
    await loadRunModules();
  await assertSandboxAvailable(options.sandbox);
  const { configured, context } = await runContext(harness, options, cwd);
  // The conversation's stored setup, as this run applies it: `${NAME}` resolved here, an import's MCP servers and skills withheld.
  const setup = early?.runSetup ?? setupForRun(agentSetupOf(conversation.options), context.env, conversation.trust === 'trusted' || options.workspace?.trust === true);
  const redactor =
    knownRedactor && setup.secrets.length === 0
      ? knownRedactor
      : await runRedactor(harness, context, { redaction: { ...options.redaction, secrets: [...(options.redaction?.secrets ?? []), ...setup.secrets] } });
  // A follow-up of a session that saved nothing starts a new one (prepareLaunch says so).
  let isResume = conversation.sessionId !== undefined;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  // A CLI started before the conversation was stored: stopped, and the conversation removed, if the run cannot be recorded.
  const earlyChild = early && 'child' in early ? early.child : undefined;
  let childHandedOver = false;
  const stopEarlyChild = async (): Promise<void> => {
    if (!earlyChild || childHandedOver) return;
    childHandedOver = true;
    earlyChild.signal('SIGKILL');
    await earlyChild.exited.catch(() => undefined);
  };
  let run: Awaited<ReturnType<Store['startRun']>>;
  try {
    run = await store.startRun({
      conversationId: conversation.id,
      runId: queuedRunId ?? newRunId(),
      kind: options.interactive ? 'interactive' : isResume ? 'resume' : 'new',
      // An interactive run has no prompt of its own: the person types its turns, which the transcript keeps.
      prompt: options.interactive ? '' : await redactor.redactText(options.prompt),
      host: options.host ?? hostname(),
      cwd,
      leaseMs,
      redaction: redactor.record,
    });
  } catch (error) {
    if (early) {
      await stopEarlyChild();
      await store.deleteConversation(conversation.id).catch(() => undefined);
    }
    throw error;
  }
  const recorder = new RunEventRecorder(store, run.id, options.onEvent, options.eventFlushMs, redactor);
  const state = newRunState(conversation.sessionId);
  // From here on the lease is renewed on its own timer; losing it stops the CLI (see supervise).
  const lease = new LeaseKeeper(store, run.id, leaseMs, (reason) => {
    state.leaseLost = reason;
    state.onLeaseLost?.();
  });
  lease.start();
  let saver: TranscriptSaver | undefined;
  let supervised: SupervisedExit | undefined;
  let setupError: unknown;
  let workspace: WorkspaceTracker | undefined;
  const workspaceDir = runWorkspaceDir(options, cwd);
  try {
    if (setup.withheld.length > 0) await recorder.record({ type: 'warning', message: withheldWarning(setup.withheld, conversation.id) });
    let plan: LaunchPlan;
    if (early) {
      if (!earlyChild) throw 'launchError' in early ? early.launchError : new Error('no CLI was started');
      // A new conversation whose CLI is already running (startConversation).
      saver = new TranscriptSaver({ store, conversationId: conversation.id, runId: run.id, redactor });
      if ('sessionId' in early && early.sessionId) {
        await store.setSessionId(conversation.id, early.sessionId);
        state.sessionId = early.sessionId;
      }
      if (workspaceDir) workspace = await newWorkspaceTracker(workspaceDir, snapshotOptions(options), undefined);
      plan = (early as { plan: LaunchPlan }).plan;
    } else {
      const prepared = await prepareLaunch(harness, conversation, context, options, setup.setup, run.id, recorder, workspaceDir, redactor);
      saver = prepared.saver;
      workspace = prepared.workspace;
      isResume = prepared.resumes;
      state.sessionId = prepared.sessionId;
      state.transcriptSaved = prepared.resumes;
      const spec = await harness.command(context, prepared.request, commandTemplates(options.config ?? {}, harness.id));
      const containment = await containmentFor({ harness, context, sandbox: options.sandbox, workspaceDir, configuredVariables: Object.keys(configured) });
      plan = await planLaunch(spec, context.env, containment);
    }
    if (options.sandbox?.mode === 'none' && options.sandbox.warnUnconfined) {
      await recorder.record({ type: 'warning', message: 'this run is not sandboxed (--sandbox none): the agent can read and write whatever baton can on this machine' });
    }
    childHandedOver = true;
    supervised = await supervise({ harness, context, conversation, plan, child: earlyChild, saver, workspace, recorder, state, options, runId: run.id, isResume, lease, redactor });
  } catch (error) {
    setupError = error;
    state.failure ??= errorMessage(error);
    await stopEarlyChild();
  } finally {
    lease.stop();
    // The CLI has exited (or never started): its token dies now, before the run is recorded as finished.
    options.modelAccess?.revoke();
    // The final save runs on every path that got as far as a session id, whatever happened above.
    if (saver && state.sessionId && !state.sessionMismatch && !state.leaseLost) {
      const saved = await saveFinalTranscript({ harness, context, sessionId: state.sessionId, saver, recorder, state });
      if (saved) state.transcriptSaved = true;
      if (saved && supervised?.progress) await reportFinalProgress(supervised.progress, saved, recorder);
    }
    if (saver && state.sessionId && !state.sessionMismatch && state.leaseLost) {
      // Another run owns the conversation now: this run's unsaved work becomes a conversation of its own.
      const { keepLostWork } = await import('./fork-lost-work.js');
      state.forkedInto = await keepLostWork({ harness, context, conversation, runId: run.id, prompt: run.prompt, sessionId: state.sessionId, saver, reason: state.leaseLost, options, leaseMs, workspaceDir, redactor }).catch(async (error: unknown) => {
        await recorder.record({ type: 'error', message: `could not keep this run's unsaved work as a fork: ${errorMessage(error)}` });
        return undefined;
      });
    }
    if (saver && workspace && !state.sessionMismatch && !state.leaseLost) {
      await saveFinalWorkspace({ store, conversationId: conversation.id, runId: run.id, saver, workspace, recorder, redactor });
    }
    await workspace?.close();
  }
  const exit = supervised?.exit;
  // A person quits an interactive UI between turns, when they like: its exit 0 is the end, whatever turn events say.
  const reportsEveryTurnEnd = options.interactive ? false : harness.reportsEveryTurnEnd;
  const outcome = runOutcome({ ...state, harness: { displayName: harness.displayName, reportsEveryTurnEnd }, exit, stderrTail: supervised?.stderrTail ?? [] });
  if (outcome.error) await recorder.record({ type: 'error', message: outcome.error });
  await recorder.flush().catch(() => undefined);
  const finished = await store.finishRun(run.id, {
    status: outcome.status,
    exitCode: exit?.exitCode ?? undefined,
    error: outcome.error === undefined ? undefined : await redactor.redactText(outcome.error),
    errorCode: outcome.errorCode,
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
    errorCode: finished.status === 'succeeded' ? undefined : outcome.errorCode,
    forkedInto: state.forkedInto,
    resumable: state.transcriptSaved && !state.sessionMismatch,
  };
}

/** What an interactive run's final save added, as events (see transcript-progress.ts); a display matter only. */
async function reportFinalProgress(progress: TranscriptProgress, saved: TranscriptLocation, recorder: RunEventRecorder): Promise<void> {
  try {
    for (const event of await progress.newEvents(saved)) await recorder.record(event);
  } catch {
    // The transcript is saved; only its events are missing.
  }
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
