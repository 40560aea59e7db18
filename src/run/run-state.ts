/**
 * What the runner learns about one run while it goes: the session, the failures baton names, the interrupt and
 * the lost lease, the CLI's tools in flight and its turn's end. Supervision and the final saves write it; the
 * run's outcome (outcome.ts) is decided from it.
 */
import type { ErrorCode } from '../errors.js';
import type { UnfinishedToolCall } from '../harness/harness.js';

export interface RunState {
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
  /** What the CLI said about failing: its failed turns' and error events' messages, the last few (failure-classes.ts). */
  cliWords: { turnFailures: string[]; errors: string[] };
  /** A save stored some of the session's transcript (a resume's conversation had one already): resuming it can work. */
  transcriptSaved: boolean;
  /** Set while the CLI runs: stops it when the lease is lost. */
  onLeaseLost?: () => void;
}

/** How many of the CLI's failure messages a run keeps (the newest): enough to see past its retry notices. */
const CLI_WORDS_KEPT = 8;

/** Keeps one of the CLI's failure messages (bounded: a CLI may retry for ever). */
export function keepCliWords(words: string[], message: string): void {
  words.push(message.length > 2000 ? `${message.slice(0, 2000)}…` : message);
  if (words.length > CLI_WORDS_KEPT) words.shift();
}

export function newRunState(sessionId: string | undefined): RunState {
  return { sessionId, failure: undefined, failureCode: undefined, interrupted: false, sessionMismatch: false, leaseLost: undefined, forkedInto: undefined, toolsInFlight: [], turnEnded: false, cliWords: { turnFailures: [], errors: [] }, transcriptSaved: sessionId !== undefined };
}
