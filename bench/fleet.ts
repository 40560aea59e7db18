/**
 * Fleet benchmark: baton's PostgreSQL store, `baton serve` and `baton worker` under load. A standalone script
 * (`npx tsx bench/fleet.ts [--quick]`, also the last step of `npm run bench`); prints a table (figure, measured,
 * target, pass/FAIL) and writes bench/fleet-results.json. It runs against a throwaway PostgreSQL cluster
 * (test/helpers/postgres-cluster.ts: loopback, fsync off) on this small, noisy machine; the load's clients, the
 * stores and the worker run in this process, and the resume fetches' target figures come from a separate
 * `baton serve` process; variants that are compared are measured side by side, alternating, each after a short
 * warm-up.
 *
 *   1. delta saves  32 clients, each appending a 10-line delta of a synthetic Codex rollout to its own
 *                   conversation (pre-loaded with a 1 MB main transcript) with store.appendTranscript, base =
 *                   the previous cursor and the running sha256 totals, exactly as a worker's periodic save does.
 *                   Target ≥ 1,000 saves/s, p99 < 50 ms.
 *   2. resume fetch 32 HTTP clients (keep-alive) GETting /v1/conversations/{id}/transcript/raw of the 1 MB
 *                   conversations on loopback. Target ≥ 200 fetches/s, p99 < 50 ms, from the real built CLI
 *                   (`node dist/cli/baton.mjs serve`, built first when dist/ is missing or older than src/) in a
 *                   process of its own, as in a deployment, where the clients are elsewhere; for comparison
 *                   (info) from startServer in this process, where the clients' own CPU shares the server's one
 *                   event loop. Measured before the saves, so each transcript is still one 1 MB chunk.
 *   3. queue pickup one real FleetWorker (concurrency 1) running the real Codex CLI against the scripted model
 *                   server; runs enqueued one at a time while the worker is idle; pickup = the run's startedAt
 *                   (set when the worker claims it) − queuedAt. No target: reported.
 *
 * The saves are measured with the store as `openPostgresStore` opens it (a pg Pool of 10 connections, pg's
 * default: 32 clients share 10 connections; `baton serve` and the in-process server use it too) and, for
 * comparison, with a PostgresStore built over its own pool of 32 connections (the class's public constructor
 * takes any Kysely instance; src/ is unchanged); saves and fetches also with one client alone (the fetch from
 * the in-process server), for the unloaded latency. To show what saturates, each reports the CPU (in cores)
 * used by this process (clients, and the in-process server and store, which share its one event loop; with the
 * `baton serve` process, the clients only), by that process (from /proc), by PostgreSQL (its processes, from
 * /proc) and by everything else on the machine. Where the time of one save and one fetch goes is measured too:
 * a save's one round trip and compression; a fetch's steps as the route takes them.
 * Before each part the script waits (up to 15 s) for other processes to leave the machine mostly idle.
 *
 * With bodies in object storage (--blobs): the delta saves and the resume fetches from a `baton serve` process
 * are measured once more, side by side with the inline ones, on a second database of the same cluster whose
 * store keeps its bodies in S3 (s3rver on loopback, its own process; test/helpers/s3-server.ts).
 *
 * Options: --quick (shorter measurements, fewer queued runs, for trying the script out).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { enqueueRun } from '../src/fleet/queue.js';
import { createToken, tenantOfToken } from '../src/fleet/tokens.js';
import { FleetWorker } from '../src/fleet/worker.js';
import { newConversationId, newRunId } from '../src/ids.js';
import { isFinishedRunStatus } from '../src/model/run-status.js';
import { startServer, type RunningServer } from '../src/server/serve.js';
import { encodeChunk } from '../src/store/chunk-codec.js';
import { openPostgresStore, PostgresStore } from '../src/store/postgres.js';
import type { Database } from '../src/store/schema.js';
import type { Run, TranscriptCursor } from '../src/store/store.js';
import { scriptedCodexConfig } from '../src/harness/codex/scripted.js';
import { createMachine } from '../src/testing/machine.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../src/testing/scripted-model-server.js';
import { serialiseFile } from '../src/transcript/envelope.js';
import { countNewlines } from '../src/transcript/jsonl.js';
import { startPostgresCluster, type PostgresCluster } from '../test/helpers/postgres-cluster.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { DEFAULT_INLINE_BELOW_BYTES } from '../src/store/sql/object-bodies.js';
import { waitForQuiet } from './lib/cli.js';
import { benchSession } from './lib/sessions.js';
import { MB, formatBytes, formatMs, median, round, settle } from './lib/stats.js';
import { createTable, type Row, type Verdict } from './lib/table.js';

const ROOT = new URL('..', import.meta.url).pathname;
/** The esbuild bundle package.json's `bin` names: what `baton serve` runs in a deployment. */
const BATON = join(ROOT, 'dist/cli/baton.mjs');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const quick = process.argv.slice(2).includes('--quick');
const started = Date.now();
const log = (message: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const CLIENTS = 32;
/** Each load variant is measured in ROUNDS segments of SEGMENT_MS (alternating with the other variant): ~5 s in all. */
const ROUNDS = quick ? 1 : 2;
const SEGMENT_MS = quick ? 1_500 : 2_500;
/** Discarded load before every segment: connections opened, JIT warm, pool full. */
const WARMUP_MS = quick ? 300 : 700;
/** One client alone, for the unloaded latency of the same operation. */
const SINGLE_MS = quick ? 500 : 1_500;
const PICKUP_RUNS = quick ? 5 : 15;
/** Pause after a queued run ends before the next is enqueued, so that every run finds the worker idle. */
const IDLE_GAP_MS = 300;
/** Distinct 10-line deltas the save clients cycle through. */
const DELTAS = quick ? 96 : 256;
const BIG_POOL = 32;
/** Before each part, wait up to this long for other processes to leave the machine mostly idle (bench/lib/cli.ts). */
const QUIET_WAIT_S = quick ? 3 : 15;
const DEFAULT_POOL = 10; // pg-pool's default `max`, which openPostgresStore keeps
/** The resume fetches' variants: startServer in this process (with the clients), and `baton serve` in its own. */
const IN_PROCESS = 'in-process server';
const SERVE_PROCESS = 'baton serve process';
const S3_SUFFIX = ', bodies in S3';
const S3_ALL_SUFFIX = ', every body in S3';

const TARGETS = { savesPerSecond: 1_000, saveP99Ms: 50, fetchesPerSecond: 200, fetchP99Ms: 50 };

// --- the table ---------------------------------------------------------------------------------------------

const { rows, row, section } = createTable();
const results: Record<string, unknown> = {};

const count = (value: number): string => Math.round(value).toLocaleString('en-US');

/** Nearest-rank percentile (p in 0–100) of unsorted samples. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// --- closed-loop load --------------------------------------------------------------------------------------

/**
 * CPU time (ms) used so far by the PostgreSQL server listening on `port`: its postmaster and every process under
 * it (the backends serving our pools), from /proc. undefined where there is no /proc or no such server.
 */
function postgresCpuMs(port: string): () => number | undefined {
  const stats = (): Array<{ pid: number; ppid: number; ticks: number; childTicks: number }> =>
    readdirSafe('/proc').flatMap((entry) => {
      const stat = /^\d+$/.test(entry) ? procStat(Number(entry)) : undefined;
      return stat ? [{ pid: Number(entry), ...stat }] : [];
    });
  let postmaster: number | undefined;
  const isOurs = (pid: number): boolean => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return /postgres$/.test(argv[0] ?? '') && argv.some((arg, index) => arg === '-p' && argv[index + 1] === port);
    } catch {
      return false;
    }
  };
  return () => {
    const all = stats();
    postmaster ??= all.find((process_) => isOurs(process_.pid))?.pid;
    if (postmaster === undefined) return undefined;
    // Backends that already exited were reaped by the postmaster: their time is in its children's ticks.
    return all.reduce((total, process_) => total + (process_.pid === postmaster ? process_.ticks + process_.childTicks : process_.ppid === postmaster ? process_.ticks : 0), 0) * TICK_MS;
  };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** A process's parent and CPU ticks (its own, and its reaped children's) from /proc; undefined once it is gone. */
function procStat(pid: number): { ppid: number; ticks: number; childTicks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: state ppid … utime(11) stime(12) cutime(13) cstime(14).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), childTicks: Number(fields[13]) + Number(fields[14]) };
  } catch {
    return undefined;
  }
}

/** CPU time (ms) used so far by the process `pid` (user + system), from /proc; undefined where it cannot be read. */
function processCpuMs(pid: number): () => number | undefined {
  return () => {
    const stat = procStat(pid);
    return stat && stat.ticks * TICK_MS;
  };
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Set once the cluster runs: the PostgreSQL server's CPU time so far. */
let postgresCpu: () => number | undefined = () => undefined;

/** CPU time (ms) so far of a separate server process that a load variant sends its requests to. */
type ServerCpu = () => number | undefined;

interface CpuUse {
  /** Cores' worth of CPU this process used (1 = one core busy all the time): clients, server, store, worker. */
  ownCores: number;
  /** Cores' worth used by the separate server process under load (NaN where there is none, or it cannot be read). */
  serverCores: number;
  /** Cores' worth used by the benchmark's PostgreSQL server (NaN where it cannot be read). */
  postgresCores: number;
  /** Share of the machine's total CPU in use, by anyone (PostgreSQL and other users of the machine included). */
  machineShare: number;
}

/** CPU used from now until the returned function is called; `serverCpu` reads a separate server process's, if any. */
function cpuMeter(serverCpu?: ServerCpu): () => CpuUse {
  const machine = (): { busy: number; total: number } => {
    let busy = 0;
    let total = 0;
    for (const cpu of cpus()) {
      const { user, nice, sys, idle, irq } = cpu.times;
      busy += user + nice + sys + irq;
      total += user + nice + sys + idle + irq;
    }
    return { busy, total };
  };
  const own = process.cpuUsage();
  const before = machine();
  const postgresBefore = postgresCpu();
  const serverBefore = serverCpu?.();
  const wallStart = performance.now();
  const cores = (before: number | undefined, after: number | undefined, wall: number): number => (before === undefined || after === undefined ? Number.NaN : (after - before) / wall);
  return () => {
    const used = process.cpuUsage(own);
    const after = machine();
    const postgresAfter = postgresCpu();
    const serverAfter = serverCpu?.();
    const wall = performance.now() - wallStart;
    const total = after.total - before.total;
    return {
      ownCores: (used.user + used.system) / 1000 / wall,
      serverCores: cores(serverBefore, serverAfter, wall),
      postgresCores: cores(postgresBefore, postgresAfter, wall),
      machineShare: total > 0 ? (after.busy - before.busy) / total : 0,
    };
  };
}

interface Load extends CpuUse {
  ops: number;
  seconds: number;
  latencies: number[];
}

/**
 * `clients` loops, each running `op` back to back until `durationMs` has passed; every op's latency is kept.
 * `serverCpu`: the separate server process the ops go to, whose CPU is measured too.
 */
async function closedLoop(clients: number, durationMs: number, op: (client: number) => Promise<void>, serverCpu?: ServerCpu): Promise<Load> {
  settle();
  const latencies: number[] = [];
  const cpu = cpuMeter(serverCpu);
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (performance.now() < deadline) {
        const opStart = performance.now();
        await op(client);
        latencies.push(performance.now() - opStart);
      }
    }),
  );
  // Until the last client's last op ended: every op counted took place within this time.
  const seconds = (performance.now() - start) / 1000;
  return { ops: latencies.length, seconds, latencies, ...cpu() };
}

function mergeLoads(loads: Load[]): Load {
  const seconds = loads.reduce((total, load) => total + load.seconds, 0);
  const weighted = (pick: (load: Load) => number): number => loads.reduce((total, load) => total + pick(load) * load.seconds, 0) / seconds;
  return { ops: loads.reduce((total, load) => total + load.ops, 0), seconds, latencies: loads.flatMap((load) => load.latencies), ownCores: weighted((load) => load.ownCores), serverCores: weighted((load) => load.serverCores), postgresCores: weighted((load) => load.postgresCores), machineShare: weighted((load) => load.machineShare) };
}

/**
 * Measures each variant for ROUNDS segments, alternating the order (A B, B A …) so that neither always runs
 * first; a warm-up precedes every segment. `serverCpus`: for the variants that load a separate server process,
 * its CPU time.
 */
async function sideBySide(what: string, variants: Record<string, (client: number) => Promise<void>>, serverCpus: Record<string, ServerCpu> = {}): Promise<Record<string, Load>> {
  const names = Object.keys(variants);
  const loads: Record<string, Load[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      log(`${what}, ${name}: round ${round + 1} of ${ROUNDS} …`);
      await closedLoop(CLIENTS, WARMUP_MS, variants[name]!);
      loads[name]!.push(await closedLoop(CLIENTS, SEGMENT_MS, variants[name]!, serverCpus[name]));
    }
  }
  return Object.fromEntries(names.map((name) => [name, mergeLoads(loads[name]!)]));
}

interface LoadSummary {
  clients: number;
  ops: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /**
   * Cores' worth of CPU used by this process (clients + in-process server + store; the clients only when the
   * server is a process of its own); the machine has cpus().length.
   */
  benchProcessCores: number;
  /** Cores' worth used by the separate server process (`baton serve`), where there is one. */
  serverProcessCores?: number;
  /** Cores' worth used by PostgreSQL (all its processes). */
  postgresCores: number;
  /** Share of all the machine's CPU in use (PostgreSQL included). */
  machineCpuShare: number;
}

function summariseLoad(load: Load, clients: number): LoadSummary {
  return {
    clients,
    ops: load.ops,
    seconds: round(load.seconds, 2),
    perSecond: round(load.ops / load.seconds, 1),
    p50Ms: round(percentile(load.latencies, 50), 2),
    p90Ms: round(percentile(load.latencies, 90), 2),
    p99Ms: round(percentile(load.latencies, 99), 2),
    maxMs: round(Math.max(...load.latencies), 2),
    meanMs: round(load.latencies.reduce((total, value) => total + value, 0) / load.latencies.length, 2),
    benchProcessCores: round(load.ownCores, 2),
    ...(Number.isNaN(load.serverCores) ? {} : { serverProcessCores: round(load.serverCores, 2) }),
    postgresCores: round(load.postgresCores, 2),
    machineCpuShare: round(load.machineShare, 3),
  };
}

/**
 * CPU in cores' worth: this process (the clients only, where the server is a process of its own), the `baton
 * serve` process, PostgreSQL, and everything else on the machine (other users' work).
 */
const describeCpu = (s: LoadSummary): string => {
  const serve = s.serverProcessCores;
  const others = s.machineCpuShare * cpus().length - s.benchProcessCores - (serve ?? 0) - (Number.isNaN(s.postgresCores) ? 0 : s.postgresCores);
  const bench = serve === undefined ? `bench ${s.benchProcessCores.toFixed(2)}` : `bench (clients) ${s.benchProcessCores.toFixed(2)}, serve ${serve.toFixed(2)}`;
  return `cores: ${bench}, pg ${Number.isNaN(s.postgresCores) ? '?' : s.postgresCores.toFixed(2)}, others ${Math.max(0, others).toFixed(2)} of ${cpus().length}`;
};
const describeLoad = (s: LoadSummary, unit: string): string =>
  `${count(s.perSecond)} ${unit}/s (${count(s.ops)} in ${s.seconds.toFixed(1)} s), p50 ${formatMs(s.p50Ms)}, p99 ${formatMs(s.p99Ms)}, max ${formatMs(s.maxMs)}; ${describeCpu(s)}`;

// --- set-up helpers ----------------------------------------------------------------------------------------

/** pg returns int8 as strings; the store's own pool parses them as numbers (src/store/postgres.ts), so does this one. */
const int8AsNumber: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** The same store class over a pool of `max` connections (openPostgresStore has no pool-size option). */
function storeWithPool(url: string, max: number): PostgresStore {
  const pool = new pg.Pool({ connectionString: url, max, types: int8AsNumber, application_name: 'baton-bench', allowExitOnIdle: true });
  pool.on('error', () => {});
  return new PostgresStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), `${url} (pool ${max})`, url);
}

/** Runs `work` over `items`, `parallel` at a time. */
async function eachLimited<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

interface Transcript {
  content: Buffer;
  lineCount: number;
  sha256: string;
  meta: ReturnType<ReturnType<typeof benchSession>['meta']>;
}

/** A conversation of the bench tenant holding `transcript` as its main file (one complete version). */
async function loadedConversation(store: PostgresStore, tenant: string, transcript: Transcript, title: string): Promise<{ id: string; cursor: TranscriptCursor }> {
  const conversation = await store.createConversation({ id: newConversationId(), harness: 'codex', title, cwd: '', tenant });
  const cursor = await store.appendTranscript({
    conversationId: conversation.id,
    fileKey: 'main',
    runId: undefined,
    base: undefined,
    bytes: transcript.content,
    after: { lineCount: transcript.lineCount, byteLength: transcript.content.length, sha256: transcript.sha256 },
    meta: transcript.meta,
  });
  return { id: conversation.id, cursor };
}

// --- 1. delta saves ----------------------------------------------------------------------------------------

/** One writer per conversation, as a worker's TranscriptSaver: the cursor and the running sha256 of the saved bytes. */
interface Writer {
  conversationId: string;
  runId: string;
  cursor: TranscriptCursor;
  hash: Hash;
  next: number;
}

async function writersFor(store: PostgresStore, tenant: string, transcript: Transcript, label: string, count = CLIENTS): Promise<Writer[]> {
  const writers: Writer[] = [];
  await eachLimited(Array.from({ length: count }, (_, index) => index), 4, async (index) => {
    const { id, cursor } = await loadedConversation(store, tenant, transcript, `bench saves ${label} ${index}`);
    // A running run holds the conversation, as during a worker's run; its id goes with every save.
    const run = await store.startRun({ conversationId: id, runId: newRunId(), kind: 'resume', prompt: 'bench', host: 'bench', cwd: '/bench', leaseMs: 3_600_000 });
    writers[index] = { conversationId: id, runId: run.id, cursor, hash: createHash('sha256').update(transcript.content), next: index * 7 };
  });
  return writers;
}

/** The saver's periodic append (src/run/saver.ts): the new complete lines after the cursor, with totals over the whole file. */
function saveDelta(store: PostgresStore, writer: Writer, deltas: Buffer[]): () => Promise<void> {
  return async () => {
    const bytes = deltas[writer.next++ % deltas.length]!;
    const after = { lineCount: writer.cursor.lineCount + countNewlines(bytes), byteLength: writer.cursor.byteLength + bytes.length, sha256: writer.hash.copy().update(bytes).digest('hex') };
    writer.cursor = await store.appendTranscript({ conversationId: writer.conversationId, fileKey: 'main', runId: writer.runId, base: writer.cursor, bytes, after, meta: undefined });
    writer.hash.update(bytes);
  };
}

// --- 2. resume fetches -------------------------------------------------------------------------------------

/** GET over a keep-alive agent; resolves with the body's length once it has all arrived, rejects unless 200. */
function get(agent: Agent, url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      const ok = response.statusCode === 200;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!ok) chunks.push(chunk);
      });
      response.on('end', () => (ok ? resolve(bytes) : reject(new Error(`GET ${url}: ${response.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`))));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One full fetch from the server at `base`, parsed and compared with what was stored: the route really returns the 1 MB envelope. */
async function checkEnvelope(base: string, token: string, conversationId: string, transcript: Transcript): Promise<number> {
  const response = await fetch(`${base}/v1/conversations/${conversationId}/transcript/raw`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`resume fetch: ${response.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { files: Array<{ key: string; encoding: string; content: string; sha256: string }> };
  const main = body.files.find((file) => file.key === 'main');
  const content = main && Buffer.from(main.content, main.encoding === 'base64' ? 'base64' : 'utf8');
  if (!content?.equals(transcript.content) || main!.sha256 !== transcript.sha256) throw new Error('resume fetch: the envelope does not hold the stored transcript');
  return Buffer.byteLength(text);
}

/** Newest modification time (ms) of the files under `dir`. */
function newestMtimeMs(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs));
}

interface ServeProcess {
  url: string;
  /** Its CPU time so far (ms), from /proc. */
  cpuMs: ServerCpu;
  /** SIGTERM, then its exit; nothing once it has exited. */
  stop: () => Promise<void>;
}

/**
 * `baton serve` over the store at `storeUrl` in a process of its own, as deployed: the real built CLI, so that
 * its figures include nothing of this process (the clients). Built first when dist/ is missing or older than
 * src/: a stale bundle would measure code that is no longer there.
 */
async function startServeProcess(storeUrl: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  if (!existsSync(BATON) || statSync(BATON).mtimeMs < newestMtimeMs(join(ROOT, 'src'))) {
    log(`${existsSync(BATON) ? 'dist/ is older than src/' : 'no dist/cli/baton.mjs'}: npm run build …`);
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const child = spawn(process.execPath, [BATON, 'serve', '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT, env: { ...process.env, BATON_STORE: storeUrl, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  // 'error' without 'exit' when it could not be spawned at all.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
  let stderr = '';
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`baton serve did not say it was listening within 30 s; its stderr:\n${stderr}`)), 30_000);
      // Read to the end (not only until the line), so that a later message cannot block it on a full pipe.
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr += text;
        const listening = /listening on (http:\/\/\S+)/.exec(stderr);
        if (listening) {
          clearTimeout(timer);
          resolve(listening[1]!);
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`baton serve exited (${signal ?? `code ${code}`}) before listening; its stderr:\n${stderr}`));
      });
    });
    return { url, cpuMs: processCpuMs(child.pid!), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Where one resume fetch's time goes: each repetition times one whole HTTP fetch, then the route's steps done one
 * after another here (src/server/app.ts does the same, then @hono/node-server sends the JSON), so that both are
 * measured side by side; medians of `reps`. What the steps do not cover is HTTP, the client and garbage collection.
 */
async function fetchSteps(store: PostgresStore, whole: () => Promise<void>, token: string, conversationId: string, reps: number): Promise<Record<string, number>> {
  const steps: Record<string, number[]> = { 'whole fetch': [], 'token+conversation queries': [], loadTranscript: [], serialiseFile: [], 'JSON.stringify': [], 'utf8 length+encode': [] };
  for (let rep = 0; rep < reps; rep++) {
    settle();
    let last = performance.now();
    const lap = (name: string): void => {
      const now = performance.now();
      steps[name]!.push(now - last);
      last = now;
    };
    await whole();
    lap('whole fetch');
    settle();
    last = performance.now();
    await tenantOfToken(store, token);
    await store.getConversation(conversationId);
    lap('token+conversation queries');
    const transcript = await store.loadTranscript(conversationId);
    lap('loadTranscript');
    const files = (transcript?.files ?? []).map(serialiseFile);
    lap('serialiseFile');
    const json = JSON.stringify({ harness: 'codex', sessionId: null, meta: transcript?.meta ?? null, files });
    lap('JSON.stringify');
    // @hono/node-server sets Content-Length from Buffer.byteLength, then the socket write encodes the string.
    if (Buffer.from(json, 'utf8').length !== Buffer.byteLength(json)) throw new Error('unreachable');
    lap('utf8 length+encode');
  }
  return Object.fromEntries(Object.entries(steps).map(([name, values]) => [name, round(median(values), 2)]));
}

// --- 3. queue pickup ---------------------------------------------------------------------------------------

async function waitForEnd(store: PostgresStore, runId: string, timeoutMs: number, workerLog: () => string): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await store.getRun(runId);
    if (run && isFinishedRunStatus(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish within ${timeoutMs / 1000} s (status ${run?.status}); worker log:\n${workerLog()}`);
    await sleep(20);
  }
}

interface PickupSample {
  runId: string;
  status: string;
  error: string | undefined;
  /** startedAt − queuedAt: from the enqueue's commit-side clock to the worker's claim (startRun). */
  pickupMs: number;
  /** queuedAt → the worker's "run … started" log line: job fetched, run and conversation read, fresh home made. */
  toRunPlaceMs: number | undefined;
  /** Queued → finished: the whole Codex run (spawn, one scripted turn, saves, workspace snapshot). */
  totalMs: number;
}

async function benchPickup(cluster: PostgresCluster, tenant: string, workDir: string): Promise<PickupSample[]> {
  let model: ScriptedModelServer | undefined;
  let worker: FleetWorker | undefined;
  // The worker gets its own store (its own pool), as a `baton worker` process has.
  const store = await openPostgresStore(cluster.url);
  const workerLines: Array<{ at: number; line: string }> = [];
  const workerLog = (): string => workerLines.map((entry) => entry.line).join('\n');
  try {
    model = await startScriptedModelServer({ script: () => ({ kind: 'text', text: 'ok' }) });
    // A worker's setup as in test/e2e/fleet-world.ts: the scripted model's keys in the environment, Codex's
    // config in the home template, and no CLI home of its own (each run gets a fresh HOME).
    const machine = await createMachine(workDir, 'worker-machine', model);
    const env: NodeJS.ProcessEnv = { ...machine.env };
    delete env.CODEX_HOME;
    delete env.CLAUDE_CONFIG_DIR;
    const homeTemplate = join(workDir, 'home-template');
    await mkdir(join(homeTemplate, '.codex'), { recursive: true, mode: 0o700 });
    await writeFile(join(homeTemplate, '.codex', 'config.toml'), scriptedCodexConfig(model.openaiBaseUrl), { mode: 0o600 });
    const dataDir = join(workDir, 'worker-data');
    await mkdir(dataDir, { recursive: true });

    worker = new FleetWorker({ store, config: {}, name: 'bench-worker', dataDir, homeTemplate, concurrency: 1, leaseMs: 30_000, drainMs: 0, env, log: (line) => workerLines.push({ at: Date.now(), line }) });
    await worker.start();
    await sleep(IDLE_GAP_MS);

    const samples: PickupSample[] = [];
    for (let index = 0; index < PICKUP_RUNS; index++) {
      const conversation = await store.createConversation({ id: newConversationId(), harness: 'codex', title: `bench pickup ${index}`, cwd: '', tenant });
      const queued = await enqueueRun(store, { conversationId: conversation.id, prompt: 'Reply with ok.' });
      const run = await waitForEnd(store, queued.id, 120_000, workerLog);
      const placed = workerLines.find((entry) => entry.line.includes(`run ${run.id} of `) && entry.line.endsWith('started'));
      const queuedAt = run.queuedAt ?? queued.startedAt;
      samples.push({ runId: run.id, status: run.status, error: run.error, pickupMs: run.startedAt - queuedAt, toRunPlaceMs: placed ? placed.at - queuedAt : undefined, totalMs: (run.endedAt ?? Date.now()) - queuedAt });
      log(`  queued run ${index + 1} of ${PICKUP_RUNS}: picked up after ${run.startedAt - queuedAt} ms, ${run.status} after ${formatMs((run.endedAt ?? Date.now()) - queuedAt)}`);
      await sleep(IDLE_GAP_MS);
    }
    return samples;
  } finally {
    await worker?.stop().catch((error: unknown) => log(`worker stop failed: ${String(error)}`));
    await model?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

// --- main --------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  results.environment = { startedAt: new Date(started).toISOString(), node: process.version, cpus: cpus().length, loadavgAtStart: loadavg(), quick };
  results.settings = { clients: CLIENTS, rounds: ROUNDS, segmentMs: SEGMENT_MS, warmupMs: WARMUP_MS, singleClientMs: SINGLE_MS, pickupRuns: PICKUP_RUNS, idleGapMs: IDLE_GAP_MS, pools: [DEFAULT_POOL, BIG_POOL], fetchServers: [IN_PROCESS, SERVE_PROCESS] };
  results.targets = TARGETS;
  const workDir = await mkdtemp(join(tmpdir(), 'baton-fleet-bench-'));
  log('starting a throwaway PostgreSQL cluster …');
  const cluster = await startPostgresCluster();
  postgresCpu = postgresCpuMs(new URL(cluster.url).port);
  const stores: PostgresStore[] = [];
  const servers: RunningServer[] = [];
  let serve: ServeProcess | undefined;
  let serveS3: ServeProcess | undefined;
  log('starting s3rver for the variant with bodies in S3 …');
  const s3 = await startS3Server();
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  // Other processes' CPU share when each part started (after waiting, up to QUIET_WAIT_S, for a quieter moment).
  const quiet: Record<string, { busy: number; waitedSeconds: number }> = {};
  results.quietBefore = quiet;
  try {
    const store = await openPostgresStore(cluster.url); // migrates
    stores.push(store);
    const bigStore = storeWithPool(cluster.url, BIG_POOL);
    stores.push(bigStore);
    const server = await startServer({ store, port: 0, host: '127.0.0.1', version: VERSION });
    servers.push(server);
    log('starting `baton serve` in a process of its own …');
    serve = await startServeProcess(cluster.url);
    // Created here, checked by either server: the same database.
    const { token, tenant } = await createToken(store, 'bench');
    // The same on a second database whose bodies are in S3 (a store records where its bodies live: its own database).
    const s3Location = s3.freshLocation();
    const s3Url = await cluster.createDatabase('baton_bench_s3');
    // As --blobs keeps them: bodies under 64 KB (the periodic deltas) stay in the rows.
    const s3Store = await openPostgresStore(s3Url, { chunkBodies: await s3.bodies(s3Location, { inlineBelowBytes: DEFAULT_INLINE_BELOW_BYTES }) });
    // Every body in the bucket (`?inline-below=0`), for what an upload per save costs; its own database too.
    const s3AllStore = await openPostgresStore(await cluster.createDatabase('baton_bench_s3_all'), { chunkBodies: await s3.bodies(s3.freshLocation(), { inlineBelowBytes: 0 }) });
    stores.push(s3AllStore);
    const { tenant: s3AllTenant } = await createToken(s3AllStore, 'bench');
    stores.push(s3Store);
    serveS3 = await startServeProcess(s3Url, { ...s3.env, BATON_BLOBS: s3Location });
    const { token: s3Token, tenant: s3Tenant } = await createToken(s3Store, 'bench');

    log('synthesising a 1 MB Codex rollout and its next 10-line deltas …');
    const session = benchSession('codex', 1 * MB, 1);
    const transcript: Transcript = { content: session.content, lineCount: countNewlines(session.content), sha256: createHash('sha256').update(session.content).digest('hex'), meta: session.meta(session.content) };
    const deltas = Array.from({ length: DELTAS }, () => session.more(10).bytes);
    const deltaBytes = deltas.map((delta) => delta.length);
    results.transcript = { bytes: transcript.content.length, lines: transcript.lineCount, deltas: { count: DELTAS, lines: 10, medianBytes: median(deltaBytes), meanBytes: round(deltaBytes.reduce((a, b) => a + b, 0) / DELTAS, 0), maxBytes: Math.max(...deltaBytes) } };

    // --- 2. resume fetches (first: the transcripts are still one chunk each) ---
    log(`loading ${CLIENTS} conversations with the 1 MB transcript for the resume fetches …`);
    const fetchIds: string[] = [];
    await eachLimited(Array.from({ length: CLIENTS }, (_, index) => index), 4, async (index) => {
      fetchIds[index] = (await loadedConversation(store, tenant, transcript, `bench fetch ${index}`)).id;
    });
    const s3FetchIds: string[] = [];
    await eachLimited(Array.from({ length: CLIENTS }, (_, index) => index), 4, async (index) => {
      s3FetchIds[index] = (await loadedConversation(s3Store, s3Tenant, transcript, `bench fetch ${index}`)).id;
    });
    const envelopeBytes = await checkEnvelope(server.url, token, fetchIds[0]!, transcript);
    await checkEnvelope(serve.url, token, fetchIds[1]!, transcript);
    await checkEnvelope(serveS3.url, s3Token, s3FetchIds[1]!, transcript);
    const fetchFrom = (base: string, ids = fetchIds, bearer = token) => async (client: number) => void (await get(agent, `${base}/v1/conversations/${ids[client]}/transcript/raw`, bearer));
    quiet.fetches = await waitForQuiet(log, QUIET_WAIT_S);
    const fetches = await sideBySide(
      'resume fetches',
      { [IN_PROCESS]: fetchFrom(server.url), [SERVE_PROCESS]: fetchFrom(serve.url), [`${SERVE_PROCESS}${S3_SUFFIX}`]: fetchFrom(serveS3.url, s3FetchIds, s3Token) },
      { [SERVE_PROCESS]: serve.cpuMs, [`${SERVE_PROCESS}${S3_SUFFIX}`]: serveS3.cpuMs },
    );
    // Not needed further: stopped so that they hold none of PostgreSQL's connections during the saves.
    await serve.stop();
    await serveS3.stop();
    log('resume fetch, one client alone …');
    await closedLoop(1, WARMUP_MS, fetchFrom(server.url));
    const fetchSingle = await closedLoop(1, SINGLE_MS, fetchFrom(server.url));
    const { 'whole fetch': wholeFetchMs, ...fetchStepMs } = await fetchSteps(store, () => fetchFrom(server.url)(0), token, fetchIds[0]!, quick ? 7 : 21);

    // --- 1. delta saves (each pool variant on its own 32 conversations) ---
    log(`loading 2 × ${CLIENTS} conversations with the 1 MB transcript for the delta saves …`);
    const writers = {
      small: await writersFor(store, tenant, transcript, `pool ${DEFAULT_POOL}`),
      big: await writersFor(bigStore, tenant, transcript, `pool ${BIG_POOL}`),
      s3: await writersFor(s3Store, s3Tenant, transcript, `pool ${DEFAULT_POOL}${S3_SUFFIX}`),
      s3All: await writersFor(s3AllStore, s3AllTenant, transcript, `pool ${DEFAULT_POOL}${S3_ALL_SUFFIX}`),
    };
    quiet.saves = await waitForQuiet(log, QUIET_WAIT_S);
    const saves = await sideBySide('delta saves', {
      [`pool ${DEFAULT_POOL}`]: (client) => saveDelta(store, writers.small[client]!, deltas)(),
      [`pool ${BIG_POOL}`]: (client) => saveDelta(bigStore, writers.big[client]!, deltas)(),
      [`pool ${DEFAULT_POOL}${S3_SUFFIX}`]: (client) => saveDelta(s3Store, writers.s3[client]!, deltas)(),
      [`pool ${DEFAULT_POOL}${S3_ALL_SUFFIX}`]: (client) => saveDelta(s3AllStore, writers.s3All[client]!, deltas)(),
    });
    log('delta save, one client alone …');
    const lone = (await writersFor(store, tenant, transcript, 'alone', 1))[0]!;
    await closedLoop(1, WARMUP_MS, saveDelta(store, lone, deltas));
    const saveSingle = await closedLoop(1, SINGLE_MS, saveDelta(store, lone, deltas));
    // One trivial statement on a pooled connection, for the cost of a save's one round trip.
    const statementMs: number[] = [];
    const statementCpu = process.cpuUsage();
    for (let index = 0; index < (quick ? 100 : 300); index++) {
      const start = performance.now();
      await sql`select 1`.execute(store.db);
      statementMs.push(performance.now() - start);
    }
    const statementCpuUsed = process.cpuUsage(statementCpu);
    const statementCpuMs = (statementCpuUsed.user + statementCpuUsed.system) / 1000 / statementMs.length;
    // The save's compression runs synchronously on the caller's thread (src/store/chunk-codec.ts).
    const encodeMs = deltas.map((delta) => {
      const start = performance.now();
      encodeChunk(delta);
      return performance.now() - start;
    });
    // Every save landed: a conversation's transcript is the 1 MB plus its deltas, verified by the store on load.
    const check = await store.loadTranscript(writers.small[0]!.conversationId);
    if (check?.files[0]?.cursor.sha256 !== writers.small[0]!.cursor.sha256) throw new Error('delta saves: the stored transcript does not end where the last save said');
    const checkS3 = await s3Store.loadTranscript(writers.s3[0]!.conversationId);
    if (checkS3?.files[0]?.cursor.sha256 !== writers.s3[0]!.cursor.sha256) throw new Error('delta saves in S3: the stored transcript does not end where the last save said');

    // --- 3. queue pickup ---
    log(`queue pickup: one worker, ${PICKUP_RUNS} runs enqueued one at a time …`);
    quiet.pickup = await waitForQuiet(log, QUIET_WAIT_S);
    const pickups = await benchPickup(cluster, tenant, workDir);

    // --- results ---
    const summary = (loads: Record<string, Load>): Record<string, LoadSummary> => Object.fromEntries(Object.entries(loads).map(([name, load]) => [name, summariseLoad(load, CLIENTS)]));
    const saveSummaries = summary(saves);
    const fetchSummaries = summary(fetches);
    const saveAlone = summariseLoad(saveSingle, 1);
    const fetchAlone = summariseLoad(fetchSingle, 1);
    const encodeMean = encodeMs.reduce((total, value) => total + value, 0) / encodeMs.length;
    results.deltaSaves = { ...saveSummaries, oneClient: saveAlone, selectOneMs: { median: round(median(statementMs), 3), benchCpuMs: round(statementCpuMs, 3) }, encodeChunkMs: { mean: round(encodeMean, 3), median: round(median(encodeMs), 3), max: round(Math.max(...encodeMs), 3) } };
    const fetchStepsTotal = Object.values(fetchStepMs).reduce((total, value) => total + value, 0);
    results.resumeFetches = { envelopeBytes, ...fetchSummaries, oneClient: fetchAlone, stepsMs: { uncached: { ...fetchStepMs, total: round(fetchStepsTotal, 2) }, cachedWholeFetch: wholeFetchMs } };
    const pickupMs = pickups.map((sample) => sample.pickupMs);
    const placeMs = pickups.flatMap((sample) => (sample.toRunPlaceMs === undefined ? [] : [sample.toRunPlaceMs]));
    const pickupSummary = {
      runs: pickups.length,
      succeeded: pickups.filter((sample) => sample.status === 'succeeded').length,
      p50Ms: percentile(pickupMs, 50),
      p99Ms: percentile(pickupMs, 99),
      minMs: Math.min(...pickupMs),
      maxMs: Math.max(...pickupMs),
      firstMs: pickupMs[0],
      p50ToRunPlaceMs: percentile(placeMs, 50),
      p50TotalMs: percentile(pickups.map((sample) => sample.totalMs), 50),
      samples: pickups,
    };
    results.queuePickup = pickupSummary;

    const save = saveSummaries[`pool ${DEFAULT_POOL}`]!;
    const fetchServe = fetchSummaries[SERVE_PROCESS]!;
    const fetchInProcess = fetchSummaries[IN_PROCESS]!;
    const big = saveSummaries[`pool ${BIG_POOL}`]!;
    const d = results.transcript as { deltas: { medianBytes: number; maxBytes: number } };
    section(`— ${CLIENTS} clients, ${((ROUNDS * SEGMENT_MS) / 1000).toFixed(1)} s each; 1 MB Codex rollouts; pool ${DEFAULT_POOL} = openPostgresStore as is —`);
    row(`delta saves/s (10 lines, median ${formatBytes(d.deltas.medianBytes)}, max ${formatBytes(d.deltas.maxBytes)})`, describeLoad(save, 'saves'), `≥ ${count(TARGETS.savesPerSecond)}/s`, save.perSecond >= TARGETS.savesPerSecond);
    row('delta save p99', `${formatMs(save.p99Ms)} (p50 ${formatMs(save.p50Ms)}, p90 ${formatMs(save.p90Ms)})`, `< ${TARGETS.saveP99Ms} ms`, save.p99Ms < TARGETS.saveP99Ms);
    row(`  same, pool ${BIG_POOL}`, describeLoad(big, 'saves'));
    const saveS3 = saveSummaries[`pool ${DEFAULT_POOL}${S3_SUFFIX}`]!;
    row(`delta saves/s, bodies in S3 (s3rver); S3/inline`, `${describeLoad(saveS3, 'saves')}; ${(saveS3.perSecond / save.perSecond).toFixed(2)}×`, `≥ ${count(TARGETS.savesPerSecond)}/s`, saveS3.perSecond >= TARGETS.savesPerSecond);
    row('delta save p99, bodies in S3', `${formatMs(saveS3.p99Ms)} (p50 ${formatMs(saveS3.p50Ms)}, p90 ${formatMs(saveS3.p90Ms)})`, `< ${TARGETS.saveP99Ms} ms`, saveS3.p99Ms < TARGETS.saveP99Ms);
    const saveS3All = saveSummaries[`pool ${DEFAULT_POOL}${S3_ALL_SUFFIX}`]!;
    row('  same, every body in S3 (?inline-below=0: an upload per save); S3/inline', `${describeLoad(saveS3All, 'saves')}; ${(saveS3All.perSecond / save.perSecond).toFixed(2)}×`);
    row(`  one client alone (pool ${DEFAULT_POOL})`, `${count(saveAlone.perSecond)} saves/s, p50 ${formatMs(saveAlone.p50Ms)}, p99 ${formatMs(saveAlone.p99Ms)}, mean ${formatMs(saveAlone.meanMs)}; ${describeCpu(saveAlone)}`);
    row('  of a save: 1 statement (UPDATE … INSERT in one WITH), a round trip like `select 1` costs', `${formatMs(median(statementMs))} median, ${formatMs(statementCpuMs)} of bench cpu (WITH moved AS (UPDATE … WHERE NOT EXISTS newer RETURNING) INSERT … SELECT max+1, its own implicit transaction)`);
    row('  of a save: brotli encodeChunk (sync)', `mean ${formatMs(encodeMean)} (median ${formatMs(median(encodeMs))}, max ${formatMs(Math.max(...encodeMs))}): alone caps one process at ${count(1000 / encodeMean)} saves/s`);
    row(`resume fetches/s, \`baton serve\` process (GET …/transcript/raw, ${formatBytes(envelopeBytes)} JSON)`, describeLoad(fetchServe, 'fetches'), `≥ ${count(TARGETS.fetchesPerSecond)}/s`, fetchServe.perSecond >= TARGETS.fetchesPerSecond);
    row('resume fetch p99, `baton serve` process', `${formatMs(fetchServe.p99Ms)} (p50 ${formatMs(fetchServe.p50Ms)}, p90 ${formatMs(fetchServe.p90Ms)})`, `< ${TARGETS.fetchP99Ms} ms`, fetchServe.p99Ms < TARGETS.fetchP99Ms);
    const fetchS3 = fetchSummaries[`${SERVE_PROCESS}${S3_SUFFIX}`]!;
    row('resume fetches/s, `baton serve` process, bodies in S3 (s3rver); S3/inline', `${describeLoad(fetchS3, 'fetches')}; ${(fetchS3.perSecond / fetchServe.perSecond).toFixed(2)}×`, `≥ ${count(TARGETS.fetchesPerSecond)}/s`, fetchS3.perSecond >= TARGETS.fetchesPerSecond);
    row('resume fetch p99, `baton serve` process, bodies in S3', `${formatMs(fetchS3.p99Ms)} (p50 ${formatMs(fetchS3.p50Ms)}, p90 ${formatMs(fetchS3.p90Ms)})`, `< ${TARGETS.fetchP99Ms} ms`, fetchS3.p99Ms < TARGETS.fetchP99Ms);
    row('  same, in-process server (shares the clients\' event loop)', describeLoad(fetchInProcess, 'fetches'));
    row('  one client alone (in-process server)', `${count(fetchAlone.perSecond)} fetches/s, p50 ${formatMs(fetchAlone.p50Ms)}, p99 ${formatMs(fetchAlone.p99Ms)}; ${describeCpu(fetchAlone)}`);
    row('  of an uncached fetch (ms), step by step (cache misses only: the route keeps built bodies per transcript version)', `${Object.entries(fetchStepMs).map(([name, value]) => `${name} ${value.toFixed(1)}`).join(', ')}: ${fetchStepsTotal.toFixed(1)} in all, against ${formatMs(wholeFetchMs!)} for a whole fetch the cache serves`);
    section(`— queue pickup: one FleetWorker (concurrency 1), real Codex CLI, scripted model; enqueued while the worker is idle —`);
    row(`queue pickup (startedAt − queuedAt), ${pickups.length} runs`, `p50 ${formatMs(pickupSummary.p50Ms)}, p99 ${formatMs(pickupSummary.p99Ms)} (min ${formatMs(pickupSummary.minMs)}, max ${formatMs(pickupSummary.maxMs)}, first ${formatMs(pickupSummary.firstMs ?? Number.NaN)})`);
    row('  of it: queued → fresh home ready (worker log)', `p50 ${formatMs(pickupSummary.p50ToRunPlaceMs)}`);
    row('  whole run, queued → finished', `p50 ${formatMs(pickupSummary.p50TotalMs)}; ${pickupSummary.succeeded} of ${pickups.length} succeeded`, '', pickupSummary.succeeded === pickups.length ? undefined : false);
  } finally {
    agent.destroy();
    for (const server of servers) await server.close().catch(() => undefined);
    for (const store of stores) await store.close().catch(() => undefined);
    await serve?.stop().catch(() => undefined);
    await serveS3?.stop().catch(() => undefined);
    await cluster.stop();
    await s3.stop();
    await rm(workDir, { recursive: true, force: true });
  }

  (results.environment as Record<string, unknown>).loadavgAtEnd = loadavg();
  results.rows = rows;
  results.totalSeconds = round((Date.now() - started) / 1000, 1);
  await writeFile(join(ROOT, 'bench/fleet-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  printTable();
  const tally = (verdict: Verdict): number => rows.filter((r) => r.result === verdict).length;
  process.stdout.write(`\n${tally('pass')} pass, ${tally('FAIL')} fail · ${results.totalSeconds as number} s · bench/fleet-results.json\n`);
}

function printTable(): void {
  const body = rows.filter((r) => r.result !== '');
  const figureWidth = Math.max(6, ...body.map((r) => r.figure.length));
  const measuredWidth = Math.max(8, ...body.map((r) => r.measured.length));
  const targetWidth = Math.max(6, ...body.map((r) => r.target.length));
  const line = (r: Pick<Row, 'figure' | 'measured' | 'target' | 'result'>): string => `${r.figure.padEnd(figureWidth)} | ${r.measured.padEnd(measuredWidth)} | ${r.target.padEnd(targetWidth)} | ${r.result}`;
  const lines = [`baton fleet benchmark — ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, load ${loadavg().map((value) => value.toFixed(2)).join(' ')}`];
  lines.push(line({ figure: 'figure', measured: 'measured', target: 'target', result: 'result' as Verdict }));
  lines.push(`${'-'.repeat(figureWidth)}-+-${'-'.repeat(measuredWidth)}-+-${'-'.repeat(targetWidth)}-+-------`);
  for (const r of rows) lines.push(r.result === '' ? r.figure : line(r));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
