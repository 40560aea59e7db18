/**
 * baton's benchmark (`npm run bench`): a script, not a test. It prints one table (figure, measured, target,
 * pass/fail) and writes bench/results.json. Everything compared is measured side by side in the same run,
 * with several repetitions and the median, because this machine is small and noisy.
 *
 *   1. synthetic Codex rollouts of 1, 10 and 50 MB built from the real fixture records (bench/lib/synth.ts)
 *   2. resume-side load + verify + rehydrate vs `cp` of the same file
 *   3. a periodic save of 10 new lines vs a full save (time and bytes)
 *   4. stored bytes / raw bytes, and the codec choice (brotli q4 vs gzip -6 vs brotli q5/q6)
 *   5. `baton run` vs a bare `codex exec` against the scripted model server, and where the difference goes
 *
 * Options: --quick (fewer repetitions, for trying the script out), --skip-cli, --skip-build.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCli, build, type CliResult } from './lib/cli.js';
import { benchCodecs, chunkRatio, type CodecResult } from './lib/codecs.js';
import { MB, formatBytes, formatMs, median, round } from './lib/stats.js';
import { benchIncrementalStorage, benchStorage, type StorageResult } from './lib/storage.js';
import { synthesiseRollout } from './lib/synth.js';

const ROOT = new URL('..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const started = Date.now();
const log = (message: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
};

interface Row {
  figure: string;
  measured: string;
  target: string;
  result: 'pass' | 'FAIL' | 'info' | 'skip';
}
const rows: Row[] = [];
const row = (figure: string, measured: string, target = '', pass?: boolean): void => {
  rows.push({ figure, measured, target, result: pass === undefined ? 'info' : pass ? 'pass' : 'FAIL' });
};
const times = (ratio: number): string => `${ratio.toFixed(2)}×`;
const percent = (ratio: number): string => `${(ratio * 100).toFixed(ratio < 0.01 ? 2 : 1)}%`;

const SIZES = [
  { label: '1 MB', bytes: 1 * MB, seed: 1, reps: quick ? 3 : 11, fullSaveReps: quick ? 2 : 7 },
  { label: '10 MB', bytes: 10 * MB, seed: 10, reps: quick ? 3 : 7, fullSaveReps: quick ? 2 : 5 },
  { label: '50 MB', bytes: 50 * MB, seed: 50, reps: quick ? 2 : 5, fullSaveReps: quick ? 2 : 3 },
];

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version, quick };
  try {
    // The CLI comparison needs dist/; build first so a broken build shows up before the long part.
    let buildResult: CliResult['build'] | undefined;
    if (!args.has('--skip-cli')) {
      if (args.has('--skip-build')) buildResult = { ok: true, ms: 0, note: 'build skipped (--skip-build)' };
      else {
        log('npm run build …');
        buildResult = build(log);
      }
    }

    // 1 + 2 + 3 + 4: storage figures per size.
    const storage: StorageResult[] = [];
    let tenMb: ReturnType<typeof synthesiseRollout> | undefined;
    for (const size of SIZES) {
      log(`synthesising a ${size.label} rollout …`);
      const rollout = synthesiseRollout(size.bytes, { seed: size.seed });
      if (size.bytes === 10 * MB) tenMb = rollout;
      log(`storage figures for ${size.label} (${rollout.lineCount} lines) …`);
      storage.push(await benchStorage({ label: size.label, rollout, workDir, reps: size.reps, periodicReps: quick ? 3 : 9, fullSaveReps: size.fullSaveReps, log }));
    }
    results.storage = storage;

    for (const s of storage) {
      const ratio = s.resume.median / s.cpSpawn.median;
      row(`resume (load+verify+rehydrate) vs cp, ${s.label}`, `${formatMs(s.resume.median)} vs ${formatMs(s.cpSpawn.median)} = ${times(ratio)}`, '≤ 1.5× cp', ratio <= 1.5);
      row(`  vs fs.copyFile / copyFile+fsync`, `${formatMs(s.copyFile.median)} = ${times(s.resume.median / s.copyFile.median)} / ${formatMs(s.copyFileFsync.median)} = ${times(s.resume.median / s.copyFileFsync.median)}`);
      const parts = s.loadParts;
      row(`  load only / rehydrate only`, `${formatMs(s.load.median)} / ${formatMs(s.rehydrate.median)}`);
      row(`  load steps: blob read, brotli, sha256, lines`, `${formatMs(parts.read.median)}, ${formatMs(parts.decode.median)}, ${formatMs(parts.sha256.median)}, ${formatMs(parts.countLines.median)}`);
    }
    for (const s of storage) {
      const ratio = s.periodicSave.median / s.fullSave.median;
      row(`periodic save (10 lines) vs full save, time, ${s.label}`, `${formatMs(s.periodicSave.median)} vs ${formatMs(s.fullSave.median)} = ${percent(ratio)}`, '≤ 1%', ratio <= 0.01);
    }
    for (const s of storage) {
      const rawRatio = median(s.periodicRawBytes) / s.fullSaveRawBytes;
      const storedRatio = median(s.periodicStoredBytes) / s.fullSaveStoredBytes;
      row(
        `periodic save vs full save, bytes, ${s.label}`,
        `raw ${formatBytes(median(s.periodicRawBytes))} = ${percent(rawRatio)}; stored ${formatBytes(median(s.periodicStoredBytes))} vs ${formatBytes(s.fullSaveStoredBytes)} = ${percent(storedRatio)}`,
        '≤ 1%',
        Math.max(rawRatio, storedRatio) <= 0.01,
      );
    }
    for (const s of storage) {
      const chunks = s.chunkBytes / s.rawBytes;
      const db = s.dbBytes / s.rawBytes;
      row(`stored/raw, ${s.label} (one full save)`, `chunks ${chunks.toFixed(3)}, db file ${db.toFixed(3)}`, '≤ 0.2', Math.max(chunks, db) <= 0.2);
    }

    // 4 (continued): what a real run leaves, and the codec choice.
    if (!tenMb) throw new Error('bench: no 10 MB rollout');
    log('10 MB saved as it grows, 10 lines per save …');
    const incremental = await benchIncrementalStorage({ rollout: tenMb, workDir, linesPerSave: 10 });
    results.incremental = incremental;
    row(
      'stored/raw, 10 MB saved in 10-line deltas',
      `chunks ${(incremental.chunkBytes / incremental.rawBytes).toFixed(3)}, db file ${(incremental.dbBytes / incremental.rawBytes).toFixed(3)} (${incremental.saves} saves, ${formatMs(incremental.msPerSave)}/save)`,
      '≤ 0.2',
      Math.max(incremental.chunkBytes, incremental.dbBytes) / incremental.rawBytes <= 0.2,
    );
    log('codecs on the 10 MB rollout …');
    const codecs: CodecResult[] = benchCodecs(tenMb.content, quick ? 1 : 3);
    results.codecs = codecs;
    for (const codec of codecs) {
      row(`codec ${codec.codec}, 10 MB`, `ratio ${codec.ratio.toFixed(3)} (10-line deltas ${codec.deltaRatio.toFixed(3)}), ${codec.compressMBps} MB/s in, ${codec.decompressMBps} MB/s out`);
    }
    const withReasoning = synthesiseRollout(10 * MB, { seed: 11, reasoning: true });
    const reasoningRatio = chunkRatio(withReasoning.content);
    results.reasoningRatio = reasoningRatio;
    row('stored/raw, 10 MB with encrypted reasoning items', `${reasoningRatio.toFixed(3)} (brotli q4, one chunk)`);

    // 5: baton run vs bare codex exec.
    if (buildResult) {
      log('baton run vs codex exec …');
      const cli = await benchCli({ workDir, runs: quick ? 3 : 8, profileRuns: quick ? 2 : 4, targetMs: 150, log, build: buildResult });
      results.cli = cli;
      const cpu = (variant: { cpu: { median: number } | undefined }): string => (variant.cpu ? ` (cpu ${formatMs(variant.cpu.median)})` : '');
      row(`${cli.bare.name}, median of ${cli.runs}`, `${formatMs(cli.bare.wall.median)}${cpu(cli.bare)}`);
      for (const baton of cli.batons) {
        const cpuOverhead = baton.cpuOverheadMs === undefined ? '' : `; cpu +${baton.cpuOverheadMs.toFixed(0)} ms`;
        row(`node ${baton.entry} run − codex exec`, `${formatMs(baton.wall.median)} − ${formatMs(cli.bare.wall.median)} = +${baton.overheadMs.toFixed(0)} ms${cpuOverhead}`, '≤ +150 ms', baton.overheadMs <= 150);
      }
      const p = cli.profile;
      row('  node -e 0 / --version: main.js, bundle', `${formatMs(p.nodeStartup.median)} / ${p.versions.map((v) => formatMs(v.wall.median)).join(', ')}`);
      for (const phase of p.phases) {
        row(
          `  ${phase.entry.replace('dist/cli/', '')}: boot, →spawn, codex, →exit, exec`,
          `${[phase.bootstrap, phase.beforeSpawn, phase.codex, phase.afterCodex, phase.outside].map((x) => formatMs(x.median)).join(', ')} (own ${formatMs(phase.own.median)})`,
        );
      }
      row('  open store: existing / fresh (migrations)', `${formatMs(p.storeOpenExisting.median)} / ${formatMs(p.storeOpenFresh.median)}`);
      if (p.imports) row('  import alone', Object.entries(p.imports).map(([name, ms]) => `${name.replace('./dist/', '')} ${ms.toFixed(0)}`).join(', ') + ' ms');
      if (buildResult.note) row('  build', buildResult.note);
    } else {
      rows.push({ figure: 'baton run overhead over codex exec', measured: 'skipped (--skip-cli)', target: '≤ +150 ms', result: 'skip' });
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  results.rows = rows;
  results.totalSeconds = round((Date.now() - started) / 1000, 1);
  await mkdir(join(ROOT, 'bench'), { recursive: true });
  await writeFile(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  printTable();
  process.stdout.write(`\n${rows.filter((r) => r.result === 'pass').length} pass, ${rows.filter((r) => r.result === 'FAIL').length} fail · ${results.totalSeconds} s · bench/results.json\n`);
}

function printTable(): void {
  const header: Row = { figure: 'figure', measured: 'measured', target: 'target', result: 'result' as Row['result'] };
  const widths = {
    figure: Math.max(...[header, ...rows].map((r) => r.figure.length)),
    measured: Math.max(...[header, ...rows].map((r) => r.measured.length)),
    target: Math.max(...[header, ...rows].map((r) => r.target.length)),
  };
  const line = (r: Row): string => `${r.figure.padEnd(widths.figure)} | ${r.measured.padEnd(widths.measured)} | ${r.target.padEnd(widths.target)} | ${r.result}`;
  process.stdout.write(`${line(header)}\n${'-'.repeat(widths.figure)}-+-${'-'.repeat(widths.measured)}-+-${'-'.repeat(widths.target)}-+-------\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
