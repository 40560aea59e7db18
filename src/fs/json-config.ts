/**
 * A CLI's JSON config or state file, merged rather than rewritten: read as an object (missing: empty), changed in
 * place, and written back privately and atomically only when its text changed. A file that is not a JSON object is
 * CONFIG_INVALID and left as it is.
 */
import { BatonError, errorMessage } from '../errors.js';
import { isRecord } from '../transcript/jsonl.js';
import { readFileIfExists, writePrivateFileAtomic } from './private-files.js';

const DEFAULT_HINT = 'fix or remove the file; baton only adds the settings a headless run needs and keeps the rest';

/** The file's object and its text as read (undefined when there was no file). */
export async function readJsonObject(path: string, hint: string = DEFAULT_HINT): Promise<{ value: Record<string, unknown>; text: string | undefined }> {
  const existing = await readFileIfExists(path);
  if (!existing) return { value: {}, text: undefined };
  const text = existing.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isRecord(parsed)) throw new Error('not a JSON object');
    return { value: parsed, text };
  } catch (error) {
    throw new BatonError('CONFIG_INVALID', `${path} is not a JSON object: ${errorMessage(error)}`, { hint, cause: error });
  }
}

/** Writes `value` (pretty, with a final newline) unless that is exactly the text read before; true if it wrote. */
export async function writeJsonIfChanged(path: string, value: Record<string, unknown>, before: string | undefined): Promise<boolean> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (text === before) return false;
  await writePrivateFileAtomic(path, text);
  return true;
}
