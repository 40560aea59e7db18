/**
 * A scripted model that fails when the prompt says so, and otherwise answers as `fallback` does: `FAIL 401`,
 * `FAIL 429`, `FAIL DISCONNECT` fail the turn so (src/testing/scripted-failures.ts); `HANG` never answers (its
 * stream starts, then nothing for ten minutes).
 */
import type { Script } from '../../src/testing/scripted-model-server.js';
import { testScript } from './world.js';

export function withFailures(fallback: Script = testScript): Script {
  return (request, index) => {
    const prompt = request.lastIsToolOutput ? '' : (request.prompt ?? '');
    if (prompt.includes('FAIL 401')) return { kind: 'error', status: 401 };
    if (prompt.includes('FAIL 429')) return { kind: 'error', status: 429 };
    if (prompt.includes('FAIL DISCONNECT')) return { kind: 'disconnect' };
    if (prompt.includes('HANG')) return { kind: 'text', text: 'never sent', delayMs: 600_000 };
    return fallback(request, index);
  };
}
