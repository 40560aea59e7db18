/**
 * Workspace-handoff benchmark (issue 4): snapshot and restore time and stored bytes for a 10,000-file git
 * repository with ~1 MB of changes, side by side with the same work done by hand with git, and the cost of a
 * save when nothing changed. A standalone script: `npx tsx bench/workspace.ts [--quick]`; prints a table and
 * writes bench/workspace-results.json. Every comparison is measured in one run, interleaved (the order rotates
 * each repetition), median of several repetitions after a discarded warm-up, because the machine is small and
 * noisy.
 *
 *   snapshot  baton snapshotGit (and a tracker's first final snapshot) vs by hand: `git bundle create f HEAD main`
 *             + `git add -A` into a copy of the index + `git diff --cached --binary HEAD` (the same content), and
 *             vs the bare minimum `git bundle create f HEAD` + `git diff --binary HEAD` (misses untracked files)
 *   restore   restoreGit into an empty directory vs `git clone f dir && git apply --binary patch`
 *   bytes     blobs as stored in SQLite (sum of workspace_blobs.data) vs bundle + patch files
 *   unchanged a periodic tracker.snapshot({final:false}) with nothing changed (watcher ready) — target < 20 ms
 *   plain dir snapshotDirectory / restoreDirectory of the same tree without .git vs tar -cf / tar -xf
 *
 * Where the time goes: one extra run of each baton call with GIT_TRACE2_EVENT set splits it into each git
 * process's own run time and the rest (process spawn, Node-side work); compression is timed on its own.
 */
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { newConversationId } from '../src/ids.js';
import { decodeChunkAsync, encodeChunk } from '../src/store/chunk-codec.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { Unpack } from 'tar';
import { readDirectoryState, restoreDirectory, snapshotDirectory } from '../src/workspace/directory-workspace.js';
import { git, restoreGit, snapshotGit } from '../src/workspace/git-workspace.js';
import { WorkspaceTracker } from '../src/workspace/tracker.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES, type WorkspaceSnapshot } from '../src/workspace/workspace.js';
import { buildRepo, makeChanges } from './workspace/repo.js';
import { breakdown, formatBreakdown, kb, median, ms, sh, sleep, summarise, timed, times, traced, type Samples } from './workspace/util.js';
import { createTable } from './lib/table.js';

const ROOT = new URL('..', import.meta.url).pathname;
const quick = process.argv.includes('--quick');
const REPS = quick ? { snapshot: 2, restore: 1, unchanged: 10, full: 3, dir: 1 } : { snapshot: 5, restore: 3, unchanged: 25, full: 5, dir: 2 };
const FILE_COUNT = 10_000;
const options = { maxBytes: DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false };
const started = Date.now();
const log = (message: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);

const { rows, row, section } = createTable();
const results: Record<string, unknown> = {};

/** The tracker's change watcher is private; the benchmark peeks at it to wait until it is ready. */
function watcherOf(tracker: WorkspaceTracker): { trustworthy: boolean; flags: Int32Array } | undefined {
  return (tracker as unknown as { watcher?: { trustworthy: boolean; flags: Int32Array } }).watcher;
}
async function waitForWatcher(tracker: WorkspaceTracker, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  while (!watcherOf(tracker)?.trustworthy) {
    if (Date.now() - start > timeoutMs) throw new Error('the change watcher did not become ready');
    await sleep(20);
  }
  return Date.now() - start;
}

/** Runs each variant once per repetition, rotating the order; repetition 0 is a warm-up and is dropped unless `keepFirst`. */
async function interleaved(reps: number, variants: Record<string, (rep: number) => Promise<number>>, keepFirst = false): Promise<Record<string, Samples>> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let rep = keepFirst ? 1 : 0; rep <= reps; rep++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + rep) % names.length]!;
      await sh('sync'); // the previous variant's dirty pages are not written back on this one's clock
      const value = await variants[name]!(rep);
      if (rep > 0) samples[name]!.push(value);
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarise(samples[name]!)]));
}

/** The newest snapshot's blobs as stored (a separate read-only connection). */
function storedBlobs(storePath: string, conversationId: string): Array<{ name: string; codec: string; stored: number; raw: number }> {
  const db = new Sqlite(storePath, { readonly: true });
  try {
    return db
      .prepare(`SELECT name, codec, length(data) AS stored, byte_length AS raw FROM workspace_blobs WHERE snapshot_id = (SELECT max(id) FROM workspace_snapshots WHERE conversation_id = ?) ORDER BY name`)
      .all(conversationId) as Array<{ name: string; codec: string; stored: number; raw: number }>;
  } finally {
    db.close();
  }
}

async function treeOf(dir: string): Promise<string> {
  const result = await sh(`idx=$(mktemp -u); GIT_INDEX_FILE="$idx" git add -A; GIT_INDEX_FILE="$idx" git write-tree; rm -f "$idx"`, { cwd: dir });
  return result.stdout.trim();
}
const headOf = async (dir: string): Promise<string> => (await sh(`git rev-parse HEAD; git symbolic-ref -q --short HEAD || echo detached`, { cwd: dir })).stdout.trim().replace('\n', ' ');

async function main(): Promise<void> {
  const uptime = (await sh('uptime')).stdout.trim();
  log(`uptime: ${uptime}`);
  results.environment = { node: process.version, git: (await sh('git --version')).stdout.trim(), cpus: cpus().length, uptimeAtStart: uptime, quick, reps: REPS };
  const root = await mkdtemp(join(tmpdir(), 'baton-wsbench-'));
  try {
    await run(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const uptimeEnd = (await sh('uptime')).stdout.trim();
  (results.environment as Record<string, unknown>).uptimeAtEnd = uptimeEnd;
  (results.environment as Record<string, unknown>).loadavgAtEnd = loadavg();
  results.table = rows;
  results.totalSeconds = Math.round((Date.now() - started) / 100) / 10;
  writeFileSync(join(ROOT, 'bench', 'workspace-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  printTable(uptime, uptimeEnd);
}

async function run(root: string): Promise<void> {
  // --- 1. the repository -----------------------------------------------------------------------------------
  const repo = join(root, 'repo');
  const built = await timed(() => buildRepo(repo, FILE_COUNT));
  const changes = await makeChanges(repo, built.value.tracked);
  const status = (await sh(`git status --porcelain --untracked-files=all | cut -c1-2 | sort | uniq -c | tr -s ' ' | tr '\\n' ';'`, { cwd: repo })).stdout.trim();
  log(`repository built in ${(built.ms / 1000).toFixed(1)} s: ${JSON.stringify(built.value.stats)}; changes ${JSON.stringify(changes)}; status ${status}`);
  results.repository = { ...built.value.stats, changes, status };

  // Process spawn cost, for the breakdowns.
  const spawnGit: number[] = [];
  for (let i = 0; i < 12; i++) spawnGit.push((await timed(() => git(repo, ['--version']))).ms);
  const spawnBash: number[] = [];
  for (let i = 0; i < 8; i++) spawnBash.push((await timed(() => sh('true'))).ms);
  const spawnMs = median(spawnGit.slice(2));
  results.spawn = { gitVersionMs: summarise(spawnGit.slice(2)), bashTrueMs: summarise(spawnBash.slice(2)) };

  // --- 2. snapshot -----------------------------------------------------------------------------------------
  const hand = join(root, 'by-hand');
  await mkdir(hand);
  const equivalentScript = `idx=$(mktemp -u); cp .git/index "$idx"; GIT_INDEX_FILE="$idx" git add -A; GIT_INDEX_FILE="$idx" git diff --cached --binary HEAD > '${hand}/equiv.patch'; rm -f "$idx"; git bundle create -q '${hand}/equiv.bundle' HEAD main`;
  const bareScript = `git bundle create -q '${hand}/bare.bundle' HEAD; git diff --binary HEAD > '${hand}/bare.patch'`;
  const storePath = join(root, 'store.sqlite');
  const store = await openSqliteStore(storePath);
  const conversation = await store.createConversation({ id: newConversationId(), harness: 'codex', title: 'workspace bench', cwd: repo });
  let lastSnapshot: WorkspaceSnapshot | undefined;
  const bundleHashes = new Set<string>();
  const saveMs: number[] = [];
  const trackerStartMs: number[] = [];
  const watcherReadyMs: number[] = [];
  log(`snapshot: ${REPS.snapshot} repetitions (+1 warm-up)`);
  const snap = await interleaved(REPS.snapshot, {
    baton: async (rep) => {
      const result = await timed(() => snapshotGit(repo, options, undefined));
      lastSnapshot = result.value.snapshot;
      if (result.value.snapshot.blobs.bundle) bundleHashes.add(createHash('sha256').update(result.value.snapshot.blobs.bundle).digest('hex'));
      const saved = await timed(() => store.saveWorkspaceSnapshot({ conversationId: conversation.id, runId: `run-${rep}`, snapshot: result.value.snapshot, transcript: undefined }));
      if (rep > 0) saveMs.push(saved.ms);
      return result.ms;
    },
    equivalent: async () => (await timed(() => sh(equivalentScript, { cwd: repo }))).ms,
    bare: async () => (await timed(() => sh(bareScript, { cwd: repo }))).ms,
    tracker: async (rep) => {
      const tracker = new WorkspaceTracker(repo, options, undefined);
      try {
        const startTime = await timed(() => tracker.start());
        const ready = await waitForWatcher(tracker);
        await sleep(200);
        if (rep > 0) {
          trackerStartMs.push(startTime.ms);
          watcherReadyMs.push(ready);
        }
        const first = await timed(() => tracker.snapshot({ final: true }));
        if (!first.value) throw new Error('the first tracker snapshot returned nothing');
        return first.ms;
      } finally {
        await tracker.close();
      }
    },
  });
  const save = summarise(saveMs);
  log(`snapshot medians: baton ${ms(snap.baton!.median)}, tracker ${ms(snap.tracker!.median)}, by hand ${ms(snap.equivalent!.median)}, bare ${ms(snap.bare!.median)}, save ${ms(save.median)} ms`);

  // --- 3. stored bytes -------------------------------------------------------------------------------------
  const blobRows = storedBlobs(storePath, conversation.id);
  const db = new Sqlite(storePath, { readonly: true });
  const manifestBytes = (db.prepare(`SELECT length(manifest) AS n FROM workspace_snapshots WHERE conversation_id = ? ORDER BY id DESC LIMIT 1`).get(conversation.id) as { n: number }).n;
  db.close();
  const storedBytes = blobRows.reduce((sum, blob) => sum + blob.stored, 0);
  const size = async (file: string): Promise<number> => (await stat(join(hand, file))).size;
  const handBytes = { bundle: await size('equiv.bundle'), patch: await size('equiv.patch'), bareBundle: await size('bare.bundle'), barePatch: await size('bare.patch') };
  const equivalentBytes = handBytes.bundle + handBytes.patch;
  results.bytes = { blobs: blobRows, manifestBytes, storedBytes, byHand: handBytes, distinctBundlesOverRepetitions: bundleHashes.size };

  // --- 4. restore ------------------------------------------------------------------------------------------
  const loadMs: number[] = [];
  for (let i = 0; i <= REPS.restore; i++) {
    const loaded = await timed(() => store.loadWorkspaceSnapshot(conversation.id));
    if (i > 0) loadMs.push(loaded.ms);
  }
  const stored = (await store.loadWorkspaceSnapshot(conversation.id))!;
  const storedSnapshot: WorkspaceSnapshot = { manifest: stored.manifest, blobs: stored.blobs };
  const verification: Record<string, string> = {};
  log(`restore: ${REPS.restore} repetitions (+1 warm-up)`);
  const restore = await interleaved(REPS.restore, {
    baton: async (rep) => {
      const target = join(root, `restored-baton-${rep}`);
      const result = await timed(() => restoreGit(storedSnapshot, target, 'restore', options));
      if (rep === 0) {
        verification.batonTree = await treeOf(target);
        verification.batonHead = await headOf(target);
      }
      await rm(target, { recursive: true, force: true });
      return result.ms;
    },
    byHand: async (rep) => {
      const target = join(root, `restored-hand-${rep}`);
      const result = await timed(() => sh(`git -c advice.detachedHead=false clone -q '${hand}/equiv.bundle' '${target}'; cd '${target}'; git apply --binary '${hand}/equiv.patch'`, { cwd: root }));
      if (rep === 0) {
        verification.handTree = await treeOf(target);
        verification.handHead = await headOf(target);
      }
      await rm(target, { recursive: true, force: true });
      return result.ms;
    },
  });
  const load = summarise(loadMs);
  const manifest = storedSnapshot.manifest.kind === 'git' ? storedSnapshot.manifest : undefined;
  verification.snapshotTree = manifest?.tree ?? '?';
  verification.sourceHead = await headOf(repo);
  const restoredOk = verification.batonTree === verification.snapshotTree && verification.handTree === verification.snapshotTree && verification.batonHead === verification.sourceHead;
  results.verification = { ...verification, restoredOk };
  log(`restore medians: baton ${ms(restore.baton!.median)} (+ load ${ms(load.median)}), by hand ${ms(restore.byHand!.median)} ms; trees ${restoredOk ? 'match' : 'DIFFER'} ${JSON.stringify(verification)}`);

  // --- 5. unchanged workspace ------------------------------------------------------------------------------
  log('unchanged workspace');
  const tracker = new WorkspaceTracker(repo, options, undefined);
  const startTime = await timed(() => tracker.start());
  const ready = await waitForWatcher(tracker);
  await sleep(Math.max(0, 2000 - ready));
  const firstTraced = await traced(join(root, 'trace-tracker.json'), () => tracker.snapshot({ final: true }));
  const cpuBefore = process.cpuUsage();
  await sleep(2000);
  const idle = process.cpuUsage(cpuBefore);
  const dirtyAfterSnapshot = Atomics.load(watcherOf(tracker)!.flags, 1) === 1;
  const periodicMs: number[] = [];
  let periodicStored = 0;
  for (let i = 0; i < REPS.unchanged; i++) {
    const result = await timed(() => tracker.snapshot({ final: false }));
    periodicMs.push(result.ms);
    if (result.value) periodicStored++;
    await sleep(30);
  }
  const fullMs: number[] = [];
  for (let i = 0; i < REPS.full; i++) {
    const result = await timed(() => tracker.snapshot({ final: true }));
    fullMs.push(result.ms);
    if (result.value) periodicStored++;
  }
  // An unchanged tree but a write to an ignored file (build output): the watcher cannot tell, so a full check runs.
  const ignoredMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    await writeFile(join(repo, 'out', `chunk${i}.js`), `// rebuilt ${i}\n`);
    await sleep(300);
    const result = await timed(() => tracker.snapshot({ final: false }));
    ignoredMs.push(result.ms);
    if (result.value) periodicStored++;
  }
  // A one-line edit after that: what the next changed save costs and stores (the bundle is not incremental).
  const editedPath = join(repo, built.value.tracked[0]!);
  const original = await readFile(editedPath);
  await writeFile(editedPath, Buffer.concat([original, Buffer.from('// one more line\n')]));
  await sleep(300);
  const smallChange = await timed(() => tracker.snapshot({ final: false }));
  if (!smallChange.value) throw new Error('the one-line edit was not snapshotted');
  const smallSnapshot = smallChange.value;
  const smallSave = await timed(() => store.saveWorkspaceSnapshot({ conversationId: conversation.id, runId: 'small-edit', snapshot: smallSnapshot, transcript: undefined }));
  await writeFile(editedPath, original);
  await tracker.close();
  const smallStored = storedBlobs(storePath, conversation.id).reduce((sum, blob) => sum + blob.stored, 0);
  const periodic = summarise(periodicMs);
  results.unchanged = {
    trackerStartMs: startTime.ms,
    watcherReadyMs: ready,
    firstFinalSnapshotTracedMs: firstTraced.wallMs,
    idleCpuMsOver2s: (idle.user + idle.system) / 1000,
    dirtyFlagSetBySnapshotItself: dirtyAfterSnapshot,
    periodicMs: periodic,
    fullCheckMs: summarise(fullMs),
    ignoredWriteMs: summarise(ignoredMs),
    unexpectedSnapshots: periodicStored,
    oneLineEdit: { snapshotMs: smallChange.ms, saveMs: smallSave.ms, storedBytes: smallStored },
  };
  log(`unchanged: periodic ${ms(periodic.median)} (max ${ms(periodic.max)}), full check ${ms(median(fullMs))}, after ignored write ${ms(median(ignoredMs))} ms`);

  // --- 6. where the time goes (one traced run each) ----------------------------------------------------------
  log('breakdowns (GIT_TRACE2_EVENT)');
  const batonTrace = await traced(join(root, 'trace-snapshot.json'), () => snapshotGit(repo, options, undefined));
  const handTrace = await traced(join(root, 'trace-hand.json'), () => sh(equivalentScript, { cwd: repo }));
  const restoreTrace = await traced(join(root, 'trace-restore.json'), () => restoreGit(storedSnapshot, join(root, 'restored-traced'), 'restore', options));
  const cloneTrace = await traced(join(root, 'trace-clone.json'), () =>
    sh(`git -c advice.detachedHead=false clone -q '${hand}/equiv.bundle' '${join(root, 'cloned-traced')}'; cd '${join(root, 'cloned-traced')}'; git apply --binary '${hand}/equiv.patch'`, { cwd: root }),
  );
  const blobs = lastSnapshot!.blobs;
  const encodeTimes: Record<string, { ms: number; raw: number; stored: number; codec: string }> = {};
  const decodeTimes: Record<string, number> = {};
  for (const [name, bytes] of Object.entries(blobs) as Array<[string, Buffer]>) {
    const samples: number[] = [];
    let encoded = encodeChunk(bytes);
    for (let i = 0; i < 3; i++) {
      const result = await timed(() => encodeChunk(bytes));
      samples.push(result.ms);
      encoded = result.value;
    }
    encodeTimes[name] = { ms: median(samples), raw: bytes.length, stored: encoded.data.length, codec: encoded.codec };
    const decodes: number[] = [];
    for (let i = 0; i < 3; i++) decodes.push((await timed(() => decodeChunkAsync(encoded))).ms);
    decodeTimes[name] = median(decodes);
  }
  // saveWorkspaceSnapshot = brotli per blob + sha256 per blob + the SQLite insert (WAL write, checkpoint).
  const shaSamples: number[] = [];
  for (let i = 0; i < 3; i++) shaSamples.push((await timed(() => Object.values(blobs).map((bytes) => createHash('sha256').update(bytes as Buffer).digest('hex')))).ms);
  const insertSamples: number[] = [];
  const scratch = new Sqlite(join(root, 'scratch.sqlite'));
  scratch.pragma('journal_mode = WAL');
  scratch.pragma('synchronous = NORMAL');
  scratch.exec('CREATE TABLE blobs (name TEXT, data BLOB)');
  const insert = scratch.prepare('INSERT INTO blobs VALUES (?, ?)');
  const encodedBlobs = (Object.entries(blobs) as Array<[string, Buffer]>).map(([name, bytes]): [string, Buffer] => [name, encodeChunk(bytes).data]);
  for (let i = 0; i < 3; i++) {
    insertSamples.push((await timed(() => scratch.transaction(() => {
      for (const [name, data] of encodedBlobs) insert.run(name, data);
    })())).ms);
  }
  scratch.close();
  const encodeMs = Object.values(encodeTimes).reduce((sum, e) => sum + e.ms, 0);
  const saveParts = { encodeMs, sha256Ms: median(shaSamples), restInStoreMs: save.median - encodeMs - median(shaSamples), scratchSqliteInsertMs: median(insertSamples) };
  const split = (trace: { wallMs: number; processes: Parameters<typeof breakdown>[0] }) => {
    const b = breakdown(trace.processes);
    return { wallMs: Math.round(trace.wallMs * 10) / 10, gitMs: Math.round(b.topLevelMs * 10) / 10, outsideGitMs: Math.round((trace.wallMs - b.topLevelMs) * 10) / 10, gitProcesses: b.count, parts: b.parts, children: b.children };
  };
  const breakdowns = { snapshotGit: split(batonTrace), trackerFirstFinal: split(firstTraced), byHandSnapshot: split(handTrace), restoreGit: split(restoreTrace), byHandRestore: split(cloneTrace) };
  results.breakdowns = { ...breakdowns, spawnMsPerGit: spawnMs, encode: encodeTimes, decode: decodeTimes, save: saveParts };
  await store.close();

  // --- 7. plain directory ----------------------------------------------------------------------------------
  log('plain directory');
  const plain = join(root, 'plain');
  await mkdir(plain);
  await sh(`tar -C '${repo}' --exclude=./.git --exclude=./out --exclude='*.log' -cf - . | tar -C '${plain}' -xf -`);
  await sleep(2100); // the directory hash cache only trusts files older than 2 s at the listing
  const cold = await timed(() => snapshotDirectory(plain, options, undefined));
  let archive = cold.value.snapshot;
  const dirSnap = await interleaved(REPS.dir, {
    baton: async () => {
      const result = await timed(() => snapshotDirectory(plain, options, undefined));
      archive = result.value.snapshot;
      return result.ms;
    },
    tar: async () => (await timed(() => sh(`tar -C '${plain}' -cf '${hand}/plain.tar' .`))).ms,
  }, true);
  const dirRestore = await interleaved(REPS.dir, {
    baton: async (rep) => {
      const target = join(root, `plain-baton-${rep}`);
      const result = await timed(() => restoreDirectory(archive, target, 'restore'));
      await rm(target, { recursive: true, force: true });
      return result.ms;
    },
    tar: async (rep) => {
      const target = join(root, `plain-tar-${rep}`);
      const result = await timed(() => sh(`mkdir '${target}' && tar -C '${target}' -xf '${hand}/plain.tar'`));
      await rm(target, { recursive: true, force: true });
      return result.ms;
    },
  }, true);
  const listing: number[] = [];
  for (let i = 0; i < 3; i++) listing.push((await timed(() => readDirectoryState(plain, options))).ms);
  const nodeTar: number[] = [];
  for (let i = 0; i < Math.max(1, REPS.dir - 1); i++) {
    const target = join(root, `plain-node-tar-${i}`);
    await mkdir(target);
    await sh('sync');
    nodeTar.push((await timed(() => new Promise<void>((resolve, reject) => {
      const unpack = new Unpack({ cwd: target, strict: true });
      unpack.on('error', reject);
      unpack.on('close', () => resolve());
      unpack.end(archive.blobs.archive!);
    }))).ms);
    await rm(target, { recursive: true, force: true });
  }
  const archiveBytes = archive.blobs.archive!.length;
  const archiveEncode = await timed(() => encodeChunk(archive.blobs.archive!));
  const tarBytes = (await stat(join(hand, 'plain.tar')).then((s) => s.size));
  results.directory = { listingMs: summarise(listing), nodeTarUnpackMs: summarise(nodeTar), coldSnapshotMs: cold.ms, snapshot: dirSnap, restore: dirRestore, archiveBytes, storedBytes: archiveEncode.value.data.length, encodeMs: archiveEncode.ms, tarBytes };

  // --- the table -------------------------------------------------------------------------------------------
  results.snapshot = { ...snap, save };
  results.restore = { ...restore, load };
  const ratio = (a: number, b: number): string => `${times(a / b)} = ${ms(a)}/${ms(b)} ms`;
  const s = built.value.stats;
  section(`repo: ${s.files} files, ${s.directories} dirs, ${kb(s.textBytes + s.binaryBytes)} (pack ${kb(s.packBytes)}), no remote; changes ${kb(changes.totalBytes)}: commit ${kb(changes.committedBytes)}, 80 edits ${kb(changes.editBytes)} (20 staged), 41 untracked ${kb(changes.untrackedBytes)}, 1 deleted`);
  section('medians in ms; "by hand" = git bundle create f HEAD main + cp index, git add -A, git diff --cached --binary HEAD');
  row('snapshotGit vs by hand', ratio(snap.baton!.median, snap.equivalent!.median), '≤ 1.3×', snap.baton!.median / snap.equivalent!.median <= 1.3);
  row("tracker's first snapshot({final}) vs by hand", ratio(snap.tracker!.median, snap.equivalent!.median), '≤ 1.3×', snap.tracker!.median / snap.equivalent!.median <= 1.3);
  row('tracker snapshot + saveWorkspaceSnapshot vs by hand', ratio(snap.tracker!.median + save.median, snap.equivalent!.median), '≤ 1.3×', (snap.tracker!.median + save.median) / snap.equivalent!.median <= 1.3);
  row('snapshotGit vs bare bundle HEAD + diff --binary HEAD', `${ratio(snap.baton!.median, snap.bare!.median)} (bare misses untracked files)`);
  row('  saveWorkspaceSnapshot = brotli + sha256 + SQLite', `${ms(save.median)} = ${ms(saveParts.encodeMs)} + ${ms(saveParts.sha256Ms)} + ${ms(saveParts.restInStoreMs)} (bare insert, fresh db: ${ms(saveParts.scratchSqliteInsertMs)})`);
  row('restoreGit (empty dir) vs clone bundle + apply --binary', `${ratio(restore.baton!.median, restore.byHand!.median)}; trees equal: ${restoredOk ? 'yes' : 'NO'}`, '≤ 1.3×', restore.baton!.median / restore.byHand!.median <= 1.3 && restoredOk);
  row('loadWorkspaceSnapshot + restoreGit vs by hand', ratio(load.median + restore.baton!.median, restore.byHand!.median), '≤ 1.3×', (load.median + restore.baton!.median) / restore.byHand!.median <= 1.3);
  row('stored bytes vs bundle + patch files', `${times(storedBytes / equivalentBytes)} = ${kb(storedBytes)}/${kb(equivalentBytes)}`, '≤ 1.3×', storedBytes / equivalentBytes <= 1.3);
  row('  blobs raw → stored', `${blobRows.map((b) => `${b.name} ${kb(b.raw)} → ${kb(b.stored)} (${b.codec})`).join(', ')}; bare by hand ${kb(handBytes.bareBundle + handBytes.barePatch)}`);
  row('  next save after a one-line edit', `stores ${kb(smallStored)}; snapshot ${ms(smallChange.ms)} + save ${ms(smallSave.ms)}; same bundle bytes each save: ${bundleHashes.size === 1 ? 'yes' : `no (${bundleHashes.size})`}`);
  row('unchanged: periodic snapshot({final:false})', `${ms(periodic.median)} ms (max ${ms(periodic.max)}, n=${periodicMs.length})`, '< 20 ms', periodic.median < 20 && periodic.max < 20 && periodicStored === 0);
  row('  unchanged: final (full check); after ignored write', `${ms(median(fullMs))}; ${ms(median(ignoredMs))} (out/ is gitignored; the watcher does not know)`);
  row('  tracker start(); watcher ready after; idle CPU/2 s', `${ms(startTime.ms)}; +${ms(ready)}; ${ms((idle.user + idle.system) / 1000)}`);
  row('plain dir: snapshotDirectory vs tar -cf', `${ratio(dirSnap.baton!.median, dirSnap.tar!.median)}; cold ${ms(cold.ms)}; listing alone ${ms(median(listing))}`);
  row('plain dir: restoreDirectory vs tar -xf', `${ratio(dirRestore.baton!.median, dirRestore.tar!.median)}; bare node-tar Unpack ${ms(median(nodeTar))}`);
  row('  plain dir: archive; stored (brotli)', `${kb(archiveBytes)} (tar ${kb(tarBytes)}); ${kb(archiveEncode.value.data.length)} in ${ms(archiveEncode.ms)} ms`);
  section('where the time goes — one GIT_TRACE2 run each: wall = git processes (own clocks) + outside git (spawn, Node work)');
  const traces = { snapshotGit: batonTrace, trackerFirstFinal: firstTraced, byHandSnapshot: handTrace, restoreGit: restoreTrace, byHandRestore: cloneTrace };
  for (const [name, b] of Object.entries(breakdowns)) {
    row(`  ${name} (${b.gitProcesses} git processes)`, `${ms(b.wallMs)} = ${ms(b.gitMs)} + ${ms(b.outsideGitMs)}: ${formatBreakdown(breakdown(traces[name as keyof typeof traces].processes), 5)}`);
  }
  row('  Node spawn of `git --version`; brotli enc/dec', `${ms(spawnMs)} each; ${Object.entries(encodeTimes).map(([name, e]) => `${name} ${ms(e.ms)}/${ms(decodeTimes[name]!)}`).join(', ')}`);
}

function printTable(uptime: string, uptimeEnd: string): void {
  const width = Math.max(...rows.filter((r) => r.result !== '').map((r) => r.figure.length)) + 2;
  const lines = [`baton workspace benchmark — ${quick ? 'quick' : 'full'} run, ${cpus().length} cores; ${uptime.replace(/^.*load/, 'load')} → ${uptimeEnd.replace(/^.*load/, 'load')}`];
  for (const r of rows) {
    if (r.result === '') lines.push(`${r.figure}`);
    else lines.push(`${r.figure.padEnd(width)}${r.target ? `${r.result.padEnd(5)}${r.target.padEnd(8)}` : ' '.repeat(13)}${r.measured}`);
  }
  lines.push(`total ${results.totalSeconds as number} s; all samples in bench/workspace-results.json`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
