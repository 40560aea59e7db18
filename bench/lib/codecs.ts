/**
 * Codec choice: zstd level 3 (what src/store/chunk-codec.ts writes) against brotli q4 (what it wrote before, and
 * still reads), gzip -6, brotli 5/6 and zstd 6, on a whole rollout and on the 10-line deltas that periodic saves
 * store, each chunk compressed on its own.
 */
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import { decodeChunk, encodeChunk } from '../../src/store/chunk-codec.js';
import { zstdForBench } from './zstd.js';
import { MB, median, round } from './stats.js';

export interface CodecResult {
  codec: string;
  ratio: number;
  compressMBps: number;
  decompressMBps: number;
  /** stored/raw when the same bytes are stored as 10-line deltas, each compressed alone. */
  deltaRatio: number;
}

interface Codec {
  name: string;
  compress: (bytes: Buffer) => Buffer;
  decompress: (bytes: Buffer) => Buffer;
}

const brotli = (quality: number): Codec => ({
  name: `brotli q${quality}`,
  compress: (bytes) =>
    brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }),
  decompress: (bytes) => brotliDecompressSync(bytes),
});

const zstd = (level: number): Codec => ({
  name: `zstd ${level}`,
  compress: (bytes) => zstdForBench().compress(bytes, level),
  decompress: (bytes) => decodeChunk({ codec: 'zstd', data: bytes }),
});

export const CODECS: Codec[] = [
  zstd(3),
  brotli(4),
  { name: 'gzip -6', compress: (bytes) => gzipSync(bytes, { level: 6 }), decompress: (bytes) => gunzipSync(bytes) },
  brotli(5),
  brotli(6),
  zstd(6),
];

export function splitDeltas(content: Buffer, linesPerDelta: number): Buffer[] {
  const deltas: Buffer[] = [];
  let offset = 0;
  while (offset < content.length) {
    let end = offset;
    for (let line = 0; line < linesPerDelta && end < content.length; line++) {
      const newline = content.indexOf(0x0a, end);
      end = newline === -1 ? content.length : newline + 1;
    }
    deltas.push(content.subarray(offset, end));
    offset = end;
  }
  return deltas;
}

export function benchCodecs(content: Buffer, reps: number): CodecResult[] {
  const deltas = splitDeltas(content, 10);
  const results: CodecResult[] = [];
  const compressTimes = new Map<string, number[]>(CODECS.map((codec) => [codec.name, []]));
  const decompressTimes = new Map<string, number[]>(CODECS.map((codec) => [codec.name, []]));
  const sizes = new Map<string, number>();
  // Interleave the codecs round by round, so a noisy moment hits all of them alike.
  for (let round = 0; round < reps; round++) {
    for (const codec of CODECS) {
      let start = process.hrtime.bigint();
      const compressed = codec.compress(content);
      compressTimes.get(codec.name)!.push(Number(process.hrtime.bigint() - start) / 1e6);
      start = process.hrtime.bigint();
      const restored = codec.decompress(compressed);
      decompressTimes.get(codec.name)!.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (round === 0 && !restored.equals(content)) throw new Error(`bench: ${codec.name} did not round-trip`);
      sizes.set(codec.name, compressed.length);
    }
  }
  for (const codec of CODECS) {
    let deltaBytes = 0;
    for (const delta of deltas) deltaBytes += Math.min(delta.length, codec.compress(delta).length);
    const mb = content.length / MB;
    results.push({
      codec: codec.name,
      ratio: round(sizes.get(codec.name)! / content.length, 4),
      compressMBps: round(mb / (median(compressTimes.get(codec.name)!) / 1000), 1),
      decompressMBps: round(mb / (median(decompressTimes.get(codec.name)!) / 1000), 1),
      deltaRatio: round(deltaBytes / content.length, 4),
    });
  }
  return results;
}

/** stored/raw with baton's own chunk encoder (zstd 3, or raw when that is smaller). */
export function chunkRatio(content: Buffer): number {
  return round(encodeChunk(content).data.length / content.length, 4);
}
