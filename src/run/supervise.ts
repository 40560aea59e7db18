/**
 * The CLI while it runs: its JSON events parsed and recorded (the session it reports checked against the
 * conversation's, its tool calls tracked, what it says about failing kept for the run's outcome), the transcript and
 * workspace saved every few seconds, and the CLI stopped — SIGINT, then SIGTERM, then SIGKILL — when the user
 * interrupts, the lease is lost, the model proxy refuses the run, or the run stalls or reaches its time cap.
 */
import { errorMessage, isBatonError } from '../errors.js';
import type { Harness, HarnessContext, HarnessEvent, UnfinishedToolCall } from '../harness/harness.js';
import type { Redactor } from '../redact/redactor.js';
import type { LaunchPlan } from '../sandbox/sandbox.js';
import type { Conversation } from '../store/store.js';
import type { WorkspaceTracker } from '../workspace/tracker.js';
import { spawnCli, type ChildExit, type CliProcess } from './child-process.js';
import type { RunEventRecorder } from './events.js';
import type { LeaseKeeper } from './lease.js';
import { isRetryNotice } from './failure-classes.js';
import { DEFAULT_STALL_TIMEOUT_MS, RunWatchdog } from './run-limits.js';
import { DEFAULT_SAVE_INTERVAL_MS, type RunOptions } from './run-options.js';
import { keepCliWords, type RunState } from './run-state.js';
import { saveTranscript } from './run-transcript.js';
import { TranscriptProgress } from './transcript-progress.js';
import { saveWorkspace } from './run-workspace.js';
import type { TranscriptSaver } from './saver.js';

/** After Ctrl-C the CLI gets this long to stop on its own before it is terminated, then killed. */
const INTERRUPT_GRACE_MS = 5_000;
/** A run that lost its lease must stop writing soon: it gets this long before it is terminated, then killed. */
const LEASE_LOST_GRACE_MS = 1_500;

export interface SuperviseInput {
  harness: Harness;
  context: HarnessContext;
  conversation: Conversation;
  plan: LaunchPlan;
  /** The CLI, when the caller started it already (a new conversation's, see startConversation); else started here from `plan`. */
  child?: CliProcess | undefined;
  saver: TranscriptSaver;
  workspace: WorkspaceTracker | undefined;
  recorder: RunEventRecorder;
  state: RunState;
  options: RunOptions;
  runId: string;
  isResume: boolean;
  lease: LeaseKeeper;
  redactor: Redactor;
}

/** How soon after a new session starts its first save is made. */
const FIRST_SAVE_DELAY_MS = 1_000;

/** How the CLI exited, and the last lines of its stderr (for its exit error). */
export interface SupervisedExit {
  exit: ChildExit;
  stderrTail: string[];
  /** An interactive run's progress reader, for what its final save adds. */
  progress: TranscriptProgress | undefined;
}

/** Runs the CLI to its exit: events in, periodic saves out, interrupts forwarded, stopped if the lease is lost. */
export async function supervise(input: SuperviseInput): Promise<SupervisedExit> {
  const { harness, context, saver, recorder, state, options } = input;
  const child = input.child ?? spawnCli(input.plan);
  const parseLine = harness.outputParser();
  // An interactive UI prints no events: its progress is read from the transcript after each save.
  const progress = input.plan.terminal && state.sessionId ? await TranscriptProgress.after(harness, await harness.locateTranscript(context, state.sessionId)) : undefined;
  // The starting state of the workspace is read while the CLI boots; a failure shows at the first snapshot.
  input.workspace?.start().catch(() => undefined);
  // Settles once, never rejects unobserved: a failed spawn is rethrown after the output loop.
  const exited = child.exited.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

  // The stall timeout and the run's time cap (run-limits.ts): reaching one stops the CLI as an interrupt does.
  const watchdog = new RunWatchdog(
    { stallTimeoutMs: input.plan.terminal ? 0 : (options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS), maxRunTimeMs: options.maxRunTimeMs ?? 0 },
    { cliName: harness.displayName, lastWords: () => state.cliWords.errors.at(-1) ?? child.stderrTail().at(-1), lastOutputAt: () => child.lastStderrAt() },
    (reached) => {
      state.failure ??= reached.message;
      state.failureCode ??= reached.code;
      void recorder.record({ type: 'error', message: reached.message });
      stop(INTERRUPT_GRACE_MS);
    },
  );

  let saving: Promise<void> = Promise.resolve();
  /** A save of what the CLI has written so far; `transcriptOnly` at the end of a turn (see below). */
  const periodic = (transcriptOnly = false): void => {
    saving = saving.then(async () => {
      try {
        // After a stall (a stopped process wakes with its timers overdue) the lease is checked before a write.
        await input.lease.renew();
        if (state.sessionId && !state.sessionMismatch && !state.leaseLost) {
          const savedBefore = saver.savedByteLength();
          const location = await saveTranscript(harness, context, state.sessionId, saver, false);
          if (location) state.transcriptSaved = true;
          // A transcript that grows is a CLI at work, even a quiet one (a long tool call that logs to its session).
          if (saver.savedByteLength() !== savedBefore) watchdog.activity();
          if (progress && location) for (const event of await progress.newEvents(location)) await recorder.record(event);
          if (input.workspace && !transcriptOnly) await saveWorkspace({ store: options.store, conversationId: input.conversation.id, runId: input.runId, saver, workspace: input.workspace, recorder, final: false, redactor: input.redactor });
        }
        await recorder.flush();
      } catch (error) {
        if (isBatonError(error, 'LEASE_LOST')) input.lease.lose('the store refused a save: another run holds the conversation');
        else if (isBatonError(error, 'TRANSCRIPT_CORRUPT')) {
          // The stored transcript the CLI resumed from failed its sha256 chain (checked at the first save, see
          // version-reader.ts): nothing it does now can be saved on top of it.
          state.failure ??= errorMessage(error);
          state.failureCode ??= 'TRANSCRIPT_CORRUPT';
          await recorder.record({ type: 'error', message: `stopping ${harness.displayName}: ${errorMessage(error)}` });
          stop(INTERRUPT_GRACE_MS);
        } else await recorder.record({ type: 'error', message: `periodic save failed (will retry): ${errorMessage(error)}` });
      }
    });
  };
  const timer = setInterval(() => periodic(), options.saveIntervalMs ?? DEFAULT_SAVE_INTERVAL_MS);
  let firstSave: NodeJS.Timeout | undefined;

  const escalation: NodeJS.Timeout[] = [];
  // SIGINT lets the CLI stop on its own (and write what it has); SIGTERM after the grace, SIGKILL after twice it.
  // An interactive UI reads Ctrl-C as a key (it may only cancel the turn, and a person may be typing): SIGTERM it.
  const stop = (graceMs: number): void => {
    if (input.plan.terminal) {
      child.signal('SIGTERM');
      escalation.push(setTimeout(() => child.signal('SIGKILL'), graceMs));
      return;
    }
    child.signal('SIGINT');
    escalation.push(setTimeout(() => child.signal('SIGTERM'), graceMs));
    escalation.push(setTimeout(() => child.signal('SIGKILL'), graceMs * 2));
  };
  state.onLeaseLost = () => {
    void recorder.record({ type: 'error', message: `stopping ${harness.displayName}: ${state.leaseLost}` });
    stop(LEASE_LOST_GRACE_MS);
  };
  if (state.leaseLost) state.onLeaseLost();
  const onAbort = (): void => {
    state.interrupted = true;
    // A string reason says who interrupted (e.g. a worker shutting down); a plain abort() is the user's Ctrl-C.
    const reason: unknown = options.signal?.reason;
    state.failure ??= typeof reason === 'string' ? reason : 'interrupted by the user';
    stop(INTERRUPT_GRACE_MS);
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
    stop(LEASE_LOST_GRACE_MS);
  };
  if (modelFailed?.aborted) onModelRefused();
  else modelFailed?.addEventListener('abort', onModelRefused, { once: true });

  watchdog.start();
  try {
    try {
      for await (const line of child.lines) {
        const events = parseLine(line);
        // Any line is a sign of life, except a notice that the CLI is retrying (it may retry for ever).
        if (!events.every((event) => event.type === 'error' && isRetryNotice(event.message)) || events.length === 0) watchdog.activity();
        for (const event of events) {
          if (event.type === 'session.started') {
            const isNew = state.sessionId === undefined;
            await onSessionStarted(event.sessionId, input, child.signal.bind(child));
            // A new session's first save comes soon after it starts, not a whole interval later: a baton killed in
            // its first seconds (SIGKILL, a lost machine) still leaves a transcript the next run resumes from.
            if (isNew && state.sessionId) firstSave = setTimeout(() => periodic(), FIRST_SAVE_DELAY_MS);
          }
          trackTools(state.toolsInFlight, event);
          if (event.type === 'turn.completed' || event.type === 'turn.failed') {
            state.turnEnded = true;
            // The turn's transcript is written: saved (redacted, compressed, stored) now, while the CLI shuts down
            // (measured 50–70 ms for Codex and Claude Code, ~270 ms for Gemini CLI between the turn's end event
            // and their exit), so that the final save after the exit has only what came after. The workspace
            // waits for the exit: the CLI may still be writing files. Not where locating the transcript runs the CLI.
            if (!harness.locatingRunsCli) periodic(true);
          }
          if (event.type === 'turn.failed') keepCliWords(state.cliWords.turnFailures, event.message);
          if (event.type === 'error') keepCliWords(state.cliWords.errors, event.message);
          await recorder.record(event);
        }
      }
    } catch (error) {
      // baton cannot follow this run any more (e.g. the store failed): stop the CLI rather than leave it unsaved.
      child.signal('SIGKILL');
      await exited;
      throw error;
    }
    const settled = await exited;
    if (!settled.ok) throw settled.error;
    return { exit: settled.value, stderrTail: child.stderrTail(), progress };
  } finally {
    watchdog.stop();
    clearInterval(timer);
    clearTimeout(firstSave);
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
