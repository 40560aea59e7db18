/** zstd-napi's binding at any level, for the codec comparison (src/store/chunk-codec.ts writes level 3 only). */
import { createRequire } from 'node:module';

interface Binding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  compressBound(size: number): number;
}

let loaded: { compress(bytes: Buffer, level: number): Buffer } | undefined;

export function zstdForBench(): { compress(bytes: Buffer, level: number): Buffer } {
  if (!loaded) {
    const binding = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
    const cctx = new binding.CCtx();
    loaded = {
      compress: (bytes, level) => {
        const out = Buffer.allocUnsafe(binding.compressBound(bytes.length));
        return Buffer.from(out.subarray(0, cctx.compress(out, bytes, level)));
      },
    };
  }
  return loaded;
}
