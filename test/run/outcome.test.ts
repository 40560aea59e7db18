/**
 * How a run ends, as runOutcome decides it: its status, the error it records and that error's code, from the
 * CLI's exit (and the end of its stderr) and what the runner learned while the run went.
 */
import { describe, expect, it } from 'vitest';
import { runOutcome, STDERR_TAIL_CHARS, type RunOutcomeInputs } from '../../src/run/outcome.js';

const SESSION_ID = '01a21a00-e515-7ec1-a52c-23e5cb77e528';
const codex = { displayName: 'Codex', reportsEveryTurnEnd: undefined };
const gemini = { displayName: 'Gemini CLI', reportsEveryTurnEnd: true };

/** A run whose CLI exited 0 after finishing its turn, with nothing else learned; each case changes what it names. */
function run(changes: Partial<RunOutcomeInputs> = {}): RunOutcomeInputs {
  return {
    harness: codex,
    exit: { exitCode: 0, signal: null },
    stderrTail: [],
    failure: undefined,
    failureCode: undefined,
    interrupted: false,
    leaseLost: undefined,
    forkedInto: undefined,
    turnEnded: true,
    sessionId: SESSION_ID,
    ...changes,
  };
}

describe('a run succeeds', () => {
  it('when the CLI exits 0 with a session: no error and no code, whatever its stderr said', () => {
    expect(runOutcome(run({ stderrTail: ['warning: something harmless'] }))).toEqual({ status: 'succeeded', error: undefined, errorCode: undefined });
  });

  it('when a CLI that does not report every turn end exits 0 without one', () => {
    expect(runOutcome(run({ turnEnded: false })).status).toBe('succeeded');
  });
});

describe('a CLI that fails', () => {
  it('fails the run with its exit code and the last lines of its stderr, as CLI_FAILED when it ended its turn and said nothing baton knows', () => {
    const outcome = runOutcome(run({ exit: { exitCode: 3, signal: null }, stderrTail: ['Error: the model is not available', 'caused by: 404 Not Found'] }));
    expect(outcome).toEqual({
      status: 'failed',
      error: 'Codex exited with code 3; its stderr ended with:\n  Error: the model is not available\n  caused by: 404 Not Found',
      errorCode: 'CLI_FAILED',
    });
  });

  it('names only the exit when its stderr was empty', () => {
    expect(runOutcome(run({ exit: { exitCode: 1, signal: null } })).error).toBe('Codex exited with code 1');
  });

  it('names the signal a CLI died of, with its stderr', () => {
    const outcome = runOutcome(run({ exit: { exitCode: null, signal: 'SIGKILL' }, stderrTail: ['out of memory'] }));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe('Codex was killed by SIGKILL; its stderr ended with:\n  out of memory');
    expect(outcome.errorCode).toBe('CLI_CRASHED');
  });

  it('is CLI_CRASHED when it exits non-zero without ending its turn or saying why', () => {
    expect(runOutcome(run({ exit: { exitCode: 101, signal: null }, turnEnded: false, stderrTail: ["thread 'main' panicked at core/src/lib.rs:1"] })).errorCode).toBe('CLI_CRASHED');
  });

  it('classifies what the CLI said: its failed turn\'s message, with the class\'s summary first', () => {
    // verified with codex 0.171 against the scripted server answering 401
    const message = 'unexpected status 401 Unauthorized: Incorrect API key provided: scripted-key., url: http://127.0.0.1:1/v1/responses';
    const outcome = runOutcome(run({ exit: { exitCode: 1, signal: null }, cliWords: { turnFailures: [message], errors: [message] } }));
    expect(outcome).toEqual({
      status: 'failed',
      error: `Codex could not authenticate with the model API (not logged in, or the API key is invalid): Codex said: ${message}`,
      errorCode: 'CLI_AUTH_FAILED',
    });
  });

  it('fails a run whose CLI exited 0 after a failed turn of a known class', () => {
    const outcome = runOutcome(run({ cliWords: { turnFailures: ['[API Error: {"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}]'], errors: [] } }));
    expect(outcome.status).toBe('failed');
    expect(outcome.errorCode).toBe('MODEL_RATE_LIMITED');
  });

  it('a failed turn with an unknown message keeps the exit and adds what the CLI said', () => {
    const outcome = runOutcome(run({ exit: { exitCode: 1, signal: null }, cliWords: { turnFailures: ['something odd'], errors: [] } }));
    expect(outcome).toEqual({ status: 'failed', error: 'Codex exited with code 1\n  Codex said: something odd', errorCode: 'CLI_FAILED' });
  });

  it(`keeps the last stderr lines that fit in ${STDERR_TAIL_CHARS} characters, and cuts a last line that alone is longer`, () => {
    const lines = Array.from({ length: 5 }, (_, index) => `${index}`.repeat(400));
    const error = runOutcome(run({ exit: { exitCode: 2, signal: null }, stderrTail: lines })).error!;
    expect(error.split('\n').slice(1)).toEqual(['  ' + '3'.repeat(400), '  ' + '4'.repeat(400)]);

    const long = runOutcome(run({ exit: { exitCode: 2, signal: null }, stderrTail: ['short', 'x'.repeat(5000)] })).error!;
    expect(long.split('\n').slice(1)).toEqual([`  ${'x'.repeat(STDERR_TAIL_CHARS - 1)}…`]);
  });

  it('a stall or the time cap baton stopped the CLI for comes before what the CLI exited with', () => {
    const failure = 'Codex printed nothing and its transcript did not grow for 2s (--stall-timeout): baton stopped it';
    const outcome = runOutcome(run({ exit: { exitCode: 130, signal: null }, turnEnded: false, failure, failureCode: 'STALLED', cliWords: { turnFailures: [], errors: ['Reconnecting... 1/5 (stream disconnected)'] } }));
    expect(outcome).toEqual({ status: 'failed', error: failure, errorCode: 'STALLED' });
  });

  it('fails the run when the CLI did not start and baton named no reason', () => {
    expect(runOutcome(run({ exit: undefined }))).toEqual({ status: 'failed', error: 'Codex did not start', errorCode: undefined });
  });
});

describe('a failure baton names comes before the CLI\'s exit', () => {
  it('an error before the CLI ran (CLI missing) fails the run with that error and its code', () => {
    const outcome = runOutcome(run({ exit: undefined, failure: 'cannot start /usr/bin/codex: ENOENT', failureCode: 'CLI_NOT_FOUND' }));
    expect(outcome).toEqual({ status: 'failed', error: 'cannot start /usr/bin/codex: ENOENT', errorCode: 'CLI_NOT_FOUND' });
  });

  it('a failed final save fails a run whose CLI exited 0', () => {
    expect(runOutcome(run({ failure: 'final save failed: disk full' }))).toEqual({ status: 'failed', error: 'final save failed: disk full', errorCode: undefined });
  });

  it('a session mismatch fails the run as SESSION_MISMATCH, not as the SIGKILL baton sent to stop it', () => {
    const failure = `Codex reported session 0000 instead of ${SESSION_ID}: it did not resume the conversation`;
    const outcome = runOutcome(run({ exit: { exitCode: null, signal: 'SIGKILL' }, stderrTail: ['killed'], failure, failureCode: 'SESSION_MISMATCH', turnEnded: false }));
    expect(outcome).toEqual({ status: 'failed', error: failure, errorCode: 'SESSION_MISMATCH' });
  });

  it('the model proxy refusing the run fails it with the proxy\'s reason and code, not the CLI\'s exit or stderr', () => {
    const failure = 'the run used 1200 tokens, over its limit of 1000';
    const outcome = runOutcome(run({ exit: { exitCode: 1, signal: null }, stderrTail: ['stream disconnected'], failure, failureCode: 'TOKEN_LIMIT_EXCEEDED', turnEnded: false }));
    expect(outcome).toEqual({ status: 'failed', error: failure, errorCode: 'TOKEN_LIMIT_EXCEEDED' });
  });
});

describe('an interrupted run', () => {
  it('interrupted by Ctrl-C says so, whatever the CLI exited with', () => {
    const outcome = runOutcome(run({ interrupted: true, failure: 'interrupted by the user', exit: { exitCode: 130, signal: null }, stderrTail: ['^C'], turnEnded: false }));
    expect(outcome).toEqual({ status: 'interrupted', error: 'interrupted by the user', errorCode: undefined });
  });

  it('interrupted by someone else (a worker shutting down) gives their reason', () => {
    expect(runOutcome(run({ interrupted: true, failure: 'the worker is shutting down' })).error).toBe('the worker is shutting down');
  });

  it('keeps the first failure named: a refused run then interrupted is interrupted, with the refusal', () => {
    const outcome = runOutcome(run({ interrupted: true, failure: 'over the token limit', failureCode: 'TOKEN_LIMIT_EXCEEDED' }));
    expect(outcome).toEqual({ status: 'interrupted', error: 'over the token limit', errorCode: 'TOKEN_LIMIT_EXCEEDED' });
  });

  it('a CLI that reports every turn end and exits 0 without one was stopped: interrupted, transcript saved up to there', () => {
    const outcome = runOutcome(run({ harness: gemini, turnEnded: false }));
    expect(outcome).toEqual({ status: 'interrupted', error: 'Gemini CLI exited without finishing its turn: it was stopped (the transcript is saved up to there)', errorCode: undefined });
    expect(runOutcome(run({ harness: gemini, turnEnded: true })).status).toBe('succeeded');
  });
});

describe('a run that lost its lease', () => {
  it('is interrupted and says everything was saved before, when it had nothing unsaved', () => {
    const outcome = runOutcome(run({ leaseLost: 'another run took the conversation over', exit: { exitCode: null, signal: 'SIGINT' } }));
    expect(outcome).toEqual({ status: 'interrupted', error: "lost the conversation's lease (another run took the conversation over); everything it did was saved before that", errorCode: undefined });
  });

  it('is interrupted and names the fork that keeps the work it did after its last save', () => {
    const outcome = runOutcome(run({ leaseLost: 'the store refused a save: another run holds the conversation', forkedInto: 'c-fork' }));
    expect(outcome.status).toBe('interrupted');
    expect(outcome.error).toBe("lost the conversation's lease (the store refused a save: another run holds the conversation); the work it did after its last save is kept in the forked conversation c-fork");
  });

  it('says so even when the user also interrupted it or a save failed meanwhile', () => {
    const outcome = runOutcome(run({ leaseLost: 'lease expired', interrupted: true, failure: 'interrupted by the user' }));
    expect(outcome.status).toBe('interrupted');
    expect(outcome.error).toMatch(/^lost the conversation's lease \(lease expired\)/);
  });
});

describe('a run without a session', () => {
  it('fails when the CLI exited 0 without reporting a session id: nothing could be saved', () => {
    expect(runOutcome(run({ sessionId: undefined }))).toEqual({ status: 'failed', error: 'the CLI exited without reporting a session id, so nothing could be saved', errorCode: undefined });
  });

  it('fails with the CLI\'s exit (and stderr) when it failed before reporting one', () => {
    expect(runOutcome(run({ sessionId: undefined, exit: { exitCode: 3, signal: null }, stderrTail: ['bad flag'] })).error).toBe('Codex exited with code 3; its stderr ended with:\n  bad flag');
  });
});
