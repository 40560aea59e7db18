/** `baton run` and `baton resume`: start or continue a conversation, show progress, print the outcome. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BatonError, errorMessage } from '../errors.js';
import { HARNESS_IDS, isHarnessId } from '../harness/ids.js';
import { assertHarnessName, loadHarness } from '../harness/load.js';
import { resumeConversation, startConversation, type RunOptions, type RunResult, type WorkspaceOptions } from '../run/runner.js';
import type { SandboxOptions } from '../run/containment.js';
import { failureHint as hintFor } from '../run/failure-hints.js';
import { parseDuration } from '../run/run-limits.js';
import type { RestoreMode } from '../workspace/workspace.js';
import { EFFORT_LEVELS } from '../model/agent-setup-values.js';
import type { AgentSetup } from '../model/agent-setup.js';
import type { Store } from '../store/store.js';
import type { SetupFlags } from './agent-setup-input.js';
import { openStore, resolveContext, type GlobalOptions } from './context.js';
import { progressPrinter } from './progress.js';
import type { RemoteClient } from './remote.js';
import { terminalJson, terminalLine, terminalText } from './terminal-text.js';

export interface RunCommandOptions extends SetupFlags {
  server?: string;
  cwd?: string;
  json?: boolean;
  quiet?: boolean;
  /** run: the directory to track; resume: restore | overwrite | skip; false with --no-workspace. */
  workspace?: string | false;
  includeSecrets?: boolean;
  maxWorkspaceMb?: string;
  /** --sandbox: the bubblewrap sandbox. */
  sandbox?: boolean;
  /** resume --trust: the user trusts an imported conversation's workspace files. */
  trust?: boolean;
  /** false with --no-redact: store byte for byte. */
  redact?: boolean;
  /** --skip-preflight: start the CLI without checking it first. */
  skipPreflight?: boolean;
  /** --stall-timeout / --max-run-time: durations (run-limits.ts). */
  stallTimeout?: string;
  maxRunTime?: string;
}

/** --stall-timeout and --max-run-time as a server's API takes them (whole seconds, within its workers' caps). */
function limitsBody(options: Pick<RunCommandOptions, 'stallTimeout' | 'maxRunTime'>): { stallTimeoutSeconds?: number; maxRunTimeSeconds?: number } {
  const { stallTimeoutMs, maxRunTimeMs } = runLimits(options);
  return {
    ...(stallTimeoutMs !== undefined ? { stallTimeoutSeconds: Math.ceil(stallTimeoutMs / 1000) } : {}),
    ...(maxRunTimeMs !== undefined ? { maxRunTimeSeconds: Math.ceil(maxRunTimeMs / 1000) } : {}),
  };
}

/** The run's time limits from --stall-timeout and --max-run-time (unset: the runner's default stall timeout, no cap). */
export function runLimits(options: Pick<RunCommandOptions, 'stallTimeout' | 'maxRunTime'>): { stallTimeoutMs?: number; maxRunTimeMs?: number } {
  return {
    ...(options.stallTimeout !== undefined ? { stallTimeoutMs: parseDuration(options.stallTimeout, '--stall-timeout') } : {}),
    ...(options.maxRunTime !== undefined ? { maxRunTimeMs: parseDuration(options.maxRunTime, '--max-run-time') } : {}),
  };
}

const RESTORE_MODES: readonly RestoreMode[] = ['restore', 'overwrite', 'skip'];

export function workspaceOptions(options: RunCommandOptions, kind: 'run' | 'resume'): WorkspaceOptions {
  let maxBytes: number | undefined;
  if (options.maxWorkspaceMb !== undefined) {
    const megabytes = Number(options.maxWorkspaceMb);
    if (!Number.isFinite(megabytes) || megabytes <= 0) {
      throw new BatonError('USAGE', `--max-workspace-mb must be a positive number, not "${options.maxWorkspaceMb}"`, { hint: 'for example --max-workspace-mb 500' });
    }
    maxBytes = megabytes * 1024 * 1024;
  }
  const common = { includeSecrets: options.includeSecrets ?? false, ...(maxBytes ? { maxBytes } : {}) };
  if (options.workspace === false) return { enabled: false };
  if (kind === 'run') return { ...common, ...(options.workspace ? { dir: resolve(options.workspace) } : {}) };
  const mode = options.workspace ?? 'restore';
  if (!(RESTORE_MODES as readonly string[]).includes(mode)) {
    throw new BatonError('USAGE', `--workspace must be one of ${RESTORE_MODES.join(', ')}, not "${mode}"`, {
      hint: 'overwrite replaces what is in the directory; skip resumes without restoring the files',
    });
  }
  return { ...common, restore: mode as RestoreMode, trust: options.trust ?? false };
}

/** Ctrl-C, SIGTERM and SIGHUP interrupt the CLI (forwarded to it); the run still gets its final save. */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (!controller.signal.aborted) process.stderr.write(`\n${name}: stopping the agent and saving the transcript…\n`);
    controller.abort();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const name of signals) process.on(name, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of signals) process.off(name, onSignal);
    },
  };
}

export function sandboxOptions(options: RunCommandOptions): SandboxOptions | undefined {
  return options.sandbox ? { mode: 'bubblewrap' } : undefined;
}

/** BATON_LEASE_SECONDS: how long a run that stopped renewing keeps its conversation (default 30). */
export function leaseMs(): number | undefined {
  const text = process.env.BATON_LEASE_SECONDS;
  if (text === undefined || text === '') return undefined;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 1) throw new BatonError('USAGE', `BATON_LEASE_SECONDS must be a number of seconds (at least 1), not "${text}"`, { hint: 'unset it for the default of 30' });
  return seconds * 1000;
}

/** What to do about a failed run, by what went wrong and what was saved (failure-hints.ts). */
function failureHint(result: RunResult, loginFix: string | undefined): string {
  return hintFor({ errorCode: result.errorCode, harness: result.harness, conversationId: result.conversationId, resumable: result.resumable ?? result.sessionId !== undefined, loginFix });
}

/** The run's outcome as `baton run` prints it; sets the exit status. */
export function report(result: RunResult, options: RunCommandOptions, loginFix?: string): void {
  if (options.json) {
    const { conversationId, harness, sessionId, runId, status, exitCode, errorCode } = result;
    process.stdout.write(`${terminalJson({ conversationId, harness, sessionId: sessionId ?? null, runId, status, exitCode: exitCode ?? null, errorCode: errorCode ?? null })}\n`);
  } else {
    const failure = `run ${terminalLine(result.status)}${result.errorCode ? ` (${result.errorCode})` : ''}`;
    if (result.forkedInto) process.stderr.write(`error: ${failure}: ${terminalText(result.error ?? 'lost its lease')}\nhint: continue that work with \`baton resume ${result.forkedInto} PROMPT\`; the original conversation goes on in the run that took it over\n`);
    else if (result.status !== 'succeeded') process.stderr.write(`error: ${failure}: ${terminalText(result.error ?? 'unknown error')}\nhint: ${failureHint(result, loginFix)}\n`);
    process.stdout.write(`${result.conversationId}\n`);
  }
  process.exitCode = result.status === 'succeeded' ? 0 : result.status === 'interrupted' ? 130 : 1;
}

function addRunOptions(command: Command): Command {
  return command
    .option('--no-workspace', 'neither restore nor save the working directory\'s files')
    .option('--include-secrets', 'also save files that look like secrets (.env*, *.pem, id_rsa* …)')
    .option('--max-workspace-mb <n>', 'largest workspace snapshot to store (default 200)')
    .option('--sandbox', 'run the agent in a bubblewrap sandbox that sees only its cwd and the CLI\'s home')
    .option('--no-redact', 'store the transcript, events and prompt byte for byte, secrets included (default: redacted; see Security model)')
    .option('--skip-preflight', 'start the CLI without checking first that it is installed and has credentials')
    .option('--stall-timeout <duration>', 'stop the agent and fail the run (STALLED) after this long without any output, e.g. 90s or 10m; 0 = never (default 10m)')
    .option('--max-run-time <duration>', 'stop the agent and fail the run (RUN_TIME_EXCEEDED) after this long in all, e.g. 30m or 2h (default: no limit)')
    .option('--cwd <dir>', 'working directory of the agent (default: the current directory)')
    .option('--model <model>', 'model for the CLI to use')
    .option('--effort <level>', `reasoning effort: ${EFFORT_LEVELS.join(', ')} (mapped to each CLI's own setting)`)
    .option('--system-prompt-file <file>', 'extra instructions for the agent, from a file')
    .option('--mcp-config <file>', 'MCP servers for the agent: {"mcpServers": {NAME: {command, args, env} | {type, url, headers}}}; write ${VAR} for secrets')
    .option('--skill <dir>', 'a skill folder (with SKILL.md) the agent can use; repeat for more', (dir: string, dirs: string[] = []) => [...dirs, dir])
    .option('--json', 'print one JSON object {conversationId, harness, sessionId, runId, status, exitCode, errorCode} and nothing else on stdout')
    .option('--server <url>', 'queue the run on a baton server (default $BATON_SERVER; token from $BATON_TOKEN) and follow it live')
    .option('-q, --quiet', 'do not show the agent\'s progress');
}

/**
 * `run` and `resume`; with `only`, just that one (main.ts, for that command line): resume's help lists every
 * harness's files that run code, which loads every harness, and a `baton run` needs none but its own.
 */
export async function registerRunCommands(program: Command, globals: () => GlobalOptions, only?: 'run' | 'resume'): Promise<void> {
  if (only !== 'resume') registerRun(program, globals);
  if (only !== 'run') registerResume(program, globals, (await import('../harness/registry.js')).projectFilesThatRunCode({ gitRepositoryMadeByBaton: true }));
}

function registerRun(program: Command, globals: () => GlobalOptions): void {
  addRunOptions(
    program
      .command('run')
      .description('start a conversation with an agent CLI and save it')
      .requiredOption('--harness <name>', `the agent CLI: ${HARNESS_IDS.join(', ')}`)
      .option('--workspace <dir>', 'the directory whose files travel with the conversation (default: --cwd)')
      .argument('<prompt>', 'the first prompt (one argument; quote it)'),
  ).action(async (prompt: string, options: RunCommandOptions & { harness: string }) => {
    const harness = assertHarnessName(options.harness);
    const remote = await remoteClient(options.server);
    if (remote) {
      assertNoLocalOptions(options);
      const body = { harness, prompt, ...(await setupFromFlags(options)), ...(options.workspace === false ? { workspace: false } : {}), ...limitsBody(options) };
      await followRemote(remote, options, (client) => client.request<{ conversationId: string; runId: string }>('POST', '/v1/conversations', body));
      return;
    }
    await executeRun(globals(), options, prompt, (common) => startConversation({ ...common, harness, workspace: workspaceOptions(options, 'run') }));
  });
}

function registerResume(program: Command, globals: () => GlobalOptions, filesThatRunCode: string[]): void {
  addRunOptions(
    program
      .command('resume')
      .description('continue a conversation, here, from its saved transcript')
      .argument('<conversation-id>', 'the id `baton run` printed')
      .option('--workspace <mode>', 'when the directory holds other work: refuse (default "restore"), "overwrite" it, or "skip" the files')
      .option('--trust', `trust an imported conversation: restore its workspace whole, with the files that make a CLI run commands (hooks, MCP servers: ${filesThatRunCode.join(', ')})`)
      .argument('<prompt>', 'the follow-up prompt (one argument; quote it)'),
  ).action(async (conversationId: string, prompt: string, options: RunCommandOptions) => {
    const remote = await remoteClient(options.server);
    if (remote) {
      assertNoLocalOptions(options);
      if (Object.keys(await setupFromFlags(options)).length > 0) {
        throw new BatonError('USAGE', 'a follow-up on a server keeps the conversation\'s agent setup', { hint: 'drop --model, --effort, --system-prompt-file, --mcp-config and --skill' });
      }
      await followRemote(remote, options, (client) => client.request<{ conversationId: string; runId: string }>('POST', `/v1/conversations/${encodeURIComponent(conversationId)}/followups`, { prompt, ...limitsBody(options) }));
      return;
    }
    await executeRun(globals(), options, prompt, async (common) => resumeConversation({ ...common, store: await common.store(), conversationId, workspace: workspaceOptions(options, 'resume') }));
  });
}

/**
 * What `run` and `resume` get: the run's options, with the store not yet opened — `store()` opens it (once).
 * startConversation opens it once the CLI has been spawned, so that the store's code and its SQLite open run
 * while the CLI boots instead of before; a resume needs the stored conversation first.
 */
export type LaunchOptions = Omit<RunOptions, 'store'> & { store: () => Promise<Store> };

/** What `run` and `resume` share: the store, the interrupt handling, live progress, and the report. */
export async function executeRun(
  globals: GlobalOptions,
  options: RunCommandOptions,
  prompt: string,
  launch: (common: LaunchOptions) => Promise<RunResult>,
  onResult: (result: RunResult, options: RunCommandOptions, loginFix?: string) => void = report,
): Promise<void> {
  const setup = await setupFromFlags(options);
  const { config, target } = await resolveContext(globals);
  let opening: Promise<Store> | undefined;
  const store = (): Promise<Store> => {
    if (!opening) {
      opening = openStore(target);
      // Whoever launches awaits it; a failure is theirs to report, never an unhandled rejection here.
      opening.catch(() => undefined);
    }
    return opening;
  };
  const interrupt = interruptSignal();
  try {
    const result = await launch({
      store,
      config,
      prompt,
      cwd: options.cwd ?? process.cwd(),
      setup,
      signal: interrupt.signal,
      sandbox: sandboxOptions(options),
      redaction: { enabled: options.redact !== false },
      ...runLimits(options),
      ...(leaseMs() ? { leaseMs: leaseMs() } : {}),
      ...(options.quiet ? {} : { onEvent: progressPrinter() }),
      ...(options.skipPreflight ? {} : { preflight: { warn: (message: string) => process.stderr.write(`warning: ${terminalLine(message)}\n`) } }),
    });
    onResult(result, options, (await loadHarness(result.harness)).preflight.loginFix);
  } finally {
    interrupt.dispose();
    await (await opening?.catch(() => undefined))?.close();
  }
}

/**
 * The agent setup the flags give; the reader of those flags (and the yaml and zod it loads) only when one is given.
 */
async function setupFromFlags(options: RunCommandOptions): Promise<AgentSetup> {
  const given = options.model !== undefined || options.effort !== undefined || options.systemPromptFile !== undefined || options.mcpConfig !== undefined || (options.skill ?? []).length > 0;
  return given ? (await import('./agent-setup-input.js')).agentSetupFromFlags(options) : {};
}

/** The server named by --server or BATON_SERVER (remote.ts, and the SSE client it loads, only then). */
async function remoteClient(server: string | undefined): Promise<RemoteClient | undefined> {
  const url = server ?? process.env.BATON_SERVER;
  if (url === undefined || url === '') return undefined;
  const { RemoteClient, remoteTarget } = await import('./remote.js');
  const target = remoteTarget(server);
  return target && new RemoteClient(target);
}

/** Options that name things on this machine mean nothing to a server's workers. */
export function assertNoLocalOptions(options: RunCommandOptions): void {
  const local = [
    options.cwd !== undefined && '--cwd',
    typeof options.workspace === 'string' && '--workspace',
    options.includeSecrets && '--include-secrets',
    options.maxWorkspaceMb !== undefined && '--max-workspace-mb',
    options.sandbox && '--sandbox',
    options.trust && '--trust',
    options.redact === false && '--no-redact',
    options.skipPreflight && '--skip-preflight',
  ].filter((flag): flag is string => typeof flag === 'string');
  if (local.length > 0) {
    throw new BatonError('USAGE', `${local.join(', ')} cannot be used with --server: the run happens on a worker, not here`, {
      hint: 'drop them, or run locally without --server',
    });
  }
}

/** Queues the run on the server, streams its events, and reports it as a local run would be reported. */
async function followRemote(client: RemoteClient, options: RunCommandOptions, queue: (client: RemoteClient) => Promise<{ conversationId: string; runId: string }>): Promise<void> {
  const { conversationId, runId } = await queue(client);
  if (!options.quiet) process.stderr.write(`· queued run ${terminalLine(runId)} of conversation ${terminalLine(conversationId)} on ${client.target.url}\n`);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  try {
    const printer = options.quiet ? () => undefined : progressPrinter();
    const run = await client.followRun(runId, printer, controller.signal);
    if (!run) {
      process.stderr.write(`stopped following; run ${terminalLine(runId)} goes on at the server\nhint: see it with \`baton show --server ${client.target.url} ${terminalLine(conversationId)}\`\n`);
      process.exitCode = 130;
      return;
    }
    const conversation = await client.request<{ harness: string; sessionId: string | null }>('GET', `/v1/conversations/${encodeURIComponent(conversationId)}`);
    report(
      {
        conversationId,
        harness: conversation.harness as RunResult['harness'],
        sessionId: conversation.sessionId ?? undefined,
        runId,
        status: run.status as RunResult['status'],
        exitCode: run.exitCode ?? undefined,
        error: run.error ?? undefined,
        errorCode: (run.errorCode ?? undefined) as RunResult['errorCode'],
        forkedInto: undefined,
        resumable: conversation.sessionId !== null,
      },
      options,
      isHarnessId(conversation.harness) ? (await loadHarness(conversation.harness)).preflight.loginFix : undefined,
    );
  } finally {
    process.off('SIGINT', stop);
  }
}
