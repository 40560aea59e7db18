/** The vocabulary of a scripted model: what it is shown and what it may answer. */
import type { ScriptedFailure } from './scripted-failures.js';

export type { ScriptedFailure } from './scripted-failures.js';

/** One model turn the scripted server plays back. */
export type ScriptedReply =
  | {
      kind: 'text';
      /** The assistant's final message for the turn. */
      text: string;
      /** Overrides the server's `delayMs` for this reply. */
      delayMs?: number;
      /** The usage the reply reports; default {@link DEFAULT_SCRIPTED_USAGE} with an estimated output. */
      usage?: Partial<ScriptedUsage>;
    }
  | {
      kind: 'shell';
      /**
       * A command for the CLI's shell tool: Codex `exec_command` `{"cmd": …}`,
       * Claude Code `Bash` `{"command": …}`, Gemini CLI `run_shell_command` `{"command": …}`.
       */
      command: string;
      /** Overrides the server's `delayMs` for this reply. */
      delayMs?: number;
      /** The usage the reply reports; default {@link DEFAULT_SCRIPTED_USAGE} with an estimated output. */
      usage?: Partial<ScriptedUsage>;
    };

/**
 * Token usage as the scripted server reports it, in one shape for both APIs: `inputTokens` counts every input
 * token, the cached ones included. On the wire, OpenAI Responses carries `input_tokens` (all of them) and
 * `input_tokens_details.cached_tokens`; Anthropic Messages carries `input_tokens` (the uncached part only) and
 * `cache_read_input_tokens`, as the real APIs do.
 */
export interface ScriptedUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** What a reply reports unless its script says otherwise (the output is estimated from the reply's size). */
export const DEFAULT_SCRIPTED_USAGE = { inputTokens: 100, cachedInputTokens: 40 } as const;

/** One usage report the server sent: what a test compares a proxy's count with. */
export interface ReportedUsage extends ScriptedUsage {
  api: ModelApi;
  /** Path with query string of the request it answered. */
  path: string;
}

/** Which wire protocol a request arrived on. */
export type ModelApi = 'openai-responses' | 'anthropic-messages' | 'gemini-generate-content';

/** A normalised view of one model request, the same for both APIs. */
export interface ModelRequestView {
  api: ModelApi;
  /** The text of the last message the person typed; undefined if there is none. */
  prompt: string | undefined;
  /**
   * Every prompt the person typed in this conversation, oldest first. A resumed conversation
   * shows the earlier prompts here, which is how a script can tell it sees the history.
   */
  userPrompts: string[];
  /** True when the last input item is a tool result (the CLI ran a command and reports back). */
  lastIsToolOutput: boolean;
  /** The text of that tool result when `lastIsToolOutput`, else undefined. */
  toolOutput: string | undefined;
  /**
   * The text of every tool result in the conversation, oldest first: a resumed conversation carries the earlier
   * runs' results here, which is how a script shows that a command's output from another machine reached it.
   */
  toolOutputs: string[];
  /** The full request body as received. */
  body: unknown;
}

/** What a model turn gets: a reply, or a failure (an HTTP error, a dropped stream; see scripted-failures.ts). */
export type ScriptedTurn = ScriptedReply | ScriptedFailure;

/** Chooses the answer to a model request; `index` counts the turns answered so far (0-based). */
export type Script = (request: ModelRequestView, index: number) => ScriptedTurn;

/** One request received by the server, whatever its path. */
export interface RecordedRequest {
  api: ModelApi;
  method: string;
  /** Path with query string, e.g. `/v1/messages?beta=true`. */
  path: string;
  /** Parsed JSON body; the raw text when it is not JSON; null without a body. */
  body: any;
  /** Whether this request was a model turn answered from the script (not a side call). */
  turn: boolean;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
  /** The request's headers, names in lower case. */
  headers: Record<string, string>;
}
