/**
 * Encryption at rest: a full save and a resume (load + verify + rehydrate into a fresh home) of one transcript,
 * on a plaintext SQLite store and on an encrypted one, side by side: the same session, alternating order, the
 * median of `reps` rounds each. The ratio is what turning encryption on costs.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TranscriptSaver } from '../../src/run/saver.js';
import { generateKeyText, parseKey } from '../../src/store/master-key.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { BenchSession } from './sessions.js';
import { settle, summarise, timed, type Samples } from './stats.js';
import { newConversation, storedEnvelopeOf } from './storage.js';

export interface EncryptionResult {
  label: string;
  rawBytes: number;
  plaintext: { save: Samples; resume: Samples };
  encrypted: { save: Samples; resume: Samples };
  /** encrypted / plaintext, of the medians. */
  saveRatio: number;
  resumeRatio: number;
}

export async function benchEncryption(options: { label: string; session: BenchSession; workDir: string; reps: number; log: (line: string) => void }): Promise<EncryptionResult> {
  const { session, reps } = options;
  const root = await mkdtemp(join(options.workDir, 'encryption-'));
  try {
    const cwd = await realpath(await mkdtemp(join(root, 'project-')));
    const source = await session.placeSource(join(root, 'cli-home'), cwd);
    const stores: Record<'plaintext' | 'encrypted', Store> = {
      plaintext: await openSqliteStore(join(root, 'plaintext.db')),
      encrypted: await openSqliteStore(join(root, 'encrypted.db'), { masterKey: parseKey(generateKeyText(), 'bench key') }),
    };
    const samples = { plaintext: { save: [] as number[], resume: [] as number[] }, encrypted: { save: [] as number[], resume: [] as number[] } };
    const files = [{ key: 'main', path: source }];
    const meta = (bytes: Buffer) => session.meta(bytes);
    for (let round = -1; round < reps; round++) {
      // Alternating which goes first: neither always inherits the other's page cache and writeback.
      const order = round % 2 === 0 ? (['plaintext', 'encrypted'] as const) : (['encrypted', 'plaintext'] as const);
      for (const mode of order) {
        const store = stores[mode];
        const conversation = await newConversation(store, session, cwd);
        const saver = new TranscriptSaver({ store, ...conversation });
        settle();
        const save = await timed(() => saver.save(files, { final: false, meta }));
        if (save.value.bytesSaved !== session.content.length) throw new Error(`bench: the ${mode} save stored ${save.value.bytesSaved} of ${session.content.length} bytes`);
        const home = await mkdtemp(join(root, 'home-'));
        settle();
        // As launch does it: opened, and each file streamed where the CLI reads it.
        const resume = await timed(async () => {
          const opened = await store.openTranscript(conversation.conversationId);
          if (!opened) throw new Error('bench: nothing opened');
          return session.harnessRehydrate(storedEnvelopeOf(session, opened), home, cwd);
        });
        await rm(home, { recursive: true, force: true });
        await store.finishRun(conversation.runId, { status: 'succeeded', exitCode: 0, error: undefined });
        await store.deleteConversation(conversation.conversationId);
        if (round >= 0) {
          samples[mode].save.push(save.ms);
          samples[mode].resume.push(resume.ms);
        }
      }
      if (round >= 0) options.log(`  encryption ${options.label} round ${round + 1}/${reps}`);
    }
    for (const store of Object.values(stores)) await store.close();
    const plaintext = { save: summarise(samples.plaintext.save), resume: summarise(samples.plaintext.resume) };
    const encrypted = { save: summarise(samples.encrypted.save), resume: summarise(samples.encrypted.resume) };
    return {
      label: options.label,
      rawBytes: session.content.length,
      plaintext,
      encrypted,
      saveRatio: encrypted.save.median / plaintext.save.median,
      resumeRatio: encrypted.resume.median / plaintext.resume.median,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
