/**
 * How a run ended, decided in one place: its status, the error it records and that error's stable code, from
 * the CLI's exit (with the end of its stderr) and what the runner learned on the way — an interrupt, a lost
 * lease, a failure baton named (a session mismatch, the model proxy's refusal, a failed save …), whether the CLI
 * finished its turn and reported a session. Pure: the runner records what this returns (redacted).
 */
import type { ErrorCode } from '../errors.js';
import type { Harness } from '../harness/harness.js';
import type { FinishedRunStatus } from '../store/store.js';
import type { ChildExit } from './child-process.js';
import { classifyCliFailure, describeFailureClass, type CliWords } from './failure-classes.js';
import { terminalSafeLine } from './stderr-tail.js';

/** At most this much of the CLI's stderr ends its exit error: the last lines that fit. */
export const STDERR_TAIL_CHARS = 1000;

export interface RunOutcomeInputs {
  harness: Pick<Harness, 'displayName' | 'reportsEveryTurnEnd'>;
  /** How the CLI exited; undefined when it never started, or baton stopped following it (then `failure` says why). */
  exit: ChildExit | undefined;
  /** The last non-empty lines of the CLI's stderr, oldest first, terminal-safe (see stderr-tail.ts). */
  stderrTail: readonly string[];
  /** The first failure baton named, and its stable code when it has one (SESSION_MISMATCH, TOKEN_LIMIT_EXCEEDED …). */
  failure: string | undefined;
  failureCode: ErrorCode | undefined;
  /** The run was interrupted (Ctrl-C, or a worker shutting down: `failure` says who). */
  interrupted: boolean;
  /** Why the run lost the conversation's lease, if it did. */
  leaseLost: string | undefined;
  /** The conversation that keeps the work the run did after its last save, when it lost the lease. */
  forkedInto: string | undefined;
  /** The CLI reported the end of its turn (turn.completed or turn.failed). */
  turnEnded: boolean;
  /** The conversation's session id, as the CLI reported it or baton chose it. */
  sessionId: string | undefined;
  /** What the CLI said about failing (its failed turns and error events); the stderr tail is `stderrTail`. */
  cliWords?: Pick<CliWords, 'turnFailures' | 'errors'> | undefined;
}

export interface RunOutcome {
  status: FinishedRunStatus;
  /** Undefined when the run succeeded. */
  error: string | undefined;
  /** Undefined when the run succeeded, or failed without a failure baton names (a CLI that just failed). */
  errorCode: ErrorCode | undefined;
}

export function runOutcome(input: RunOutcomeInputs): RunOutcome {
  const ended = (status: FinishedRunStatus, error: string): RunOutcome => ({ status, error, errorCode: input.failureCode });
  const { harness, exit } = input;
  // A run that lost its lease was stopped for another run's sake: that is what it says, whatever else went wrong.
  if (input.leaseLost) {
    return ended(
      'interrupted',
      input.forkedInto
        ? `lost the conversation's lease (${input.leaseLost}); the work it did after its last save is kept in the forked conversation ${input.forkedInto}`
        : `lost the conversation's lease (${input.leaseLost}); everything it did was saved before that`,
    );
  }
  if (input.interrupted) return ended('interrupted', input.failure ?? describeExit(harness.displayName, exit, input.stderrTail));
  if (input.failure) return ended('failed', input.failure);
  const cliFailed = cliFailure(input);
  if (cliFailed) return cliFailed;
  // Exiting 0 is not finishing: a CLI that reports every turn's end and did not was stopped (e.g. killed from outside).
  if (harness.reportsEveryTurnEnd && !input.turnEnded) {
    return ended('interrupted', `${harness.displayName} exited without finishing its turn: it was stopped (the transcript is saved up to there)`);
  }
  if (!input.sessionId) return ended('failed', 'the CLI exited without reporting a session id, so nothing could be saved');
  return { status: 'succeeded', error: undefined, errorCode: undefined };
}

/**
 * A failure the CLI itself had (baton named none): the class its words name (CLI_AUTH_FAILED … see
 * failure-classes.ts) with the CLI's own message; else CLI_CRASHED when it died without ending its turn (a
 * signal baton did not send, a non-zero exit without a word), else CLI_FAILED with its exit and stderr. A CLI that
 * exits 0 after a failed turn of a recognised class failed too. Undefined when the CLI did not fail.
 */
function cliFailure(input: RunOutcomeInputs): RunOutcome | undefined {
  const { harness, exit } = input;
  const turnFailures = input.cliWords?.turnFailures ?? [];
  const exitedBadly = !exit || exit.exitCode !== 0;
  if (!exitedBadly && turnFailures.length === 0) return undefined;
  const classified = exit ? classifyCliFailure({ turnFailures, errors: input.cliWords?.errors ?? [], stderrTail: input.stderrTail }) : undefined;
  if (classified) {
    const said = terminalSafeLine(classified.message, CLI_MESSAGE_CHARS);
    return { status: 'failed', error: `${describeFailureClass(classified.code, harness.displayName)}: ${harness.displayName} said: ${said}`, errorCode: classified.code };
  }
  if (!exitedBadly) return undefined;
  if (!exit) return { status: 'failed', error: describeExit(harness.displayName, exit, input.stderrTail), errorCode: undefined };
  const crashed = exit.signal !== null || !input.turnEnded;
  const lastWords = turnFailures.at(-1);
  const error = lastWords === undefined ? describeExit(harness.displayName, exit, input.stderrTail) : `${describeExit(harness.displayName, exit, input.stderrTail)}\n  ${harness.displayName} said: ${terminalSafeLine(lastWords, CLI_MESSAGE_CHARS)}`;
  return { status: 'failed', error, errorCode: crashed ? 'CLI_CRASHED' : 'CLI_FAILED' };
}

/** At most this much of the CLI's own message goes into a classified error. */
const CLI_MESSAGE_CHARS = 500;

/** The CLI's exit as an error: how it ended, then the last lines of its stderr (the evidence, CONVENTIONS.md 16). */
function describeExit(cliName: string, exit: ChildExit | undefined, stderrTail: readonly string[]): string {
  if (!exit) return `${cliName} did not start`;
  const ending = exit.signal ? `${cliName} was killed by ${exit.signal}` : `${cliName} exited with code ${exit.exitCode}`;
  const tail = linesWithin(stderrTail, STDERR_TAIL_CHARS);
  return tail.length === 0 ? ending : `${ending}; its stderr ended with:\n${tail.map((line) => `  ${line}`).join('\n')}`;
}

/** The last lines whose total length stays within `max` characters; at least the last one, cut to fit. */
function linesWithin(lines: readonly string[], max: number): string[] {
  const kept: string[] = [];
  let total = 0;
  for (let index = lines.length - 1; index >= 0; index--) {
    const line = lines[index]!;
    if (kept.length > 0 && total + line.length > max) break;
    kept.unshift(line.length > max ? `${line.slice(0, max - 1)}…` : line);
    total += line.length;
  }
  return kept;
}
