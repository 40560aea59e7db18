/**
 * Codex rollouts: where they live, what their first line says, and how to put one back.
 *
 * verified with codex 0.171: a rollout is `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<YYYY-MM-DDThh-mm-ss>-<uuid>.jsonl`,
 * its first line is `{"type":"session_meta","payload":{"id","timestamp","cwd","cli_version",…}}`, and
 * `codex exec resume <uuid>` finds it by the uuid in its file name anywhere under `sessions/` (the date folders
 * need not match), in a CODEX_HOME that holds nothing else, and appends to the same file, leaving the earlier
 * bytes untouched (so saves can append). The recorded `session_meta.cwd` does not matter when resuming elsewhere:
 * the resumed agent works in the process's cwd (its new environment_context says so and its tool calls run
 * there), so the rollout is rehydrated unchanged. A non-JSON line in the middle is ignored by Codex and kept; a
 * file named `<uuid>.jsonl` or `rollout-<uuid>.jsonl` is not found, hence the canonical name on rehydrate.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { BatonError } from '../../errors.js';
import { readFileIfExists } from '../../fs/private-files.js';
import { MAIN_FILE_KEY, type Envelope, type SessionMeta } from '../../transcript/envelope.js';
import { mainFileReader, type StoredEnvelope } from '../../transcript/file-reader.js';
import { prefixCheck, stageStoredFile, startsWithStoredFile, writeStoredFile } from '../../fs/streamed-file.js';
import { isRecord, parseJsonLines } from '../../transcript/jsonl.js';
import { attachOutput, type TranscriptView, type ViewItem } from '../../transcript/view.js';
import { applyPatchEdit } from '../../transcript/apply-patch.js';
import { assertSessionId, invalidSessionFile, localCopyConflict, UUID_PATTERN, type FoundSession, type RehydratedTranscript, type SessionQuery, type TranscriptLocation } from '../harness.js';
import { isSameDirectory, newestFirst, readFirstLine, sessionFileOf } from '../find-session.js';

const ROLLOUT_NAME = /^rollout-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i;

export function sessionsDirectory(codexHome: string): string {
  return join(codexHome, 'sessions');
}

/** Every rollout file under `sessions/` (by its canonical name), with the session id its name carries. */
async function listRollouts(codexHome: string): Promise<Array<{ path: string; sessionId: string }>> {
  const found: Array<{ path: string; sessionId: string }> = [];
  async function walk(directory: string, depth: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isDirectory() && depth < 4) await walk(path, depth + 1);
      else if (entry.isFile()) {
        const match = ROLLOUT_NAME.exec(entry.name);
        if (match) found.push({ path, sessionId: match[2]!.toLowerCase() });
      }
    }
  }
  await walk(sessionsDirectory(codexHome), 0);
  return found;
}

/** Every rollout file for a session id under `sessions/`, newest (by modification time) first. */
export async function findRollouts(codexHome: string, sessionId: string): Promise<string[]> {
  assertSessionId(sessionId);
  const wanted = sessionId.toLowerCase();
  return newestFirst((await listRollouts(codexHome)).filter((rollout) => rollout.sessionId === wanted).map((rollout) => rollout.path));
}

export async function locateRollout(codexHome: string, sessionId: string): Promise<TranscriptLocation | undefined> {
  const [newest] = await findRollouts(codexHome, sessionId);
  return newest ? { files: [{ key: MAIN_FILE_KEY, path: newest }] } : undefined;
}

/**
 * A Codex session for `baton adopt`: by id, anywhere under `sessions/`; by a rollout file the user names (its first
 * record must be `session_meta` with a UUID id, and the id in a canonical name must be that one); or the most
 * recently modified rollout whose `session_meta.cwd` is the directory asked about.
 */
export async function findCodexSession(codexHome: string, query: SessionQuery): Promise<FoundSession | undefined> {
  if ('sessionId' in query) {
    const location = await locateRollout(codexHome, query.sessionId);
    if (!location) return undefined;
    const meta = readRolloutMeta(await readFirstLine(location.files[0]!.path), query.sessionId);
    return { sessionId: query.sessionId.toLowerCase(), cwd: meta.cwd, location };
  }
  if ('file' in query) {
    const path = await sessionFileOf('Codex CLI', query.file);
    const first = parseJsonLines(await readFirstLine(path))[0];
    const record = first?.ok && isRecord(first.value) ? first.value : undefined;
    const payload = record?.type === 'session_meta' && isRecord(record.payload) ? record.payload : undefined;
    const id = typeof payload?.id === 'string' ? payload.id : undefined;
    if (!id || !UUID_PATTERN.test(id)) throw invalidSessionFile('Codex CLI', query.file, 'its first line is not a session_meta record with the session id');
    const named = ROLLOUT_NAME.exec(basename(path));
    if (named && named[2]!.toLowerCase() !== id.toLowerCase()) throw invalidSessionFile('Codex CLI', query.file, `its name says session ${named[2]} but it holds session ${id}`);
    return { sessionId: id.toLowerCase(), cwd: typeof payload?.cwd === 'string' ? payload.cwd : undefined, location: { files: [{ key: MAIN_FILE_KEY, path }] } };
  }
  const rollouts = await listRollouts(codexHome);
  for (const path of await newestFirst(rollouts.map((rollout) => rollout.path))) {
    const sessionId = rollouts.find((rollout) => rollout.path === path)!.sessionId;
    const meta = readRolloutMeta(await readFirstLine(path), sessionId);
    if (meta.sessionId.toLowerCase() === sessionId && (await isSameDirectory(meta.cwd, query.latestFor))) {
      return { sessionId, cwd: meta.cwd, location: { files: [{ key: MAIN_FILE_KEY, path }] } };
    }
  }
  return undefined;
}

/**
 * Reads `session_meta` tolerantly: the first JSON line of that type wins; lines that are not JSON are
 * skipped here (they stay in the stored bytes). A rollout without session_meta still has its session id.
 */
export function readRolloutMeta(content: Buffer, sessionId: string): SessionMeta {
  for (const line of parseJsonLines(content)) {
    if (!line.ok || !isRecord(line.value) || line.value.type !== 'session_meta') continue;
    const payload = isRecord(line.value.payload) ? line.value.payload : {};
    const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
    return {
      sessionId: text(payload.id) ?? sessionId,
      sessionStartedAt: text(payload.timestamp) ?? text(line.value.timestamp),
      cwd: text(payload.cwd),
      cliVersion: text(payload.cli_version),
    };
  }
  return { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined };
}

/** `sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`, from the session start (UTC). */
export function canonicalRolloutPath(sessionId: string, sessionStartedAt: string | undefined): string {
  assertSessionId(sessionId);
  const parsed = sessionStartedAt ? new Date(sessionStartedAt) : undefined;
  // A year outside 0000–9999 (an imported transcript's meta says so) has no four-digit form: the name would not
  // match `rollout-YYYY-…-<uuid>.jsonl`, and neither Codex nor baton would find the file again.
  const fullYear = parsed?.getUTCFullYear() ?? Number.NaN;
  const start = parsed && fullYear >= 0 && fullYear <= 9999 ? parsed : new Date(0);
  const iso = start.toISOString(); // 2026-11-26T22:40:01.123Z
  const [year, month, day] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  const stamp = `${iso.slice(0, 10)}T${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}`;
  return join('sessions', year, month, day, `rollout-${stamp}-${sessionId.toLowerCase()}.jsonl`);
}

/**
 * Writes the rollout back under `sessions/`. An existing copy of the same session is replaced only when it
 * is identical to, or a prefix of, the stored one (an older copy baton wrote); a copy with turns the store
 * does not have is never clobbered.
 */
export async function rehydrateRollout(envelope: Envelope | StoredEnvelope, codexHome: string): Promise<RehydratedTranscript> {
  assertSessionId(envelope.sessionId);
  const main = mainFileReader(envelope);
  const existing = await findRollouts(codexHome, envelope.sessionId);
  if (existing.length > 1) {
    throw new BatonError('REHYDRATE_CONFLICT', `CODEX_HOME ${codexHome} holds ${existing.length} rollouts for session ${envelope.sessionId}`, {
      hint: `remove the stale ones (${existing.map((path) => relative(codexHome, path)).join(', ')}) or resume with a fresh CODEX_HOME`,
    });
  }
  const target = existing[0] ?? join(codexHome, canonicalRolloutPath(envelope.sessionId, envelope.meta.sessionStartedAt));
  if (!target.startsWith(sessionsDirectory(codexHome) + sep)) {
    throw new BatonError('TRANSCRIPT_CORRUPT', `refusing to write outside ${sessionsDirectory(codexHome)}`, { hint: 're-import the conversation' });
  }
  const location = { files: [{ key: MAIN_FILE_KEY, path: target }] };
  const onDisk = await readFileIfExists(target);
  if (!onDisk) {
    // Nothing here yet (a fresh home): streamed from the store, in place once it has verified.
    await writeStoredFile(target, main);
    return { ...location, keptLocal: [] };
  }
  // A copy here (a run on this machine): compared with the stored file as that streams, never read whole.
  if (onDisk.length >= main.byteLength) {
    if (!(await startsWithStoredFile(onDisk, main))) throw localCopyConflict(target, envelope.sessionId, 'CODEX_HOME');
    // The same bytes, or more of them (a run here stopped before its final save): kept as they are.
    return { ...location, keptLocal: onDisk.length > main.byteLength ? [MAIN_FILE_KEY] : [] };
  }
  // Shorter: an older copy (a prefix of the stored file) is replaced by the stored file; any other is kept.
  const prefix = prefixCheck(onDisk);
  const staged = await stageStoredFile(dirname(target), basename(target), main, { observe: prefix.observe });
  if (!prefix.holds()) {
    await staged.discard();
    throw localCopyConflict(target, envelope.sessionId, 'CODEX_HOME');
  }
  await staged.commit(target);
  return { ...location, keptLocal: [] };
}

// ---------------------------------------------------------------------------------------------------------
// Display: response items of a rollout → the shared view model.

/** User-role messages Codex adds itself (environment, instructions) rather than the user's prompts. */
const CONTEXT_MESSAGE = /^\s*(<environment_context>|<user_instructions>|<skills_instructions>|<permissions|# AGENTS\.md instructions)/;

/** True for the rollout line of a prompt the user typed: what the view shows as a user item (a turn's start). */
export function isRolloutPrompt(record: Record<string, unknown>): boolean {
  const item = record.payload;
  if (record.type !== 'response_item' || !isRecord(item) || item.type !== 'message' || item.role !== 'user') return false;
  return !CONTEXT_MESSAGE.test(messageText(item.content));
}

function messageText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .flatMap((part) => (isRecord(part) && typeof part.text === 'string' ? [part.text] : []))
    .join('\n');
}

/** Codex prefixes tool output with a header (`Chunk ID…`, `Process exited with code N`, `Output:`). */
function commandOutput(raw: string): { output: string; exitCode: number | undefined } {
  const exit = /Process exited with code (-?\d+)/.exec(raw);
  const marker = raw.indexOf('Output:\n');
  return { output: marker === -1 ? raw : raw.slice(marker + 'Output:\n'.length), exitCode: exit ? Number(exit[1]) : undefined };
}

export function viewRollout(content: Buffer): TranscriptView {
  const items: ViewItem[] = [];
  let unparsedLines = 0;
  for (const line of parseJsonLines(content)) {
    if (!line.ok) {
      unparsedLines++;
      continue;
    }
    if (!isRecord(line.value) || line.value.type !== 'response_item' || !isRecord(line.value.payload)) continue;
    const item = line.value.payload;
    const callId = typeof item.call_id === 'string' ? item.call_id : undefined;
    switch (item.type) {
      case 'message': {
        const text = messageText(item.content);
        if (isRolloutPrompt(line.value)) items.push({ kind: 'user', text });
        else if (item.role === 'assistant' && text !== '') items.push({ kind: 'assistant', text });
        break;
      }
      case 'function_call': {
        const name = typeof item.name === 'string' ? item.name : 'tool';
        const input = typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {});
        let command: string | undefined;
        try {
          const args: unknown = JSON.parse(input);
          if (isRecord(args)) command = typeof args.cmd === 'string' ? args.cmd : Array.isArray(args.command) ? args.command.join(' ') : typeof args.command === 'string' ? args.command : undefined;
        } catch {
          // arguments that are not JSON are shown as they are
        }
        if (command !== undefined && /exec_command|shell|local_shell/.test(name)) items.push({ kind: 'command', callId, command, output: undefined, exitCode: undefined });
        else items.push({ kind: 'tool', callId, name, input, output: undefined });
        break;
      }
      case 'custom_tool_call': {
        const name = typeof item.name === 'string' ? item.name : 'tool';
        const input = typeof item.input === 'string' ? item.input : '';
        items.push((name === 'apply_patch' ? applyPatchEdit(callId, input) : undefined) ?? { kind: 'tool', callId, name, input, output: undefined });
        break;
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const raw = typeof item.output === 'string' ? item.output : isRecord(item.output) && typeof item.output.content === 'string' ? item.output.content : JSON.stringify(item.output ?? '');
        const { output, exitCode } = commandOutput(raw);
        attachOutput(items, callId, output, exitCode);
        break;
      }
      default:
        break;
    }
  }
  return { items, unparsedLines };
}
