/**
 * Reading an OpenCode session straight from the CLI's own database, as `opencode export` prints it, without
 * starting the CLI (an export costs 1.3–3.4 s of its start-up; this read costs milliseconds).
 *
 * verified with opencode 1.18.33 (its bundled source, and byte for byte against `opencode export` in
 * test/harness/opencode-database.test.ts):
 * - the sessions live in `session`, `message` and `part` (drizzle tables of `$XDG_DATA_HOME/opencode/opencode.db`;
 *   `message.data` and `part.data` are JSON text without the row's own ids); `event` and `event_sequence` are the
 *   sync log, which neither export nor import reads or writes;
 * - export prints `JSON.stringify({info, messages}, null, 2)` and a newline, where `info` is the session row mapped
 *   by `Session.fromRow` (the key order below), each message is `{info: {...data, id, sessionID}, parts}` in
 *   `(time_created, id)` order, and each part `{...data, id, sessionID, messageID}` in `id` order;
 * - OpenCode opens the database in WAL mode with `busy_timeout = 5000`, so a reader here never blocks it and reads a
 *   consistent snapshot inside one transaction.
 * The schema is OpenCode's, not baton's: the read is trusted only when the newest migration the database applied is
 * the one verified here; any other database (a newer OpenCode) is read by `opencode export` instead.
 */
import { existsSync } from 'node:fs';
import Sqlite from 'better-sqlite3';

/** The newest migration of the schema this reader was verified against (opencode 1.18.33 applies 38). */
export const VERIFIED_MIGRATION = '20260622202450_simplify_session_input';

/** A change marker of one session: its row's and its messages' and parts' counts and newest updates. */
export interface Fingerprint {
  exists: boolean;
  value: string;
  /** The newest `time_updated` of the session and its rows (ms). */
  newest: number;
}

export type SessionRead =
  /** The database does not hold the session (or does not exist yet). */
  | { kind: 'absent' }
  /** The session's marker is still `known`: nothing changed since that read. */
  | { kind: 'unchanged'; fingerprint: Fingerprint }
  | { kind: 'document'; text: string; fingerprint: Fingerprint };

type Row = Record<string, unknown>;

const json = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : (text ?? undefined));
const orUndefined = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

/**
 * The session info as OpenCode's `Session.fromRow` (opencode 1.18.33) maps a `session` row; JSON.stringify drops the
 * undefined values, as it does in OpenCode.
 */
function sessionInfo(row: Row): Record<string, unknown> {
  const diffs = json(row.summary_diffs);
  const summary =
    row.summary_additions !== null || row.summary_deletions !== null || row.summary_files !== null
      ? { additions: row.summary_additions ?? 0, deletions: row.summary_deletions ?? 0, files: row.summary_files ?? 0, diffs: diffs ?? undefined }
      : undefined;
  const revert = json(row.revert) as Row | undefined;
  const model = json(row.model) as Row | undefined;
  const permission = json(row.permission);
  return {
    id: row.id,
    slug: row.slug,
    projectID: row.project_id,
    workspaceID: orUndefined(row.workspace_id),
    directory: row.directory,
    path: orUndefined(row.path),
    parentID: orUndefined(row.parent_id),
    title: row.title,
    agent: orUndefined(row.agent),
    model: model ? { id: model.id, providerID: model.providerID, variant: model.variant } : undefined,
    version: row.version,
    summary,
    cost: row.cost,
    tokens: { input: row.tokens_input, output: row.tokens_output, reasoning: row.tokens_reasoning, cache: { read: row.tokens_cache_read, write: row.tokens_cache_write } },
    share: row.share_url ? { url: row.share_url } : undefined,
    metadata: json(row.metadata) ?? undefined,
    revert: revert ? { messageID: revert.messageID, partID: revert.partID ? revert.partID : undefined, snapshot: revert.snapshot, diff: revert.diff } : undefined,
    permission: Array.isArray(permission) ? [...(permission as unknown[])] : undefined,
    time: { created: row.time_created, updated: row.time_updated, compacting: orUndefined(row.time_compacting), archived: orUndefined(row.time_archived) },
  };
}

/** Opens the database read-only (never a writer: it cannot checkpoint, truncate or create anything). */
export function openReadOnly(database: string): Sqlite.Database {
  return new Sqlite(database, { readonly: true, fileMustExist: true, timeout: 2_000 });
}

/** The newest migration the database applied, or undefined when it has no migration table (not OpenCode's). */
export function newestMigration(db: Sqlite.Database): string | undefined {
  const row = db.prepare('SELECT id FROM migration ORDER BY id DESC LIMIT 1').get() as { id: string } | undefined;
  return row?.id;
}

function fingerprintIn(db: Sqlite.Database, sessionId: string): Fingerprint {
  const session = db.prepare('SELECT time_updated AS updated FROM session WHERE id = ?').get(sessionId) as { updated: number } | undefined;
  if (!session) return { exists: false, value: 'absent', newest: 0 };
  const messages = db.prepare('SELECT count(*) AS rows, max(time_updated) AS newest FROM message WHERE session_id = ?').get(sessionId) as { rows: number; newest: number | null };
  const parts = db.prepare('SELECT count(*) AS rows, max(time_updated) AS newest FROM part WHERE session_id = ?').get(sessionId) as { rows: number; newest: number | null };
  const newest = Math.max(session.updated, messages.newest ?? 0, parts.newest ?? 0);
  return { exists: true, value: `${session.updated}/${messages.rows}/${messages.newest}/${parts.rows}/${parts.newest}`, newest };
}

/** The session's change marker; undefined when the database cannot be read as the verified schema. */
export function sessionFingerprint(database: string | undefined, sessionId: string): Fingerprint | undefined {
  if (!database) return undefined;
  if (!existsSync(database)) return { exists: false, value: 'absent', newest: 0 };
  let db: Sqlite.Database | undefined;
  try {
    db = openReadOnly(database);
    return fingerprintIn(db, sessionId);
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * The session as `opencode export ID` would print it, read in one snapshot; `unchanged` when its marker is still
 * `known`. Undefined when the database is not the verified schema or cannot be read: the caller asks the CLI.
 */
export function readSession(database: string | undefined, sessionId: string, known?: string): SessionRead | undefined {
  if (!database) return undefined;
  if (!existsSync(database)) return { kind: 'absent' };
  let db: Sqlite.Database | undefined;
  try {
    db = openReadOnly(database);
    const reader = db.transaction((): SessionRead | undefined => {
      if (newestMigration(db!) !== VERIFIED_MIGRATION) return undefined;
      const fingerprint = fingerprintIn(db!, sessionId);
      if (!fingerprint.exists) return { kind: 'absent' };
      if (known !== undefined && fingerprint.value === known) return { kind: 'unchanged', fingerprint };
      const row = db!.prepare('SELECT * FROM session WHERE id = ?').get(sessionId) as Row;
      const messageRows = db!.prepare('SELECT id, session_id, data FROM message WHERE session_id = ? ORDER BY time_created, id').all(sessionId) as Row[];
      // OpenCode reads parts by message (`message_id IN (…) ORDER BY message_id, id`): the same order per message.
      const partRows = db!.prepare('SELECT id, message_id, session_id, data FROM part WHERE session_id = ? ORDER BY message_id, id').all(sessionId) as Row[];
      const partsOf = new Map<unknown, Row[]>();
      for (const part of partRows) {
        const entry = { ...(json(part.data) as Row), id: part.id, sessionID: part.session_id, messageID: part.message_id };
        const list = partsOf.get(part.message_id);
        if (list) list.push(entry);
        else partsOf.set(part.message_id, [entry]);
      }
      const messages = messageRows.map((message) => ({ info: { ...(json(message.data) as Row), id: message.id, sessionID: message.session_id }, parts: partsOf.get(message.id) ?? [] }));
      return { kind: 'document', text: `${JSON.stringify({ info: sessionInfo(row), messages }, null, 2)}\n`, fingerprint };
    });
    return reader();
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}
