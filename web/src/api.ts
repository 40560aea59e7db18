/**
 * The browser's side of the HTTP API: every call carries the tenant's token, which lives in sessionStorage only
 * (gone when the tab closes). Run events stream over fetch + SSE (EventSource cannot send a bearer token).
 */
import { useEffect, useState } from 'react';
import type { ConversationStatus } from '../../src/model/conversation-status';
import type { StreamedRunEvent } from '../../src/model/run-event';
import type { RunKind, RunStatus } from '../../src/model/run-status';
import { followRunEvents, RunStreamRefused, type StreamedEvent } from '../../src/server/run-events-client';
import type { TranscriptView } from '../../src/transcript/view';

const TOKEN_KEY = 'baton.token';

export const session = {
  token: (): string | undefined => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  signIn: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: (): void => sessionStorage.removeItem(TOKEN_KEY),
  /** Signed in with a local `baton serve`'s sign-in URL (its session tokens say so): the store is this machine's own. */
  isMachineOwner: (): boolean => sessionStorage.getItem(TOKEN_KEY)?.startsWith('baton_local_') === true,
};

export interface ConversationSummary {
  id: string;
  harness: string;
  title: string;
  status: ConversationStatus;
  sessionId: string | null;
  model: string | null;
  effort: string | null;
  /** Names of the MCP servers and skills every run of it has. */
  mcpServers: string[];
  skills: string[];
  createdAt: string;
  updatedAt: string;
  runs: number;
  activeRunId: string | null;
  /** Set when this conversation was made from another one's work: a fork at a turn, or a run that lost its lease. */
  forkedFrom: ForkOrigin | null;
  /** Set when it was a session started outside baton, taken in with `baton adopt`. */
  adoptedFrom: AdoptionOrigin | null;
}

export interface ForkOrigin {
  conversationId: string;
  runId: string;
  reason: string;
  /** The turn it was cut after (1 = the first), when it was forked at one. */
  turn?: number | null;
}

export interface AdoptionOrigin {
  harness: string;
  sessionId: string;
  host: string;
  path: string;
  adoptedAt: string;
}

/** What POST /v1/conversations/{id}/forks answers: the new conversation (and its queued run, given a prompt). */
export interface CreatedFork {
  conversation: { id: string };
}

/** A new conversation holding the turns up to `turn` (1 = the first) of this one, with the workspace saved then. */
export function forkAtTurn(conversationId: string, turn: number): Promise<CreatedFork> {
  return api<CreatedFork>('POST', `/v1/conversations/${encodeURIComponent(conversationId)}/forks`, { turn });
}

export interface Run {
  id: string;
  conversationId: string;
  sequence: number;
  kind: RunKind;
  prompt: string;
  status: RunStatus;
  host: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  exitCode: number | null;
  error: string | null;
  handoffs: number;
  /** The stable code of a failure baton named (TOKEN_LIMIT_EXCEEDED …). */
  errorCode: string | null;
  /** Why a failed or interrupted run ended so: its code, its message (with the CLI's own words) and what to do. */
  failure: RunFailure | null;
  /** Model tokens, as a worker's model proxy counted them; null when nothing counted them. */
  usage: Usage | null;
}

export interface RunFailure {
  code: string | null;
  message: string;
  hint: string;
}

/** Model tokens: `inputTokens` includes the cached ones. */
export interface Usage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  requests: number;
}

export interface Conversation extends Omit<ConversationSummary, 'runs'> {
  runs: Run[];
  /** The sum of its runs' usage. */
  usage: Usage | null;
}

export interface Transcript extends TranscriptView {
  conversationId: string;
  harness: string;
}

/** One event of a run as the server streams it: `type` plus that type's fields. */
export type LiveEvent = StreamedRunEvent;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

function errorFrom(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
  return new ApiError(status, error?.code ?? `HTTP_${status}`, error?.message ?? `the server answered ${status}`, error?.hint);
}

async function failure(response: Response): Promise<ApiError> {
  return errorFrom(response.status, await response.json().catch(() => undefined));
}

/**
 * Redeems the one-time code of a local `baton serve`'s sign-in URL (`#sign-in=CODE`) for this tab's session
 * token; the code is spent either way.
 */
export async function redeemSignInCode(code: string): Promise<void> {
  const response = await fetch('/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  if (!response.ok) throw await failure(response);
  const { token } = (await response.json()) as { token: string };
  session.signIn(token);
}

export async function api<T>(method: string, path: string, body?: unknown, token = session.token()): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw await failure(response);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** Saves the conversation's export file through the browser's download. */
export async function downloadExport(conversationId: string): Promise<void> {
  const response = await fetch(`/v1/conversations/${encodeURIComponent(conversationId)}/export`, { headers: { authorization: `Bearer ${session.token() ?? ''}` } });
  if (!response.ok) throw await failure(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = `${conversationId}.baton.json`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Follows a run's events until it ends (resolves with the finished run) or `signal` aborts; see followRunEvents. */
export async function followRun(runId: string, handlers: { onEvent: (event: LiveEvent) => void; onStatus: (run: Run) => void }, signal: AbortSignal): Promise<Run | undefined> {
  try {
    // The page's own server streams what its runs recorded; a type the page does not know is skipped where it is shown.
    const onEvent = (event: StreamedEvent): void => handlers.onEvent(event as LiveEvent);
    return await followRunEvents<Run>({ url: '', token: session.token() ?? '', runId, onEvent, onStatus: handlers.onStatus, signal });
  } catch (error) {
    if (error instanceof RunStreamRefused) throw errorFrom(error.status, error.body);
    throw error;
  }
}

export function relativeTime(iso: string | null, now = Date.now()): string {
  if (!iso) return '–';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function clockTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

/** One agent CLI the server runs (GET /v1/harnesses). */
export interface HarnessOption {
  id: string;
  displayName: string;
  /** The reasoning efforts it takes; empty when its CLI has none. */
  effortLevels: string[];
  systemPrompt: boolean;
}

let harnessOptions: Promise<HarnessOption[]> | undefined;

/** The server's harnesses, asked once per page (they change only with the server). */
export function loadHarnesses(): Promise<HarnessOption[]> {
  harnessOptions ??= api<{ harnesses: HarnessOption[] }>('GET', '/v1/harnesses').then(
    (result) => result.harnesses,
    (error: unknown) => {
      harnessOptions = undefined;
      throw error;
    },
  );
  return harnessOptions;
}

/** The server's harnesses once loaded; an empty list until then (or while the server cannot be reached). */
export function useHarnesses(onUnauthorized: () => void): HarnessOption[] {
  const [harnesses, setHarnesses] = useState<HarnessOption[]>([]);
  useEffect(() => {
    let live = true;
    loadHarnesses().then(
      (loaded) => live && setHarnesses(loaded),
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 401) onUnauthorized();
      },
    );
    return () => {
      live = false;
    };
  }, [onUnauthorized]);
  return harnesses;
}
