/**
 * Encrypted export files (`baton export --encrypt`): the plaintext export, sealed with AES-256-GCM under a key
 * derived from a passphrase (scrypt, parameters and salt recorded in the file) or from a key file (HKDF-SHA256
 * with a recorded salt). The header is the associated data: editing the parameters fails verification.
 * A wrong passphrase or key is told apart from nothing: GCM's tag fails, and the error says so in one line.
 */
import { createSecretKey, hkdfSync, randomBytes, scrypt as scryptCallback, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { BatonError } from '../errors.js';
import { openBytes, sealBytes } from './encryption.js';
import { readKeyFile, readSecretFile, type KeyMaterial } from './master-key.js';

export const ENCRYPTED_EXPORT_FORMAT = 'baton-conversation-encrypted';

/** scrypt with N = 2^17, r = 8: 128 MiB and about half a second here, per OWASP's minimum for scrypt and above. */
const SCRYPT = { N: 2 ** 17, r: 8, p: 1 };
const SCRYPT_MAX_MEMORY = 512 * 1024 * 1024;

export type ExportSecret = { kind: 'passphrase'; passphrase: Buffer; source: string } | { kind: 'key'; key: KeyMaterial };

function scrypt(password: BinaryLike, salt: BinaryLike, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** The passphrase file or key file a command was given (each must be 0600); undefined when neither. */
export async function readExportSecret(options: { passphraseFile?: string | undefined; keyFile?: string | undefined }): Promise<ExportSecret | undefined> {
  if (options.passphraseFile && options.keyFile) throw new BatonError('USAGE', 'give --passphrase-file or --key-file, not both', { hint: 'an export is encrypted with one of them' });
  if (options.keyFile) return { kind: 'key', key: await readKeyFile(options.keyFile) };
  if (!options.passphraseFile) return undefined;
  const content = await readSecretFile(options.passphraseFile, 'passphrase file');
  let end = content.length;
  if (end > 0 && content[end - 1] === 0x0a) end--;
  if (end > 0 && content[end - 1] === 0x0d) end--;
  const passphrase = Buffer.from(content.subarray(0, end));
  content.fill(0);
  if (passphrase.length < 8) throw new BatonError('KEY_INVALID', `the passphrase in ${options.passphraseFile} is shorter than 8 bytes`, { hint: 'use a long passphrase (or --key-file with a key from `baton keys generate`)' });
  return { kind: 'passphrase', passphrase, source: `the passphrase file ${options.passphraseFile}` };
}

type Kdf = { name: 'scrypt'; salt: string; N: number; r: number; p: number } | { name: 'hkdf-sha256'; salt: string };

async function deriveKey(secret: ExportSecret, kdf: Kdf): Promise<Buffer> {
  const salt = Buffer.from(kdf.salt, 'base64');
  if (kdf.name === 'scrypt') {
    if (secret.kind !== 'passphrase') throw wrongKind('a passphrase (--passphrase-file)');
    return scrypt(secret.passphrase, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: SCRYPT_MAX_MEMORY });
  }
  if (secret.kind !== 'key') throw wrongKind('a key file (--key-file)');
  return Buffer.from(hkdfSync('sha256', secret.key.bytes, salt, 'baton/v1/export', 32));
}

const wrongKind = (needed: string): BatonError => new BatonError('EXPORT_KEY_WRONG', `this export was encrypted with ${needed}`, { hint: `pass ${needed.replace(/.*\((.*)\)/, '$1')} FILE` });

export async function encryptExport(plaintext: string, secret: ExportSecret): Promise<string> {
  const salt = randomBytes(16).toString('base64');
  const kdf: Kdf = secret.kind === 'passphrase' ? { name: 'scrypt', salt, ...SCRYPT } : { name: 'hkdf-sha256', salt };
  const header = { format: ENCRYPTED_EXPORT_FORMAT, version: 1, cipher: 'aes-256-gcm', kdf };
  const raw = await deriveKey(secret, kdf);
  const key = createSecretKey(raw);
  raw.fill(0);
  const sealed = sealBytes(key, Buffer.from(plaintext, 'utf8'), JSON.stringify(header));
  return `${JSON.stringify({ ...header, data: sealed.toString('base64') })}\n`;
}

/** Whether `text` is an encrypted export (its first key says so; baton writes it first). */
export function isEncryptedExport(text: string): boolean {
  return text.startsWith(`{"format":"${ENCRYPTED_EXPORT_FORMAT}"`);
}

/** The plaintext export inside an encrypted one; EXPORT_KEY_MISSING without a secret, EXPORT_KEY_WRONG when it does not open. */
export async function decryptExport(text: string, secret: ExportSecret | undefined, source: string): Promise<string> {
  let parsed: { format?: unknown; version?: unknown; cipher?: unknown; kdf?: Record<string, unknown>; data?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new BatonError('IMPORT_INVALID', `${source} is not a valid encrypted baton export (not JSON)`, { hint: 'the file may be truncated; export it again' });
  }
  const kdf = parsed.kdf ?? {};
  const validKdf =
    typeof kdf.salt === 'string' &&
    ((kdf.name === 'scrypt' && Object.keys(kdf).length === 5 && [2 ** 14, 2 ** 15, 2 ** 16, 2 ** 17, 2 ** 18].includes(kdf.N as number) && kdf.r === 8 && Number.isInteger(kdf.p) && (kdf.p as number) >= 1 && (kdf.p as number) <= 4) ||
      (kdf.name === 'hkdf-sha256' && Object.keys(kdf).length === 2));
  if (parsed.format !== ENCRYPTED_EXPORT_FORMAT || parsed.version !== 1 || parsed.cipher !== 'aes-256-gcm' || !validKdf || typeof parsed.data !== 'string') {
    throw new BatonError('IMPORT_INVALID', `${source} is not a valid encrypted baton export (unknown version or parameters)`, { hint: 'it may be from a newer baton, or edited; export it again' });
  }
  if (!secret) {
    throw new BatonError('EXPORT_KEY_MISSING', `${source} is encrypted: pass ${kdf.name === 'scrypt' ? '--passphrase-file FILE' : '--key-file FILE'}`, { hint: 'use the passphrase or key file it was exported with' });
  }
  const header = { format: parsed.format, version: parsed.version, cipher: parsed.cipher, kdf };
  const raw = await deriveKey(secret, kdf as Kdf).catch((error: unknown) => {
    if (error instanceof BatonError) throw error;
    throw new BatonError('IMPORT_INVALID', `${source} asks for key derivation parameters baton does not accept`, { hint: 'export it again with `baton export --encrypt`' });
  });
  const key = createSecretKey(raw);
  raw.fill(0);
  const opened = openBytes(key, Buffer.from(parsed.data, 'base64'), JSON.stringify(header));
  if (!opened) {
    throw new BatonError('EXPORT_KEY_WRONG', `cannot decrypt ${source}: wrong ${secret.kind === 'passphrase' ? 'passphrase' : 'key'}, or the file was altered`, {
      hint: `check ${secret.kind === 'passphrase' ? '--passphrase-file' : '--key-file'}`,
    });
  }
  return opened.toString('utf8');
}

export function forgetExportSecret(secret: ExportSecret | undefined): void {
  if (secret?.kind === 'passphrase') secret.passphrase.fill(0);
  if (secret?.kind === 'key') secret.key.bytes.fill(0);
}
