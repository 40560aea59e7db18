/**
 * Putting a stored session into OpenCode's database as `opencode import` does, without starting the CLI (an import
 * costs 1.3–9 s of its start-up on this machine; this insert costs milliseconds).
 *
 * verified with opencode 1.18.33 (its bundled source, `Cli.import`, and test/harness/opencode-database.test.ts):
 * import writes the session row (`Session.toRow` of the document's info, bound to the importing directory: its
 * project, `directory` and `path` relative to the worktree), then every message (`data` = the info without `id` and
 * `sessionID`, `time_created` = its `time.created`) and part (`data` without `id`, `sessionID`, `messageID`), and
 * nothing else: no `event` rows. `opencode run -s ID` then continues the session. A session in a directory outside
 * git belongs to the `global` project (worktree `/`); in a git worktree to the project OpenCode recorded for it.
 *
 * What this never does: write a database of another schema than the verified one, touch a row it did not insert
 * (a session the database holds already, or any id that exists, makes it write nothing), or hold OpenCode up: one
 * IMMEDIATE transaction, waiting at most as long as OpenCode itself waits for a lock (busy_timeout 5000).
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import Sqlite from 'better-sqlite3';
import { isRecord } from '../../transcript/jsonl.js';
import { newestMigration, VERIFIED_MIGRATION } from './database.js';
import { parseExport } from './log.js';
import { gitWorktreeOf } from '../../fs/git-worktree.js';

type Json = Record<string, unknown>;

/** The project an import in `cwd` would bind the session to, when the database knows it; undefined otherwise. */
function bindingFor(db: Sqlite.Database, cwd: string): { projectId: string; directory: string; path: string } | undefined {
  const worktree = gitWorktreeOf(cwd);
  const projectId = worktree
    ? ((db.prepare('SELECT project_id AS id FROM project_directory WHERE directory = ?').get(worktree) ?? db.prepare("SELECT id FROM project WHERE worktree = ? AND id != 'global'").get(worktree)) as { id: string } | undefined)?.id
    : (db.prepare("SELECT id FROM project WHERE id = 'global'").get() as { id: string } | undefined)?.id;
  if (projectId === undefined) return undefined;
  return { projectId, directory: cwd, path: relative(worktree ?? '/', cwd).replaceAll('\\', '/') };
}

const stringified = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));
const number = (value: unknown, fallback: number | null = null): number | null => (typeof value === 'number' ? value : fallback);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** A `session` row from the document's info, as OpenCode's `Session.toRow` maps it (opencode 1.18.33). */
function sessionRow(info: Json, binding: { projectId: string; directory: string; path: string }): Json {
  const summary = isRecord(info.summary) ? info.summary : undefined;
  const tokens = isRecord(info.tokens) ? info.tokens : {};
  const cache = isRecord(tokens.cache) ? tokens.cache : {};
  const time = isRecord(info.time) ? info.time : {};
  const revert = isRecord(info.revert) ? { messageID: info.revert.messageID, partID: info.revert.partID, snapshot: info.revert.snapshot, diff: info.revert.diff } : undefined;
  return {
    id: info.id,
    project_id: binding.projectId,
    workspace_id: text(info.workspaceID),
    parent_id: text(info.parentID),
    slug: text(info.slug) ?? '',
    directory: binding.directory,
    path: binding.path,
    title: text(info.title) ?? '',
    agent: text(info.agent),
    model: stringified(info.model),
    version: text(info.version) ?? '',
    share_url: isRecord(info.share) ? text(info.share.url) : null,
    summary_additions: number(summary?.additions),
    summary_deletions: number(summary?.deletions),
    summary_files: number(summary?.files),
    summary_diffs: stringified(summary?.diffs),
    metadata: stringified(info.metadata),
    cost: number(info.cost, 0),
    tokens_input: number(tokens.input, 0),
    tokens_output: number(tokens.output, 0),
    tokens_reasoning: number(tokens.reasoning, 0),
    tokens_cache_read: number(cache.read, 0),
    tokens_cache_write: number(cache.write, 0),
    revert: stringified(revert),
    permission: stringified(info.permission),
    time_created: number(time.created, Date.now()),
    time_updated: number(time.updated, Date.now()),
    time_compacting: number(time.compacting),
    time_archived: number(time.archived),
  };
}

function withoutKeys(record: Json, keys: readonly string[]): Json {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

export type InsertResult = 'inserted' | 'present' | 'cannot';

/**
 * Inserts the session of an export document into the database for a run in `cwd`. `present`: the database holds it
 * already (nothing written). `cannot`: no database yet, another schema, a project the database does not know, an id
 * that exists, or a document this cannot carry (nothing written): the caller imports with the CLI.
 */
export function insertSession(database: string | undefined, exportText: string, cwd: string, now = Date.now()): InsertResult {
  if (!database || !existsSync(database)) return 'cannot';
  const document = parseExport(exportText);
  if (!document || typeof document.info.id !== 'string') return 'cannot';
  let db: Sqlite.Database | undefined;
  try {
    db = new Sqlite(database, { fileMustExist: true, timeout: 5_000 });
    db.pragma('foreign_keys = ON');
    const sessionId = document.info.id;
    const insert = db.transaction((): InsertResult => {
      if (newestMigration(db!) !== VERIFIED_MIGRATION) return 'cannot';
      if (db!.prepare('SELECT 1 FROM session WHERE id = ?').get(sessionId)) return 'present';
      const binding = bindingFor(db!, cwd);
      if (!binding) return 'cannot';
      const row = sessionRow(document.info, binding);
      const columns = Object.keys(row);
      db!.prepare(`INSERT INTO session (${columns.join(', ')}) VALUES (${columns.map((column) => `@${column}`).join(', ')})`).run(row);
      const message = db!.prepare('INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?)');
      const part = db!.prepare('INSERT INTO part (id, message_id, session_id, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?, ?)');
      for (const entry of document.messages) {
        const time = isRecord(entry.info.time) ? entry.info.time : {};
        message.run(entry.info.id, sessionId, number(time.created, now), now, JSON.stringify(withoutKeys(entry.info, ['id', 'sessionID'])));
        for (const item of entry.parts) part.run(item.id, entry.info.id, sessionId, now, now, JSON.stringify(withoutKeys(item, ['id', 'sessionID', 'messageID'])));
      }
      return 'inserted';
    });
    // IMMEDIATE: the write lock is taken at BEGIN, so the checks above and the inserts see one state of the database.
    return insert.immediate();
  } catch {
    // A failed insert (an id that exists, a lock held past the timeout) rolled back: nothing was written.
    return 'cannot';
  } finally {
    db?.close();
  }
}
