/**
 * The OpenCode harness: `opencode run --format json --auto --title=…` with the prompt on stdin for a new
 * conversation (the CLI creates the session and reports its id in every event), `… -s <ses_…>` for a follow-up.
 * baton reads the session from the CLI's own database (database.ts) rather than running `opencode export`.
 */
import { opencodeCredentials } from './credentials.js';
import { join } from 'node:path';
import { BatonError } from '../../errors.js';
import { secretsInCredentialFileAt } from '../../redact/known-secrets.js';
import type { Envelope, EnvelopeHeader } from '../../transcript/envelope.js';
import { wholeEnvelope, type StoredEnvelope } from '../../transcript/file-reader.js';
import { isRecord } from '../../transcript/jsonl.js';
import { forkOpencodeSession } from './fork.js';
import { expandTemplate } from '../command-template.js';
import { packagePathsOf } from '../executable.js';
import {
  harnessMismatch,
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
  type TemplateItem,
} from '../harness.js';
import { resolveOpencode } from './cli.js';
import { configuredApiKeys, OPENCODE_HOME_VARIABLES, opencodeDirectories, opencodeModel, prepareOpencodeConfig, scriptedHome, xdgEnvironment } from './config.js';
import {
  assertOpencodeSessionId,
  findOpencodeSession,
  locateOpencodeSession,
  newOpencodeSessionId,
  OPENCODE_SESSION_ID,
  readOpencodeMeta,
  rehydrateOpencodeSession,
  viewOpencodeSession,
  type OpencodeSessionContext,
} from './transcript.js';

export { OPENCODE_HOME_VARIABLES, scriptedHome } from './config.js';
export { bundledOpencode as opencodeExecutable } from './cli.js';

/**
 * verified with opencode 1.18.33: `--auto` approves every permission the config does not deny (without it an "ask"
 * is rejected in `run`, and the tool fails); `-s` continues a session. The prompt goes on stdin, not in argv: the CLI
 * joins its message words with spaces and wraps every argv item that holds a space in double quotes (the model then
 * sees the quotes), and turns an item such as "42" into a number it then fails on. With stdin not a TTY and no
 * message, it reads stdin to its end and sends exactly that.
 */
/**
 * The TUI resuming the session (`baton open`). verified with opencode 1.18.33 under tmux: no first-run dialog;
 * `--auto` approves every tool as headless runs do; without it the TUI asks as its permission config says.
 */
function opencodeInteractiveArgs(permissions: InteractivePermissions): TemplateItem[] {
  // The TUI takes no --variant (opencode 1.18.33 `opencode --help`): the effort of headless runs does not apply there.
  return [...(permissions === 'bypass' ? ['--auto'] : []), '-s', '{sessionId}', ['-m', '{model}']];
}
export const OPENCODE_ARGS: TemplateItem[] = ['run', '--format', 'json', '--auto', '-s', '{sessionId}', ['-m', '{model}'], ['--variant', '{effort}']];
/**
 * A new conversation: the CLI creates the session itself. verified with opencode 1.18.33: `run` cannot be told an id
 * for a new session; `--title` names it, so that no title request goes to the model (as OpenCode's default title
 * would make it send); baton appends it as one `--title=…` item, which yargs never reads as another flag.
 */
export const OPENCODE_NEW_ARGS: TemplateItem[] = ['run', '--format', 'json', '--auto', ['-m', '{model}'], ['--variant', '{effort}']];

/** The resume state of an OpenCode conversation, checked at the boundary: its own id shape, not a UUID. */
/** An OpenCode session id (`ses_…`), checked by hand (assertOpencodeSessionId): loading a harness does not load zod. */
export interface OpencodeResume {
  sessionId: string;
}

function sessionContext(context: HarnessContext, templates?: CommandTemplates): OpencodeSessionContext {
  return { home: context.home, cwd: context.cwd, env: context.env, executable: () => resolveOpencode(templates?.command, context.env) };
}

/** A session's title: the prompt's first line (OpenCode's own default title would make it ask the model for one). */
function titleOf(prompt: string): string {
  const line = prompt.trim().split('\n')[0]?.trim() ?? '';
  return line === '' ? 'baton conversation' : line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

export const opencodeHarness: Harness<OpencodeResume> = {
  id: 'opencode',
  displayName: 'OpenCode',
  // locateTranscript reads the session from OpenCode's database (milliseconds; database.ts), not `opencode export`.
  locatingRunsCli: false,
  // verified with opencode 1.18.33: the bundled `openai` provider with options.baseURL sends `POST {baseURL}/responses`.
  modelApi: 'openai-responses',
  executable: { packageName: 'opencode-ai', binName: 'opencode', platformPackagePrefix: 'opencode-' },
  homeVariables: OPENCODE_HOME_VARIABLES,
  // The AI SDK providers OpenCode bundles take their keys from these when opencode.json names none.
  modelKeyVariables: ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'],
  scriptedHome,

  preflight: { testedVersions: '1.18', loginFix: 'log in with `opencode auth login`, or set the provider\'s API key variable', credentials: opencodeCredentials },
  locateExecutable: (env, configured) => resolveOpencode(configured, env),
  setupSupport: { effort: true, systemPrompt: { supported: true } },

  resolveHome(env) {
    return opencodeDirectories(env).data;
  },

  async prepare(context: HarnessContext, options: PrepareOptions) {
    await prepareOpencodeConfig({
      configDir: opencodeDirectories(context.env).config,
      model: options.model,
      systemPrompt: options.systemPrompt,
      mcpServers: options.mcpServers,
      skills: options.skills,
      modelEndpoint: context.modelEndpoint,
    });
  },

  // The CLI chooses it (see OPENCODE_NEW_ARGS) and reports it in its first event.
  newSessionId() {
    return undefined;
  },

  async command(context: HarnessContext, request: LaunchRequest<OpencodeResume>, templates: CommandTemplates): Promise<CommandSpec> {
    const file = await resolveOpencode(templates.command, context.env);
    const sessionId = request.kind === 'new' ? request.sessionId : request.resume.sessionId;
    if (request.kind !== 'new' && !sessionId) {
      throw new BatonError('SESSION_ID_MISSING', 'an OpenCode follow-up needs the session id of its conversation', { hint: 'start the conversation with `baton run --harness opencode`' });
    }
    const values = { sessionId, model: request.setup.model === undefined ? undefined : opencodeModel(request.setup.model), cwd: context.cwd, systemPrompt: request.setup.systemPrompt, effort: request.setup.effort };
    // verified with opencode 1.18.33: the CLI works in $PWD when it is set, not in its process's cwd (`run`: `resolve(
    // process.env.PWD ?? process.cwd())`; import binds a session to it too): baton's own PWD must not leak into the run.
    const env: Record<string, string> = { ...xdgEnvironment(context.env), OPENCODE_DISABLE_AUTOUPDATE: '1', PWD: context.cwd };
    // Behind a model proxy nothing may leave the machine: not even the models.dev catalogue.
    if (context.modelEndpoint) env.OPENCODE_DISABLE_MODELS_FETCH = '1';
    if (request.kind === 'interactive') {
      const args = expandTemplate(opencodeInteractiveArgs(request.permissions), values);
      return { file, args, env, cwd: context.cwd, packagePaths: packagePathsOf(file), terminal: true };
    }
    const configured = request.kind === 'new' ? templates.newArgs : templates.resumeArgs;
    const template = configured ?? (request.kind === 'new' ? OPENCODE_NEW_ARGS : OPENCODE_ARGS);
    const args = expandTemplate(template, { ...values, prompt: request.prompt });
    if (request.kind === 'new' && configured === undefined) args.push(`--title=${titleOf(request.prompt)}`);
    const promptInArgv = template.flat().some((item) => item.includes('{prompt}'));
    return { file, args, env, cwd: context.cwd, packagePaths: packagePathsOf(file), stdin: promptInArgv ? undefined : request.prompt };
  },

  // verified with opencode 1.18.33: opencode.json / opencode.jsonc in the cwd (or any folder up to the worktree root)
  // can start MCP servers (commands), install and run npm plugins, and widen permissions; .opencode/ auto-loads
  // plugins (code), tools, agents and commands, and OpenCode runs an npm install there.
  projectFilesThatRunCode: ['.opencode', 'opencode.json', 'opencode.jsonc'],

  async credentialSecrets(context) {
    const directories = opencodeDirectories(context.env);
    const keys = (await configuredApiKeys(directories.config)).map((value) => ({ name: 'opencode.json:provider.options.apiKey', value }));
    // auth.json: what `opencode auth login` stored (API keys, OAuth tokens), keyed by provider.
    return [...(await secretsInCredentialFileAt(join(context.home, 'auth.json'), 'auth.json')), ...keys.filter((key) => key.value.length >= 8)];
  },

  async sandboxNeeds(context) {
    const directories = opencodeDirectories(context.env);
    // verified with opencode 1.18.33: it writes /tmp/opencode (scratch space it offers the bash tool); the sandbox's /tmp is private anyway.
    const statePaths = [directories.data, directories.config, directories.cache, directories.state];
    if (context.modelEndpoint) return { statePaths, environment: ['OPENCODE_*', 'XDG_*'] };
    // A provider's key comes from its own variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, …) unless auth.json has it.
    return { statePaths, environment: ['OPENCODE_*', 'XDG_*', 'OPENAI_*', 'ANTHROPIC_*', 'GEMINI_*', 'GOOGLE_*', 'OPENROUTER_*', 'AZURE_*', 'AWS_*', 'GROQ_*', 'MISTRAL_*', 'XAI_*', 'DEEPSEEK_*'] };
  },

  outputParser() {
    return opencodeOutputParser();
  },

  async locateTranscript(context, sessionId) {
    return locateOpencodeSession(sessionContext(context), sessionId);
  },

  readSessionMeta(content, sessionId) {
    return readOpencodeMeta(content, sessionId);
  },

  findSession: (context, query) => findOpencodeSession(sessionContext(context), query),

  sessionPlaces(context, query) {
    if ('file' in query) return query.file;
    const database = join(context.home, 'opencode.db');
    return 'latestFor' in query ? `\`opencode session list\` in ${query.latestFor} (${database})` : `${database} (\`opencode export ${query.sessionId}\`)`;
  },

  async rehydrate(envelope: Envelope | StoredEnvelope, context: HarnessContext) {
    opencodeHarness.resumeInfo(envelope);
    // Its rehydrate imports the session into the CLI's database (`opencode import`): it needs the whole content.
    return rehydrateOpencodeSession(await wholeEnvelope(envelope), sessionContext(context));
  },

  viewTranscript: (files) => viewMainFile(files, viewOpencodeSession),

  forkSession: forkOpencodeSession,
  forkSessionId: () => newOpencodeSessionId(),

  resumeInfo(envelope: EnvelopeHeader): OpencodeResume {
    if (envelope.harness !== 'opencode') throw harnessMismatch('opencode', envelope.harness);
    assertOpencodeSessionId(envelope.sessionId); // throws INVALID_SESSION_ID
    return { sessionId: envelope.sessionId };
  },
};

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Tools whose input names the files they change. */
const EDIT_TOOLS = new Set(['edit', 'write', 'apply_patch', 'patch', 'multiedit']);

/** A parser for one run's `--format json` lines: it reports the session once and sums a turn's steps. */
export function opencodeOutputParser(): OutputParser {
  const state = { sessionId: undefined as string | undefined, inputTokens: 0, outputTokens: 0, sawTokens: false };
  return (line) => parseOpencodeEvent(line, state);
}

/**
 * One `opencode run --format json` line → baton's events. verified with opencode 1.18.33
 * (test/fixtures/opencode/run-events.jsonl): one line per finished part, no streaming deltas; every line has `type`,
 * `timestamp` and `sessionID`: `step_start`, `text` (a finished text part), `reasoning` (with --thinking),
 * `tool_use` (a completed or failed tool part), `step_finish` (`reason` "tool-calls" between steps, "stop" at the
 * end, with the step's tokens), `error` (`error:{name, data:{message}}`, then exit 1).
 */
export function parseOpencodeEvent(line: string, state: { sessionId: string | undefined; inputTokens: number; outputTokens: number; sawTokens: boolean } = { sessionId: undefined, inputTokens: 0, outputTokens: 0, sawTokens: false }): HarnessEvent[] {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return [];
  }
  if (!isRecord(event)) return [];
  const events: HarnessEvent[] = [];
  const sessionId = text(event.sessionID);
  if (sessionId && state.sessionId === undefined) {
    state.sessionId = sessionId;
    events.push({ type: 'session.started', sessionId }, { type: 'turn.started' });
  }
  const part = isRecord(event.part) ? event.part : {};
  switch (event.type) {
    case 'text':
      if (text(part.text)?.trim() && part.synthetic !== true) events.push({ type: 'message', text: text(part.text)! });
      break;
    case 'reasoning':
      if (text(part.text)?.trim()) events.push({ type: 'reasoning', text: text(part.text)! });
      break;
    case 'tool_use':
      events.push(...toolEvents(part));
      break;
    case 'step_finish': {
      const tokens = isRecord(part.tokens) ? part.tokens : {};
      const cache = isRecord(tokens.cache) ? tokens.cache : {};
      if (count(tokens.input) !== undefined || count(tokens.output) !== undefined) state.sawTokens = true;
      // OpenCode counts cached input apart; baton's input tokens are all of them, as the Responses API counts.
      state.inputTokens += (count(tokens.input) ?? 0) + (count(cache.read) ?? 0) + (count(cache.write) ?? 0);
      state.outputTokens += (count(tokens.output) ?? 0) + (count(tokens.reasoning) ?? 0);
      if (part.reason !== 'tool-calls') {
        events.push({ type: 'turn.completed', inputTokens: state.sawTokens ? state.inputTokens : undefined, outputTokens: state.sawTokens ? state.outputTokens : undefined });
        Object.assign(state, { inputTokens: 0, outputTokens: 0, sawTokens: false });
      }
      break;
    }
    case 'error': {
      const error = isRecord(event.error) ? event.error : {};
      const data = isRecord(error.data) ? error.data : {};
      events.push({ type: 'turn.failed', message: text(data.message) ?? text(error.name) ?? 'OpenCode reported an error' });
      break;
    }
    default:
      break;
  }
  return events;
}

function toolEvents(part: Record<string, unknown>): HarnessEvent[] {
  const stateOf = isRecord(part.state) ? part.state : {};
  const input = isRecord(stateOf.input) ? stateOf.input : {};
  const metadata = isRecord(stateOf.metadata) ? stateOf.metadata : {};
  const tool = text(part.tool) ?? 'tool';
  const command = tool === 'bash' && typeof input.command === 'string' ? input.command : `${tool} ${JSON.stringify(input)}`;
  const failed = stateOf.status === 'error';
  const output = failed ? (text(stateOf.error) ?? '') : (text(stateOf.output) ?? text(metadata.output) ?? '');
  const exitCode = count(metadata.exit) ?? (failed ? 1 : tool === 'bash' ? undefined : 0);
  const events: HarnessEvent[] = [
    { type: 'command.started', command },
    { type: 'command.completed', command, exitCode, output },
  ];
  if (EDIT_TOOLS.has(tool) && !failed) {
    const paths = [input.filePath, input.path].filter((path): path is string => typeof path === 'string');
    const patch = text(input.patchText);
    if (patch) for (const match of patch.matchAll(/^\*\*\* (?:Add|Update|Delete) File: (.+)$/gm)) paths.push(match[1]!.trim());
    if (paths.length > 0) events.push({ type: 'file.changed', paths });
  }
  return events;
}
