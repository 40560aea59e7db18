/**
 * The Gemini CLI harness: `gemini -o stream-json --yolo --skip-trust --session-id <uuid> --prompt=<prompt>` for a
 * new conversation (baton chooses the id), `--resume <uuid>` for a follow-up.
 *
 * verified with gemini 0.61.0:
 * - `--session-id` starts a new session with the given id (a duplicate in the project exits 42); `--resume <uuid>`
 *   continues it, and the `init` event's `session_id` is that id either way;
 * - with `-p` the CLI reads a non-TTY stdin and prepends it to the prompt: baton's child has stdin closed;
 * - without `--yolo` headless runs do not register `run_shell_command`; `--skip-trust` passes the trusted-folder
 *   check (else exit 55) without applying the project's `.gemini/settings.json` (GEMINI_CLI_TRUST_WORKSPACE=true
 *   would apply it: its hooks, MCP servers and discovery command ran);
 * - without `-m` the model is `auto`, and every turn first makes a routing call to `…:generateContent`;
 * - the launcher relaunches itself as a child that gets the signals' effect only through its parent's death;
 *   GEMINI_CLI_NO_RELAUNCH=true keeps it one process, so SIGINT/SIGTERM stop the turn within a second (exit 0,
 *   no `result` event);
 * - shell commands run in process groups of their own and outlive a killed CLI: baton's PID namespace ends them.
 */
import { geminiCredentials } from './credentials.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '../../errors.js';
import { secretsInCredentialFile, secretsInCredentialFileAt, type KnownSecret } from '../../redact/known-secrets.js';
import type { Envelope, EnvelopeHeader } from '../../transcript/envelope.js';
import type { StoredEnvelope } from '../../transcript/file-reader.js';
import { isRecord } from '../../transcript/jsonl.js';
import { expandTemplate } from '../command-template.js';
import { packagePathsOf, resolveExecutable } from '../executable.js';
import {
  sessionResumeInfo,
  viewMainFile,
  type CommandSpec,
  type CommandTemplates,
  type Harness,
  type HarnessContext,
  type InteractivePermissions,
  type HarnessEvent,
  type LaunchRequest,
  type OutputParser,
  type PrepareOptions,
  type SessionResume,
  type TemplateItem,
} from '../harness.js';
import { GEMINI_HOME_VARIABLE, geminiHomeOf, geminiStateDirectory, prepareGeminiSettings } from './config.js';
import { forkGeminiSession } from './fork.js';
import { findGeminiSession, locateGeminiSession, newGeminiSessionId, readGeminiMeta, rehydrateGeminiSession, viewGeminiSession } from './transcript.js';
import { scriptedGeminiHome } from './scripted-machine.js';
import { recordUnfinishedGeminiTools } from './interrupted-tools.js';

const HEADLESS = ['--output-format', 'stream-json', '--yolo', '--skip-trust'];
/**
 * The prompt as `--prompt=<text>`, one argv item: a prompt that starts with "-" stays the prompt. verified with
 * gemini 0.61.0: `--prompt=-x` and `--prompt=123` reach the model as the strings "-x" and "123".
 */
export const GEMINI_NEW_ARGS: TemplateItem[] = [...HEADLESS, ['--model', '{model}'], '--session-id', '{sessionId}', '--prompt={prompt}'];
export const GEMINI_RESUME_ARGS: TemplateItem[] = [...HEADLESS, ['--model', '{model}'], '--resume', '{sessionId}', '--prompt={prompt}'];
/**
 * The TUI resuming the session (`baton open`). verified with gemini 0.61.0 under tmux: without `--skip-trust` a
 * modal "Do you trust the files in this folder?" comes first (baton's restore decides what of an imported
 * workspace the CLI may read; see workspace/withhold.ts); GEMINI_CLI_NO_RELAUNCH (set for every run) keeps one
 * process, which a SIGTERM or SIGHUP ends (a relaunching parent swallows both).
 */
const GEMINI_TUI_PERMISSIONS = { bypass: ['--approval-mode', 'yolo'], ask: ['--approval-mode', 'default'] } as const;
function geminiInteractiveArgs(permissions: InteractivePermissions): TemplateItem[] {
  return ['--skip-trust', ...GEMINI_TUI_PERMISSIONS[permissions], ['--model', '{model}'], '--resume', '{sessionId}'];
}

/**
 * verified with gemini 0.61.0 (isHeadlessMode): `CI=true` or `GITHUB_ACTIONS=true` in its environment makes it
 * headless even on a terminal: with no prompt it exits 42 ("No input provided via stdin"). `baton open` means the
 * UI, so its environment goes without them (`CI` in any form also turns Ink's live rendering and colours off).
 */
const GEMINI_HEADLESS_MARKERS = ['CI', 'GITHUB_ACTIONS'] as const;

/** Where a worker's model proxy serves the Gemini API, and what the CLI's environment says to reach it. */
export function geminiEndpointEnvironment(endpoint: { baseUrl: string; token: string }): Record<string, string> {
  // verified with gemini 0.61.0: GOOGLE_GEMINI_BASE_URL is the API root (requests go to
  // `<base>/v1beta/models/<model>:streamGenerateContent?alt=sse`), GEMINI_API_KEY is sent as `x-goog-api-key`.
  return { GOOGLE_GEMINI_BASE_URL: endpoint.baseUrl, GEMINI_API_KEY: endpoint.token };
}

const EXECUTABLE = { packageName: '@google/gemini-cli', binName: 'gemini' };

export const geminiHarness: Harness<SessionResume> = {
  id: 'gemini',
  displayName: 'Gemini CLI',
  modelApi: 'gemini-generate-content',
  executable: EXECUTABLE,
  homeVariables: [GEMINI_HOME_VARIABLE],
  // verified with gemini 0.61.0 (bundle): GEMINI_API_KEY, else GOOGLE_API_KEY; GOOGLE_GEMINI_BASE_URL moves the endpoint.
  modelKeyVariables: ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_GEMINI_BASE_URL'],

  preflight: { testedVersions: '0.61', loginFix: 'set GEMINI_API_KEY (or GOOGLE_API_KEY), or sign in with `gemini`', credentials: geminiCredentials },
  locateExecutable: (env, configured) => resolveExecutable({ ...EXECUTABLE, configKey: 'harnesses.gemini.command' }, configured, env),
  setupSupport: {
    effort: true,
    // verified with gemini 0.61.0: its only system-prompt hook, GEMINI_SYSTEM_MD, replaces the whole built-in prompt
    // (tool use instructions included) instead of adding to it as the other harnesses' system prompts do: refused
    // rather than silently dropped or turned into something else.
    systemPrompt: {
      supported: false,
      reason: 'its only hook (GEMINI_SYSTEM_MD) replaces the CLI\'s whole prompt, tool instructions included',
      hint: 'put the instructions in a GEMINI.md in the working directory (Gemini reads it), or drop --system-prompt-file',
    },
  },

  resolveHome(env) {
    return geminiHomeOf(env);
  },

  async prepare(context: HarnessContext, options: PrepareOptions) {
    await prepareGeminiSettings({
      home: context.home,
      usesApiKey: context.modelEndpoint !== undefined || Boolean(context.env.GEMINI_API_KEY),
      effort: options.effort,
      mcpServers: options.mcpServers,
      skills: options.skills,
    });
  },

  newSessionId() {
    return newGeminiSessionId();
  },

  async command(context: HarnessContext, request: LaunchRequest<SessionResume>, templates: CommandTemplates): Promise<CommandSpec> {
    const file = await resolveExecutable({ ...EXECUTABLE, configKey: 'harnesses.gemini.command' }, templates.command, context.env);
    const sessionId = request.kind === 'new' ? request.sessionId : request.resume.sessionId;
    const values = { model: request.setup.model, cwd: context.cwd, sessionId, systemPrompt: request.setup.systemPrompt };
    const args =
      request.kind === 'interactive'
        ? expandTemplate(geminiInteractiveArgs(request.permissions), values)
        : expandTemplate(request.kind === 'new' ? (templates.newArgs ?? GEMINI_NEW_ARGS) : (templates.resumeArgs ?? GEMINI_RESUME_ARGS), { ...values, prompt: request.prompt });
    const env: Record<string, string> = { [GEMINI_HOME_VARIABLE]: context.home, GEMINI_CLI_NO_RELAUNCH: 'true' };
    if (context.modelEndpoint) Object.assign(env, geminiEndpointEnvironment(context.modelEndpoint));
    if (request.kind !== 'interactive') return { file, args, env, cwd: context.cwd, packagePaths: packagePathsOf(file) };
    return { file, args, env, withoutEnv: GEMINI_HEADLESS_MARKERS, cwd: context.cwd, packagePaths: packagePathsOf(file), terminal: true };
  },

  // verified with gemini 0.61.0 (see /work/notes/gemini.md §7): `.gemini/settings.json` hooks, MCP servers and
  // `tools.discoveryCommand` ran once the folder was trusted; `.gemini/.env` was loaded even with --skip-trust and
  // `advanced.ignoreLocalEnv` (it can set GEMINI_SYSTEM_MD, GEMINI_CLI_* and what tool subprocesses inherit);
  // `.gemini/commands` run `!{shell}` lines; `.gemini/{skills,agents,policies,system.md}` and `.agents/skills` widen
  // or replace the agent's instructions and tools. A cwd's `.env` is loaded too (baton sets ignoreLocalEnv, which
  // a user's settings may turn off), and GEMINI.md reaches the system prompt (prompt injection only, but withheld
  // with the rest since an import is someone else's code). `.geminiignore` only hides files: it stays.
  projectFilesThatRunCode: ['.gemini', '.agents', '.env', 'GEMINI.md'],

  async credentialSecrets(context) {
    const state = geminiStateDirectory(context.home);
    // An OAuth login's tokens and MCP servers' tokens (from the 0.61.0 bundle: oauth_creds.json,
    // mcp-oauth-tokens.json), and keys in the home's .env, which the CLI loads.
    return [
      ...(await secretsInCredentialFileAt(join(state, 'oauth_creds.json'), 'oauth_creds.json')),
      ...(await secretsInCredentialFileAt(join(state, 'mcp-oauth-tokens.json'), 'mcp-oauth-tokens.json')),
      ...(await secretsInDotEnv(join(state, '.env'))),
    ];
  },

  async sandboxNeeds(context) {
    // verified with gemini 0.61.0: everything the CLI writes is under <home>/.gemini (sessions, projects.json,
    // history markers), plus error reports in os.tmpdir(), which the sandbox gives every run privately.
    return { statePaths: [geminiStateDirectory(context.home)], environment: ['GEMINI_*', 'GOOGLE_*'] };
  },

  outputParser() {
    return geminiOutputParser();
  },

  async locateTranscript(context, sessionId) {
    return locateGeminiSession(context.home, context.cwd, sessionId);
  },

  readSessionMeta(content, sessionId) {
    return readGeminiMeta(content, sessionId);
  },

  findSession: (context, query) => findGeminiSession(context.home, context.cwd, query),

  sessionPlaces(context, query) {
    if ('file' in query) return query.file;
    const chats = join(geminiStateDirectory(context.home), 'tmp', '<project of the directory>', 'chats', 'session-*.jsonl');
    return 'latestFor' in query ? `${chats} (the project of ${query.latestFor} in ${join(geminiStateDirectory(context.home), 'projects.json')})` : join(geminiStateDirectory(context.home), 'tmp', '*', 'chats', 'session-*.jsonl');
  },

  async rehydrate(envelope: Envelope | StoredEnvelope, context: HarnessContext) {
    geminiHarness.resumeInfo(envelope);
    return rehydrateGeminiSession(envelope, context.home, context.cwd);
  },

  viewTranscript: (files) => viewMainFile(files, viewGeminiSession),

  forkSession: forkGeminiSession,
  forkSessionId: () => newGeminiSessionId(),

  resumeInfo: (envelope: EnvelopeHeader): SessionResume => sessionResumeInfo('gemini', envelope),

  scriptedHome: scriptedGeminiHome,
  recordUnfinishedTools: recordUnfinishedGeminiTools,
  // verified with gemini 0.61.0 (GEMINI_CLI_NO_RELAUNCH=true): SIGTERM and SIGINT run its graceful shutdown, which
  // exits 0 without a `result` event; a finished turn always ends with one.
  reportsEveryTurnEnd: true,
};

async function secretsInDotEnv(path: string): Promise<KnownSecret[]> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) values[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return secretsInCredentialFile('.env', values);
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** The shell tool's name and the command its arguments carry (verified with gemini 0.61.0: `{command, description?}`). */
export const GEMINI_SHELL_TOOL = 'run_shell_command';

function describeToolUse(event: Record<string, unknown>): string {
  const parameters = isRecord(event.parameters) ? event.parameters : {};
  if (event.tool_name === GEMINI_SHELL_TOOL && typeof parameters.command === 'string') return parameters.command;
  return `${text(event.tool_name) ?? 'tool'} ${JSON.stringify(parameters)}`;
}

/**
 * A parser for one run's `-o stream-json` lines. verified with gemini 0.61.0 (test/fixtures/gemini/): events
 * `init`, `message` (the user's prompt; the assistant's text as `delta:true` chunks), `tool_use`, `tool_result`,
 * `error` (`severity` warning|error) and `result` (`status` success|error, `stats`). Assistant chunks are joined
 * into one message, emitted when a tool starts or the turn ends. A run stopped by a signal prints no `result`.
 */
export function geminiOutputParser(): OutputParser {
  const pendingCommands = new Map<string, string>();
  let reply = '';
  const flush = (): HarnessEvent[] => {
    const message = reply;
    reply = '';
    return message.trim() !== '' ? [{ type: 'message', text: message }] : [];
  };
  return (line) => {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return [];
    }
    if (!isRecord(event)) return [];
    switch (event.type) {
      case 'init': {
        const sessionId = text(event.session_id);
        return sessionId ? [{ type: 'session.started', sessionId }, { type: 'turn.started' }] : [];
      }
      case 'message': {
        if (event.role !== 'assistant') return [];
        const content = text(event.content) ?? '';
        if (event.delta === true) {
          reply += content;
          return [];
        }
        return [...flush(), ...(content.trim() !== '' ? [{ type: 'message' as const, text: content }] : [])];
      }
      case 'tool_use': {
        const command = describeToolUse(event);
        if (typeof event.tool_id === 'string') pendingCommands.set(event.tool_id, command);
        return [...flush(), { type: 'command.started', command }];
      }
      case 'tool_result': {
        const id = text(event.tool_id) ?? '';
        const error = isRecord(event.error) ? event.error : undefined;
        const output = text(event.output) ?? text(error?.message) ?? '';
        // A shell command that exits non-zero is still `status:"success"`; its output then says `Exit Code: N`.
        const exit = /^Exit Code: (-?\d+)$/m.exec(output);
        const exitCode = event.status === 'success' ? (exit ? Number(exit[1]) : 0) : 1;
        const command = pendingCommands.get(id) ?? '';
        pendingCommands.delete(id);
        return [{ type: 'command.completed', command, exitCode, output }];
      }
      case 'error': {
        const message = text(event.message) ?? 'Gemini CLI reported a problem';
        return [...flush(), event.severity === 'warning' ? { type: 'warning', message } : { type: 'error', message }];
      }
      case 'result': {
        const events = flush();
        const stats = isRecord(event.stats) ? event.stats : {};
        if (event.status !== 'success') {
          const error = isRecord(event.error) ? event.error : {};
          return [...events, { type: 'turn.failed', message: text(error.message) ?? `Gemini CLI ended the turn with ${text(event.status) ?? 'an error'}` }];
        }
        return [...events, { type: 'turn.completed', inputTokens: count(stats.input_tokens), outputTokens: count(stats.output_tokens) }];
      }
      default:
        return [];
    }
  };
}
