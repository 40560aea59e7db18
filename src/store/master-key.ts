/**
 * The master key of an encrypted store: 32 random bytes, written as standard base64 (44 characters, one `=`).
 * It comes from `--master-key-file FILE` (a file only its owner can read) or from $BATON_MASTER_KEY, in that
 * order. The key itself never appears in a message or a log: errors name where it came from, and a key is
 * shown only by its id (a one-way derivation, see keyId in encryption.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { BatonError, errorSummary } from '../errors.js';

export const MASTER_KEY_VARIABLE = 'BATON_MASTER_KEY';
export const MASTER_KEY_OPTION = '--master-key-file';
export const KEY_BYTES = 32;

/** A parsed key: its bytes, and where it came from (for messages). Zero `bytes` when done with it. */
export interface KeyMaterial {
  bytes: Buffer;
  source: string;
}

const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** Strictly 32 bytes of base64; a key file may end with one newline. Malformed → KEY_INVALID naming only `source`. */
export function parseKey(text: string, source: string): KeyMaterial {
  const trimmed = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  const bytes = BASE64_KEY.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  // Re-encoding catches non-canonical last characters, which decode to the same bytes as another key text.
  if (!bytes || bytes.length !== KEY_BYTES || bytes.toString('base64') !== trimmed) {
    throw new BatonError('KEY_INVALID', `${source} is not a baton key: expected ${KEY_BYTES} random bytes in base64 (44 characters ending in =)`, {
      hint: 'make one with `baton keys generate --output FILE` (or `openssl rand -base64 32`)',
    });
  }
  return { bytes, source };
}

/** A new random key, as its text (base64). */
export function generateKeyText(): string {
  const bytes = randomBytes(KEY_BYTES);
  const text = bytes.toString('base64');
  bytes.fill(0);
  return text;
}

/**
 * Reads a file that holds a secret (a key, a passphrase). Refused when group or others may read or write it, like
 * ssh does with private keys: a secret in a world-readable file is not a secret.
 */
export async function readSecretFile(path: string, what: string): Promise<Buffer> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    throw new BatonError('KEY_INVALID', `cannot read the ${what} ${path}: ${errorSummary(error)}`, { hint: `check the path of the ${what}` });
  }
  if ((mode & 0o077) !== 0) {
    throw new BatonError('KEY_INVALID', `the ${what} ${path} is readable by others (mode ${(mode & 0o777).toString(8).padStart(3, '0')})`, {
      hint: `make it private with \`chmod 600 ${path}\``,
    });
  }
  try {
    return await readFile(path);
  } catch (error) {
    throw new BatonError('KEY_INVALID', `cannot read the ${what} ${path}: ${errorSummary(error)}`, { hint: `check the path of the ${what}` });
  }
}

export async function readKeyFile(path: string, what = 'key file'): Promise<KeyMaterial> {
  const content = await readSecretFile(path, what);
  try {
    return parseKey(content.toString('utf8'), `the ${what} ${path}`);
  } finally {
    content.fill(0);
  }
}

/**
 * The value of $BATON_MASTER_KEY, taken out of `env` so that nothing this process starts (a CLI run, an agent's
 * shell) inherits the key. The CLI calls this once, before anything else runs.
 */
let stashedEnvironmentKey: string | undefined;
export function takeMasterKeyFromEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  const value = env[MASTER_KEY_VARIABLE];
  if (value !== undefined) {
    stashedEnvironmentKey = value;
    delete env[MASTER_KEY_VARIABLE];
  }
}

/** The master key for opening a store: `--master-key-file`, else $BATON_MASTER_KEY; undefined when neither is given. */
export async function resolveMasterKey(options: { file?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Promise<KeyMaterial | undefined> {
  if (options.file !== undefined && options.file !== '') return readKeyFile(options.file, 'master key file');
  const text = env[MASTER_KEY_VARIABLE] ?? stashedEnvironmentKey;
  if (text === undefined || text === '') return undefined;
  return parseKey(text, `$${MASTER_KEY_VARIABLE}`);
}
