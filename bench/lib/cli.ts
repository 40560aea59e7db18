/**
 * `baton run` against a bare `codex exec`, both driving the real Codex CLI against the scripted model server,
 * alternated run by run, plus a breakdown of where baton's extra time goes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startConversation } from '../../src/run/runner.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createMachine } from '../../src/testing/machine.js';
import { startScriptedModelServer } from '../../src/testing/scripted-model-server.js';
import { median, summarise, timed, type Samples } from './stats.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CODEX = join(ROOT, 'node_modules/.bin/codex');
const BATON = join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  build: { ok: boolean; ms: number; note: string | undefined };
  bare: Samples;
  baton: Samples;
  overheadMs: number;
  profile: {
    nodeStartup: Samples;
    batonVersion: Samples;
    batonLs: Samples;
    storeOpenExisting: Samples;
    storeOpenFresh: Samples;
    inProcessBare: Samples;
    inProcessRunner: Samples;
    runnerOverheadMs: number;
  };
}

interface Exit {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
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
  if (!existsSync(BATON)) throw new Error(`npm run build failed and there is no dist/: ${firstError ?? result.status}`);
  const note = `npm run build failed (${firstError ?? `exit ${result.status}`}); used dist/ as emitted (${new Date(statSync(BATON).mtimeMs).toISOString()})`;
  log(`  warning: ${note}`);
  return { ok: false, ms, note };
}

export async function benchCli(options: { workDir: string; runs: number; profileRuns: number; log: (message: string) => void; build: CliResult['build'] }): Promise<CliResult> {
  const { log } = options;
  const root = await mkdtemp(join(options.workDir, 'cli-'));
  const server = await startScriptedModelServer({ script: () => ({ kind: 'text', text: 'Hello! The scripted model says hi back.' }) });
  try {
    const machine = await createMachine(root, 'machine', server);
    const env = { ...machine.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${machine.env.PATH ?? ''}` };
    const storePath = join(root, 'baton.db');
    const bareArgs = ['exec', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', 'hi'];
    const batonArgs = [BATON, '--store', storePath, 'run', '--harness', 'codex', '--json', 'hi'];
    const bare = (): Promise<Exit> => run(CODEX, bareArgs, { cwd: machine.cwd, env });
    const baton = (): Promise<Exit> => run(process.execPath, batonArgs, { cwd: machine.cwd, env });
    const check = (what: string, exit: Exit): void => {
      succeeded(what, exit);
      if (what === 'baton') {
        const result = JSON.parse(exit.stdout.trim().split('\n').pop() ?? '{}') as { status?: string };
        if (result.status !== 'succeeded') throw new Error(`bench: baton run ended ${result.status}: ${exit.stdout}`);
      } else if (!exit.stdout.includes('"thread.started"')) throw new Error(`bench: codex printed no thread.started: ${exit.stdout.slice(0, 300)}`);
    };

    // Warm-up: the first baton run creates the store and merges its settings into config.toml, which the
    // bare runs then share, so both launch Codex with the same configuration.
    for (let index = 0; index < 2; index++) {
      check('baton', await baton());
      check('bare', await bare());
    }
    const bareMs: number[] = [];
    const batonMs: number[] = [];
    for (let index = 0; index < options.runs; index++) {
      // ABBA order cancels a drift in machine load.
      const order = index % 2 === 0 ? (['bare', 'baton'] as const) : (['baton', 'bare'] as const);
      for (const which of order) {
        const exit = which === 'bare' ? await bare() : await baton();
        check(which, exit);
        (which === 'bare' ? bareMs : batonMs).push(exit.ms);
      }
    }
    const overheadMs = median(batonMs) - median(bareMs);
    log(`  bare codex ${median(bareMs).toFixed(0)} ms, baton run ${median(batonMs).toFixed(0)} ms (+${overheadMs.toFixed(0)} ms)`);

    // Where baton's time goes.
    const nodeStartup: number[] = [];
    const batonVersion: number[] = [];
    const batonLs: number[] = [];
    for (let index = 0; index < options.profileRuns; index++) {
      nodeStartup.push((await run(process.execPath, ['-e', '0'], { cwd: machine.cwd, env })).ms);
      batonVersion.push(succeeded('baton --version', await run(process.execPath, [BATON, '--version'], { cwd: machine.cwd, env })).ms);
      batonLs.push(succeeded('baton ls', await run(process.execPath, [BATON, '--store', storePath, 'ls'], { cwd: machine.cwd, env })).ms);
    }
    const storeOpenExisting: number[] = [];
    const storeOpenFresh: number[] = [];
    for (let index = 0; index < options.profileRuns; index++) {
      storeOpenExisting.push((await timed(async () => (await openSqliteStore(storePath)).close())).ms);
      const fresh = join(root, `fresh-${index}.db`);
      storeOpenFresh.push((await timed(async () => (await openSqliteStore(fresh)).close())).ms);
    }
    // The runner in this process (modules loaded, store open): its cost over a bare spawn of the same CLI.
    const inProcessBare: number[] = [];
    const inProcessRunner: number[] = [];
    const store = await openSqliteStore(storePath);
    try {
      const runner = async (): Promise<number> => {
        const { ms, value } = await timed(() => startConversation({ store, harness: 'codex', prompt: 'hi', cwd: machine.cwd, env }));
        if (value.status !== 'succeeded') throw new Error(`bench: in-process run ${value.status}: ${value.error}`);
        return ms;
      };
      await runner();
      for (let index = 0; index < options.profileRuns; index++) {
        const exit = await bare();
        check('bare', exit);
        inProcessBare.push(exit.ms);
        inProcessRunner.push(await runner());
      }
    } finally {
      await store.close();
    }
    return {
      build: options.build,
      bare: summarise(bareMs),
      baton: summarise(batonMs),
      overheadMs,
      profile: {
        nodeStartup: summarise(nodeStartup),
        batonVersion: summarise(batonVersion),
        batonLs: summarise(batonLs),
        storeOpenExisting: summarise(storeOpenExisting),
        storeOpenFresh: summarise(storeOpenFresh),
        inProcessBare: summarise(inProcessBare),
        inProcessRunner: summarise(inProcessRunner),
        runnerOverheadMs: median(inProcessRunner) - median(inProcessBare),
      },
    };
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}
