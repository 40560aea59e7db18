/**
 * What every harness's findSession (`baton adopt`) needs of the file system: a session file the user named, read
 * defensively; the newest of several files; the first line of a large file; and whether a recorded working
 * directory is the one asked about.
 */
import { open, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { invalidSessionFile } from './harness.js';

/** The user's session file: absolute, symlinks resolved, a regular file; SESSION_FILE_INVALID otherwise. */
export async function sessionFileOf(displayName: string, file: string): Promise<string> {
  let path: string;
  try {
    path = await realpath(resolve(file));
  } catch {
    throw invalidSessionFile(displayName, file, 'there is no such file');
  }
  const info = await stat(path);
  if (!info.isFile()) throw invalidSessionFile(displayName, file, 'it is not a regular file');
  return path;
}

/** The paths, most recently modified first (ties: by name, descending); paths that vanished are left out. */
export async function newestFirst(paths: readonly string[]): Promise<string[]> {
  const dated: Array<{ path: string; modified: number }> = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) dated.push({ path, modified: info.mtimeMs });
  }
  return dated.sort((a, b) => b.modified - a.modified || b.path.localeCompare(a.path)).map((entry) => entry.path);
}

/** The file's bytes up to and including its first newline, at most `maxBytes` (a session's first record). */
export async function readFirstLine(path: string, maxBytes = 4 * 1024 * 1024): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < maxBytes) {
      const buffer = Buffer.alloc(Math.min(64 * 1024, maxBytes - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      const newline = chunk.indexOf(0x0a);
      if (newline !== -1) {
        chunks.push(chunk.subarray(0, newline + 1));
        break;
      }
      chunks.push(chunk);
      total += bytesRead;
    }
    return Buffer.concat(chunks);
  } finally {
    await handle.close();
  }
}

/** Whether a working directory a session recorded is `realCwd` (as recorded, or once its symlinks are resolved). */
export async function isSameDirectory(recorded: string | undefined, realCwd: string): Promise<boolean> {
  if (recorded === undefined || recorded === '') return false;
  if (recorded === realCwd) return true;
  const resolved = await realpath(recorded).catch(() => undefined);
  return resolved === realCwd;
}
