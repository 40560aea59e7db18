/**
 * baton's benchmark (`npm run bench`): a script, not a test. It prints one table (figure, measured per size,
 * target, pass/fail) and writes bench/results.json. Everything compared is measured side by side in the same
 * run, with several repetitions and the median, because this machine is small and noisy.
 *
 * For each harness in the registry (Codex CLI, Claude Code, Gemini CLI, OpenCode):
 *   1. synthetic sessions of 1, 10 and 50 MB in the form baton stores, built from the real fixture records
 *      (bench/lib/synth.ts, claude-synth.ts, gemini-synth.ts, opencode-synth.ts; per harness in sessions.ts)
 *   2. resume-side load + verify + rehydrate (into a fresh CLI home, streamed as launch does it) vs `cp` of the same file; OpenCode's
 *      rehydrate runs `opencode import` (seconds): fewer repetitions, and the CLI's part timed on its own
 *   3. a periodic save of 10 new lines vs a full save (time and bytes), the saver alone and as a run makes it
 *      (harness.locateTranscript first; OpenCode: updateLog of the log and `opencode export`)
 *   4. stored bytes / raw bytes: one full save, and a whole run's 10-line deltas before and after the final
 *      save compacts them; the codec choice (brotli q4 vs gzip -6 vs brotli q5/q6) on the Codex rollout
 *   5. `baton run` (the bundle `bin` names) vs the bare CLI against the scripted model server, and where the
 *      difference goes
 *
 *   6. a full save and a resume of a 50 MB transcript on an encrypted store vs a plaintext one (the ratio)
 *   7. bodies in S3 (s3rver on loopback) vs inline: full save, 10-line periodic save, resume fetch and whole
 *      resume of a 10 and a 50 MB Codex transcript (the ratios)
 *
 * Options: --quick (fewer repetitions, for trying the script out), --skip-cli, --skip-storage, --skip-build,
 * --skip-redaction, --skip-encryption, --only-encryption (figure 6 alone), --only-redaction, --skip-object-storage, --only-object-storage (figure 7 alone), --harness ID[,ID…]
 * (only these harnesses; repeatable).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HARNESS_IDS, isHarnessId, type HarnessId } from '../src/harness/ids.js';
import { listHarnesses } from '../src/harness/registry.js';
import { benchHarnessCli, benchStartup, build, foreignMeter, waitForQuiet, type BuildResult, type HarnessCliResult } from './lib/cli.js';
import { benchCodecs, chunkRatio } from './lib/codecs.js';
import { benchSession, benchTraits, type BenchSession } from './lib/sessions.js';
import { MB, formatBytes, formatMs, median, round } from './lib/stats.js';
import { benchIncrementalStorage, benchStorage, type IncrementalResult, type StorageResult } from './lib/storage.js';
import { benchEncryption, type EncryptionResult } from './lib/encryption.js';
import { benchObjectStorage, type ObjectStorageResult } from './lib/object-storage.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { benchRedaction, type RedactionResult } from './lib/redaction.js';
import { benchPreflight } from './lib/preflight.js';
import { synthesiseRollout } from './lib/synth.js';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const args = new Set(argv);
const FLAGS = ['--quick', '--skip-cli', '--skip-storage', '--skip-build', '--skip-redaction', '--skip-encryption', '--only-encryption', '--only-redaction', '--skip-object-storage', '--only-object-storage'];
for (const [index, arg] of argv.entries()) {
  const isHarnessValue = argv[index - 1] === '--harness';
  if (!isHarnessValue && arg !== '--harness' && !arg.startsWith('--harness=') && !FLAGS.includes(arg)) {
    process.stderr.write(`bench: unknown option "${arg}" (options: ${FLAGS.join(' ')} --harness ID[,ID…])\n`);
    process.exit(2);
  }
}
const quick = args.has('--quick');
const onlyObjectStorage = args.has('--only-object-storage');
const onlyRedaction = args.has('--only-redaction') || onlyObjectStorage;
const onlyEncryption = args.has('--only-encryption') || onlyRedaction;
const started = Date.now();
const log = (message: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
};

// cliReps: resumes that run the CLI (OpenCode's import); slowPeriodicReps: periodic saves whose own work grows with
// the session (OpenCode's updateLog: seconds at 50 MB).
const SIZES = [
  { label: '1 MB', bytes: 1 * MB, seed: 1, reps: quick ? 3 : 9, fullSaveReps: quick ? 2 : 5, cliReps: quick ? 1 : 2, slowPeriodicReps: quick ? 3 : 9 },
  { label: '10 MB', bytes: 10 * MB, seed: 10, reps: quick ? 2 : 5, fullSaveReps: quick ? 2 : 3, cliReps: 1, slowPeriodicReps: quick ? 2 : 4 },
  { label: '50 MB', bytes: 50 * MB, seed: 50, reps: quick ? 2 : 3, fullSaveReps: quick ? 1 : 2, cliReps: 1, slowPeriodicReps: 1 },
];

/** --harness ID[,ID…], repeatable: only these; by default every harness in the registry. */
const chosen = argv.flatMap((arg, index) => (arg === '--harness' ? [argv[index + 1] ?? ''] : arg.startsWith('--harness=') ? [arg.slice('--harness='.length)] : [])).flatMap((value) => value.split(','));
for (const id of chosen) {
  if (!isHarnessId(id)) {
    process.stderr.write(`bench: unknown harness "${id}" (choose from ${HARNESS_IDS.join(', ')})\n`);
    process.exit(2);
  }
}
const HARNESSES: Array<{ id: HarnessId; name: string; traits: ReturnType<typeof benchTraits>; session: (bytes: number, seed: number) => BenchSession }> = listHarnesses()
  .filter((harness) => chosen.length === 0 || chosen.includes(harness.id))
  .map((harness) => ({ id: harness.id, name: harness.id, traits: benchTraits(harness.id), session: (bytes, seed) => benchSession(harness.id, bytes, seed) }));
/** bench/lib/cli.ts compares `baton run` with the bare CLI for every harness. */
const CLI_HARNESSES = HARNESSES;

// --- the table ---------------------------------------------------------------------------------------------

type Result = 'pass' | 'FAIL' | 'info' | 'skip';
interface Row {
  figure: string;
  /** One cell per size, or one text across all of them. */
  cells: string[] | string;
  target: string;
  results: Result[];
}
const rows: Row[] = [];
const verdict = (pass: boolean | undefined): Result => (pass === undefined ? 'info' : pass ? 'pass' : 'FAIL');
const sizeRow = (figure: string, cells: string[], target = '', passes?: boolean[]): void => {
  rows.push({ figure, cells, target, results: passes ? passes.map(verdict) : ['info'] });
};
const row = (figure: string, measured: string, target = '', pass?: boolean): void => {
  rows.push({ figure, cells: measured, target, results: [verdict(pass)] });
};
const section = (title: string): void => {
  rows.push({ figure: title, cells: '', target: '', results: [] });
};
const times = (ratio: number): string => `${ratio.toFixed(2)}×`;
const percent = (ratio: number): string => `${(ratio * 100).toFixed(ratio < 0.01 ? 2 : 1)}%`;
/** Milliseconds as a bare number: 1234, 56, 7.8, 0.12. */
const ms = (value: number): string => (value >= 10 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(2));

function storageRows(harness: string, storage: StorageResult[], incremental: IncrementalResult | undefined): void {
  const all = <T>(pick: (s: StorageResult) => T): T[] => storage.map(pick);
  const sum = (values: Record<string, { median: number } | number>): number => Object.values(values).reduce<number>((total, value) => total + (typeof value === 'number' ? value : value.median), 0);
  const runsCli = storage.some((s) => Object.keys(s.resumeChores).length > 0);
  const resumeRatio = all((s) => s.resume.median / s.cpSpawn.median);
  const resumeCell = (s: StorageResult): string => `${times(s.resume.median / s.cpSpawn.median)} = ${ms(s.resume.median)}/${ms(s.cpSpawn.median)} ms`;
  if (runsCli) {
    // The CLI's own import is most of such a resume: shown apart, and the target applies to baton's part of it.
    sizeRow(`${harness}: resume (load+verify+rehydrate) vs cp, runs ${all((s) => `×${s.resumeReps}`).join('/')}`, all(resumeCell));
    const chores = Object.keys(storage[0]?.resumeChores ?? {});
    const own = all((s) => (s.resume.median - sum(s.resumeChores)) / s.cpSpawn.median);
    sizeRow(`  of it ${chores.join(' + ')} (the CLI, ms); baton's part vs cp`, storage.map((s, index) => `${chores.map((name) => ms(s.resumeChores[name]!.median)).join(' + ')}; ${times(own[index]!)}`), '≤ 2× cp', own.map((r) => r <= 2));
  } else sizeRow(`${harness}: resume (load+verify+rehydrate) vs cp`, all(resumeCell), '≤ 2× cp', resumeRatio.map((r) => r <= 2));
  if (!runsCli) {
    sizeRow('  resume before streaming (whole load + rehydrate) vs cp; streamed ÷ whole', all((s) => `${times(s.resumeWhole.median / s.cpSpawn.median)} = ${ms(s.resumeWhole.median)}/${ms(s.cpSpawn.median)} ms; ${times(s.resume.median / s.resumeWhole.median)}`));
    sizeRow('  cpu ms (all threads): streamed, whole; fs.copyFile', all((s) => `${ms(s.cpu.resume.median)}, ${ms(s.cpu.resumeWhole.median)}; ${ms(s.cpu.copyFile.median)}`));
  }
  // The resume streams each file from the store to where the CLI reads it: these are its parts, each alone.
  sizeRow('  ms: open (rows), stream (decode+verify, unwritten), write alone; fs.copyFile', all((s) => `${ms(s.open.median)}, ${ms(s.stream.median)}, ${ms(s.rehydrateParts.write!.median)}; ${ms(s.copyFile.median)}`));
  sizeRow('  then, once the CLI runs: the sha256 chain re-checked (ms; 0: the stream checked it)', all((s) => ms(s.deferredProof.median)));
  sizeRow('  ms: whole load (before streaming; export, view), its rehydrate', all((s) => `${ms(s.load.median)}, ${s.rehydrate ? ms(s.rehydrate.median) : '(= resume)'}`));
  sizeRow('  load: read, decode [as brotli q4+join], sha, lines; rest', all((s) => {
    const p = s.loadParts;
    const rest = s.load.median - [p.read, p.decode, p.sha256, p.lines].reduce((total, x) => total + x.median, 0);
    return `${ms(p.read.median)}, ${ms(p.decode.median)} [${ms(p.decodeBrotli.median)}], ${[p.sha256, p.lines].map((x) => ms(x.median)).join(', ')}; +${ms(Math.max(0, rest))}`;
  }));
  const stepNames = Object.keys(storage[0]?.rehydrateParts ?? {});
  sizeRow(`  rehydrate: ${stepNames.join(', ')}`, all((s) => stepNames.map((name) => ms(s.rehydrateParts[name]!.median)).join(', ')));
  const after = all((s) => s.afterResume);
  if (after.every((a) => a !== undefined)) {
    sizeRow('  then: opencode export (ms; = stored?); locateTranscript', after.map((a) => `${ms(Number(a!.exportMs))} (${a!.exportIsStored ? 'same' : 'DIFFERENT'}); ${ms(Number(a!.locateMs))}`));
    const whole = after.map((a) => a!.locateDocumentBytes === a!.exportBytes);
    sizeRow(
      "  baton's export (through a pipe) read it whole",
      after.map((a, index) => (whole[index] ? `yes, ${formatBytes(Number(a!.exportBytes))}` : Number(a!.locateDocumentBytes) < 0 ? `no: kept a cut one as an "export" line` : `no: ${formatBytes(Number(a!.locateDocumentBytes))} of ${formatBytes(Number(a!.exportBytes))}`)),
      'whole',
      whole,
    );
  }
  const timeRatio = all((s) => s.periodicSave.median / s.fullSave.median);
  sizeRow(`${harness}: periodic save (10 lines) vs full, time`, all((s) => `${percent(s.periodicSave.median / s.fullSave.median)} = ${ms(s.periodicSave.median)}/${ms(s.fullSave.median)} ms`), '≤ 1%', timeRatio.map((r) => r <= 0.01));
  sizeRow('  ms of it in store.appendTranscript', all((s) => `${ms(s.periodicAppend.median)} of ${ms(s.periodicSave.median)}`));
  // As a run makes it: the harness locates the file first (OpenCode: `opencode export`, then updateLog brings the log up to date).
  const exportMs = (s: StorageResult): number => (s.afterResume ? Number(s.afterResume.exportMs) : 0);
  const asRun = all((s) => {
    const around = (s.locate?.median ?? 0) + exportMs(s);
    const periodic = around + sum(s.periodicSteps) + s.periodicSave.median;
    const full = around + sum(s.fullSaveSteps) + s.fullSave.median;
    return { periodic, full, ratio: periodic / full };
  });
  sizeRow(`${harness}: periodic save vs full as a run makes them`, asRun.map((r) => `${percent(r.ratio)} = ${ms(r.periodic)}/${ms(r.full)} ms`), '≤ 1%', asRun.map((r) => r.ratio <= 0.01));
  const stepsOf = (steps: Record<string, { median: number } | number>): string => Object.entries(steps).map(([name, value]) => `${name} ${ms(typeof value === 'number' ? value : value.median)}`).join(', ');
  if (storage[0]?.locate) sizeRow('  ms: locateTranscript before each save', all((s) => ms(s.locate!.median)));
  else sizeRow('  ms: opencode export; then periodic | full save', all((s) => `${ms(exportMs(s))}; ${stepsOf(s.periodicSteps)} | ${stepsOf(s.fullSaveSteps)}`));
  const byteRatios = all((s) => ({ raw: median(s.periodicRawBytes) / s.fullSaveRawBytes, stored: median(s.periodicStoredBytes) / s.fullSaveStoredBytes }));
  sizeRow(
    `${harness}: periodic vs full save, bytes raw; stored`,
    byteRatios.map((r, index) => `${percent(r.raw)}; ${percent(r.stored)} (${formatBytes(median(storage[index]!.periodicStoredBytes))})`),
    '≤ 1%',
    byteRatios.map((r) => Math.max(r.raw, r.stored) <= 0.01),
  );
  sizeRow(`${harness}: stored/raw, one full save (chunks; db; empty db)`, all((s) => `${(s.chunkBytes / s.rawBytes).toFixed(3)}; ${(s.dbBytes / s.rawBytes).toFixed(3)}; ${formatBytes(s.emptyDbBytes)}`), '≤ 0.2', all((s) => Math.max(s.chunkBytes, s.dbBytes) / s.rawBytes <= 0.2));
  if (incremental) {
    const { before, after, rawBytes } = incremental;
    const ratio = (bytes: number): string => (bytes / rawBytes).toFixed(3);
    row(
      `${harness}: stored/raw, 10 MB in 10-line deltas`,
      `after final save ${ratio(after.chunkBytes)} (db pages in use ${ratio(after.dbInUse)}, file ${ratio(after.dbBytes)}); before ${ratio(before.chunkBytes)} (db ${ratio(before.dbBytes)}); ${before.chunks}→${after.chunks} chunks (${incremental.bigDeltas} deltas ≥ 256 KB); final save ${ms(incremental.finalSaveMs)} ms`,
      '≤ 0.2',
      Math.max(after.chunkBytes, after.dbInUse) / rawBytes <= 0.2,
    );
  }
}

function cliRows(result: HarnessCliResult): void {
  const cpu = (variant: { cpu: { median: number } | undefined }): string => (variant.cpu ? ` (cpu ${formatMs(variant.cpu.median)})` : '');
  row(`${result.harness}: ${result.bare.name}`, `${formatMs(result.bare.wall.median)}${cpu(result.bare)}, median of ${result.runs}`);
  for (const info of result.info) row(`  ${info.name}`, `${formatMs(info.wall.median)}${cpu(info)}`);
  const { baton } = result;
  const signed = (value: number): string => `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(0)}`;
  row(`${result.harness}: baton run − bare`, `${formatMs(baton.wall.median)} − ${formatMs(result.bare.wall.median)} = ${signed(baton.overheadMs)} ms (${(baton.wall.median / result.bare.wall.median).toFixed(2)}×)${baton.cpuOverheadMs === undefined ? '' : `; cpu ${signed(baton.cpuOverheadMs)} ms`}`, '≤ +150 ms', baton.overheadMs <= 150);
  const p = result.phases;
  const q = result.quiet;
  row(
    '  boot, →spawn, CLI, →exit, sh launcher + exec (own)',
    `${[p.bootstrap, p.beforeSpawn, p.cli, p.afterCli, p.outside].map((x) => ms(x.median)).join(', ')} (own ${ms(p.own.median)}) ms${Object.keys(result.otherSpawns).length > 0 ? `; also ran ${Object.entries(result.otherSpawns).map(([name, count]) => `${name} ×${count}`).join(', ')}` : ''}; others' cpu ${percent(q.foreignShare)}, try ${q.attempts}`,
  );
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version, quick };
  try {
    // The CLI comparison needs dist/; build first so a broken build shows up before the long part.
    let buildResult: BuildResult | undefined;
    if (!args.has('--skip-cli') && !onlyEncryption && CLI_HARNESSES.length > 0) {
      if (args.has('--skip-build')) buildResult = { ok: true, ms: 0, note: 'build skipped (--skip-build)' };
      else {
        log('npm run build …');
        buildResult = build(log);
      }
    }

    if (!args.has('--skip-storage') && !onlyEncryption) {
      const storage: Record<string, StorageResult[]> = {};
      const incremental: Record<string, IncrementalResult> = {};
      const foreign: Record<string, number[]> = {};
      for (const harness of HARNESSES) {
        storage[harness.id] = [];
        foreign[harness.id] = [];
        await waitForQuiet(log, quick ? 3 : 5);
        for (const size of SIZES) {
          log(`synthesising a ${size.label} ${harness.name} session …`);
          const session = harness.session(size.bytes, size.seed);
          log(`storage figures for ${harness.name} ${size.label} (${formatBytes(session.content.length)}, ${session.lineCount} lines) …`);
          const meter = foreignMeter();
          const periodicReps = harness.traits.slowDeltas ? size.slowPeriodicReps : quick ? 3 : 9;
          storage[harness.id]!.push(await benchStorage({ label: size.label, session, workDir, reps: size.reps, cliReps: size.cliReps, periodicReps, fullSaveReps: size.fullSaveReps, log }));
          foreign[harness.id]!.push(meter());
          if (size.bytes === 10 * MB) {
            log(`${harness.name} 10 MB saved as it grows, 10 lines per save, then the final save …`);
            incremental[harness.id] = await benchIncrementalStorage({ session, workDir, linesPerSave: 10 });
          }
        }
      }
      results.storage = storage;
      results.incremental = incremental;
      results.storageForeignCpuShare = foreign;
      for (const harness of HARNESSES) {
        const sizes = storage[harness.id]!.map((s) => `${formatBytes(s.rawBytes)}, ${s.lines} lines`).join(' | ');
        section(`— ${harness.name} transcripts (${sizes}); other processes' cpu ${foreign[harness.id]!.map((share) => percent(share)).join(' | ')} —`);
        storageRows(harness.name, storage[harness.id]!, incremental[harness.id]);
      }
    }

    if (!args.has('--skip-storage') && !onlyEncryption && HARNESSES.some((harness) => harness.id === 'codex')) {
      log('codecs on the 10 MB Codex rollout …');
      const tenMb = synthesiseRollout(10 * MB, { seed: 10 });
      const codecs = benchCodecs(tenMb.content, quick ? 1 : 2);
      results.codecs = codecs;
      row('codecs, codex 10 MB: ratio (10-line deltas) MB/s in|out', codecs.map((codec) => `${codec.codec.replace('brotli ', 'br ')} ${codec.ratio.toFixed(3)} (${codec.deltaRatio.toFixed(3)}) ${codec.compressMBps.toFixed(0)}|${codec.decompressMBps.toFixed(0)}`).join(', '));
      const reasoningRatio = chunkRatio(synthesiseRollout(10 * MB, { seed: 11, reasoning: true }).content);
      results.reasoningRatio = reasoningRatio;
      row('stored/raw, codex 10 MB with encrypted reasoning', `${reasoningRatio.toFixed(3)} (zstd 3, one chunk)`);
    }

    if (!args.has('--skip-redaction') && !onlyObjectStorage) {
      section('— redaction: a 50 MB transcript saved with the redactor vs without (SQLite) —');
      const redaction: Record<string, RedactionResult> = {};
      for (const harness of HARNESSES) {
        log(`redaction: ${harness.name} 50 MB full save with and without, then a 10-line delta …`);
        const result = await benchRedaction({ label: `${harness.name} 50 MB`, session: harness.session(50 * MB, 51), workDir, reps: quick ? 2 : 4 });
        redaction[harness.id] = result;
        row(`${harness.name}: full save, redacted vs byte for byte`, `${times(result.saveRatio)} = ${ms(result.redacted.save.median)}/${ms(result.plain.save.median)} ms`);
        row(`${harness.name}: 10-line redacted delta / redacted full save`, `${percent(result.deltaShare)} = ${ms(result.redacted.delta.median)}/${ms(result.redacted.save.median)} ms`, '≤ 1%', result.deltaShare <= 0.01);
        row(`${harness.name}: 10-line delta, redacted vs byte for byte`, `${ms(result.redacted.delta.median)}/${ms(result.plain.delta.median)} ms`);
      }
      results.redaction = redaction;
    }

    if (!args.has('--skip-object-storage') && (!onlyEncryption || onlyObjectStorage) && HARNESSES.some((harness) => harness.id === 'codex')) {
      section('— bodies in object storage: S3 (s3rver on loopback, its own process; bodies under 64 KB stay in the rows) vs inline, SQLite store, codex —');
      const s3 = await startS3Server();
      const objectStorage: ObjectStorageResult[] = [];
      try {
        for (const size of [10 * MB, 50 * MB]) {
          const label = `codex ${size / MB} MB`;
          log(`object storage: ${label} saves and resumes, S3 vs inline …`);
          const result = await benchObjectStorage({ label, session: benchSession('codex', size, size / MB + 3), s3, workDir, reps: quick ? 2 : 5, log });
          objectStorage.push(result);
          type Pick = (samples: ObjectStorageResult['s3']) => { median: number };
          const pair = (pick: Pick, name: 'save' | 'delta' | 'fetch' | 'resume'): string =>
            `${times(result.ratios[name])} = ${ms(pick(result.s3).median)}/${ms(pick(result.inline).median)} ms; every body in S3 ${times(result.ratiosAll[name])} = ${ms(pick(result.s3All).median)} ms`;
          row(`${label}: full save, S3 vs inline`, pair((s) => s.save, 'save'));
          row(`${label}: 10-line periodic save, S3 vs inline`, pair((s) => s.delta, 'delta'));
          row(`${label}: resume fetch (load+verify), S3 vs inline`, pair((s) => s.fetch, 'fetch'));
          row(`${label}: resume (fetch+rehydrate), S3 vs inline`, pair((s) => s.resume, 'resume'));
        }
      } finally {
        await s3.stop();
      }
      results.objectStorage = objectStorage;
    }

    if (!args.has('--skip-encryption') && !onlyRedaction) {
      section('— encryption at rest: a 50 MB transcript, encrypted store vs plaintext (SQLite) —');
      const encryption: Record<string, EncryptionResult> = {};
      for (const harness of HARNESSES) {
        if (harness.traits.runsCli) {
          // Its resume is an `opencode import` of the same document on either store: tens of seconds at 50 MB, each.
          rows.push({ figure: `${harness.name}: encryption`, cells: "skipped: its resume runs the CLI's import (seconds), the same on either store", target: '', results: ['skip'] });
          continue;
        }
        log(`encryption: ${harness.name} 50 MB save and resume, encrypted vs plaintext …`);
        const result = await benchEncryption({ label: `${harness.name} 50 MB`, session: harness.session(50 * MB, 50), workDir, reps: quick ? 2 : 5, log });
        encryption[harness.id] = result;
        row(`${harness.name}: full save, encrypted vs plaintext`, `${times(result.saveRatio)} = ${ms(result.encrypted.save.median)}/${ms(result.plaintext.save.median)} ms`, '≤ 1.25×', result.saveRatio <= 1.25);
        row(`${harness.name}: resume (load+verify+rehydrate), encrypted vs plaintext`, `${times(result.resumeRatio)} = ${ms(result.encrypted.resume.median)}/${ms(result.plaintext.resume.median)} ms`, '≤ 1.25×', result.resumeRatio <= 1.25);
      }
      results.encryption = encryption;
    }

    if (buildResult) {
      section('— baton run vs the bare CLI, scripted model server —');
      const cli: Record<string, HarnessCliResult> = {};
      for (const harness of CLI_HARNESSES) {
        log(`baton run --harness ${harness.id} vs the bare CLI …`);
        // OpenCode's runs take seconds each (its chores start the CLI twice more): fewer of them.
        const slow = harness.traits.runsCli;
        cli[harness.id] = await benchHarnessCli({ harness: harness.id, workDir, runs: quick ? 3 : slow ? 4 : 8, profileRuns: quick ? 2 : slow ? 2 : 4, log, retryAbove: 0.2, retries: quick ? 0 : 1, retryUntil: started + 170_000, quietWaitSeconds: quick ? 5 : 15 });
        cliRows(cli[harness.id]!);
      }
      log('preflight …');
      const checks = await benchPreflight(CLI_HARNESSES.map((harness) => harness.id), quick ? 5 : 20);
      results.preflight = checks;
      for (const [id, check] of Object.entries(checks)) {
        row(`  ${id}: preflight before the spawn (first, then warm; ms)`, `${ms(check.first)}, ${ms(check.warm.median)} (${check.version ?? 'version unknown'}; ${check.credentials})`, '≤ 50 ms', check.warm.median <= 50);
      }
      log('start-up costs …');
      const startup = await benchStartup({ workDir, runs: quick ? 2 : 4 });
      results.cli = cli;
      results.startup = startup;
      results.build = buildResult;
      row('  node -e 0 | --version: bin/baton, node bundle, main.js (tsc)', `${formatMs(startup.nodeStartup.median)} | ${startup.versions.map((v) => formatMs(v.wall.median)).join(', ')}`);
      row('  store open existing/fresh; import alone (ms)', `${ms(startup.storeOpenExisting.median)}/${ms(startup.storeOpenFresh.median)}; ${Object.entries(startup.imports).map(([name, value]) => `${name.replace('@decimalturn/', '')} ${value.toFixed(0)}`).join(', ')}`);
      const bundle = startup.bundle;
      const packages = Object.entries(bundle.byPackage).sort((a, b) => b[1] - a[1]).slice(0, 5);
      row('  JS baton run loads before the spawn', `${formatBytes(bundle.bytes)} in ${bundle.files} files: ${packages.map(([name, bytes]) => `${name.replace('@decimalturn/', '')} ${formatBytes(bytes)}`).join(', ')}; + its harness: ${Object.entries(bundle.harnesses).map(([name, bytes]) => `${name} ${formatBytes(bytes)}`).join(', ')}`);
      if (buildResult.note) row('  build', buildResult.note);
    } else if (!onlyEncryption) {
      rows.push({ figure: 'baton run overhead over the bare CLI', cells: CLI_HARNESSES.length === 0 ? 'skipped (no harness chosen)' : 'skipped (--skip-cli)', target: '≤ +150 ms', results: ['skip'] });
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  results.rows = rows;
  results.totalSeconds = round((Date.now() - started) / 1000, 1);
  await mkdir(join(ROOT, 'bench'), { recursive: true });
  await writeFile(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  printTable();
  const count = (result: Result): number => rows.reduce((total, r) => total + r.results.filter((x) => x === result).length, 0);
  process.stdout.write(`\n${count('pass')} pass, ${count('FAIL')} fail · ${results.totalSeconds} s · bench/results.json\n`);
}

function printTable(): void {
  const columns = SIZES.length;
  const cellWidths = Array.from({ length: columns }, (_, index) => Math.max(SIZES[index]!.label.length, ...rows.map((r) => (Array.isArray(r.cells) ? r.cells[index]!.length : 0))));
  const spanWidth = cellWidths.reduce((total, width) => total + width, 0) + 3 * (columns - 1);
  const figureWidth = Math.max(6, ...rows.map((r) => (r.results.length === 0 ? 0 : r.figure.length)));
  const targetWidth = Math.max(6, ...rows.map((r) => r.target.length));
  const measured = (r: Row): string => (Array.isArray(r.cells) ? r.cells.map((cell, index) => cell.padEnd(cellWidths[index]!)).join(' | ') : r.cells.padEnd(spanWidth));
  const line = (r: Row): string => `${r.figure.padEnd(figureWidth)} | ${measured(r)} | ${r.target.padEnd(targetWidth)} | ${r.results.join(' ')}`;
  process.stdout.write(`${line({ figure: 'figure', cells: SIZES.map((size) => size.label), target: 'target', results: ['result' as Result] })}\n`);
  process.stdout.write(`${'-'.repeat(figureWidth)}-+-${'-'.repeat(spanWidth)}-+-${'-'.repeat(targetWidth)}-+-------\n`);
  for (const r of rows) process.stdout.write(r.results.length === 0 ? `${r.figure}\n` : `${line(r)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
