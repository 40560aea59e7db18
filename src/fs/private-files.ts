/**
 * Writing files that hold transcripts or credentials: mode 0600 in 0700 directories, written to a temporary
 * file and renamed into place, so a failure never leaves a truncated file where a good one was.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * `durable: false` skips the fsync: for copies that can be written again from the store (rehydrated
 * transcripts), where a crash right after the write costs nothing but a second rehydrate.
 */
export async function writePrivateFileAtomic(path: string, content: string | Buffer, options: { durable?: boolean } = {}): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: PRIVATE_DIR_MODE });
  const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(content);
      if (options.durable !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask may have narrowed the mode further; make it exactly 0600.
    await chmod(temporary, PRIVATE_FILE_MODE);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
