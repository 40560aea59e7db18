/**
 * Writing a stored transcript file where a CLI will read it, as it is read from the store: into a temporary file
 * beside the target (0600, in a 0700 directory, a name no CLI looks for), renamed into place only once every byte
 * has verified. A file that does not verify leaves nothing behind, and nothing it did not write is replaced
 * before then. Each piece's write runs on the thread pool while the store decodes the next one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { TranscriptFileReader, UnverifiedPiece, VerifiedRead } from '../transcript/file-reader.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.js';

/** A verified file in its temporary place: renamed to where it belongs, or removed. */
export interface StagedFile {
  read: VerifiedRead;
  /** Renames it to `path` (in the directory it was staged in). */
  commit(path: string): Promise<void>;
  discard(): Promise<void>;
}

export interface StageOptions {
  /** Keep this many of the file's last bytes in `read.tail` (for a decision made once the file has verified). */
  tailBytes?: number;
  /** Sees each piece before it is written (a scan whose answer is used only once the read has verified). */
  observe?: (piece: UnverifiedPiece) => void;
  /** Bytes to add after the stored ones, decided once they have verified (Claude's interrupted tool results). */
  append?: (read: VerifiedRead) => Buffer | undefined | Promise<Buffer | undefined>;
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let written = 0; written < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}

/** Streams `reader` into a temporary file in `directory` (made 0700 if missing); rejects, leaving nothing, unless every byte verified. */
export async function stageStoredFile(directory: string, name: string, reader: TranscriptFileReader, options: StageOptions = {}): Promise<StagedFile> {
  await mkdir(directory, { recursive: true, mode: PRIVATE_DIR_MODE });
  const temporary = join(directory, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
  let closed = false;
  try {
    let position = 0;
    const read = await reader.stream(
      (piece) => {
        options.observe?.(piece);
        const at = position;
        position += piece.unverifiedBytes.length;
        return writeAll(handle, piece.unverifiedBytes, at);
      },
      { tailBytes: options.tailBytes },
    );
    const extra = await options.append?.(read);
    if (extra && extra.length > 0) await writeAll(handle, extra, position);
    closed = true;
    await handle.close();
    // The umask may have narrowed the mode further; make it exactly 0600.
    await chmod(temporary, PRIVATE_FILE_MODE);
    return {
      read,
      commit: async (path) => {
        try {
          if (dirname(path) !== directory) throw new Error(`bug: ${path} is not in ${directory}`);
          await rename(temporary, path);
        } catch (error) {
          await rm(temporary, { force: true });
          throw error;
        }
      },
      discard: () => rm(temporary, { force: true }),
    };
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Streams `reader` to `path` (no fsync: a rehydrated copy can be written again from the store). */
export async function writeStoredFile(path: string, reader: TranscriptFileReader, options: StageOptions = {}): Promise<VerifiedRead> {
  const staged = await stageStoredFile(dirname(path), basename(path), reader, options);
  await staged.commit(path);
  return staged.read;
}

/**
 * Whether `local` begins with every byte of `reader`'s file, compared piece by piece as the stored file is read and
 * verified (a rejection is the read's): a resume on the machine that ran the conversation learns that its copy is
 * the stored one, or extends it, without writing anything or holding the stored file whole.
 */
export async function startsWithStoredFile(local: Buffer, reader: TranscriptFileReader): Promise<boolean> {
  if (local.length < reader.byteLength) return false;
  const prefix = prefixCheck(local);
  await reader.stream(prefix.observe);
  return prefix.holds();
}

/**
 * Follows a stored file's pieces in order: whether `local` and the stored file agree on every byte both have (the
 * shorter is a prefix of the longer; the callers know which is longer).
 */
export function prefixCheck(local: Buffer): { observe: (piece: UnverifiedPiece) => void; holds: () => boolean } {
  let position = 0;
  let same = true;
  return {
    observe: (piece) => {
      const bytes = piece.unverifiedBytes;
      const end = Math.min(local.length, position + bytes.length);
      if (same && end > position && !local.subarray(position, end).equals(bytes.subarray(0, end - position))) same = false;
      position += bytes.length;
    },
    holds: () => same,
  };
}
