/**
 * The CLI's remote mode: with `--server URL` (or BATON_SERVER) and BATON_TOKEN, `run`, `resume`, `ls`, `show` and
 * `rm` talk to `baton serve` instead of a local store, and a run's events stream live over SSE (resuming
 * with Last-Event-ID when the connection drops).
 */
import { BatonError, type ErrorCode } from '../errors.js';
import { RunEvent } from '../model/run-event.js';
import type { RunKind, RunStatus } from '../model/run-status.js';
import type { TimedEvent } from '../run/events.js';
import { followRunEvents, RunStreamRefused } from '../server/run-events-client.js';
import type { RunUsage } from '../store/store.js';

export interface RemoteTarget {
  url: string;
  token: string;
}

/** The server named by --server or BATON_SERVER, with BATON_TOKEN; undefined when neither names one. */
export function remoteTarget(server: string | undefined, env: NodeJS.ProcessEnv = process.env): RemoteTarget | undefined {
  const url = server ?? env.BATON_SERVER;
  if (url === undefined || url === '') return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new BatonError('USAGE', `"${url}" is not a server URL`, { hint: 'pass --server http://host:7420 (or set BATON_SERVER)' });
  }
  const token = env.BATON_TOKEN;
  if (!token) {
    throw new BatonError('USAGE', `talking to ${url} needs a token, and BATON_TOKEN is not set`, {
      hint: 'create one on the server with `baton token create --tenant T` and export BATON_TOKEN=…',
    });
  }
  return { url: url.replace(/\/+$/, ''), token };
}

/** What the server answers about a run (GET /v1/runs/{id}). */
export interface RemoteRun {
  id: string;
  conversationId: string;
  sequence: number;
  kind: RunKind;
  prompt: string;
  status: RunStatus;
  host: string | null;
  startedAt: string | null;
  exitCode: number | null;
  error: string | null;
  errorCode?: string | null;
  usage?: RunUsage | null;
}

const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>(['CONVERSATION_NOT_FOUND', 'CONVERSATION_BUSY', 'TRANSCRIPT_NOT_FOUND', 'STORE_ERROR']);
/** Following a run gives up after this long without reaching the server (the run itself goes on there). */
const GIVE_UP_MS = 60_000;

export class RemoteClient {
  constructor(readonly target: RemoteTarget) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await exchange(this.target, method, path, body);
    if (!answer.ok) throw serverFailure(answer.status, answer.body, KNOWN_CODES);
    return answer.body as T;
  }

  /**
   * Streams a run's events to `onEvent` until the run ends, and returns the finished run. A dropped
   * connection is resumed after the last event received; `signal` stops following (the run goes on).
   */
  async followRun(runId: string, onEvent: (event: TimedEvent) => void, signal?: AbortSignal): Promise<RemoteRun | undefined> {
    try {
      return await followRunEvents<RemoteRun>({
        url: this.target.url,
        token: this.target.token,
        runId,
        onEvent: (streamed) => {
          // An event this version does not know (a newer server's, an imported conversation's) is not shown.
          const event = RunEvent.safeParse(streamed);
          if (event.success) onEvent({ ...event.data, at: Date.parse(streamed.at) });
        },
        ...(signal ? { signal } : {}),
        giveUpMs: GIVE_UP_MS,
      });
    } catch (error) {
      if (error instanceof RunStreamRefused) throw serverFailure(error.status, error.body, KNOWN_CODES);
      throw new BatonError('SERVER_ERROR', `lost the connection to ${this.target.url} while following run ${runId}`, {
        hint: 'the run goes on at the server; see it later with `baton show --server URL CONVERSATION_ID`',
        cause: error,
      });
    }
  }

}

/** A server's answer: its status and its JSON body (undefined when it sent none, or not JSON). */
export interface ServerAnswer {
  ok: boolean;
  status: number;
  body: any;
}

/** One request to a baton server with the target's token; SERVER_ERROR naming the server when it cannot be reached. */
export async function exchange(target: RemoteTarget, method: string, path: string, body?: unknown): Promise<ServerAnswer> {
  let response: Response;
  try {
    response = await fetch(`${target.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new BatonError('SERVER_ERROR', `cannot reach the baton server at ${target.url}: ${cause?.code ?? cause?.message ?? String(error)}`, {
      hint: 'check --server / BATON_SERVER, and that `baton serve` is running there',
      cause: error,
    });
  }
  const text = await response.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { ok: response.ok, status: response.status, body: parsed };
}

/** The error of a refused request: the server's code when it is one of `passedThrough`, else SERVER_ERROR; a refused token says so. */
export function serverFailure(status: number, body: any, passedThrough: ReadonlySet<string>): BatonError {
  const error = body?.error as { code?: string; message?: string; hint?: string } | undefined;
  const message = error?.message ?? `the server answered ${status}`;
  if (status === 401) return new BatonError('SERVER_ERROR', `the server refused the token: ${message}`, { hint: 'check BATON_TOKEN; create a token with `baton token create --tenant T` on the server' });
  const code = error?.code && passedThrough.has(error.code) ? (error.code as ErrorCode) : 'SERVER_ERROR';
  return new BatonError(code, message, { hint: error?.hint ?? `the server answered ${status}` });
}
