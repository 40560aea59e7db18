/**
 * What to do about a failed run, by its code and by what was saved: `baton resume` only when the conversation has
 * a saved session to continue and continuing it can help (a full context window cannot). The CLI prints it under
 * the error, the API returns it with the run (`failure.hint`), the web UI shows it. Plain strings, no zod, so that
 * every edge can import it.
 */
import type { HarnessId } from '../harness/ids.js';

export interface FailureHintInput {
  errorCode: string | undefined;
  harness: HarnessId | string;
  conversationId: string;
  /** The conversation has a saved session that a resume continues; false when nothing of it was saved. */
  resumable: boolean;
  /** The run was a follow-up (a resume), not a conversation's first run. */
  followUp?: boolean;
  /** How to fix the harness's credentials (its `preflight.loginFix`), for CLI_AUTH_FAILED. */
  loginFix?: string | undefined;
}

export function failureHint(input: FailureHintInput): string {
  const { conversationId, resumable } = input;
  const resume = `\`baton resume ${conversationId} PROMPT\``;
  // How to try again once the cause is fixed: the conversation if it has a session, else a new run.
  const again = resumable ? `then continue with ${resume}` : input.followUp ? `then try the follow-up again with ${resume}` : 'then start it again with `baton run` (nothing of this conversation was saved)';
  switch (input.errorCode) {
    case 'SESSION_MISMATCH':
      return `nothing from that session was saved and the conversation is unchanged; check the resume command (harnesses.${input.harness}.args.resume in the baton config): it must continue session {sessionId}`;
    case 'CLI_AUTH_FAILED':
      return `${input.loginFix ?? 'check the CLI\'s login or API key'}; ${again}`;
    case 'MODEL_RATE_LIMITED':
      return `wait for the rate limit to reset, or check the account's quota and billing; ${again}`;
    case 'MODEL_NOT_FOUND':
      return resumable || input.followUp
        ? `choose a model this key can use: \`baton resume ${conversationId} --model MODEL PROMPT\``
        : 'choose a model this key can use: `baton run --model MODEL …`';
    case 'MODEL_UNREACHABLE':
      return `check the network and the CLI's model endpoint (base URL, proxy); ${again}`;
    case 'CONTEXT_TOO_LONG':
      return `resuming fails the same way: fork it at an earlier turn with \`baton fork ${conversationId} --turn N\`, or start a new conversation with \`baton run\``;
    case 'CLI_CRASHED':
      return resumable
        ? `the transcript is saved up to the crash; continue with ${resume}; if it crashes again, run the CLI by hand to see why`
        : 'nothing was saved; run the CLI by hand (with the same prompt) to see why it crashes, then start again with `baton run`';
    case 'STALLED':
      return resumable
        ? `the transcript is saved up to where it stopped; continue with ${resume}, or allow a longer silence with --stall-timeout`
        : 'nothing was saved; check that the model API answers, then start again with `baton run` (or allow a longer silence with --stall-timeout)';
    case 'RUN_TIME_EXCEEDED':
      return resumable
        ? `the transcript is saved up to where it stopped; continue with ${resume}, or allow more with --max-run-time`
        : 'nothing was saved; start again with a longer --max-run-time';
    default:
      return resumable ? `the transcript is saved up to the failure; continue with ${resume}` : 'nothing of this conversation was saved; fix what the error says, then start it again with `baton run`';
  }
}
