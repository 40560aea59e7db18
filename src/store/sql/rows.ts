/**
 * Stored rows to baton's types and back: number and JSON columns, and the conversation, run and workspace
 * snapshot rows, whose user-written columns are sealed in an encrypted store. Every sealed value is bound to
 * where it sits (its row identity, the associated data), so a value copied into another row fails to open.
 */
import type { Selectable } from 'kysely';
import { BatonError } from '../../errors.js';
import { isHarnessId } from '../../harness/ids.js';
import { isRedactionRecord, type RedactionRecord } from '../../redact/redactor.js';
import type { WorkspaceManifest } from '../../workspace/workspace.js';
import { rowIdentity, type RowCipher } from '../encryption.js';
import type { ConversationsTable, RunsTable, WorkspaceSnapshotsTable } from '../schema.js';
import type { AdoptionOrigin, Conversation, ConversationOptions, ForkOrigin, Run, RunKind, RunLimits, RunStatus, RunUsage, WorkspaceSnapshotSummary } from '../store.js';

export const num = (value: number | string | bigint): number => Number(value);
export const numOrUndefined = (value: number | string | bigint | null): number | undefined =>
  value === null ? undefined : Number(value);

/** A JSON column; a value that does not parse (a damaged row) reads as absent rather than failing every list. */
export function parseJsonColumn(text: string | null): unknown {
  if (text === null || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

// --- conversations ----------------------------------------------------------------------------------------

/**
 * Seals (in an encrypted store) the conversation columns that hold what its user wrote or where their files are:
 * title, cwd, options, and the origin of an adopted session (its host and path).
 */
export function sealConversationColumns<T extends { id: string; title: string; cwd: string; options: string | null; adopted_from: string | null }>(row: T, cipher: RowCipher): T {
  if (!cipher.encrypted) return row;
  return {
    ...row,
    title: cipher.sealText(rowIdentity('conversations.title', row.id), row.title),
    cwd: cipher.sealText(rowIdentity('conversations.cwd', row.id), row.cwd),
    options: row.options === null ? null : cipher.sealText(rowIdentity('conversations.options', row.id), row.options),
    adopted_from: row.adopted_from === null ? null : cipher.sealText(rowIdentity('conversations.adopted_from', row.id), row.adopted_from),
  };
}

export function toConversation(stored: Selectable<ConversationsTable>, cipher: RowCipher): Conversation {
  const open = (column: 'title' | 'cwd' | 'options' | 'adopted_from', value: string): string => cipher.openText(rowIdentity(`conversations.${column}`, stored.id), value, `${column} of conversation ${stored.id}`);
  const row = {
    ...stored,
    title: open('title', stored.title),
    cwd: open('cwd', stored.cwd),
    options: stored.options === null ? null : open('options', stored.options),
    adopted_from: stored.adopted_from === null ? null : open('adopted_from', stored.adopted_from),
  };
  if (!isHarnessId(row.harness)) {
    throw new BatonError('STORE_ERROR', `conversation ${row.id} names an unknown harness "${row.harness}"`, {
      hint: 'upgrade baton: this store was written by a version that knows more harnesses',
    });
  }
  return {
    id: row.id,
    harness: row.harness,
    sessionId: row.session_id ?? undefined,
    title: row.title,
    cwd: row.cwd,
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    activeRunId: row.active_run_id ?? undefined,
    leaseExpiresAt: numOrUndefined(row.lease_expires_at),
    tenant: row.tenant ?? undefined,
    options: (parseJsonColumn(row.options) as ConversationOptions | undefined) ?? {},
    forkedFrom: parseJsonColumn(row.forked_from) as ForkOrigin | undefined,
    adoptedFrom: adoptionOrigin(parseJsonColumn(row.adopted_from)),
    // Anything but the word baton writes for a conversation it saved itself is treated as untrusted.
    trust: row.trust === 'trusted' ? 'trusted' : 'untrusted',
  };
}

/** An adoption origin as stored; anything else (a damaged row) reads as absent. */
function adoptionOrigin(value: unknown): AdoptionOrigin | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const origin = value as Record<string, unknown>;
  if (typeof origin.harness !== 'string' || !isHarnessId(origin.harness) || typeof origin.sessionId !== 'string' || typeof origin.host !== 'string' || typeof origin.path !== 'string' || typeof origin.adoptedAt !== 'number') return undefined;
  return { harness: origin.harness, sessionId: origin.sessionId, host: origin.host, path: origin.path, adoptedAt: origin.adoptedAt };
}

/** Options as stored: JSON without undefined fields, or null when there are none. */
export function encodeOptions(options: ConversationOptions | undefined): string | null {
  const json = JSON.stringify(options ?? {});
  return json === '{}' ? null : json;
}

// --- runs and their events --------------------------------------------------------------------------------

type UsageColumn = 'usage_input_tokens' | 'usage_cached_input_tokens' | 'usage_output_tokens' | 'usage_requests' | 'error_code' | 'limits';

/** Seals (in an encrypted store) a run's prompt, cwd and error. */
export function sealRunColumns<T extends { id: string; conversation_id: string; prompt: string; cwd: string; error: string | null }>(row: T, cipher: RowCipher): T {
  if (!cipher.encrypted) return row;
  return { ...row, prompt: cipher.sealText(runIdentity('prompt', row), row.prompt), cwd: cipher.sealText(runIdentity('cwd', row), row.cwd), error: sealRunError(cipher, row, row.error) };
}

export const runIdentity = (column: 'prompt' | 'cwd' | 'error', run: { id: string; conversation_id: string }): string => rowIdentity(`runs.${column}`, run.conversation_id, run.id);

export function sealRunError(cipher: RowCipher, run: { id: string; conversation_id: string }, error: string | null): string | null {
  return error === null ? null : cipher.sealText(runIdentity('error', run), error);
}

export function toRun(stored: Omit<Selectable<RunsTable>, UsageColumn> & Partial<Pick<Selectable<RunsTable>, UsageColumn>>, cipher: RowCipher): Run {
  const open = (column: 'prompt' | 'cwd' | 'error', value: string): string => cipher.openText(runIdentity(column, stored), value, `${column} of run ${stored.id}`);
  const row = { ...stored, prompt: open('prompt', stored.prompt), cwd: open('cwd', stored.cwd), error: stored.error === null ? null : open('error', stored.error) };
  return {
    id: row.id,
    conversationId: row.conversation_id,
    sequence: num(row.sequence),
    kind: row.kind as RunKind,
    prompt: row.prompt,
    status: row.status as RunStatus,
    host: row.host,
    cwd: row.cwd,
    startedAt: num(row.started_at),
    endedAt: numOrUndefined(row.ended_at),
    exitCode: numOrUndefined(row.exit_code),
    error: row.error ?? undefined,
    queuedAt: numOrUndefined(row.queued_at),
    handoffs: num(row.handoffs),
    redaction: parseRedaction(row.redaction),
    usage:
      row.usage_requests === null || row.usage_requests === undefined
        ? undefined
        : { inputTokens: num(row.usage_input_tokens ?? 0), cachedInputTokens: num(row.usage_cached_input_tokens ?? 0), outputTokens: num(row.usage_output_tokens ?? 0), requests: num(row.usage_requests) },
    errorCode: row.error_code ?? undefined,
    limits: parseLimits(row.limits),
  };
}

/** A run's limits as stored: JSON of the non-negative whole milliseconds given; null for none. */
export function limitsColumn(limits: RunLimits | undefined): string | null {
  const kept = Object.fromEntries(Object.entries(limits ?? {}).filter(([, value]) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0));
  return Object.keys(kept).length === 0 ? null : JSON.stringify(kept);
}

function parseLimits(text: string | null | undefined): RunLimits | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { stallTimeoutMs, maxRunTimeMs } = value as Record<string, unknown>;
    const ms = (field: unknown): number | undefined => (typeof field === 'number' && Number.isSafeInteger(field) && field >= 0 ? field : undefined);
    return { stallTimeoutMs: ms(stallTimeoutMs), maxRunTimeMs: ms(maxRunTimeMs) };
  } catch {
    // A damaged row runs with the worker's defaults.
    return undefined;
  }
}

/** The columns of a run's usage; null for none. */
export function usageColumns(usage: RunUsage | undefined): Pick<RunsTable, Exclude<UsageColumn, 'error_code' | 'limits'>> {
  return {
    usage_input_tokens: usage?.inputTokens ?? null,
    usage_cached_input_tokens: usage?.cachedInputTokens ?? null,
    usage_output_tokens: usage?.outputTokens ?? null,
    usage_requests: usage?.requests ?? null,
  };
}

/** A stored redaction record; anything else (a damaged or foreign row) reads as unknown, never as "off". */
function parseRedaction(text: string | null): RedactionRecord | undefined {
  const value = parseJsonColumn(text);
  return isRedactionRecord(value) ? value : undefined;
}

export const eventIdentity = (conversationId: string, runId: string, sequence: number): string => rowIdentity('run_events.data', conversationId, runId, sequence);

// --- transcripts ------------------------------------------------------------------------------------------

export const metaIdentity = (conversationId: string, versionId: number): string => rowIdentity('transcript_versions.meta', conversationId, versionId);

/** Where a chunk's body sits: its conversation, version, offset in the version and length (its associated data). */
export const chunkIdentity = (conversationId: string, versionId: number, offset: number, byteLength: number): string =>
  rowIdentity('transcript_chunks.data', conversationId, versionId, offset, byteLength);

// --- workspace snapshots ----------------------------------------------------------------------------------

export const manifestIdentity = (conversationId: string, snapshotId: number): string => rowIdentity('workspace_snapshots.manifest', conversationId, snapshotId);

export const blobIdentity = (conversationId: string, snapshotId: number, name: string, byteLength: number): string =>
  rowIdentity('workspace_blobs.data', conversationId, snapshotId, name, byteLength);

export function toSnapshotSummary(stored: Selectable<WorkspaceSnapshotsTable>, cipher: RowCipher): WorkspaceSnapshotSummary {
  const row = { ...stored, manifest: cipher.openText(manifestIdentity(stored.conversation_id, num(stored.id)), stored.manifest, `workspace manifest ${stored.id} of conversation ${stored.conversation_id}`) };
  return {
    id: num(row.id),
    conversationId: row.conversation_id,
    runId: row.run_id,
    createdAt: num(row.created_at),
    // A manifest that does not parse (a damaged row) reads as an unrestorable one, not as a failing listing.
    manifest: (parseJsonColumn(row.manifest) as WorkspaceManifest | undefined) ?? { kind: 'too-large', fingerprint: row.fingerprint, bytes: 0, limitBytes: 0, changedFiles: [] },
    transcript: row.transcript_version_id === null ? undefined : { versionId: num(row.transcript_version_id), byteLength: num(row.transcript_byte_length ?? 0) },
  };
}

// --- tenant secrets ---------------------------------------------------------------------------------------

export const secretIdentity = (tenant: string, name: string): string => rowIdentity('tenant_secrets.value', tenant, name);
