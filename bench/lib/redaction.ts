/**
 * Redaction: what it costs a save. A full save of one transcript with the redactor (credential variables and
 * secretlint's rules) and without it, side by side on one SQLite store, alternating order, the median of `reps`
 * rounds; then, after each, a periodic save of 10 new lines on top of the whole transcript — which must cost a
 * small fraction of the full save (redaction is per line, so only the 10 lines are read), beside the same delta
 * saved byte for byte.
 */
import { appendFile, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRedactor, noRedaction, type Redactor } from '../../src/redact/redactor.js';
import { TranscriptSaver } from '../../src/run/saver.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { BenchSession } from './sessions.js';
import { settle, summarise, timed, type Samples } from './stats.js';
import { newConversation } from './storage.js';

export interface RedactionResult {
  label: string;
  rawBytes: number;
  plain: { save: Samples; delta: Samples };
  redacted: { save: Samples; delta: Samples };
  /** redacted / plain full save, of the medians. */
  saveRatio: number;
  /** a 10-line redacted delta / a redacted full save, of the medians. */
  deltaShare: number;
}

export async function benchRedaction(options: { label: string; session: BenchSession; workDir: string; reps: number }): Promise<RedactionResult> {
  const { session, reps } = options;
  const root = await mkdtemp(join(options.workDir, 'redaction-'));
  try {
    const cwd = await realpath(await mkdtemp(join(root, 'project-')));
    const source = await session.placeSource(join(root, 'cli-home'), cwd);
    const store = await openSqliteStore(join(root, 'store.db'));
    // What a run's redactor holds: a few credential variables of a developer's shell.
    const redactor = createRedactor([
      { name: 'OPENAI_API_KEY', value: 'sk-bench-0123456789abcdefghijklmnop' },
      { name: 'ANTHROPIC_API_KEY', value: 'sk-ant-bench-0123456789abcdefghijklmnop' },
      { name: 'GH_TOKEN', value: 'ghp_bench0123456789abcdefghijklmnopqrstuv' },
    ]);
    const meta = (bytes: Buffer) => session.meta(bytes);
    const files = [{ key: 'main', path: source }];
    const samples = { plain: { save: [] as number[], delta: [] as number[] }, redacted: { save: [] as number[], delta: [] as number[] } };
    const more = session.more(10).bytes;
    for (let round = -1; round < reps; round++) {
      const order: Array<['plain' | 'redacted', Redactor]> = round % 2 === 0 ? [['plain', noRedaction], ['redacted', redactor]] : [['redacted', redactor], ['plain', noRedaction]];
      for (const [mode, using] of order) {
        await writeFile(source, session.content);
        const conversation = await newConversation(store, session, cwd);
        const saver = new TranscriptSaver({ store, ...conversation, redactor: using });
        settle();
        const save = await timed(() => saver.save(files, { final: false, meta }));
        if (save.value.bytesSaved < session.content.length * 0.99) throw new Error(`bench: the ${mode} save stored ${save.value.bytesSaved} of ${session.content.length} bytes`);
        await appendFile(source, more);
        settle();
        const delta = await timed(() => saver.save(files, { final: false, meta }));
        if (delta.value.newVersions.length > 0 || delta.value.bytesSaved === 0) throw new Error(`bench: the ${mode} 10-line delta was not appended`);
        if (round >= 0) {
          samples[mode].save.push(save.ms);
          samples[mode].delta.push(delta.ms);
        }
        await store.finishRun(conversation.runId, { status: 'succeeded', exitCode: 0, error: undefined });
        await store.deleteConversation(conversation.conversationId);
      }
    }
    await store.close();
    const plain = { save: summarise(samples.plain.save), delta: summarise(samples.plain.delta) };
    const redacted = { save: summarise(samples.redacted.save), delta: summarise(samples.redacted.delta) };
    return {
      label: options.label,
      rawBytes: session.content.length,
      plain,
      redacted,
      saveRatio: redacted.save.median / plain.save.median,
      deltaShare: redacted.delta.median / redacted.save.median,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
