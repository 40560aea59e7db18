/** Transcript chunk and workspace blob bodies as stored: compressed, then sealed in an encrypted store. */
import { isChunkCodec, type EncodedChunk } from '../chunk-codec.js';
import { SEALED_CODEC_SUFFIX, type RowCipher } from '../encryption.js';

/** A workspace blob stored earlier for the same conversation: `data` holds that snapshot's id. */
export const BLOB_REFERENCE = 'ref';

/** A compressed body as stored: sealed after compression in an encrypted store (codec `br+gcm`, `none+gcm`). */
export function sealBody(cipher: RowCipher, encoded: EncodedChunk, associatedData: string): { codec: string; data: Buffer } {
  return cipher.encrypted ? { codec: `${encoded.codec}${SEALED_CODEC_SUFFIX}`, data: cipher.sealBytes(associatedData, encoded.data) } : encoded;
}

/**
 * The compressed body of a stored chunk or blob; undefined when its codec is unknown or it fails verification.
 * A sealed body in a plaintext store, or a plain one in an encrypted store, is refused: a store never mixes.
 */
export function openBody(cipher: RowCipher, codec: string, data: Buffer, associatedData: string): EncodedChunk | undefined {
  const sealed = codec.endsWith(SEALED_CODEC_SUFFIX);
  const compression = sealed ? codec.slice(0, -SEALED_CODEC_SUFFIX.length) : codec;
  if (!isChunkCodec(compression) || sealed !== cipher.encrypted) return undefined;
  const opened = sealed ? cipher.openBytes(associatedData, data) : data;
  return opened ? { codec: compression, data: opened } : undefined;
}

/** Why a body does not open, for messages: a sealed one in a plaintext store names the missing key. */
export function bodyProblem(cipher: RowCipher, codec: string): string {
  if (codec.endsWith(SEALED_CODEC_SUFFIX) && !cipher.encrypted) return 'is encrypted, and this store was opened as a plaintext store';
  if (!codec.endsWith(SEALED_CODEC_SUFFIX) && cipher.encrypted) return 'is not encrypted, in an encrypted store';
  return isChunkCodec(codec.replace(SEALED_CODEC_SUFFIX, '')) ? 'fails verification (altered, or moved from another row)' : `has unknown codec ${quotedCodec(codec)}`;
}

const quotedCodec = (codec: string): string => JSON.stringify(codec.slice(0, 40));
