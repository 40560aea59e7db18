/**
 * `baton run` against the bare agent CLI, both driving the real CLI against the scripted model server,
 * alternated run by run, plus a breakdown of where baton's extra time goes.
 *
 *   codex:  `node_modules/.bin/codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox hi`
 *           (exactly what a user runs: the npm launcher, which execs the native binary) against
 *           `baton run --harness codex --json hi`; the native binary run bare is an info row.
 *   claude: `node_modules/.bin/claude -p --output-format stream-json --verbose --dangerously-skip-permissions hi`
 *           (IS_SANDBOX=1 as root, which baton sets itself) against `baton run --harness claude --json hi`.
 *   gemini: `node_modules/.bin/gemini --output-format stream-json --yolo --skip-trust --prompt=hi`; with baton's
 *           GEMINI_CLI_NO_RELAUNCH=true (one process instead of the CLI relaunching itself) as an info row.
 *   opencode: the pinned platform binary, `opencode run --format json --auto hi`, and with baton's argv (`--title=hi`:
 *           no title request to the model) as an info row. baton reads the session from OpenCode's database itself
 *           (no `opencode export`); any chore it still runs is counted below.
 *
 * baton is `dist/cli/baton.mjs`, the esbuild bundle package.json's `bin` names. The machine is small (2 CPUs)
 * and shared: every section first waits for other processes to go quiet, measures how much CPU others used
 * while it ran (/proc/stat minus this process and every child it timed), and is run again when that was high.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { nativeCodexBehind } from '../../src/harness/codex/native-binary.js';
import { bundledOpencode } from '../../src/harness/opencode/cli.js';
import type { HarnessId } from '../../src/harness/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createMachine } from '../../src/testing/machine.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/testing/scripted-model-server.js';
import { median, summarise, timed, type Samples } from './stats.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CODEX = join(ROOT, 'node_modules/.bin/codex');
const CLAUDE = join(ROOT, 'node_modules/.bin/claude');
const GEMINI = join(ROOT, 'node_modules/.bin/gemini');
const BATON_MAIN = join(ROOT, 'dist/cli/main.js');
const BATON = join(ROOT, 'dist/cli/baton.mjs');
const SPAWN_MARKS = join(ROOT, 'bench/lib/spawn-marks.mjs');
/** package.json's `bin`, what `npx baton` and an installed `baton` run: a sh launcher that starts BATON with node. */
const LAUNCHER = join(ROOT, 'bin/baton');

export interface Variant {
  name: string;
  wall: Samples;
  /** user+sys CPU milliseconds of the process and every descendant it waited for (from /usr/bin/time). */
  cpu: Samples | undefined;
}

export interface Quiet {
  /** Share of all CPUs busy with other processes just before the section (1 s sample), and seconds waited. */
  busyBefore: number;
  waitedSeconds: number;
  /** Share of all CPUs other processes used while the section ran; the section is retried when it is high. */
  foreignShare: number;
  attempts: number;
}

export interface HarnessCliResult {
  harness: HarnessId;
  runs: number;
  bare: Variant;
  baton: Variant & { overheadMs: number; cpuOverheadMs: number | undefined };
  info: Variant[];
  /**
   * Profiled baton runs (bench/lib/spawn-marks.mjs): node bootstrap until the hook ran, then until the CLI was
   * spawned (module loading, config, store open, startRun, prepare), the CLI itself, after the CLI closed until
   * exit (final save, finishRun, store close), outside node's clock (exec, teardown), and baton's own total
   * (the run minus the CLI).
   */
  phases: { bootstrap: Samples; beforeSpawn: Samples; cli: Samples; afterCli: Samples; outside: Samples; own: Samples };
  /** Other processes baton started in a profiled run besides the CLI (e.g. git for workspace snapshots): name → count. */
  otherSpawns: Record<string, number>;
  quiet: Quiet;
}

export interface StartupResult {
  nodeStartup: Samples;
  versions: Array<{ entry: string; wall: Samples }>;
  storeOpenExisting: Samples;
  storeOpenFresh: Samples;
  /** Milliseconds to import each runtime dependency alone in a fresh node. */
  imports: Record<string, number>;
  /** The JavaScript `baton run` loads before the spawn, by package, and what each harness's chunk adds. */
  bundle: { files: number; bytes: number; byPackage: Record<string, number>; harnesses: Record<string, number> };
}

/**
 * What `baton run` loads before it spawns the CLI: the dispatcher (dist/cli/baton.mjs), the bundle made for run and
 * resume (dist/cli/run/baton-run.mjs, scripts/bundle.mjs) and their static imports, then the one harness's chunk
 * (src/harness/load.ts) with what it adds; not the `import()` of everything a run loads once the CLI has started (the
 * store, redaction rules, the workspace tracker). Bytes are attributed to packages by esbuild's
 * `// node_modules/<package>/…` and `// src/…` markers.
 */
export function bundleComposition(entry = BATON): StartupResult['bundle'] {
  const seen = new Set<string>();
  const byPackage: Record<string, number> = {};
  let bytes = 0;
  const visit = (file: string, count: (owner: string, size: number) => void): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    let owner = '(bundle glue)';
    for (const line of text.split('\n')) {
      const marker = /^\/\/ (node_modules\/((?:@[^/]+\/)?[^/]+)|src)\//.exec(line);
      if (marker) owner = marker[2] ?? 'baton src';
      count(owner, line.length + 1);
    }
    for (const match of text.matchAll(/^import\s(?:[^;'"]*?\sfrom\s)?["'](\.{1,2}\/[^"']+)["']/gm)) visit(join(file, '..', match[1]!), count);
  };
  const base = (owner: string, size: number): void => {
    bytes += size;
    byPackage[owner] = (byPackage[owner] ?? 0) + size;
  };
  visit(entry, base);
  // The dispatcher names the run bundle in a variable, which the import scan above does not follow.
  const runBundle = join(entry, '..', 'run', 'baton-run.mjs');
  if (existsSync(runBundle)) visit(runBundle, base);
  const harnesses: Record<string, number> = {};
  const before = new Set(seen);
  for (const file of before) {
    for (const match of readFileSync(file, 'utf8').matchAll(/(\w+): async \(\) => \(await import\("(\.\/harness-[^"]+)"\)\)/g)) {
      seen.clear();
      for (const known of before) seen.add(known);
      let size = 0;
      visit(join(file, '..', match[2]!), (_owner, lineSize) => (size += lineSize));
      harnesses[match[1]!] = size;
    }
  }
  return { files: before.size, bytes, byPackage, harnesses };
}

export interface BuildResult {
  ok: boolean;
  ms: number;
  note: string | undefined;
}

interface Exit {
  ms: number;
  cpuMs: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
let timeFiles = 0;

/** CPU time this process and the children it timed have used, for the foreign-load estimate. */
const accounted = { childCpuMs: 0 };

/** Runs a command to its close; wall time here, CPU time through /usr/bin/time when there is one. */
async function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timesDir: string }): Promise<Exit> {
  const timesFile = TIME ? join(options.timesDir, `times-${++timeFiles}`) : undefined;
  const [command, argv] = timesFile ? [TIME!, ['-f', '%U %S', '-o', timesFile, file, ...args]] : [file, args];
  const exit = await new Promise<Exit>((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: undefined, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
  if (timesFile) {
    const [user, system] = (await readFile(timesFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
    if (Number.isFinite(user) && Number.isFinite(system)) exit.cpuMs = (user! + system!) * 1000;
    accounted.childCpuMs += exit.cpuMs ?? 0;
  }
  return exit;
}

function succeeded(what: string, exit: Exit): Exit {
  if (exit.code !== 0) throw new Error(`bench: ${what} exited ${exit.code}: ${(exit.stderr.trim() || exit.stdout.trim()).split('\n').slice(-3).join(' | ')}`);
  return exit;
}

/** `npm run build`; when it fails (src is being edited), an existing dist/ is used and the failure reported. */
export function build(log: (message: string) => void): BuildResult {
  const start = Date.now();
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  const ms = Date.now() - start;
  if (result.status === 0) return { ok: true, ms, note: undefined };
  const firstError = `${result.stdout}\n${result.stderr}`.split('\n').find((line) => /error TS|Error/.test(line))?.trim();
  if (!existsSync(BATON)) throw new Error(`npm run build failed and there is no ${relative(ROOT, BATON)}: ${firstError ?? result.status}`);
  const note = `npm run build failed (${firstError ?? `exit ${result.status}`}); used dist/ as emitted (${new Date(statSync(BATON).mtimeMs).toISOString()})`;
  log(`  warning: ${note}`);
  return { ok: false, ms, note };
}

// ---------------------------------------------------------------------------------------------------------
// Load from other processes

const CPUS = cpus().length;

/** Busy and total CPU milliseconds of the whole machine since boot (/proc/stat; USER_HZ is 100 on Linux). */
function machineCpu(): { busyMs: number; totalMs: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { busyMs: (total - idle) * 10, totalMs: total * 10 };
  } catch {
    return undefined;
  }
}

function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Measures foreign CPU use over a stretch of work: machine busy time minus this process and its timed children. */
export function foreignMeter(): () => number {
  const machine = machineCpu();
  const own = ownCpuMs();
  const children = accounted.childCpuMs;
  return () => {
    const now = machineCpu();
    if (!machine || !now) return 0;
    const busy = now.busyMs - machine.busyMs;
    const total = now.totalMs - machine.totalMs;
    const ours = ownCpuMs() - own + (accounted.childCpuMs - children);
    return total > 0 ? Math.max(0, busy - ours) / total : 0;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (up to `maxSeconds`) until other processes use less than `threshold` of the machine over one second. */
export async function waitForQuiet(log: (message: string) => void, maxSeconds: number, threshold = 0.15): Promise<{ busy: number; waitedSeconds: number }> {
  const start = Date.now();
  for (;;) {
    const meter = foreignMeter();
    await sleep(1000);
    const busy = meter();
    const waited = (Date.now() - start) / 1000;
    if (busy < threshold || waited >= maxSeconds) {
      if (busy >= threshold) log(`  the machine is still busy (${(busy * 100).toFixed(0)}% of ${CPUS} CPUs used by other processes); measuring anyway`);
      return { busy, waitedSeconds: Math.round(waited) };
    }
    log(`  other processes use ${(busy * 100).toFixed(0)}% of ${CPUS} CPUs; waiting for a quieter moment …`);
    await sleep(4000);
  }
}

// ---------------------------------------------------------------------------------------------------------
// One harness

interface VariantSpec {
  name: string;
  start: () => Promise<Exit>;
  check: (exit: Exit) => void;
}

export interface CliOptions {
  harness: HarnessId;
  workDir: string;
  runs: number;
  profileRuns: number;
  log: (message: string) => void;
  /** Foreign CPU share above which the section is measured again (once per `retries`). */
  retryAbove: number;
  retries: number;
  /** No retry that would start after this time (Date.now() milliseconds): the whole benchmark has a budget. */
  retryUntil: number;
  /** Longest wait for a quiet machine before the section, in seconds. */
  quietWaitSeconds: number;
}

export async function benchHarnessCli(options: CliOptions): Promise<HarnessCliResult> {
  let attempt = 0;
  for (;;) {
    attempt++;
    const quietBefore = await waitForQuiet(options.log, options.quietWaitSeconds);
    const meter = foreignMeter();
    const result = await measureHarness(options);
    const foreignShare = meter();
    result.quiet = { busyBefore: quietBefore.busy, waitedSeconds: quietBefore.waitedSeconds, foreignShare, attempts: attempt };
    if (foreignShare <= options.retryAbove || attempt > options.retries || Date.now() > options.retryUntil) return result;
    options.log(`  other processes used ${(foreignShare * 100).toFixed(0)}% of the CPUs during the ${options.harness} section: measuring it again`);
  }
}

async function measureHarness(options: CliOptions): Promise<HarnessCliResult> {
  const { log, harness } = options;
  const root = await mkdtemp(join(options.workDir, `cli-${harness}-`));
  const timesDir = join(root, 'times');
  await mkdir(timesDir, { recursive: true });
  let server: ScriptedModelServer | undefined;
  try {
    server = await startScriptedModelServer({ script: () => ({ kind: 'text', text: 'Hello! The scripted model says hi back.' }) });
    const machine = await createMachine(root, 'machine', server);
    // PWD as a shell in that directory sets it: OpenCode works in $PWD, not in its process's cwd (opencode 1.18.33).
    const env: NodeJS.ProcessEnv = { ...machine.env, PWD: machine.cwd, PATH: `${join(ROOT, 'node_modules/.bin')}:${machine.env.PATH ?? ''}` };
    const storePath = join(root, 'baton.db');
    const where = { cwd: machine.cwd, env, timesDir };
    const batonArgs = ['--store', storePath, 'run', '--harness', harness, '--json', 'hi'];
    const checkBaton = (exit: Exit): void => {
      succeeded('baton run', exit);
      const result = JSON.parse(exit.stdout.trim().split('\n').pop() ?? '{}') as { status?: string };
      if (result.status !== 'succeeded') throw new Error(`bench: baton run --harness ${harness} ended ${result.status}: ${exit.stdout} ${exit.stderr}`);
    };
    let bare: VariantSpec;
    const info: VariantSpec[] = [];
    if (harness === 'codex') {
      const args = ['exec', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', 'hi'];
      const checkCodex = (name: string) => (exit: Exit) => {
        succeeded(name, exit);
        if (!exit.stdout.includes('"thread.started"')) throw new Error(`bench: ${name} printed no thread.started: ${exit.stdout.slice(0, 300)}`);
      };
      bare = { name: 'codex exec (bare, node_modules/.bin/codex)', start: () => run(CODEX, args, where), check: checkCodex('codex exec') };
      const native = nativeCodexBehind(CODEX);
      if (native) {
        info.push({ name: 'codex exec (bare native binary)', start: () => run(native.file, args, { ...where, env: { ...env, ...native.env } }), check: checkCodex('native codex') });
      }
    } else if (harness === 'gemini') {
      const args = ['--output-format', 'stream-json', '--yolo', '--skip-trust', '--prompt=hi'];
      const checkGemini = (name: string) => (exit: Exit) => {
        succeeded(name, exit);
        if (!/"type":"result"/.test(exit.stdout)) throw new Error(`bench: ${name} gave no result: ${exit.stdout.slice(-300)}`);
      };
      bare = { name: 'gemini (bare, node_modules/.bin/gemini)', start: () => run(GEMINI, args, where), check: checkGemini('gemini') };
      info.push({ name: "gemini with baton's GEMINI_CLI_NO_RELAUNCH=true", start: () => run(GEMINI, args, { ...where, env: { ...env, GEMINI_CLI_NO_RELAUNCH: 'true' } }), check: checkGemini('gemini (no relaunch)') });
    } else if (harness === 'opencode') {
      const opencode = bundledOpencode();
      if (!opencode) throw new Error('bench: the pinned OpenCode binary (opencode-linux-x64) is not installed');
      const checkOpencode = (exit: Exit): void => {
        succeeded('opencode run', exit);
        if (!/"type":"step_finish"/.test(exit.stdout)) throw new Error(`bench: opencode run gave no step_finish: ${exit.stdout.slice(-300)}`);
      };
      bare = { name: 'opencode run (bare, opencode-linux-x64)', start: () => run(opencode, ['run', '--format', 'json', '--auto', 'hi'], where), check: checkOpencode };
      info.push({ name: "opencode run with baton's argv (--title=hi)", start: () => run(opencode, ['run', '--format', 'json', '--auto', '--title=hi', 'hi'], where), check: checkOpencode });
    } else {
      const args = ['-p', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions', 'hi'];
      // As root Claude refuses --dangerously-skip-permissions without IS_SANDBOX=1 (baton sets it for its own runs).
      const bareEnv = typeof process.getuid === 'function' && process.getuid() === 0 ? { ...env, IS_SANDBOX: '1' } : env;
      const checkClaude = (exit: Exit): void => {
        succeeded('claude -p', exit);
        if (!/"type":"result"/.test(exit.stdout) || /"is_error":true/.test(exit.stdout)) throw new Error(`bench: claude -p gave no successful result: ${exit.stdout.slice(-300)}`);
      };
      bare = { name: 'claude -p (bare, node_modules/.bin/claude)', start: () => run(CLAUDE, args, { ...where, env: bareEnv }), check: checkClaude };
      // The argv baton itself passes (a session id it chose, `--` before the prompt): the CLI's share of the gap.
      const batonArgv = ['-p', '--session-id', randomUUID(), ...args.slice(1, -1), '--', 'hi'];
      info.push({ name: "claude with baton's argv (--session-id U … -- hi)", start: () => run(CLAUDE, batonArgv.map((item, index) => (index === 2 ? randomUUID() : item)), { ...where, env: bareEnv }), check: checkClaude });
    }
    const baton: VariantSpec = { name: `baton run --harness ${harness} (${relative(ROOT, LAUNCHER)})`, start: () => run(LAUNCHER, batonArgs, where), check: checkBaton };
    const variants = [bare, baton, ...info];

    // One retry after a failed run: other engineers' test runs rebuild dist/ on this machine now and then, and a
    // run that starts while the bundle's chunks are being replaced fails for reasons that are not baton's.
    const measured = async (variant: VariantSpec): Promise<Exit> => {
      try {
        const exit = await variant.start();
        variant.check(exit);
        return exit;
      } catch (error) {
        log(`  ${variant.name} failed (${error instanceof Error ? error.message.slice(0, 160) : String(error)}); once more …`);
        await sleep(2000);
        const exit = await variant.start();
        variant.check(exit);
        return exit;
      }
    };
    // Warm-up: the first baton run creates the store and merges its settings into the CLI's config, which the
    // bare runs then share, so every variant launches the CLI with the same configuration.
    for (let round = 0; round < 2; round++) for (const variant of [...variants].reverse()) await measured(variant);
    const wall = variants.map(() => [] as number[]);
    const cpu = variants.map(() => [] as number[]);
    for (let round = 0; round < options.runs; round++) {
      // A rotating order, so a drift in machine load hits every variant alike.
      for (let index = 0; index < variants.length; index++) {
        const which = (index + round) % variants.length;
        const exit = await measured(variants[which]!);
        wall[which]!.push(exit.ms);
        if (exit.cpuMs !== undefined) cpu[which]!.push(exit.cpuMs);
      }
    }
    const result = (index: number): Variant => ({ name: variants[index]!.name, wall: summarise(wall[index]!), cpu: cpu[index]!.length > 0 ? summarise(cpu[index]!) : undefined });
    const bareResult = result(0);
    const batonResult = result(1);
    log(`  ${variants.map((variant, index) => `${variant.name} ${median(wall[index]!).toFixed(0)} ms`).join(', ')}`);

    // Where baton's time goes: runs with a hook that marks when baton spawned the CLI and when it closed, so
    // baton's own share is measured within each run rather than as a difference of two noisy medians.
    const phases = { bootstrap: [] as number[], beforeSpawn: [] as number[], cli: [] as number[], afterCli: [] as number[], outside: [] as number[], own: [] as number[] };
    const otherSpawns: Record<string, number> = {};
    for (let index = 0; index < options.profileRuns; index++) {
      const marksFile = join(timesDir, `marks-${index}.json`);
      // Through the launcher too: the hook rides in NODE_OPTIONS, which it takes out again before baton starts anything.
      const nodeOptions = [env.NODE_OPTIONS, `--import=${SPAWN_MARKS}`].filter(Boolean).join(' ');
      const exit = await run(LAUNCHER, batonArgs, { ...where, env: { ...env, NODE_OPTIONS: nodeOptions, BATON_BENCH_MARKS: marksFile } });
      checkBaton(exit);
      const marks = JSON.parse(await readFile(marksFile, 'utf8')) as { loaded: number; exit: number; spawns: Array<{ file: string; argv: string[]; at: number; closed: number }> };
      // The agent CLI, by name: baton also starts other processes (git, for workspace snapshots); in its sandbox
      // it starts the CLI through bwrap, which then counts as the CLI (the sandbox's start-up with it).
      const cliName = new RegExp(`/${harness}(\\.exe|\\.js)?$`);
      // OpenCode's chores (`opencode import`, `opencode export`) are the same binary: the agent is its `run`.
      const isAgent = (argv: string[]): boolean => harness !== 'opencode' || argv.includes('run');
      const isCli = (entry: { file: string; argv: string[] }): boolean => (cliName.test(entry.file) && isAgent(entry.argv)) || (/\/bwrap$/.test(entry.file) && entry.argv.some((arg) => cliName.test(arg)) && isAgent(entry.argv));
      const spawned = marks.spawns.find(isCli);
      if (!spawned?.closed) throw new Error(`bench: the profiled baton run did not spawn ${harness} (${marks.spawns.map((entry) => entry.file).join(', ')})`);
      const spawnName = (entry: { file: string; argv: string[] }): string => `${entry.file.split('/').pop()!}${harness === 'opencode' && cliName.test(entry.file) ? ` ${entry.argv[0]}` : ''}`;
      if (index === 0) for (const entry of marks.spawns) if (entry !== spawned) otherSpawns[spawnName(entry)] = (otherSpawns[spawnName(entry)] ?? 0) + 1;
      phases.bootstrap.push(marks.loaded);
      phases.beforeSpawn.push(spawned.at - marks.loaded);
      phases.cli.push(spawned.closed - spawned.at);
      phases.afterCli.push(marks.exit - spawned.closed);
      phases.outside.push(exit.ms - marks.exit);
      phases.own.push(exit.ms - (spawned.closed - spawned.at));
    }
    return {
      harness,
      runs: options.runs,
      bare: bareResult,
      baton: {
        ...batonResult,
        overheadMs: batonResult.wall.median - bareResult.wall.median,
        cpuOverheadMs: batonResult.cpu && bareResult.cpu ? batonResult.cpu.median - bareResult.cpu.median : undefined,
      },
      info: variants.slice(2).map((_, offset) => result(offset + 2)),
      phases: {
        bootstrap: summarise(phases.bootstrap),
        beforeSpawn: summarise(phases.beforeSpawn),
        cli: summarise(phases.cli),
        afterCli: summarise(phases.afterCli),
        outside: summarise(phases.outside),
        own: summarise(phases.own),
      },
      otherSpawns,
      quiet: { busyBefore: 0, waitedSeconds: 0, foreignShare: 0, attempts: 0 },
    };
  } finally {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Start-up costs shared by both harnesses

export async function benchStartup(options: { workDir: string; runs: number }): Promise<StartupResult> {
  const root = await mkdtemp(join(options.workDir, 'startup-'));
  const timesDir = join(root, 'times');
  await mkdir(timesDir, { recursive: true });
  try {
    const where = { cwd: root, env: process.env, timesDir };
    // `bin/baton --version` (the launcher, which keeps NODE_EXTRA_CA_CERTS from node's boot), then node with the bundle, then tsc's main.js.
    const entries: Array<[string, string[]]> = [[LAUNCHER, []], [process.execPath, [BATON]], ...(existsSync(BATON_MAIN) ? [[process.execPath, [BATON_MAIN]] as [string, string[]]] : [])];
    const nodeStartup: number[] = [];
    const versions = entries.map(() => [] as number[]);
    for (let index = 0; index < options.runs; index++) {
      nodeStartup.push(succeeded('node -e 0', await run(process.execPath, ['-e', '0'], where)).ms);
      for (const [at, [file, args]] of entries.entries()) versions[at]!.push(succeeded('baton --version', await run(file, [...args, '--version'], where)).ms);
    }
    const storePath = join(root, 'existing.db');
    await (await openSqliteStore(storePath)).close();
    const storeOpenExisting: number[] = [];
    const storeOpenFresh: number[] = [];
    for (let index = 0; index < options.runs; index++) {
      storeOpenExisting.push((await timed(async () => (await openSqliteStore(storePath)).close())).ms);
      const fresh = join(root, `fresh-${index}.db`);
      storeOpenFresh.push((await timed(async () => (await openSqliteStore(fresh)).close())).ms);
    }
    // How long each runtime dependency takes to import on its own in a fresh node (the bundle inlines all but
    // better-sqlite3, so these are upper bounds of what it pays).
    const imports: Record<string, number> = {};
    for (const specifier of ['commander', 'kysely', 'better-sqlite3', '@decimalturn/toml-patch', 'zod']) {
      const samples: number[] = [];
      for (let index = 0; index < 3; index++) {
        const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
        const exit = succeeded(`import ${specifier}`, await run(process.execPath, ['--input-type=module', '-e', script], { ...where, cwd: ROOT }));
        samples.push(Number(exit.stdout));
      }
      imports[specifier] = median(samples);
    }
    return {
      nodeStartup: summarise(nodeStartup),
      versions: entries.map(([file, args], at) => ({ entry: relative(ROOT, args[0] ?? file), wall: summarise(versions[at]!) })),
      storeOpenExisting: summarise(storeOpenExisting),
      storeOpenFresh: summarise(storeOpenFresh),
      imports,
      bundle: bundleComposition(),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
