/** `baton migrate`, `baton serve`, `baton worker` and the `baton token` commands: running baton as a service. */
import { hostname } from 'node:os';
import { resolve, join } from 'node:path';
import type { Command } from 'commander';
import { batonDirectory } from '../config.js';
import { BatonError } from '../errors.js';
import { probeBubblewrap } from '../sandbox/bubblewrap.js';
import { isSandboxMode, SANDBOX_MODES } from '../sandbox/sandbox.js';
import { openContext, type GlobalOptions } from './context.js';
import { openFleetStore, openServedStore } from './fleet-store.js';
import { UPSTREAM_OPTIONS } from '../fleet/model-proxy/upstream-options.js';
import { registerTokenCommands } from './token-commands.js';
import { terminalText } from './terminal-text.js';
import type { SqlStore } from '../store/sql-store.js';

const VERSION = '0.1.0';

function positiveInteger(name: string, value: string, { allowZero = false } = {}): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
    throw new BatonError('USAGE', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} whole number, not "${value}"`, { hint: `for example ${name} 2` });
  }
  return number;
}

/** Runs `stop` on the first SIGINT/SIGTERM, and again (harder) on the next. */
function onStopSignals(stop: (signal: NodeJS.Signals) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));
}

export function registerFleetCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('migrate')
    .description('create or upgrade the store\'s tables (and, on PostgreSQL, the job queue\'s)')
    .action(async () => {
      const { store } = await openContext(globals());
      try {
        const { PostgresStore } = await import('../store/postgres.js');
        if (store instanceof PostgresStore) {
          const { migrateQueue } = await import('../fleet/queue.js');
          await migrateQueue(store);
        }
        process.stderr.write(`${store.location}: migrated to the latest schema\n`);
      } finally {
        await store.close();
      }
    });

  const serve = program
    .command('serve')
    .description('serve the HTTP API (POST /v1/conversations …; OpenAPI at /openapi.json) and the web UI. On this machine\'s SQLite store it runs the queued runs itself and, on 127.0.0.1, prints a one-time sign-in URL for your browser; on PostgreSQL `baton worker`s run them')
    .option('--port <port>', 'port to listen on', '7420')
    .option('--host <host>', 'address to listen on (on SQLite, any other than 127.0.0.1/localhost needs tokens: `baton token create --tenant T`)', '127.0.0.1')
    .option('--runs <n>', 'SQLite store: runs at once in this process (default 1); PostgreSQL: not here, `baton worker --runs`');
  addRunOptions(serve, '~/.baton/serve');
  serve.action(async (options: RunCommandOptions & { port: string; host: string; runs?: string }) => {
    const port = positiveInteger('--port', options.port, { allowZero: true });
    const concurrency = options.runs === undefined ? 1 : positiveInteger('--runs', options.runs);
    const { store, config } = await openServedStore(globals());
    const { PostgresStore } = await import('../store/postgres.js');
    const fleet = store instanceof PostgresStore;
    let localRuns;
    try {
      if (fleet && options.runs !== undefined) throw new BatonError('USAGE', 'on a PostgreSQL store, `baton worker`s run the queued runs, not `baton serve`', { hint: 'drop --runs, and start `baton worker --runs N` on each machine that should run agents' });
      localRuns = fleet ? undefined : { ...(await workerSetup(options, store, join(batonDirectory(process.env), 'serve'))), config, concurrency };
    } catch (error) {
      await store.close();
      throw error;
    }
    const { startServer } = await import('../server/serve.js');
    const log = (line: string): void => void process.stderr.write(`${terminalText(line)}\n`);
    const server = await startServer({
      store,
      port,
      host: options.host,
      version: VERSION,
      allowLocalClone: options.allowLocalClone === true,
      localRuns,
      log,
      onSignInUrl: (url) => process.stderr.write(`baton serve: a browser signed in; the next one can at ${url}\n`),
    }).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    process.stderr.write(`baton serve: listening on ${server.url} (store ${store.location}${fleet ? '; `baton worker`s run the queued runs' : ''})\n`);
    if (server.signInUrl) process.stderr.write(`baton serve: open ${server.signInUrl} to sign in (the link works once; a new one is printed after each use)\n`);
    await new Promise<void>((resolveStop) => {
      let closing: Promise<void> | undefined;
      onStopSignals(() => {
        // A second signal interrupts active runs at once (each gets its final save) instead of waiting for them.
        if (closing) return void server.close();
        process.stderr.write('baton serve: stopping\n');
        closing = server
          .close()
          .then(() => store.close())
          .finally(resolveStop);
      });
    });
  });

  const worker = program
    .command('worker')
    .description('take queued runs from the PostgreSQL store and run them, each in a fresh CLI home')
    .option('--runs <n>', 'runs at once', '1');
  addRunOptions(worker, '~/.baton/worker');
  worker.action(async (options: RunCommandOptions & { runs: string }) => {
    const concurrency = positiveInteger('--runs', options.runs);
    const { store, config } = await openFleetStore(globals(), 'worker');
    let setup;
    try {
      setup = await workerSetup(options, store, join(batonDirectory(process.env), 'worker'));
    } catch (error) {
      await store.close();
      throw error;
    }
    const { FleetWorker } = await import('../fleet/worker.js');
    const fleetWorker = new FleetWorker({
      ...setup,
      store,
      config,
      name: options.name,
      concurrency,
      // A log line quotes runs' errors (a CLI's stderr tail), which the agent controls.
      log: (line) => process.stderr.write(`${terminalText(line)}\n`),
    });
    try {
      await fleetWorker.start();
    } catch (error) {
      await store.close();
      throw error;
    }
    onStopSignals(() => void fleetWorker.stop());
    await fleetWorker.finished;
    await fleetWorker.stop();
    await store.close();
  });

  registerTokenCommands(program, globals);
}

interface RunCommandOptions extends Record<string, unknown> {
  name?: string;
  dataDir?: string;
  homes?: string;
  homeTemplate?: string;
  leaseSeconds: string;
  drainSeconds: string;
  sandbox: string;
  passEnv?: string;
  allowLocalClone?: boolean;
  maxTokensPerRun?: string;
  modelProxy: boolean;
  redact: boolean;
  stallTimeout: string;
  maxRunTime?: string;
  stallTimeoutCap?: string;
  maxRunTimeCap?: string;
}

/** The options of whatever runs queued runs (`baton worker`, and `baton serve` on SQLite): the same rules for both. */
function addRunOptions(command: Command, defaultDataDir: string): void {
  command
    .option('--name <name>', 'the worker\'s name in runs and logs (default <hostname>-<pid>)')
    .option('--data-dir <dir>', `where runs, homes and working directories live (default ${defaultDataDir})`)
    .option('--homes <dir>', 'parent directory of the fresh per-run homes (default: under --data-dir)')
    .option('--home-template <dir>', "copied into every fresh home first: a home's layout, e.g. the CLIs' settings files")
    .option('--lease-seconds <n>', 'how long a run or a worker counts as alive without a heartbeat', '30')
    .option('--drain-seconds <n>', 'on SIGTERM, how long active runs may finish before they are handed back to the queue', '20')
    .option('--sandbox <mode>', 'bubblewrap: every run in its own sandbox; none: runs see this machine as the worker does (not for tenants who must not see each other)', 'bubblewrap')
    .option('--pass-env <names>', 'comma-separated variables (or PREFIX_*) the sandboxed CLIs get besides their own (never BATON_*)')
    .option('--allow-local-clone', 'clone workspace.git paths and file:// URLs (paths on this machine)')
    .option('--no-redact', 'store runs\' transcripts, events and prompts byte for byte, secrets included (default: redacted)')
    .option('--stall-timeout <duration>', 'stop a run\'s agent and fail the run (STALLED) after this long without any output or transcript growth, unless its request says otherwise; 0 = never', '10m')
    .option('--max-run-time <duration>', 'stop a run\'s agent and fail the run (RUN_TIME_EXCEEDED) after this long in all, unless its request says otherwise (default: no limit)')
    .option('--stall-timeout-cap <duration>', 'the longest stall timeout a run\'s request may ask for (default: any)')
    .option('--max-run-time-cap <duration>', 'the longest run time a run\'s request may ask for (default: any)')
    .option('--max-tokens-per-run <n>', 'the model proxy refuses a run\'s further model requests once it used this many input + output tokens, and the run fails')
    .option('--no-model-proxy', 'give the agents this worker\'s model keys as they are, instead of per-run tokens for the model proxy (any agent can then read them)');
  for (const upstream of UPSTREAM_OPTIONS) command.option(`${upstream.flag} <url>`, upstream.description);
}

/** Checks the run options and builds what both kinds of worker take (sandbox probed, template checked, proxy upstreams resolved). */
async function workerSetup(options: RunCommandOptions, store: SqlStore, defaultDataDir: string) {
  if (!isSandboxMode(options.sandbox)) throw new BatonError('USAGE', `--sandbox must be one of ${SANDBOX_MODES.join(', ')}, not "${options.sandbox}"`, { hint: '--sandbox none runs every tenant\'s agent unconfined' });
  const sandbox = options.sandbox;
  if (sandbox === 'bubblewrap') await probeBubblewrap({ sandbox: true });
  const passEnvironment = (options.passEnv ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  const leaseMs = positiveInteger('--lease-seconds', options.leaseSeconds) * 1000;
  const drainMs = positiveInteger('--drain-seconds', options.drainSeconds, { allowZero: true }) * 1000;
  const maxTokensPerRun = options.maxTokensPerRun === undefined ? undefined : positiveInteger('--max-tokens-per-run', options.maxTokensPerRun);
  const upstreamUrls = Object.fromEntries(UPSTREAM_OPTIONS.flatMap((upstream) => (typeof options[upstream.key] === 'string' ? [[upstream.api, options[upstream.key] as string]] : [])));
  if (!options.modelProxy && (Object.keys(upstreamUrls).length > 0 || maxTokensPerRun !== undefined)) {
    throw new BatonError('USAGE', `${UPSTREAM_OPTIONS.map((upstream) => upstream.flag).join(', ')} and --max-tokens-per-run need the model proxy, which --no-model-proxy turns off`, { hint: 'drop --no-model-proxy' });
  }
  const { assertHomeTemplate } = await import('../fleet/run-home.js');
  if (options.homeTemplate) await assertHomeTemplate(resolve(options.homeTemplate));
  // A tenant's own OPENAI_API_KEY / ANTHROPIC_API_KEY secrets are used upstream for its runs instead of the operator's.
  const { resolveUpstreams, tenantKeysFromSecrets } = await import('../fleet/model-proxy/upstreams.js');
  const modelProxy = options.modelProxy ? { upstreams: resolveUpstreams({ urls: upstreamUrls, env: process.env }), maxTokensPerRun, tenants: tenantKeysFromSecrets((tenant) => store.tenantSecrets(tenant)) } : (false as const);
  const { parseDuration } = await import('../run/run-limits.js');
  const duration = (flag: string, value: string | undefined): number | undefined => (value === undefined ? undefined : parseDuration(value, flag));
  const runLimits = {
    stallTimeoutMs: duration('--stall-timeout', options.stallTimeout),
    maxRunTimeMs: duration('--max-run-time', options.maxRunTime),
    stallTimeoutCapMs: duration('--stall-timeout-cap', options.stallTimeoutCap),
    maxRunTimeCapMs: duration('--max-run-time-cap', options.maxRunTimeCap),
  };
  return {
    runLimits,
    host: options.name ?? `${hostname()}-${process.pid}`,
    dataDir: resolve(options.dataDir ?? defaultDataDir),
    homesDir: options.homes ? resolve(options.homes) : undefined,
    homeTemplate: options.homeTemplate ? resolve(options.homeTemplate) : undefined,
    leaseMs,
    drainMs,
    sandbox,
    passEnvironment,
    allowLocalClone: options.allowLocalClone === true,
    redact: options.redact,
    modelProxy,
  };
}

