/** Table types shared by every SQL backend (kysely). Times are milliseconds since the epoch. */
import type { Generated } from 'kysely';

export interface ConversationsTable {
  id: string;
  harness: string;
  session_id: string | null;
  title: string;
  cwd: string;
  created_at: number;
  updated_at: number;
  active_run_id: string | null;
  lease_expires_at: number | null;
  tenant: string | null;
  options: string | null;
  forked_from: string | null;
  /** JSON AdoptionOrigin (sealed in an encrypted store: it names a path on the user's machine). */
  adopted_from: string | null;
  /** 'trusted' (baton saved it), or 'untrusted' (it arrived by import): see Conversation.trust. */
  trust: Generated<string>;
}

export interface RunsTable {
  id: string;
  conversation_id: string;
  sequence: number;
  kind: string;
  prompt: string;
  status: string;
  host: string;
  cwd: string;
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  error: string | null;
  queued_at: number | null;
  handoffs: Generated<number>;
  /** JSON of the RedactionRecord that ran on what the run saved; null for runs from before redaction. */
  redaction: string | null;
  /** Model usage (see RunUsage); all null when nothing counted it. */
  usage_input_tokens: number | null;
  usage_cached_input_tokens: number | null;
  usage_output_tokens: number | null;
  usage_requests: number | null;
  /** The stable code (ErrorCode) of a failure baton named; null otherwise. */
  error_code: string | null;
  /** JSON of the run's own time limits (RunLimits: stallTimeoutMs, maxRunTimeMs) as its API request gave them; null: the worker's defaults. */
  limits: string | null;
}

export interface RunEventsTable {
  run_id: string;
  sequence: number;
  at: number;
  type: string;
  data: string;
}

export interface TranscriptVersionsTable {
  id: Generated<number>;
  conversation_id: string;
  file_key: string;
  created_at: number;
  created_by_run_id: string | null;
  line_count: number;
  byte_length: number;
  sha256: string;
  meta: string | null;
}

export interface TranscriptChunksTable {
  version_id: number;
  sequence: number;
  codec: string;
  data: Buffer;
  byte_length: number;
  line_count_after: number;
  sha256_after: string;
}

export interface WorkspaceSnapshotsTable {
  id: Generated<number>;
  conversation_id: string;
  run_id: string;
  created_at: number;
  kind: string;
  fingerprint: string;
  manifest: string;
  transcript_version_id: number | null;
  transcript_byte_length: number | null;
}

export interface WorkspaceBlobsTable {
  snapshot_id: number;
  name: string;
  codec: string;
  data: Buffer;
  byte_length: number;
  sha256: string;
}

export interface ApiTokensTable {
  id: string;
  tenant: string;
  token_sha256: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** A single row (id 1) whose generation every token revocation bumps. */
export interface ApiTokenGenerationTable {
  id: number;
  generation: number;
}

export interface FleetWorkersTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
  queue_worker_ids: string;
}

/** One row (id 1): whether the store is encrypted, decided when it was first opened (see encryption.ts). */
export interface StoreEncryptionTable {
  id: number;
  /** 'plaintext' or 'encrypted'. */
  mode: string;
  /** HKDF output of the master key: tells the right key from a wrong one; null in a plaintext store. */
  key_check: string | null;
  created_at: number;
  rotated_at: number | null;
}

/** A conversation's or tenant's data key, wrapped (AES-256-GCM) under the master key. */
export interface DataKeysTable {
  /** `conversation:<id>` or `tenant:<name>`. */
  owner: string;
  wrapped: Buffer;
  created_at: number;
}

/** A tenant's secrets (encrypted under the tenant's data key), injected into that tenant's runs. */
export interface TenantSecretsTable {
  tenant: string;
  name: string;
  value: string;
  created_at: number;
  updated_at: number;
}

/** One row (id 1), present once the store was opened with object storage (--blobs): where its bodies live. */
export interface BlobStorageTable {
  id: number;
  /** `s3://bucket/prefix`. */
  location: string;
  created_at: number;
}

/**
 * Every object a body was written to in object storage, by the reference rows keep (see sql/object-bodies.ts):
 * the claims that make collecting unnamed objects safe against saves in flight.
 */
export interface BodyObjectsTable {
  reference: Buffer;
  /** When a save last claimed it outside a transaction (before uploading it); 0 when every claim was made in one. */
  claimed_at: number;
  /** When a row naming it was deleted (a candidate for collection); null while rows are known to name it. */
  released_at: number | null;
}

export interface Database {
  blob_storage: BlobStorageTable;
  body_objects: BodyObjectsTable;
  store_encryption: StoreEncryptionTable;
  data_keys: DataKeysTable;
  tenant_secrets: TenantSecretsTable;
  api_tokens: ApiTokensTable;
  api_token_generation: ApiTokenGenerationTable;
  fleet_workers: FleetWorkersTable;
  conversations: ConversationsTable;
  runs: RunsTable;
  run_events: RunEventsTable;
  transcript_versions: TranscriptVersionsTable;
  transcript_chunks: TranscriptChunksTable;
  workspace_snapshots: WorkspaceSnapshotsTable;
  workspace_blobs: WorkspaceBlobsTable;
}
