/**
 * Bodies in object storage: a full save, a periodic save of 10 lines, a resume fetch (loadTranscript: read
 * and verify) and a whole resume (open + streamed rehydrate into a fresh home, as launch does) of one transcript, on a SQLite store with
 * bodies inline and on one with bodies in S3 (s3rver on loopback, its own process), side by side: the same
 * session, alternating order, the median of `reps` rounds each. s3rver is a small Node server writing files:
 * a real S3 or MinIO answers from elsewhere, with more latency per request and more throughput per connection.
 */
import { appendFile, mkdtemp, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TranscriptSaver } from '../../src/run/saver.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { DEFAULT_INLINE_BELOW_BYTES } from '../../src/store/sql/object-bodies.js';
import type { S3Server } from '../../test/helpers/s3-server.js';
import type { BenchSession } from './sessions.js';
import { settle, summarise, timed, type Samples } from './stats.js';
import { newConversation, storedEnvelopeOf } from './storage.js';

/** Inline bodies; bodies in S3 as `--blobs` keeps them (small ones stay in the rows); every body in S3 (`?inline-below=0`). */
type Mode = 'inline' | 's3' | 's3All';
interface ModeSamples {
  save: Samples;
  delta: Samples;
  fetch: Samples;
  resume: Samples;
}

export interface ObjectStorageResult {
  label: string;
  rawBytes: number;
  inline: ModeSamples;
  s3: ModeSamples;
  s3All: ModeSamples;
  /** s3 / inline and s3All / inline, of the medians. */
  ratios: { save: number; delta: number; fetch: number; resume: number };
  ratiosAll: { save: number; delta: number; fetch: number; resume: number };
}

export async function benchObjectStorage(options: { label: string; session: BenchSession; s3: S3Server; workDir: string; reps: number; log: (line: string) => void }): Promise<ObjectStorageResult> {
  const { session, reps } = options;
  const root = await mkdtemp(join(options.workDir, 'object-storage-'));
  try {
    const cwd = await realpath(await mkdtemp(join(root, 'project-')));
    const stores: Record<Mode, Store> = {
      inline: await openSqliteStore(join(root, 'inline.db')),
      s3: await openSqliteStore(join(root, 's3.db'), { chunkBodies: await options.s3.bodies(undefined, { inlineBelowBytes: DEFAULT_INLINE_BELOW_BYTES }) }),
      s3All: await openSqliteStore(join(root, 's3-all.db'), { chunkBodies: await options.s3.bodies(undefined, { inlineBelowBytes: 0 }) }),
    };
    const samples: Record<Mode, Record<keyof ModeSamples, number[]>> = {
      inline: { save: [], delta: [], fetch: [], resume: [] },
      s3: { save: [], delta: [], fetch: [], resume: [] },
      s3All: { save: [], delta: [], fetch: [], resume: [] },
    };
    const meta = (bytes: Buffer) => session.meta(bytes);
    for (let round = -1; round < reps; round++) {
      // Alternating which goes first: neither always inherits the other's page cache and writeback.
      const order: Mode[] = round % 2 === 0 ? ['inline', 's3', 's3All'] : ['s3All', 's3', 'inline'];
      for (const mode of order) {
        const store = stores[mode];
        // A fresh copy of the session each time: the periodic save below grows it.
        const source = await session.placeSource(join(root, `cli-home-${round + 1}-${mode}`), cwd);
        const files = [{ key: 'main', path: source }];
        const conversation = await newConversation(store, session, cwd);
        const saver = new TranscriptSaver({ store, ...conversation });
        settle();
        const save = await timed(() => saver.save(files, { final: false, meta }));
        if (save.value.bytesSaved !== session.content.length) throw new Error(`bench: the ${mode} save stored ${save.value.bytesSaved} of ${session.content.length} bytes`);
        // A periodic save: 10 new lines appended to the session, then saved as a delta.
        const grown = session.more(10);
        await appendFile(source, grown.bytes);
        const delta = await timed(() => saver.save(files, { final: false, meta }));
        if (delta.value.newVersions.length > 0) throw new Error('bench: the periodic save did not append');
        settle();
        const fetch = await timed(() => store.loadTranscript(conversation.conversationId));
        if (!fetch.value?.files[0]?.content.length) throw new Error('bench: nothing fetched');
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
          samples[mode].delta.push(delta.ms);
          samples[mode].fetch.push(fetch.ms);
          samples[mode].resume.push(resume.ms);
        }
      }
      if (round >= 0) options.log(`  object storage ${options.label} round ${round + 1}/${reps}`);
    }
    for (const store of Object.values(stores)) await store.close();
    const summary = (mode: Mode): ModeSamples => ({ save: summarise(samples[mode].save), delta: summarise(samples[mode].delta), fetch: summarise(samples[mode].fetch), resume: summarise(samples[mode].resume) });
    const inline = summary('inline');
    const s3 = summary('s3');
    const s3All = summary('s3All');
    const ratio = (of: ModeSamples) => ({ save: of.save.median / inline.save.median, delta: of.delta.median / inline.delta.median, fetch: of.fetch.median / inline.fetch.median, resume: of.resume.median / inline.resume.median });
    return {
      label: options.label,
      rawBytes: session.content.length,
      inline,
      s3,
      s3All,
      ratios: ratio(s3),
      ratiosAll: ratio(s3All),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
