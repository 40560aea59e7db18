/**
 * The run's transcript saves: the CLI's session files located and their new lines saved (saver.ts), every few
 * seconds while the CLI runs and once more at the end, on every path that got as far as a session id.
 */
import { errorMessage, isBatonError } from '../errors.js';
import type { Harness, HarnessContext, TranscriptLocation, UnfinishedToolCall } from '../harness/harness.js';
import type { RunEventRecorder } from './events.js';
import type { RunState } from './run-state.js';
import type { TranscriptSaver } from './saver.js';

/** Saves what the session gained; returns where its files are (undefined while the CLI has written none). */
export async function saveTranscript(harness: Harness, context: HarnessContext, sessionId: string, saver: TranscriptSaver, final: boolean): Promise<TranscriptLocation | undefined> {
  const location = await harness.locateTranscript(context, sessionId);
  if (!location) return undefined;
  await saver.save(location.files, { final, meta: (content) => harness.readSessionMeta(content, sessionId) });
  return location;
}

/**
 * The final save, with the tool calls the CLI left unfinished recorded in its transcript first. A refusal of
 * the lease marks the lease lost (the run's work then goes to a fork); any other failure fails the run.
 */
export async function saveFinalTranscript(input: { harness: Harness; context: HarnessContext; sessionId: string; saver: TranscriptSaver; recorder: RunEventRecorder; state: RunState }): Promise<TranscriptLocation | undefined> {
  const { harness, context, sessionId, state } = input;
  if (state.toolsInFlight.length > 0 && harness.recordUnfinishedTools) await recordUnfinishedTools(harness, context, sessionId, state.toolsInFlight, input.recorder);
  return saveTranscript(harness, context, sessionId, input.saver, true).catch((error: unknown) => {
    if (isBatonError(error, 'LEASE_LOST')) state.leaseLost = 'the store refused the final save: another run holds the conversation';
    else state.failure ??= `final save failed: ${errorMessage(error)}`;
    return undefined;
  });
}

async function recordUnfinishedTools(harness: Harness, context: HarnessContext, sessionId: string, calls: UnfinishedToolCall[], recorder: RunEventRecorder): Promise<void> {
  try {
    const location = await harness.locateTranscript(context, sessionId);
    if (location) await harness.recordUnfinishedTools?.(location, calls);
  } catch (error) {
    await recorder.record({ type: 'warning', message: `could not record the tool calls the CLI left unfinished: ${errorMessage(error)}` });
  }
}
