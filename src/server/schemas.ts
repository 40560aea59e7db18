/** The HTTP API's request and response shapes: validated on the way in, and the source of /openapi.json. */
import { McpServers, ReasoningEffort, Skills } from '../model/agent-setup.js';
import { z } from '@hono/zod-openapi';
import { HARNESS_IDS } from '../harness/ids.js';
import { ConversationStatus } from '../model/conversation-status.js';
import { RunKind, RunStatus } from '../model/run-status.js';

/** Longest prompt accepted (characters); a longer one is refused with 413. */
export const MAX_PROMPT_CHARS = 256 * 1024;
/** Largest request body accepted (bytes); a larger one is refused with 413 before it is parsed. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'CONVERSATION_NOT_FOUND' }),
      message: z.string(),
      hint: z.string().optional(),
    }),
  })
  .openapi('Error');

const prompt = z.string().min(1, 'prompt must not be empty').max(MAX_PROMPT_CHARS, `prompt must be at most ${MAX_PROMPT_CHARS} characters`);

/** A run's own time limits (seconds; 0 = off), within the worker's caps (`baton serve|worker --stall-timeout-cap …`). */
const runLimitFields = {
  stallTimeoutSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .optional()
    .openapi({ description: 'stop the agent and fail the run as STALLED after this many seconds without any output or transcript growth; 0 = never; default: the worker\'s (10 minutes)' }),
  maxRunTimeSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .optional()
    .openapi({ description: 'stop the agent and fail the run as RUN_TIME_EXCEEDED after this many seconds in all; 0 = no limit; default: the worker\'s' }),
};

/** The limits a request body gave, as a queued run stores them. */
export function runLimitsOf(body: { stallTimeoutSeconds?: number | undefined; maxRunTimeSeconds?: number | undefined }): { stallTimeoutMs?: number; maxRunTimeMs?: number } | undefined {
  const limits = {
    ...(body.stallTimeoutSeconds !== undefined ? { stallTimeoutMs: body.stallTimeoutSeconds * 1000 } : {}),
    ...(body.maxRunTimeSeconds !== undefined ? { maxRunTimeMs: body.maxRunTimeSeconds * 1000 } : {}),
  };
  return Object.keys(limits).length === 0 ? undefined : limits;
}

export const NewConversationBody = z
  .object({
    harness: z.enum(HARNESS_IDS as unknown as [string, ...string[]]).openapi({ description: 'the agent CLI', example: HARNESS_IDS[0] }),
    prompt,
    model: z.string().min(1).max(200).optional(),
    effort: ReasoningEffort.optional().openapi({ description: 'reasoning effort, mapped to each CLI\'s own setting' }),
    systemPrompt: z.string().max(MAX_PROMPT_CHARS).optional().openapi({ description: 'extra instructions for every run of the conversation' }),
    mcpServers: McpServers.optional().openapi({ description: 'MCP servers by name: {command, args, env} or {type, url, headers}; `${NAME}` is resolved from the run\'s environment (a tenant secret)' }),
    skills: Skills.optional().openapi({ description: 'Agent Skills: {name, description, files: [{path, content (base64), executable}]}, published where the CLI looks for skills' }),
    workspace: z
      .union([
        z.object({ git: z.string().min(1).max(2048), ref: z.string().min(1).max(256).optional() }).strict(),
        z.literal(false),
      ])
      .optional()
      .openapi({ description: 'a git repository the first run clones and works in, or false to keep no files with the conversation' }),
    ...runLimitFields,
  })
  .strict()
  .openapi('NewConversation');

export const FollowupBody = z.object({ prompt, ...runLimitFields }).strict().openapi('Followup');

export const ForkBody = z
  .object({
    turn: z.number().int().min(1).optional().openapi({ description: 'end the fork after this turn (1-based, as the transcript numbers them); default: the newest turn' }),
    runId: z.string().min(1).max(100).optional().openapi({ description: 'end the fork where this run of the conversation ended (instead of turn)' }),
    prompt: prompt.optional().openapi({ description: 'continue the fork at once: a follow-up is queued for it' }),
  })
  .strict()
  .openapi('ForkRequest');

export const Accepted = z.object({ conversationId: z.string(), runId: z.string() }).openapi('Accepted');

const time = z.string().nullable().openapi({ description: 'ISO 8601', example: '2026-11-27T01:02:03.000Z' });

export const UsageBody = z
  .object({
    inputTokens: z.number().int().openapi({ description: 'every input token, the cached ones included' }),
    cachedInputTokens: z.number().int().openapi({ description: 'the part of the input read from the provider\'s cache' }),
    outputTokens: z.number().int(),
    requests: z.number().int().openapi({ description: 'model requests that reported usage' }),
  })
  .openapi('Usage', { description: 'model tokens, as a worker\'s model proxy counted them' });

export const RunBody = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    sequence: z.number().int(),
    kind: RunKind,
    prompt: z.string(),
    status: RunStatus,
    host: z.string().nullable().openapi({ description: 'the machine that ran it; null while queued' }),
    queuedAt: time,
    startedAt: time,
    endedAt: time,
    exitCode: z.number().int().nullable(),
    error: z.string().nullable(),
    handoffs: z.number().int().openapi({ description: 'times a shutting-down worker handed it back to the queue' }),
    errorCode: z.string().nullable().openapi({ description: 'the stable code of a failure baton named, e.g. TOKEN_LIMIT_EXCEEDED' }),
    failure: z
      .object({
        code: z.string().nullable().openapi({ description: 'the stable code (errorCode): CLI_AUTH_FAILED, MODEL_RATE_LIMITED, MODEL_NOT_FOUND, MODEL_UNREACHABLE, CONTEXT_TOO_LONG, CLI_CRASHED, CLI_FAILED, STALLED, RUN_TIME_EXCEEDED …' }),
        message: z.string().openapi({ description: 'what went wrong, with the CLI\'s own message where it said one (error)' }),
        hint: z.string().openapi({ description: 'what to do about it: resume only when the conversation has a saved session and resuming can help' }),
      })
      .nullable()
      .openapi({ description: 'why a failed or interrupted run ended so; null for a run that succeeded or has not ended' }),
    usage: UsageBody.nullable().openapi({ description: 'model tokens it used; null when no model proxy counted them' }),
    limits: z
      .object({
        stallTimeoutSeconds: z.number().int().optional(),
        maxRunTimeSeconds: z.number().int().optional(),
      })
      .nullable()
      .openapi({ description: "the time limits its request asked for (seconds; 0 = off); null: the worker's defaults (`--stall-timeout`, `--max-run-time`)" }),
    redaction: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('off') }),
        z.object({ kind: z.literal('on'), rules: z.string(), variables: z.array(z.string()) }),
      ])
      .nullable()
      .openapi({ description: 'which redaction ran on what it saved: off (--no-redact), or the shape rules and the names of the variables whose values were redacted; null while queued or for a run saved before redaction' }),
  })
  .openapi('Run');

export const ConversationSummary = z
  .object({
    id: z.string(),
    harness: z.string(),
    title: z.string(),
    status: ConversationStatus,
    sessionId: z.string().nullable(),
    model: z.string().nullable(),
    effort: ReasoningEffort.nullable(),
    mcpServers: z.array(z.string()).openapi({ description: 'names of the MCP servers every run starts' }),
    skills: z.array(z.string()).openapi({ description: 'names of the skills every run has' }),
    createdAt: time,
    updatedAt: time,
    runs: z.number().int(),
    activeRunId: z.string().nullable(),
    forkedFrom: z
      .object({
        conversationId: z.string(),
        runId: z.string(),
        reason: z.string(),
        turn: z.number().int().optional().openapi({ description: 'the turn it ends at, as the transcript numbers them (a fork at a turn, or the old branch of a rewind)' }),
      })
      .nullable()
      .openapi({ description: 'set when this conversation keeps another one\'s work (e.g. of a run that lost its lease): where from, and why' }),
    adoptedFrom: z
      .object({ harness: z.string(), sessionId: z.string(), host: z.string(), path: z.string(), adoptedAt: time })
      .nullable()
      .openapi({ description: 'set when this conversation is a CLI session started outside baton, taken in with `baton adopt`: which session, found where, and when' }),
  })
  .openapi('ConversationSummary');

export const ConversationDetail = ConversationSummary.omit({ runs: true })
  .extend({ runs: z.array(RunBody), usage: UsageBody.nullable().openapi({ description: 'the sum of its runs\' usage; null when none was counted' }) })
  .openapi('Conversation');

export const ForkCreated = z
  .object({
    conversation: ConversationSummary,
    turn: z.number().int().openapi({ description: 'the turn the fork ends at' }),
    turns: z.number().int().openapi({ description: 'how many turns the original has' }),
    workspaceRunId: z.string().nullable().openapi({ description: "the original's run whose workspace snapshot the fork starts from; null when none was saved up to that turn" }),
    runId: z.string().nullable().openapi({ description: 'the follow-up queued for the fork (with prompt); null otherwise' }),
  })
  .openapi('Fork');

export const ConversationList = z.object({ conversations: z.array(ConversationSummary) }).openapi('ConversationList');

export const ListQuery = z.object({
  harness: z.enum(HARNESS_IDS as unknown as [string, ...string[]]).optional(),
  status: ConversationStatus.optional(),
});

const ViewItemBody = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('user'), text: z.string() }),
    z.object({ kind: z.literal('assistant'), text: z.string() }),
    z.object({ kind: z.literal('command'), callId: z.string().optional(), command: z.string(), output: z.string().optional(), exitCode: z.number().int().optional() }),
    z.object({ kind: z.literal('tool'), callId: z.string().optional(), name: z.string(), input: z.string(), output: z.string().optional() }),
    z.object({ kind: z.literal('edit'), callId: z.string().optional(), paths: z.array(z.string()), diff: z.string(), output: z.string().optional() }),
  ])
  .openapi('TranscriptItem');

export const TranscriptBody = z
  .object({ conversationId: z.string(), harness: z.string(), items: z.array(ViewItemBody), unparsedLines: z.number().int() })
  .openapi('Transcript');

export const RawTranscriptBody = z
  .object({
    harness: z.string(),
    sessionId: z.string().nullable(),
    meta: z.unknown(),
    files: z.array(z.object({ key: z.string(), lineCount: z.number().int(), sha256: z.string(), encoding: z.enum(['utf8', 'base64']), content: z.string() })),
  })
  .openapi('RawTranscript', { description: 'the envelope: every native transcript file, byte for byte' });

export const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: 'id', in: 'path' } }) });

export const HarnessList = z
  .object({
    harnesses: z.array(
      z.object({
        id: z.enum(HARNESS_IDS as unknown as [string, ...string[]]).openapi({ description: 'what `harness` takes when a conversation starts' }),
        displayName: z.string().openapi({ description: 'its name, to show' }),
        effortLevels: z.array(ReasoningEffort).openapi({ description: 'the reasoning efforts `effort` takes for it; empty when its CLI has none' }),
        systemPrompt: z.boolean().openapi({ description: 'whether it takes `systemPrompt`' }),
      }),
    ),
  })
  .openapi('HarnessList');
