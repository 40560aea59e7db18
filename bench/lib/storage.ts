/**
 * Storage figures for one synthetic session (any harness's, bench/lib/sessions.ts) of one size, with baton's real
 * code: a full save through TranscriptSaver into a fresh SQLite store, stored/raw bytes, resume-side
 * load + verify + rehydrate against copying the same file, and a periodic save of 10 new lines against a full
 * save, with what a run does around each save (harness.locateTranscript; OpenCode: updateLog, `opencode export`);
 * and the store a whole run leaves (10-line deltas, then the final save that compacts them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliDecompress } from 'node:zlib';
import Sqlite from 'better-sqlite3';
import { writePrivateFileAtomic } from '../../src/fs/private-files.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import { TranscriptSaver } from '../../src/run/saver.js';
import { decodeChunk, decodeChunkInto, encodeChunk, isChunkCodec } from '../../src/store/chunk-codec.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { OpenedTranscript, Store, StoredTranscript } from '../../src/store/store.js';
import type { Envelope } from '../../src/transcript/envelope.js';
import type { StoredEnvelope } from '../../src/transcript/file-reader.js';
import { countLines } from '../../src/transcript/jsonl.js';
import type { BenchSession } from './sessions.js';
import { median, seededRandom, settle, summarise, timed, type Samples } from './stats.js';

const brotliDecompressAsync = promisify(brotliDecompress);

export interface StorageResult {
  harness: string;
  label: string;
  rawBytes: number;
  lines: number;
  /** Sum of the `data` lengths in transcript_chunks after one full save, and how many chunks. */
  chunkBytes: number;
  chunks: number;
  /** page_count * page_size of the database after that save (WAL checkpointed). */
  dbBytes: number;
  /** The same for a store that holds only one conversation and run, no transcript: the fixed part of dbBytes. */
  emptyDbBytes: number;
  /** What launch does: store.openTranscript, harness.rehydrate into a fresh CLI home (streamed), the saver's start. */
  resume: Samples;
  /** loadTranscript: the whole transcript in one buffer, verified (what resumes did before streaming; export, view). */
  load: Samples;
  /** The resume as it was before streaming, side by side: loadTranscript, then harness.rehydrate of the whole content. */
  resumeWhole: Samples;
  /**
   * CPU time of this process (every thread: the writes run on the thread pool), ms: less swayed by other processes
   * than the wall time on a busy machine. `cp` runs in a child, so fs.copyFile stands for the copy.
   */
  cpu: { resume: Samples; resumeWhole: Samples; copyFile: Samples };
  /** store.openTranscript alone: the rows, bodies still compressed. */
  open: Samples;
  /** openTranscript + reading every file as a stream with nothing written: decode and verify. */
  stream: Samples;
  /**
   * After such a stream: its sha256 chain re-checked, which a stream of checksummed chunks leaves until the resumed
   * saver first asks for its hash (its first save, once the CLI runs); 0 where the stream checked it itself.
   */
  deferredProof: Samples;
  /**
   * Where load time goes, each step alone on the stored chunks, as loadTranscript does it: read the blobs, decode
   * them in order into one buffer (`decode`), hash, count lines. For comparison, the same pieces compressed with
   * brotli q4 (what baton wrote before zstd) decoded the way it loaded them: in parallel on the thread pool, with an
   * output chunkSize of the whole chunk, then joined (`decodeBrotli`).
   */
  loadParts: { read: Samples; decode: Samples; decodeBrotli: Samples; sha256: Samples; lines: Samples };
  /** Undefined where the transcript module's rehydrate is harness.rehydrate (OpenCode). */
  rehydrate: Samples | undefined;
  /** The rehydrate's file write alone (writePrivateFileAtomic, no fsync), and harness-specific steps. */
  rehydrateParts: Record<string, Samples>;
  /** How many resumes were timed (fewer where a rehydrate runs the CLI). */
  resumeReps: number;
  /** The CLI's own chores within each resume (OpenCode: `opencode import`), timed by a PATH shim. */
  resumeChores: Record<string, Samples>;
  /** What the harness measured after a resume (OpenCode: `opencode export` of the imported session, baton's save path). */
  afterResume: Record<string, number | string | boolean> | undefined;
  cpSpawn: Samples;
  copyFile: Samples;
  periodicSave: Samples;
  /** The store's appendTranscript within each periodic save (compress + SQLite transaction). */
  periodicAppend: Samples;
  /** harness.locateTranscript before each periodic save (undefined where it needs the CLI's database: OpenCode). */
  locate: Samples | undefined;
  /** baton's own work before each periodic save reads the file (OpenCode: updateLog). */
  periodicSteps: Record<string, Samples>;
  /** The same before the full save (OpenCode: exportToLog), timed once. */
  fullSaveSteps: Record<string, number>;
  periodicRawBytes: number[];
  periodicStoredBytes: number[];
  fullSave: Samples;
  fullSaveRawBytes: number;
  fullSaveStoredBytes: number;
}

export async function newConversation(store: Store, session: BenchSession, cwd: string): Promise<{ conversationId: string; runId: string }> {
  const conversation = await store.createConversation({ id: newConversationId(), harness: session.harness, title: 'bench', cwd });
  await store.setSessionId(conversation.id, session.sessionId);
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

/** A store whose appendTranscript is timed (the rest of a save is the saver's own file reads and checks). */
function timingStore(store: Store): { store: Store; appendMs: number[] } {
  const appendMs: number[] = [];
  const wrapped = Object.create(store) as Store;
  wrapped.appendTranscript = async (input) => {
    const { ms, value } = await timed(() => store.appendTranscript(input));
    appendMs.push(ms);
    return value;
  };
  return { store: wrapped, appendMs };
}

export function envelopeOf(session: BenchSession, stored: StoredTranscript): Envelope {
  const sessionId = session.sessionId;
  return {
    harness: session.harness,
    sessionId,
    meta: stored.meta ?? { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined },
    files: stored.files,
  };
}

export function storedEnvelopeOf(session: BenchSession, opened: OpenedTranscript): StoredEnvelope {
  const sessionId = session.sessionId;
  return {
    harness: session.harness,
    sessionId,
    meta: opened.meta ?? { sessionId, sessionStartedAt: undefined, cwd: undefined, cliVersion: undefined },
    files: opened.files,
  };
}

function dbSize(raw: Sqlite.Database): { bytes: number; inUse: number } {
  raw.pragma('wal_checkpoint(TRUNCATE)');
  const pageSize = Number(raw.pragma('page_size', { simple: true }));
  const pages = Number(raw.pragma('page_count', { simple: true }));
  const free = Number(raw.pragma('freelist_count', { simple: true }));
  return { bytes: pages * pageSize, inUse: (pages - free) * pageSize };
}

export interface StorageOptions {
  label: string;
  session: BenchSession;
  workDir: string;
  reps: number;
  /** Resumes timed where a rehydrate runs the CLI (no untimed warm-up then). */
  cliReps: number;
  periodicReps: number;
  fullSaveReps: number;
  log: (message: string) => void;
}

export async function benchStorage(options: StorageOptions): Promise<StorageResult> {
  const { workDir, reps, log, session } = options;
  const root = await mkdtemp(join(workDir, `${session.harness}-${options.label.replace(/\W/g, '')}-`));
  const { content, lineCount } = session;
  const cwd = await realpath(await mkdtemp(join(root, 'project-')));
  // Where the CLI wrote it: the source of every copy and every save.
  const sourceHome = join(root, 'cli-home');
  const source = await session.placeSource(sourceHome, cwd);
  const expected = session.expected(content, cwd);
  const dbPath = join(root, 'store.db');
  const baseStore = await openSqliteStore(dbPath);
  const { store, appendMs } = timingStore(baseStore);
  const raw = new Sqlite(dbPath);
  try {
    const files = [{ key: 'main', path: source }];
    const meta = (bytes: Buffer) => session.meta(bytes);
    const first = await newConversation(store, session, cwd);
    const saver = new TranscriptSaver({ store, ...first });
    const firstSave = await timed(() => saver.save(files, { final: false, meta }));
    if (firstSave.value.bytesSaved !== content.length) throw new Error(`bench: the full save stored ${firstSave.value.bytesSaved} of ${content.length} bytes`);

    // The fixed part of the database file: schema, indexes, one conversation and run, no transcript.
    const emptyPath = join(root, 'empty.db');
    const empty = await openSqliteStore(emptyPath);
    await newConversation(empty, session, cwd);
    await empty.close();
    const emptyRaw = new Sqlite(emptyPath);
    const emptyDbBytes = dbSize(emptyRaw).bytes;
    emptyRaw.close();

    // Stored size: nothing else is in this store yet.
    const stored = raw.prepare('SELECT coalesce(sum(length(data)), 0) AS n, count(*) AS chunks FROM transcript_chunks').get() as { n: number; chunks: number };
    const db = dbSize(raw);

    // Resume (load + verify + rehydrate) vs copying the file.
    const homes = join(root, 'homes');
    await mkdir(homes, { recursive: true });
    type Operation = 'resume' | 'resumeWhole' | 'load' | 'open' | 'stream' | 'proof' | 'rehydrate' | 'write' | 'cpSpawn' | 'copyFile';
    const cpu: Record<Operation, number[]> = { resume: [], resumeWhole: [], load: [], open: [], stream: [], proof: [], rehydrate: [], write: [], cpSpawn: [], copyFile: [] };
    const deferredProof: number[] = [];
    const samples: Record<Operation, number[]> = {
      resume: [],
      resumeWhole: [],
      load: [],
      open: [],
      stream: [],
      proof: [],
      rehydrate: [],
      write: [],
      cpSpawn: [],
      copyFile: [],
    };
    const loaded = await store.loadTranscript(first.conversationId);
    if (!loaded) throw new Error('bench: nothing loaded');
    const preloaded = envelopeOf(session, loaded);
    const rehydrate = session.rehydrate;
    const operations: Array<[Operation, (home: string) => Promise<string | undefined>]> = [
      [
        'resume',
        async (home) => {
          // As launch does it: opened, rehydrated (streamed where the CLI reads it), and the saver's start.
          const opened = await store.openTranscript(first.conversationId);
          if (!opened) throw new Error('bench: nothing opened');
          const written = await session.harnessRehydrate(storedEnvelopeOf(session, opened), home, cwd);
          new TranscriptSaver({ store, ...first }, await Promise.all(opened.files.map((file) => file.verified())));
          return written;
        },
      ],
      // Where a rehydrate runs the CLI (seconds), the CLI's import is the same either way: not timed twice.
      ...(session.runsCli ? [] : [[
        'resumeWhole',
        async (home: string) => {
          const stored = await store.loadTranscript(first.conversationId);
          if (!stored) throw new Error('bench: nothing loaded');
          const written = await session.harnessRehydrate(envelopeOf(session, stored), home, cwd);
          new TranscriptSaver({ store, ...first }, stored.files);
          return written;
        },
      ] as [Operation, (home: string) => Promise<string>]]),
      [
        'load',
        async () => {
          await store.loadTranscript(first.conversationId);
          return undefined;
        },
      ],
      [
        'open',
        async () => {
          await store.openTranscript(first.conversationId);
          return undefined;
        },
      ],
      [
        'stream',
        async () => {
          const opened = await store.openTranscript(first.conversationId);
          await Promise.all(opened!.files.map((file) => file.verified()));
          return undefined;
        },
      ],
      [
        'proof',
        async () => {
          // Only the re-check itself is kept (in deferredProof): the stream before it is timed as 'stream'.
          const opened = await store.openTranscript(first.conversationId);
          const reads = await Promise.all(opened!.files.map((file) => file.verified()));
          const proof = await timed(() => reads.map((read) => read.hash));
          deferredProof.push(proof.ms);
          return undefined;
        },
      ],
      ...(rehydrate ? [['rehydrate', async (home: string) => rehydrate(preloaded, home, cwd)] as [Operation, (home: string) => Promise<string>]] : []),
      ['write', async (home) => writePrivateFileAtomic(join(home, 'deep', 'copy.jsonl'), content, { durable: false }).then(() => join(home, 'deep', 'copy.jsonl'))],
      ['cpSpawn', async (home) => spawnCp(source, join(home, 'copy.jsonl')).then(() => join(home, 'copy.jsonl'))],
      ['copyFile', async (home) => copyFile(source, join(home, 'copy.jsonl')).then(() => join(home, 'copy.jsonl'))],
    ];
    // One untimed warm-up of each, then `reps` rounds, each in a fresh random order (the machine is noisy, and
    // a fixed order would hand every operation the same predecessor). After each operation its output is
    // removed and `sync` flushes the disk, so no operation pays for the previous one's writeback or discards.
    // Where a rehydrate runs the CLI (seconds), the resume goes in `cliReps` rounds only, the first one checked
    // instead of warmed up; the CLI's chores in it are timed, and the harness measures what follows a resume once.
    const slow = (name: Operation): boolean => session.runsCli && name === 'resume';
    const resumeReps = session.runsCli ? Math.min(options.cliReps, reps) : reps;
    const chores: Record<string, number[]> = {};
    let afterResume: StorageResult['afterResume'];
    const shuffle = seededRandom(options.label.length * 7919 + reps + session.harness.length);
    for (let round = -1; round < reps; round++) {
      const order = operations.map((operation) => ({ operation, key: shuffle() })).sort((a, b) => a.key - b.key);
      for (const { operation: [name, operation] } of order) {
        if (slow(name) && (round < 0 || round >= resumeReps)) continue;
        const home = await mkdtemp(join(homes, 'h-'));
        settle();
        const cpuBefore = process.cpuUsage();
        const { ms, value: written } = await timed(() => operation(home));
        const cpuUsed = process.cpuUsage(cpuBefore);
        if (round >= 0) samples[name].push(ms);
        if (round >= 0) cpu[name].push((cpuUsed.user + cpuUsed.system) / 1000);
        if ((round === -1 || (slow(name) && round === 0)) && written !== undefined) {
          const want = name === 'resume' || name === 'resumeWhole' || name === 'rehydrate' ? expected : content;
          if (!(await readFile(written)).equals(want)) throw new Error(`bench: ${name} wrote different bytes`);
        }
        if (slow(name)) {
          for (const [chore, choreMs] of Object.entries(session.choreTimes(home))) (chores[chore] ??= []).push(choreMs);
          if (round === 0 && session.afterResume) afterResume = await session.afterResume(home, cwd);
        }
        await rm(home, { recursive: true, force: true });
        spawnSync('sync');
      }
    }
    // Load, step by step, the way loadTranscript does it: read the chunks, decode them in order into one buffer,
    // hash (with a check after every chunk) and count lines; and the old way on brotli copies of the same pieces.
    const parts = { read: [] as number[], decode: [] as number[], decodeBrotli: [] as number[], sha256: [] as number[], lines: [] as number[] };
    const selectChunks = raw.prepare('SELECT codec, data, byte_length FROM transcript_chunks WHERE version_id = ? ORDER BY sequence');
    const firstVersion = loaded.files[0]!.cursor.versionId;
    const asBrotli = (selectChunks.all(firstVersion) as Array<{ codec: string; data: Buffer; byte_length: number }>).map((chunk) => {
      if (!isChunkCodec(chunk.codec)) throw new Error(`bench: codec ${chunk.codec}`);
      return { data: encodeChunk(decodeChunk({ codec: chunk.codec, data: chunk.data }), 'br').data, bytes: Number(chunk.byte_length) };
    });
    for (let round = 0; round < reps; round++) {
      settle();
      const read = await timed(() => selectChunks.all(firstVersion) as Array<{ codec: string; data: Buffer; byte_length: number }>);
      const decoded = await timed(() => {
        const whole = Buffer.allocUnsafe(read.value.reduce((total, chunk) => total + Number(chunk.byte_length), 0));
        let offset = 0;
        for (const chunk of read.value) {
          if (!isChunkCodec(chunk.codec)) throw new Error(`bench: codec ${chunk.codec}`);
          decodeChunkInto({ codec: chunk.codec, data: chunk.data }, whole.subarray(offset, offset + Number(chunk.byte_length)));
          offset += Number(chunk.byte_length);
        }
        return whole;
      });
      const hashed = await timed(() => {
        const hash = createHash('sha256');
        let offset = 0;
        for (const chunk of read.value) {
          hash.update(decoded.value.subarray(offset, offset + Number(chunk.byte_length)));
          hash.copy().digest('hex');
          offset += Number(chunk.byte_length);
        }
        return hash.digest('hex');
      });
      const counted = await timed(() => countLines(decoded.value));
      if (hashed.value !== loaded.files[0]!.sha256 || counted.value !== loaded.files[0]!.lineCount) throw new Error('bench: load steps disagree with the store');
      settle();
      const decodedBrotli = await timed(async () => {
        const pieces = await Promise.all(asBrotli.map((chunk) => brotliDecompressAsync(chunk.data, { chunkSize: Math.max(64 * 1024, chunk.bytes) })));
        return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
      });
      if (!decodedBrotli.value.equals(decoded.value)) throw new Error('bench: decodes disagree');
      parts.read.push(read.ms);
      parts.decode.push(decoded.ms);
      parts.decodeBrotli.push(decodedBrotli.ms);
      parts.sha256.push(hashed.ms);
      parts.lines.push(counted.ms);
    }
    const rehydrateParts: Record<string, number[]> = {};
    for (const [name, step] of Object.entries(session.rehydrateSteps)) {
      rehydrateParts[name] = [];
      for (let round = 0; round < reps; round++) {
        settle();
        rehydrateParts[name]!.push((await timed(() => step(content, cwd))).ms);
      }
    }
    log(`  ${session.harness} ${options.label}: resume ${median(samples.resume).toFixed(1)} ms, cp ${median(samples.cpSpawn).toFixed(1)} ms`);

    // Periodic saves of 10 new lines after the full save, each after the harness has located the file again.
    const periodic: number[] = [];
    const periodicAppend: number[] = [];
    const locateMs: number[] = [];
    const periodicSteps: Record<string, number[]> = {};
    const { locate } = session;
    const periodicRaw: number[] = [];
    const periodicStored: number[] = [];
    const lastChunk = raw.prepare('SELECT length(data) AS n, byte_length AS raw FROM transcript_chunks WHERE version_id = ? ORDER BY sequence DESC LIMIT 1');
    const versionId = loaded.files[0]!.cursor.versionId;
    // No forced GC before these: a periodic save makes little garbage, and right after a full collection (V8's
    // background sweeping, flushed code) a 2 ms save measured 3–8 ms here. A running baton is not collected
    // before each save either.
    for (let round = -1; round < options.periodicReps; round++) {
      const grown = session.more(10);
      await appendFile(source, grown.bytes);
      if (locate) {
        const located = await timed(() => locate(sourceHome, cwd));
        if (located.value !== source) throw new Error(`bench: the harness located ${located.value} instead of ${source}`);
        if (round >= 0) locateMs.push(located.ms);
      }
      if (round >= 0) for (const [step, stepMs] of Object.entries(grown.steps)) (periodicSteps[step] ??= []).push(stepMs);
      appendMs.length = 0;
      const { ms, value } = await timed(() => saver.save(files, { final: false, meta }));
      const chunk = lastChunk.get(versionId) as { n: number; raw: number };
      if (chunk.raw !== value.bytesSaved || value.newVersions.length > 0) throw new Error('bench: the periodic save did not append one chunk');
      if (round < 0) continue;
      periodic.push(ms);
      periodicAppend.push(appendMs.reduce((total, value) => total + value, 0));
      periodicRaw.push(value.bytesSaved);
      periodicStored.push(chunk.n);
    }

    // Full saves of the whole (now slightly longer) file into fresh conversations.
    const full: number[] = [firstSave.ms];
    const wholeFile = await readFile(source);
    let fullStored = 0;
    const versionBytes = raw.prepare('SELECT coalesce(sum(length(data)), 0) AS n FROM transcript_chunks WHERE version_id = ?');
    for (let round = 1; round < options.fullSaveReps; round++) {
      const target = await newConversation(store, session, cwd);
      const fresh = new TranscriptSaver({ store, ...target });
      settle();
      const { ms, value } = await timed(() => fresh.save(files, { final: false, meta }));
      if (value.bytesSaved !== wholeFile.length) throw new Error('bench: the full save did not store the whole file');
      full.push(ms);
      const stored = await store.loadTranscript(target.conversationId);
      fullStored = Number((versionBytes.get(stored!.files[0]!.cursor.versionId) as { n: number }).n);
    }
    if (fullStored === 0) fullStored = Number((versionBytes.get(versionId) as { n: number }).n);

    return {
      harness: session.harness,
      label: options.label,
      rawBytes: content.length,
      lines: lineCount,
      chunkBytes: Number(stored.n),
      chunks: Number(stored.chunks),
      dbBytes: db.bytes,
      emptyDbBytes,
      resume: summarise(samples.resume),
      load: summarise(samples.load),
      resumeWhole: summarise(samples.resumeWhole),
      cpu: { resume: summarise(cpu.resume), resumeWhole: summarise(cpu.resumeWhole), copyFile: summarise(cpu.copyFile) },
      open: summarise(samples.open),
      stream: summarise(samples.stream),
      // The warm-up round's is dropped, as every operation's is.
      deferredProof: summarise(deferredProof.slice(1)),
      loadParts: Object.fromEntries(Object.entries(parts).map(([name, values]) => [name, summarise(values)])) as StorageResult['loadParts'],
      rehydrate: rehydrate ? summarise(samples.rehydrate) : undefined,
      resumeReps,
      resumeChores: Object.fromEntries(Object.entries(chores).map(([name, values]) => [name, summarise(values)])),
      afterResume,
      rehydrateParts: { write: summarise(samples.write), ...Object.fromEntries(Object.entries(rehydrateParts).map(([name, values]) => [name, summarise(values)])) },
      cpSpawn: summarise(samples.cpSpawn),
      copyFile: summarise(samples.copyFile),
      periodicSave: summarise(periodic),
      periodicAppend: summarise(periodicAppend),
      locate: locate ? summarise(locateMs) : undefined,
      periodicSteps: Object.fromEntries(Object.entries(periodicSteps).map(([name, values]) => [name, summarise(values)])),
      fullSaveSteps: session.fullSaveSteps,
      periodicRawBytes: periodicRaw,
      periodicStoredBytes: periodicStored,
      fullSave: summarise(full),
      fullSaveRawBytes: wholeFile.length,
      fullSaveStoredBytes: fullStored,
    };
  } finally {
    raw.close();
    await baseStore.close();
    await rm(root, { recursive: true, force: true });
  }
}

export interface IncrementalResult {
  harness: string;
  rawBytes: number;
  saves: number;
  msPerSave: number;
  /** 10-line deltas of 256 KB or more (compactTranscript merges only the trailing run of smaller chunks). */
  bigDeltas: number;
  /** Before the final save: every 10-line delta a chunk of its own. */
  before: { chunks: number; chunkBytes: number; dbBytes: number; dbInUse: number };
  /** The final save (`final: true`: re-hashes the prefix, then compactTranscript merges the deltas). */
  finalSaveMs: number;
  after: { chunks: number; chunkBytes: number; dbBytes: number; dbInUse: number };
}

/**
 * The store a real run leaves: the session saved as it grows, 10 lines per periodic save (each chunk compressed
 * on its own), then the run's final save, which compacts those deltas into chunks of up to 4 MB.
 */
export async function benchIncrementalStorage(options: { session: BenchSession; workDir: string; linesPerSave: number }): Promise<IncrementalResult> {
  const { session } = options;
  const root = await mkdtemp(join(options.workDir, `incremental-${session.harness}-`));
  const { content } = session;
  const source = join(root, 'session.jsonl');
  await writeFile(source, '');
  const dbPath = join(root, 'store.db');
  const store = await openSqliteStore(dbPath);
  let raw: Sqlite.Database | undefined;
  try {
    const target = await newConversation(store, session, root);
    const saver = new TranscriptSaver({ store, ...target });
    const files = [{ key: 'main', path: source }];
    const meta = (bytes: Buffer) => session.meta(bytes);
    let offset = 0;
    let saves = 0;
    let saveMs = 0;
    let bigDeltas = 0;
    while (offset < content.length) {
      let end = offset;
      for (let line = 0; line < options.linesPerSave && end < content.length; line++) end = content.indexOf(0x0a, end) + 1;
      if (end - offset >= 256 * 1024) bigDeltas++;
      await appendFile(source, content.subarray(offset, end));
      offset = end;
      saveMs += (await timed(() => saver.save(files, { final: false, meta }))).ms;
      saves++;
    }
    raw = new Sqlite(dbPath);
    const measure = (): IncrementalResult['before'] => {
      const row = raw!.prepare('SELECT count(*) AS chunks, coalesce(sum(length(data)), 0) AS n FROM transcript_chunks').get() as { chunks: number; n: number };
      const db = dbSize(raw!);
      return { chunks: Number(row.chunks), chunkBytes: Number(row.n), dbBytes: db.bytes, dbInUse: db.inUse };
    };
    const before = measure();
    const finalSave = await timed(() => saver.save(files, { final: true, meta }));
    const after = measure();
    const stored = await store.loadTranscript(target.conversationId);
    if (!stored?.files[0]?.content.equals(content)) throw new Error('bench: incremental saves did not store the file');
    return { harness: session.harness, rawBytes: content.length, saves, msPerSave: saveMs / saves, bigDeltas, before, finalSaveMs: finalSave.ms, after };
  } finally {
    raw?.close();
    await store.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
