/**
 * A Store whose conversations live on a baton server: the client half of the store API (src/server/routes/
 * store-api.ts). `baton open ID --server URL` runs the interactive run here, on this machine, with the server's
 * store: the lease, the run and its events, every transcript save and workspace snapshot go to the server.
 *
 * It implements only what an interactive run and an adoption (`baton adopt --server`) need; every other method
 * refuses with a USAGE error that says so.
 * What the server answers is checked before it is used: a transcript file whose bytes do not match its sha256 and
 * line count is refused (TRANSCRIPT_CORRUPT), and a conversation is trusted only when the server says so.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BatonError, type ErrorCode } from '../errors.js';
import { RunKind, RunStatus } from '../model/run-status.js';
import type {
  Conversation,
  ConversationFilter,
  ConversationOptions,
  FinishRunInput,
  ImportedConversation,
  NewConversation,
  NewRunEvent,
  QueueRunInput,
  Run,
  RunTally,
  StartRunInput,
  Store,
  StoredRunEvent,
  OpenedTranscript,
  StoredTranscript,
  StoredWorkspaceSnapshot,
  TranscriptAppend,
  TranscriptCursor,
  WorkspaceSnapshotSummary,
} from '../store/store.js';
import type { WorkspaceSnapshot } from '../workspace/workspace.js';
import { countLines } from '../transcript/jsonl.js';
import { openedFromLoaded } from '../store/loaded-transcript.js';
import { exchange, serverFailure, type RemoteTarget } from './remote.js';

/** Error codes the server's answers carry that the run reacts to (LEASE_LOST above all): kept as they are. */
const PASSED_THROUGH: ReadonlySet<string> = new Set<ErrorCode>([
  'CONVERSATION_NOT_FOUND',
  'CONVERSATION_BUSY',
  'TRANSCRIPT_NOT_FOUND',
  'TRANSCRIPT_CORRUPT',
  'LEASE_LOST',
  'SESSION_MISMATCH',
  'STORE_ERROR',
  'WORKSPACE_ERROR',
  'WORKSPACE_UNTRUSTED',
]);

const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
const time = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

const ConversationAnswer = z.object({
  id: z.string(),
  harness: z.string(),
  sessionId: optional(z.string()),
  title: z.string(),
  cwd: z.string(),
  createdAt: time,
  updatedAt: time,
  activeRunId: optional(z.string()),
  leaseExpiresAt: optional(time),
  tenant: optional(z.string()),
  options: z.record(z.string(), z.unknown()).default({}),
  forkedFrom: optional(z.object({ conversationId: z.string(), runId: z.string(), reason: z.string(), turn: optional(count.min(1)) })),
  adoptedFrom: optional(z.object({ harness: z.string(), sessionId: z.string(), host: z.string(), path: z.string(), adoptedAt: time })),
  // Anything but an explicit `trusted` is untrusted: what the server withholds stays withheld here.
  trust: z.unknown().transform((value): Conversation['trust'] => (value === 'trusted' ? 'trusted' : 'untrusted')),
});

const RunAnswer = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    sequence: count,
    kind: RunKind,
    prompt: z.string(),
    status: RunStatus,
    host: z.string(),
    cwd: z.string(),
    startedAt: time,
    endedAt: optional(time),
    exitCode: optional(z.number().int()),
    error: optional(z.string()),
    queuedAt: optional(time),
    handoffs: count.default(0),
    redaction: optional(z.unknown()),
    usage: optional(z.object({ inputTokens: count, cachedInputTokens: count, outputTokens: count, requests: count })),
    errorCode: optional(z.string()),
  });

const CursorAnswer = z.object({ versionId: count, lineCount: count, byteLength: count, sha256: z.string() });

const TranscriptAnswer = z.object({
  conversationId: z.string(),
  meta: optional(z.object({ sessionId: z.string(), sessionStartedAt: optional(z.string()), cwd: optional(z.string()), cliVersion: optional(z.string()) })),
  files: z.array(z.object({ key: z.string(), lineCount: count, sha256: z.string(), cursor: CursorAnswer, content: z.base64() })),
});

const SnapshotSummaryAnswer = z
  .object({
    id: count,
    conversationId: z.string(),
    runId: z.string(),
    createdAt: time,
    manifest: z.object({ kind: z.enum(['git', 'directory', 'too-large']), fingerprint: z.string() }).passthrough(),
    transcript: optional(z.object({ versionId: count, byteLength: count })),
  })
  .passthrough();

const SnapshotAnswer = SnapshotSummaryAnswer.extend({
  blobs: z.object({ bundle: z.base64().optional(), patch: z.base64().optional(), archive: z.base64().optional() }),
});

const EventAnswer = z.object({ runId: z.string(), sequence: count, at: time, type: z.string(), data: z.unknown() });

export class RemoteStore implements Store {
  readonly location: string;

  constructor(private readonly target: RemoteTarget) {
    this.location = `the baton server at ${target.url}`;
  }

  // --- what an interactive run needs ----------------------------------------------------------------------

  async getConversation(id: string): Promise<Conversation | undefined> {
    const answer = await this.request('GET', `/v1/store/conversations/${encodeURIComponent(id)}`, undefined, { notFound: ['CONVERSATION_NOT_FOUND'] });
    if (answer === undefined) return undefined;
    return toConversation(this.parse(ConversationAnswer, answer, 'conversation'));
  }

  async listRuns(conversationId: string): Promise<Run[]> {
    const answer = await this.request('GET', `/v1/store/conversations/${encodeURIComponent(conversationId)}/runs`);
    return this.parse(z.object({ runs: z.array(RunAnswer) }), answer, 'runs').runs.map(toRun);
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const answer = await this.request('GET', `/v1/store/runs/${encodeURIComponent(runId)}`, undefined, { notFound: ['RUN_NOT_FOUND'] });
    return answer === undefined ? undefined : toRun(this.parse(RunAnswer, answer, 'run'));
  }

  async startRun(input: StartRunInput): Promise<Run> {
    if (input.kind !== 'interactive' && input.kind !== 'adopt') throw unsupported(`starting a run of kind ${input.kind}`);
    const { conversationId, ...body } = input;
    const answer = await this.request('POST', `/v1/store/conversations/${encodeURIComponent(conversationId)}/runs`, {
      runId: body.runId,
      kind: body.kind,
      prompt: body.prompt,
      host: body.host,
      cwd: body.cwd,
      leaseMs: body.leaseMs,
      ...(body.redaction ? { redaction: body.redaction } : {}),
    });
    return toRun(this.parse(RunAnswer, answer, 'run'));
  }

  async renewLease(runId: string, leaseMs: number): Promise<boolean> {
    const answer = await this.request('POST', `/v1/store/runs/${encodeURIComponent(runId)}/lease`, { leaseMs: Math.round(leaseMs) });
    return this.parse(z.object({ held: z.boolean() }), answer, 'lease').held;
  }

  async finishRun(runId: string, result: FinishRunInput): Promise<Run> {
    // Usage is not sent: the server counts it only through a model proxy, never on a client's word.
    const answer = await this.request('POST', `/v1/store/runs/${encodeURIComponent(runId)}/finish`, {
      status: result.status,
      exitCode: result.exitCode ?? null,
      error: result.error ?? null,
      errorCode: result.errorCode ?? null,
    });
    return toRun(this.parse(RunAnswer, answer, 'run'));
  }

  async appendRunEvents(runId: string, events: NewRunEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.request('POST', `/v1/store/runs/${encodeURIComponent(runId)}/events`, { events: events.map((event) => ({ at: event.at, type: event.type, data: event.data ?? null })) });
  }

  async listRunEvents(runId: string, afterSequence = 0): Promise<StoredRunEvent[]> {
    const answer = await this.request('GET', `/v1/store/runs/${encodeURIComponent(runId)}/events?after=${afterSequence}`);
    return this.parse(z.object({ events: z.array(EventAnswer) }), answer, 'run events').events;
  }

  async appendTranscript(input: TranscriptAppend): Promise<TranscriptCursor> {
    if (!input.runId) throw unsupported('a transcript save without a run');
    // Every save through the server is the lease holder's: the server checks the lease whatever is asked.
    const answer = await this.request('POST', `/v1/store/conversations/${encodeURIComponent(input.conversationId)}/transcript`, {
      runId: input.runId,
      fileKey: input.fileKey,
      base: input.base ?? null,
      bytes: input.bytes.toString('base64'),
      after: input.after,
      meta: input.meta ? { sessionId: input.meta.sessionId, sessionStartedAt: input.meta.sessionStartedAt ?? null, cwd: input.meta.cwd ?? null, cliVersion: input.meta.cliVersion ?? null } : null,
    });
    return this.parse(CursorAnswer, answer, 'transcript cursor');
  }

  async compactTranscript(versionId: number): Promise<{ chunksBefore: number; chunksAfter: number }> {
    // The server needs the conversation to check that the version is its own: known from the appends.
    const conversationId = this.versionOwners.get(versionId);
    if (!conversationId) return { chunksBefore: 0, chunksAfter: 0 };
    const answer = await this.request('POST', `/v1/store/conversations/${encodeURIComponent(conversationId)}/transcript/compact`, { versionId });
    return this.parse(z.object({ chunksBefore: count, chunksAfter: count }), answer, 'compaction');
  }

  async loadTranscript(conversationId: string): Promise<StoredTranscript | undefined> {
    const answer = await this.request('GET', `/v1/store/conversations/${encodeURIComponent(conversationId)}/transcript`, undefined, { notFound: ['TRANSCRIPT_NOT_FOUND', 'CONVERSATION_NOT_FOUND'] });
    if (answer === undefined) return undefined;
    const parsed = this.parse(TranscriptAnswer, answer, 'transcript');
    const files = parsed.files.map((file) => {
      const content = Buffer.from(file.content, 'base64');
      // The same check a local store makes on load: what reaches the CLI is what was saved.
      const sha256 = createHash('sha256').update(content).digest('hex');
      if (sha256 !== file.sha256 || countLines(content) !== file.lineCount || content.length !== file.cursor.byteLength) {
        throw new BatonError('TRANSCRIPT_CORRUPT', `the server's copy of transcript file ${file.key} of ${conversationId} does not match its checksum or line count`, {
          hint: 'the server store may be damaged; ask its operator, or try again',
        });
      }
      this.versionOwners.set(file.cursor.versionId, conversationId);
      return { key: file.key, content, lineCount: file.lineCount, sha256: file.sha256, cursor: file.cursor };
    });
    return { conversationId: parsed.conversationId, meta: parsed.meta, files };
  }

  /** The server answers with the whole transcript, checked by loadTranscript: read from memory. */
  async openTranscript(conversationId: string): Promise<OpenedTranscript | undefined> {
    const loaded = await this.loadTranscript(conversationId);
    return loaded && openedFromLoaded(loaded);
  }

  async saveWorkspaceSnapshot(input: { conversationId: string; runId: string; snapshot: WorkspaceSnapshot; transcript: { versionId: number; byteLength: number } | undefined; asLeaseHolder?: boolean }): Promise<number> {
    const blobs = Object.fromEntries(Object.entries(input.snapshot.blobs).filter(([, value]) => value !== undefined).map(([name, value]) => [name, (value as Buffer).toString('base64')]));
    const answer = await this.request('POST', `/v1/store/conversations/${encodeURIComponent(input.conversationId)}/workspace-snapshots`, {
      runId: input.runId,
      snapshot: { manifest: input.snapshot.manifest, blobs },
      transcript: input.transcript ?? null,
    });
    return this.parse(z.object({ id: count }), answer, 'workspace snapshot').id;
  }

  async loadWorkspaceSnapshot(conversationId: string, atRunId?: string): Promise<StoredWorkspaceSnapshot | undefined> {
    const query = atRunId ? `?atRunId=${encodeURIComponent(atRunId)}` : '';
    const answer = await this.request('GET', `/v1/store/conversations/${encodeURIComponent(conversationId)}/workspace-snapshots/latest${query}`, undefined, { notFound: ['WORKSPACE_SNAPSHOT_NOT_FOUND', 'CONVERSATION_NOT_FOUND'] });
    if (answer === undefined) return undefined;
    const parsed = this.parse(SnapshotAnswer, answer, 'workspace snapshot');
    const blobs = Object.fromEntries(Object.entries(parsed.blobs).filter(([, value]) => value !== undefined).map(([name, value]) => [name, Buffer.from(value!, 'base64')]));
    // The manifest is checked again where it is used: restoring a snapshot treats it as hostile (src/workspace/).
    return { ...(parsed as unknown as StoredWorkspaceSnapshot), blobs };
  }

  async listWorkspaceSnapshots(conversationId: string): Promise<WorkspaceSnapshotSummary[]> {
    const answer = await this.request('GET', `/v1/store/conversations/${encodeURIComponent(conversationId)}/workspace-snapshots`);
    return this.parse(z.object({ snapshots: z.array(SnapshotSummaryAnswer) }), answer, 'workspace snapshots').snapshots as unknown as WorkspaceSnapshotSummary[];
  }

  // --- what an adoption needs (`baton adopt --server`) ----------------------------------------------------

  /**
   * Only an adoption: POST /v1/store/conversations creates it for the token's tenant with `adoptedFrom` and its
   * session id (adoptedFrom.sessionId) at once; the setSessionId that follows is then a no-op (see there).
   */
  async createConversation(input: NewConversation): Promise<Conversation> {
    if (!input.adoptedFrom) throw unsupported('creating a conversation', 'start one with `baton run --server URL --harness H PROMPT`');
    if (input.tenant !== undefined || input.options !== undefined || input.forkedFrom !== undefined) throw unsupported('creating a conversation with a tenant, options or a fork origin');
    const answer = await this.request('POST', '/v1/store/conversations', {
      id: input.id,
      harness: input.harness,
      title: input.title,
      cwd: input.cwd,
      sessionId: input.adoptedFrom.sessionId,
      adoptedFrom: input.adoptedFrom,
    });
    const conversation = toConversation(this.parse(ConversationAnswer, answer, 'conversation'));
    this.created.set(conversation.id, input.adoptedFrom.sessionId);
    return conversation;
  }

  /**
   * The session id was recorded when this client created the conversation: the same id for a conversation it just
   * created, before any run, is a no-op; anything else is refused (a conversation's session is never changed here).
   */
  async setSessionId(conversationId: string, sessionId: string): Promise<void> {
    if (this.created.get(conversationId) === sessionId && (await this.listRuns(conversationId)).length === 0) return;
    throw unsupported("recording a conversation's session id", 'open a conversation whose first run has reported its session');
  }

  /** Only the server's workers start a conversation's session over (they hold its store). */
  async abandonUnsavedSession(): Promise<boolean> {
    throw unsupported('starting a conversation whose first run saved nothing over', 'send the follow-up with `baton resume ID PROMPT --server URL`: a worker runs it');
  }

  /** Only the tenant's conversations of one session (the duplicate check of an adoption, and --sync). */
  async listConversations(filter: ConversationFilter = {}): Promise<Conversation[]> {
    if (!filter.session || filter.tenant !== undefined) return Promise.reject(unsupported('listing conversations', 'list them with `baton ls --server URL`'));
    const query = `harness=${encodeURIComponent(filter.session.harness)}&sessionId=${encodeURIComponent(filter.session.sessionId)}`;
    const answer = await this.request('GET', `/v1/store/conversations?${query}`);
    return this.parse(z.object({ conversations: z.array(ConversationAnswer) }), answer, 'conversations').conversations.map(toConversation);
  }

  /** Only an adoption that failed (the server checks: adopted, no run but a failed `adopt` run): what adopt cleans up. */
  async deleteConversation(id: string): Promise<void> {
    await this.request('DELETE', `/v1/store/conversations/${encodeURIComponent(id)}`);
    this.created.delete(id);
  }

  async close(): Promise<void> {
    // Nothing held open: every call is one request.
  }

  // --- not through --server -------------------------------------------------------------------------------

  listConversationSummaries(_filter?: Pick<ConversationFilter, 'tenant'>): Promise<Array<{ conversation: Conversation; runs: RunTally }>> {
    return Promise.reject(unsupported('listing conversations', 'list them with `baton ls --server URL`'));
  }
  setConversationOptions(_id: string, _options: ConversationOptions): Promise<void> {
    return Promise.reject(unsupported("changing a conversation's agent setup", 'a conversation on a server keeps the setup it was started with'));
  }
  trustConversation(_id: string): Promise<void> {
    return Promise.reject(unsupported('trusting a conversation', "an untrusted conversation on a server stays untrusted: open it without --trust, and its files that run code are withheld"));
  }
  replaceTranscript(): Promise<Map<string, TranscriptCursor>> {
    return Promise.reject(unsupported("replacing a conversation's transcript", 'rewind it on the server machine, with `baton rewind ID --turn N` against its store'));
  }

  queueRun(_input: QueueRunInput): Promise<Run> {
    return Promise.reject(unsupported('queueing a run', 'queue a follow-up with `baton resume --server URL ID PROMPT`'));
  }
  importConversation(_imported: ImportedConversation): Promise<void> {
    return Promise.reject(unsupported('importing a conversation'));
  }
  setTenantSecret(_tenant: string, _name: string, _value: string): Promise<void> {
    return Promise.reject(unsupported('tenant secrets', 'set them on the server with `baton secret set --tenant T NAME`'));
  }
  listTenantSecretNames(_tenant: string): Promise<string[]> {
    return Promise.reject(unsupported('tenant secrets', 'list them on the server with `baton secret ls --tenant T`'));
  }
  deleteTenantSecret(_tenant: string, _name: string): Promise<boolean> {
    return Promise.reject(unsupported('tenant secrets'));
  }
  tenantSecrets(_tenant: string): Promise<Record<string, string>> {
    return Promise.reject(unsupported('tenant secrets'));
  }

  // --- the wire -------------------------------------------------------------------------------------------

  /** The conversations this client created, with their session ids (for setSessionId). */
  private readonly created = new Map<string, string>();
  /** Which conversation each transcript version belongs to, as this client saw it (for compactTranscript). */
  private readonly versionOwners = new Map<number, string>();

  private async request(method: string, path: string, body?: unknown, options: { notFound?: readonly string[] } = {}): Promise<unknown> {
    const answer = await exchange(this.target, method, path, body);
    const parsed = answer.body;
    if (answer.ok) {
      const cursorOwner = /^\/v1\/store\/conversations\/([^/]+)\/transcript$/.exec(path);
      if (cursorOwner && method === 'POST' && typeof parsed?.versionId === 'number') this.versionOwners.set(parsed.versionId, decodeURIComponent(cursorOwner[1]!));
      return parsed;
    }
    const error = parsed?.error as { code?: string; message?: string } | undefined;
    if (answer.status === 404 && error?.code !== undefined && options.notFound?.includes(error.code)) return undefined;
    if (answer.status === 404 && error?.code === 'NOT_FOUND') {
      throw new BatonError('SERVER_ERROR', `the server at ${this.target.url} has no store API (${error.message ?? `the server answered ${answer.status}`})`, { hint: 'upgrade `baton serve` there to a version that has `baton open --server`' });
    }
    throw serverFailure(answer.status, parsed, PASSED_THROUGH);
  }

  private parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
    const result = schema.safeParse(value);
    if (!result.success) {
      throw new BatonError('SERVER_ERROR', `the server's answer is not a valid ${what}: ${result.error.issues[0]?.path.join('.') || 'body'}: ${result.error.issues[0]?.message}`, {
        hint: 'the server may run another version of baton; upgrade one of them',
      });
    }
    return result.data;
  }
}

/** A conversation with every field named, as a local store gives it (an absent one is there, undefined). */
function toConversation(parsed: z.output<typeof ConversationAnswer>): Conversation {
  return {
    id: parsed.id,
    harness: parsed.harness as Conversation['harness'],
    sessionId: parsed.sessionId,
    title: parsed.title,
    cwd: parsed.cwd,
    createdAt: parsed.createdAt,
    updatedAt: parsed.updatedAt,
    activeRunId: parsed.activeRunId,
    leaseExpiresAt: parsed.leaseExpiresAt,
    tenant: parsed.tenant,
    options: parsed.options as Conversation['options'],
    forkedFrom: parsed.forkedFrom && { conversationId: parsed.forkedFrom.conversationId, runId: parsed.forkedFrom.runId, reason: parsed.forkedFrom.reason, ...(parsed.forkedFrom.turn === undefined ? {} : { turn: parsed.forkedFrom.turn }) },
    adoptedFrom: parsed.adoptedFrom && { ...parsed.adoptedFrom, harness: parsed.adoptedFrom.harness as Conversation['harness'] },
    trust: parsed.trust,
  };
}

/** A run with every field named, as a local store gives it (an absent one is there, undefined). */
function toRun(run: z.output<typeof RunAnswer>): Run {
  return {
    id: run.id,
    conversationId: run.conversationId,
    sequence: run.sequence,
    kind: run.kind,
    prompt: run.prompt,
    status: run.status,
    host: run.host,
    cwd: run.cwd,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    exitCode: run.exitCode,
    error: run.error,
    queuedAt: run.queuedAt,
    handoffs: run.handoffs,
    redaction: run.redaction as Run['redaction'],
    usage: run.usage,
    errorCode: run.errorCode,
  };
}

function unsupported(what: string, hint?: string): BatonError {
  return new BatonError('USAGE', `${what} is not available through --server`, {
    hint: hint ?? 'run it on the server, or against a local store without --server',
  });
}
