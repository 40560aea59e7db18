/**
 * Storage figures for one synthetic rollout size, with baton's real code: a full save through TranscriptSaver
 * into a fresh SQLite store, stored/raw bytes, resume-side load + verify + rehydrate against copying the same
 * file, and a periodic save of 10 new lines against a full save.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { appendFile, copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { codexHarness } from '../../src/harness/codex/harness.js';
import { readRolloutMeta, rehydrateRollout } from '../../src/harness/codex/transcript.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import { TranscriptSaver } from '../../src/run/saver.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { Envelope } from '../../src/transcript/envelope.js';
import { countLines } from '../../src/transcript/jsonl.js';
import { median, seededRandom, settle, summarise, timed, type Samples } from './stats.js';
import { nextLines, type RolloutSynth } from './synth.js';

export interface StorageResult {
  label: string;
  rawBytes: number;
  lines: number;
  /** Sum of the `data` lengths in transcript_chunks after one full save. */
  chunkBytes: number;
  /** page_count * page_size of the database after that save (WAL checkpointed). */
  dbBytes: number;
  resume: Samples; // loadTranscript (verifies) + codex rehydrate into a fresh CODEX_HOME
  load: Samples;
  /** Where load time goes, each step alone on the stored chunk: blob read, brotli decode, sha256, line count. */
  loadParts: { read: Samples; decode: Samples; sha256: Samples; countLines: Samples };
  rehydrate: Samples;
  cpSpawn: Samples;
  copyFile: Samples;
  copyFileFsync: Samples;
  periodicSave: Samples;
  periodicRawBytes: number[];
  periodicStoredBytes: number[];
  fullSave: Samples;
  fullSaveRawBytes: number;
  fullSaveStoredBytes: number;
}

const META = (sessionId: string) => (content: Buffer) => readRolloutMeta(content, sessionId);

async function newConversation(store: Store, sessionId: string, cwd: string): Promise<{ conversationId: string; runId: string }> {
  const conversation = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 'bench', cwd });
  await store.setSessionId(conversation.id, sessionId);
  const run = await store.startRun({ conversationId: conversation.id, runId: newRunId(), kind: 'new', prompt: 'bench', host: 'bench', cwd, leaseMs: 600_000 });
  return { conversationId: conversation.id, runId: run.id };
}

function spawnCp(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('cp', [from, to], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cp exited with ${code}`))));
  });
}

async function copyAndSync(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const handle = await open(to, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface Rollout {
  content: Buffer;
  lineCount: number;
  synth: RolloutSynth;
}

export interface StorageOptions {
  label: string;
  rollout: Rollout;
  workDir: string;
  reps: number;
  periodicReps: number;
  fullSaveReps: number;
  log: (message: string) => void;
}

export async function benchStorage(options: StorageOptions): Promise<StorageResult> {
  const { workDir, reps, log } = options;
  const root = await mkdtemp(join(workDir, `${options.label}-`));
  const { content, lineCount, synth } = options.rollout;
  const sessionId = synth.sessionId;
  // Where the CLI wrote it: the source of every copy and every save.
  const source = join(root, 'cli-home', 'sessions', '2026', '11', '20', synth.fileName());
  await mkdir(join(source, '..'), { recursive: true });
  await writeFile(source, content);
  const cwd = join(root, 'project');
  await mkdir(cwd, { recursive: true });
  const dbPath = join(root, 'store.db');
  const store = await openSqliteStore(dbPath);
  const raw = new Sqlite(dbPath);
  try {
    const files = [{ key: 'main', path: source }];
    const first = await newConversation(store, sessionId, cwd);
    const saver = new TranscriptSaver({ store, ...first });
    const firstSave = await timed(() => saver.save(files, { final: false, meta: META(sessionId) }));
    if (firstSave.value.bytesSaved !== content.length) throw new Error(`bench: the full save stored ${firstSave.value.bytesSaved} of ${content.length} bytes`);

    // Stored size: nothing else is in this store yet.
    raw.pragma('wal_checkpoint(TRUNCATE)');
    const chunkBytes = Number((raw.prepare('SELECT coalesce(sum(length(data)), 0) AS n FROM transcript_chunks').get() as { n: number }).n);
    const pageCount = Number(raw.pragma('page_count', { simple: true }));
    const pageSize = Number(raw.pragma('page_size', { simple: true }));

    // Resume (load + verify + rehydrate) vs copying the file.
    const homes = join(root, 'homes');
    await mkdir(homes, { recursive: true });
    const samples: Record<'resume' | 'load' | 'rehydrate' | 'cpSpawn' | 'copyFile' | 'copyFileFsync', number[]> = {
      resume: [],
      load: [],
      rehydrate: [],
      cpSpawn: [],
      copyFile: [],
      copyFileFsync: [],
    };
    const loaded = await store.loadTranscript(first.conversationId);
    if (!loaded) throw new Error('bench: nothing loaded');
    const envelopeOf = (stored: NonNullable<typeof loaded>): Envelope => ({
      harness: 'codex',
      sessionId,
      meta: stored.meta ?? { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined },
      files: stored.files,
    });
    const preloaded = envelopeOf(loaded);
    const operations: Array<[keyof typeof samples, (home: string) => Promise<string | undefined>]> = [
      [
        'resume',
        async (home) => {
          const stored = await store.loadTranscript(first.conversationId);
          if (!stored) throw new Error('bench: nothing loaded');
          const location = await codexHarness.rehydrate(envelopeOf(stored), { home, cwd, env: { ...process.env, CODEX_HOME: home } });
          return location.files[0]!.path;
        },
      ],
      [
        'load',
        async () => {
          await store.loadTranscript(first.conversationId);
          return undefined;
        },
      ],
      ['rehydrate', async (home) => (await rehydrateRollout(preloaded, home)).files[0]!.path],
      ['cpSpawn', async (home) => spawnCp(source, join(home, 'copy.jsonl')).then(() => join(home, 'copy.jsonl'))],
      ['copyFile', async (home) => copyFile(source, join(home, 'copy.jsonl')).then(() => join(home, 'copy.jsonl'))],
      ['copyFileFsync', async (home) => copyAndSync(source, join(home, 'copy.jsonl')).then(() => join(home, 'copy.jsonl'))],
    ];
    // One untimed warm-up of each, then `reps` rounds, each in a fresh random order (the machine is noisy, and
    // a fixed order would hand every operation the same predecessor). After each operation its output is
    // removed and `sync` flushes the disk, so no operation pays for the previous one's writeback or discards.
    const shuffle = seededRandom(options.label.length * 7919 + reps);
    for (let round = -1; round < reps; round++) {
      const order = operations.map((operation) => ({ operation, key: shuffle() })).sort((a, b) => a.key - b.key);
      for (const { operation: [name, operation] } of order) {
        const home = await mkdtemp(join(homes, 'h-'));
        settle();
        const { ms, value: written } = await timed(() => operation(home));
        if (round >= 0) samples[name].push(ms);
        if (round === -1 && written !== undefined && !(await readFile(written)).equals(content)) throw new Error(`bench: ${name} wrote different bytes`);
        await rm(home, { recursive: true, force: true });
        spawnSync('sync');
      }
    }
    // Load, step by step.
    const parts = { read: [] as number[], decode: [] as number[], sha256: [] as number[], countLines: [] as number[] };
    const selectData = raw.prepare('SELECT data FROM transcript_chunks WHERE version_id = ? ORDER BY sequence');
    const firstVersion = loaded.files[0]!.cursor.versionId;
    for (let round = 0; round < reps; round++) {
      const read = await timed(() => (selectData.all(firstVersion) as Array<{ data: Buffer }>).map((row) => row.data));
      const decoded = await timed(() => read.value.map((data) => brotliDecompressSync(data)));
      const hashed = await timed(() => createHash('sha256').update(decoded.value[0]!).digest('hex'));
      const counted = await timed(() => countLines(decoded.value[0]!));
      if (hashed.value !== loaded.files[0]!.sha256 || counted.value !== loaded.files[0]!.lineCount) throw new Error('bench: load steps disagree with the store');
      parts.read.push(read.ms);
      parts.decode.push(decoded.ms);
      parts.sha256.push(hashed.ms);
      parts.countLines.push(counted.ms);
    }
    log(`  ${options.label}: resume ${median(samples.resume).toFixed(1)} ms, cp ${median(samples.cpSpawn).toFixed(1)} ms`);

    // Periodic saves of 10 new lines after the full save.
    const periodic: number[] = [];
    const periodicRaw: number[] = [];
    const periodicStored: number[] = [];
    const lastChunk = raw.prepare('SELECT length(data) AS n, byte_length AS raw FROM transcript_chunks WHERE version_id = ? ORDER BY sequence DESC LIMIT 1');
    const versionId = (await store.loadTranscript(first.conversationId))!.files[0]!.cursor.versionId;
    for (let round = -1; round < options.periodicReps; round++) {
      await appendFile(source, nextLines(synth, 10));
      const { ms, value } = await timed(() => saver.save(files, { final: false, meta: META(sessionId) }));
      const chunk = lastChunk.get(versionId) as { n: number; raw: number };
      if (chunk.raw !== value.bytesSaved || value.newVersions.length > 0) throw new Error('bench: the periodic save did not append one chunk');
      if (round < 0) continue;
      periodic.push(ms);
      periodicRaw.push(value.bytesSaved);
      periodicStored.push(chunk.n);
    }

    // Full saves of the whole (now slightly longer) file into fresh conversations.
    const full: number[] = [firstSave.ms];
    const wholeFile = await readFile(source);
    let fullStored = 0;
    for (let round = 1; round < options.fullSaveReps; round++) {
      const target = await newConversation(store, sessionId, cwd);
      const fresh = new TranscriptSaver({ store, ...target });
      const { ms, value } = await timed(() => fresh.save(files, { final: false, meta: META(sessionId) }));
      if (value.bytesSaved !== wholeFile.length) throw new Error('bench: the full save did not store the whole file');
      full.push(ms);
      const stored = await store.loadTranscript(target.conversationId);
      fullStored = (lastChunk.get(stored!.files[0]!.cursor.versionId) as { n: number }).n;
    }

    return {
      label: options.label,
      rawBytes: content.length,
      lines: lineCount,
      chunkBytes,
      dbBytes: pageCount * pageSize,
      resume: summarise(samples.resume),
      load: summarise(samples.load),
      loadParts: { read: summarise(parts.read), decode: summarise(parts.decode), sha256: summarise(parts.sha256), countLines: summarise(parts.countLines) },
      rehydrate: summarise(samples.rehydrate),
      cpSpawn: summarise(samples.cpSpawn),
      copyFile: summarise(samples.copyFile),
      copyFileFsync: summarise(samples.copyFileFsync),
      periodicSave: summarise(periodic),
      periodicRawBytes: periodicRaw,
      periodicStoredBytes: periodicStored,
      fullSave: summarise(full),
      fullSaveRawBytes: wholeFile.length,
      fullSaveStoredBytes: fullStored,
    };
  } finally {
    raw.close();
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The store a real run leaves: the rollout saved as it grows, 10 lines per periodic save, so most chunks are
 * small and each is compressed on its own.
 */
export async function benchIncrementalStorage(options: { rollout: Rollout; workDir: string; linesPerSave: number }): Promise<{ rawBytes: number; saves: number; chunkBytes: number; dbBytes: number; msPerSave: number }> {
  const root = await mkdtemp(join(options.workDir, 'incremental-'));
  const { content, synth } = options.rollout;
  const sessionId = synth.sessionId;
  const source = join(root, synth.fileName());
  await writeFile(source, '');
  const dbPath = join(root, 'store.db');
  const store = await openSqliteStore(dbPath);
  try {
    const target = await newConversation(store, sessionId, root);
    const saver = new TranscriptSaver({ store, ...target });
    const files = [{ key: 'main', path: source }];
    let offset = 0;
    let saves = 0;
    let saveMs = 0;
    while (offset < content.length) {
      let end = offset;
      for (let line = 0; line < options.linesPerSave && end < content.length; line++) end = content.indexOf(0x0a, end) + 1;
      await appendFile(source, content.subarray(offset, end));
      offset = end;
      saveMs += (await timed(() => saver.save(files, { final: false, meta: META(sessionId) }))).ms;
      saves++;
    }
    const stored = await store.loadTranscript(target.conversationId);
    if (!stored?.files[0]?.content.equals(content)) throw new Error('bench: incremental saves did not store the file');
    await store.close();
    const raw = new Sqlite(dbPath);
    try {
      raw.pragma('wal_checkpoint(TRUNCATE)');
      const chunkBytes = Number((raw.prepare('SELECT sum(length(data)) AS n FROM transcript_chunks').get() as { n: number }).n);
      const dbBytes = Number(raw.pragma('page_count', { simple: true })) * Number(raw.pragma('page_size', { simple: true }));
      return { rawBytes: content.length, saves, chunkBytes, dbBytes, msPerSave: saveMs / saves };
    } finally {
      raw.close();
    }
  } finally {
    await store.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
