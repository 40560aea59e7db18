/**
 * `baton run` against a bare `codex exec`, both driving the real Codex CLI against the scripted model server,
 * alternated run by run, plus a breakdown of where baton's extra time goes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createMachine } from '../../src/testing/machine.js';
import { startScriptedModelServer } from '../../src/testing/scripted-model-server.js';
import { median, summarise, timed, type Samples } from './stats.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CODEX = join(ROOT, 'node_modules/.bin/codex');
const BATON_MAIN = join(ROOT, 'dist/cli/main.js');
const BATON_BUNDLE = join(ROOT, 'dist/cli/baton.mjs');
const SPAWN_MARKS = join(ROOT, 'bench/lib/spawn-marks.mjs');

export interface Variant {
  name: string;
  wall: Samples;
  /** user+sys CPU milliseconds of the process and every descendant it waited for (from /usr/bin/time). */
  cpu: Samples | undefined;
}

export interface CliResult {
  build: { ok: boolean; ms: number; note: string | undefined };
  runs: number;
  bare: Variant;
  batons: Array<Variant & { entry: string; overheadMs: number; cpuOverheadMs: number | undefined }>;
  profile: {
    nodeStartup: Samples;
    versions: Array<{ entry: string; wall: Samples }>;
    /**
     * Profiled baton runs (bench/lib/spawn-marks.mjs), per entry: node bootstrap until the hook ran, then until
     * Codex was spawned (module loading, config, store open, startRun, prepare), Codex itself, after Codex
     * closed until exit (final save, finishRun, store close), outside node's clock (exec, teardown), and
     * baton's own total (the run minus Codex).
     */
    phases: Array<{ entry: string; bootstrap: Samples; beforeSpawn: Samples; codex: Samples; afterCodex: Samples; outside: Samples; own: Samples }>;
    storeOpenExisting: Samples;
    storeOpenFresh: Samples;
    /** Milliseconds to import each runtime dependency alone in a fresh node (only when over target). */
    imports: Record<string, number> | undefined;
  };
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

/** Runs a command to its close; wall time here, CPU time through /usr/bin/time when there is one. */
async function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timesDir?: string }): Promise<Exit> {
  const timesFile = TIME && options.timesDir ? join(options.timesDir, `times-${++timeFiles}`) : undefined;
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
  }
  return exit;
}

function succeeded(what: string, exit: Exit): Exit {
  if (exit.code !== 0) throw new Error(`bench: ${what} exited ${exit.code}: ${exit.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return exit;
}

/** `npm run build`; when it fails (src is being edited), an existing dist/ is used and the failure reported. */
export function build(log: (message: string) => void): CliResult['build'] {
  const start = Date.now();
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  const ms = Date.now() - start;
  if (result.status === 0) return { ok: true, ms, note: undefined };
  const firstError = `${result.stdout}\n${result.stderr}`.split('\n').find((line) => /error TS|Error/.test(line))?.trim();
  if (!existsSync(BATON_MAIN)) throw new Error(`npm run build failed and there is no dist/: ${firstError ?? result.status}`);
  const note = `npm run build failed (${firstError ?? `exit ${result.status}`}); used dist/ as emitted (${new Date(statSync(BATON_MAIN).mtimeMs).toISOString()})`;
  log(`  warning: ${note}`);
  return { ok: false, ms, note };
}

export async function benchCli(options: { workDir: string; runs: number; profileRuns: number; targetMs: number; log: (message: string) => void; build: CliResult['build'] }): Promise<CliResult> {
  const { log } = options;
  const root = await mkdtemp(join(options.workDir, 'cli-'));
  const timesDir = join(root, 'times');
  await mkdir(timesDir, { recursive: true });
  const server = await startScriptedModelServer({ script: () => ({ kind: 'text', text: 'Hello! The scripted model says hi back.' }) });
  try {
    const machine = await createMachine(root, 'machine', server);
    const env = { ...machine.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${machine.env.PATH ?? ''}` };
    const storePath = join(root, 'baton.db');
    const where = { cwd: machine.cwd, env, timesDir };
    const bareArgs = ['exec', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', 'hi'];
    // The entry the brief names, and the bundle package.json's `bin` now points at (when it exists).
    const entries = [BATON_MAIN, ...(existsSync(BATON_BUNDLE) ? [BATON_BUNDLE] : [])];
    const variants: Array<{ name: string; entry: string | undefined; start: () => Promise<Exit> }> = [
      { name: 'codex exec (bare)', entry: undefined, start: () => run(CODEX, bareArgs, where) },
      ...entries.map((entry) => ({
        name: `baton run (${relative(ROOT, entry)})`,
        entry,
        start: () => run(process.execPath, [entry, '--store', storePath, 'run', '--harness', 'codex', '--json', 'hi'], where),
      })),
    ];
    const check = (variant: (typeof variants)[number], exit: Exit): Exit => {
      succeeded(variant.name, exit);
      if (variant.entry) {
        const result = JSON.parse(exit.stdout.trim().split('\n').pop() ?? '{}') as { status?: string };
        if (result.status !== 'succeeded') throw new Error(`bench: ${variant.name} ended ${result.status}: ${exit.stdout}`);
      } else if (!exit.stdout.includes('"thread.started"')) throw new Error(`bench: codex printed no thread.started: ${exit.stdout.slice(0, 300)}`);
      return exit;
    };

    // Warm-up: the first baton run creates the store and merges its settings into config.toml, which the
    // bare runs then share, so every variant launches Codex with the same configuration.
    for (let round = 0; round < 2; round++) for (const variant of [...variants].reverse()) check(variant, await variant.start());
    const wall = variants.map(() => [] as number[]);
    const cpu = variants.map(() => [] as number[]);
    for (let round = 0; round < options.runs; round++) {
      // A rotating order, so a drift in machine load hits every variant alike.
      for (let index = 0; index < variants.length; index++) {
        const which = (index + round) % variants.length;
        const exit = check(variants[which]!, await variants[which]!.start());
        wall[which]!.push(exit.ms);
        if (exit.cpuMs !== undefined) cpu[which]!.push(exit.cpuMs);
      }
    }
    const variantResult = (index: number): Variant => ({ name: variants[index]!.name, wall: summarise(wall[index]!), cpu: cpu[index]!.length > 0 ? summarise(cpu[index]!) : undefined });
    const bare = variantResult(0);
    const batons = variants.slice(1).map((variant, offset) => {
      const result = variantResult(offset + 1);
      return {
        ...result,
        entry: relative(ROOT, variant.entry!),
        overheadMs: result.wall.median - bare.wall.median,
        cpuOverheadMs: result.cpu && bare.cpu ? result.cpu.median - bare.cpu.median : undefined,
      };
    });
    log(`  ${[bare, ...batons].map((variant) => `${variant.name} ${variant.wall.median.toFixed(0)} ms`).join(', ')}`);

    // Where baton's time goes. 1: node alone, and each entry loading its modules and exiting.
    const nodeStartup: number[] = [];
    const versions = entries.map(() => [] as number[]);
    for (let index = 0; index < options.profileRuns; index++) {
      nodeStartup.push(succeeded('node -e 0', await run(process.execPath, ['-e', '0'], where)).ms);
      for (const [at, entry] of entries.entries()) versions[at]!.push(succeeded('baton --version', await run(process.execPath, [entry, '--version'], where)).ms);
    }
    // 2: baton runs with a hook that marks when baton spawned Codex and when Codex closed, so baton's own
    // share is measured within each run rather than as a difference of two noisy medians.
    const phases = entries.map(() => ({ bootstrap: [] as number[], beforeSpawn: [] as number[], codex: [] as number[], afterCodex: [] as number[], outside: [] as number[], own: [] as number[] }));
    for (let index = 0; index < options.profileRuns; index++) {
      for (const [at, entry] of entries.entries()) {
        const marksFile = join(timesDir, `marks-${at}-${index}.json`);
        const exit = check(variants[at + 1]!, await run(process.execPath, ['--import', SPAWN_MARKS, entry, '--store', storePath, 'run', '--harness', 'codex', '--json', 'hi'], { ...where, env: { ...env, BATON_BENCH_MARKS: marksFile } }));
        const marks = JSON.parse(await readFile(marksFile, 'utf8')) as { loaded: number; exit: number; spawns: Array<{ at: number; closed: number }> };
        const spawned = marks.spawns[marks.spawns.length - 1];
        if (!spawned?.closed) throw new Error('bench: the profiled baton run spawned nothing');
        const phase = phases[at]!;
        phase.bootstrap.push(marks.loaded);
        phase.beforeSpawn.push(spawned.at - marks.loaded);
        phase.codex.push(spawned.closed - spawned.at);
        phase.afterCodex.push(marks.exit - spawned.closed);
        phase.outside.push(exit.ms - marks.exit);
        phase.own.push(exit.ms - (spawned.closed - spawned.at));
      }
    }
    const storeOpenExisting: number[] = [];
    const storeOpenFresh: number[] = [];
    for (let index = 0; index < options.profileRuns; index++) {
      storeOpenExisting.push((await timed(async () => (await openSqliteStore(storePath)).close())).ms);
      const fresh = join(root, `fresh-${index}.db`);
      storeOpenFresh.push((await timed(async () => (await openSqliteStore(fresh)).close())).ms);
    }
    // 3, over target: how long each runtime dependency (and the unbundled app) takes to import on its own.
    let imports: Record<string, number> | undefined;
    if (batons.some((baton) => baton.overheadMs > options.targetMs)) {
      imports = {};
      for (const specifier of ['commander', 'zod', 'kysely', 'better-sqlite3', '@decimalturn/toml-patch', './dist/run/runner.js']) {
        const samples: number[] = [];
        for (let index = 0; index < 3; index++) {
          const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
          const exit = succeeded(`import ${specifier}`, await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: process.env }));
          samples.push(Number(exit.stdout));
        }
        imports[specifier] = median(samples);
      }
    }
    return {
      build: options.build,
      runs: options.runs,
      bare,
      batons,
      profile: {
        nodeStartup: summarise(nodeStartup),
        versions: entries.map((entry, at) => ({ entry: relative(ROOT, entry), wall: summarise(versions[at]!) })),
        phases: entries.map((entry, at) => {
          const phase = phases[at]!;
          return {
            entry: relative(ROOT, entry),
            bootstrap: summarise(phase.bootstrap),
            beforeSpawn: summarise(phase.beforeSpawn),
            codex: summarise(phase.codex),
            afterCodex: summarise(phase.afterCodex),
            outside: summarise(phase.outside),
            own: summarise(phase.own),
          };
        }),
        storeOpenExisting: summarise(storeOpenExisting),
        storeOpenFresh: summarise(storeOpenFresh),
        imports,
      },
    };
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}
