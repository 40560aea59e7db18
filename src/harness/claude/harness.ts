/**
 * The Claude Code harness: `claude -p --session-id <uuid>` for a new conversation (baton chooses the id),
 * `claude -p --resume <uuid>` for a follow-up, both with `--output-format stream-json --verbose`.
 */
import { claudeCredentials } from './credentials.js';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { secretsInCredentialFile, secretsInCredentialFileAt } from '../../redact/known-secrets.js';
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
import { apiKeyFingerprint, claudeStatePath, prepareClaudeState } from './config.js';
import { forkClaudeSession } from './fork.js';
import { findClaudeSession, locateClaudeSession, newClaudeSessionId, projectDirectory, readClaudeMeta, rehydrateClaudeSession, viewClaudeSession } from './transcript.js';
import { scriptedClaudeHome } from './scripted.js';

const HEADLESS = ['--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions'];
const OPTIONAL = [['--model', '{model}'], ['--effort', '{effort}'], ['--append-system-prompt', '{systemPrompt}']];

/** `--` ends the options, so a prompt that starts with "-" is still the prompt. */
export const CLAUDE_NEW_ARGS: TemplateItem[] = ['-p', '--session-id', '{sessionId}', ...HEADLESS, ...OPTIONAL, '--', '{prompt}'];
export const CLAUDE_RESUME_ARGS: TemplateItem[] = ['-p', '--resume', '{sessionId}', ...HEADLESS, ...OPTIONAL, '--', '{prompt}'];
/**
 * The TUI resuming the session (`baton open`). verified with claude 2.1.332 under tmux: with the state prepare()
 * writes (onboarding done, the cwd's trust accepted, the key approved, the bypass warning accepted) it opens straight
 * in the conversation; without a permission flag it started in the mode the settings name, so `ask` says `default`.
 */
const CLAUDE_TUI_PERMISSIONS = { bypass: ['--dangerously-skip-permissions'], ask: ['--permission-mode', 'default'] } as const;
function claudeInteractiveArgs(permissions: InteractivePermissions): TemplateItem[] {
  return ['--resume', '{sessionId}', ...CLAUDE_TUI_PERMISSIONS[permissions], ...OPTIONAL];
}

const EXECUTABLE = { packageName: '@anthropic-ai/claude-code', binName: 'claude' };

export const claudeHarness: Harness<SessionResume> = {
  id: 'claude',
  displayName: 'Claude Code',
  modelApi: 'anthropic-messages',
  executable: EXECUTABLE,
  homeVariables: ['CLAUDE_CONFIG_DIR'],
  modelKeyVariables: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL'],

  preflight: { testedVersions: '2.1', loginFix: 'set ANTHROPIC_API_KEY, or log in with `claude /login`', credentials: claudeCredentials },
  locateExecutable: (env, configured) => resolveExecutable({ ...EXECUTABLE, configKey: 'harnesses.claude.command' }, configured, env),
  setupSupport: { effort: true, systemPrompt: { supported: true } },

  resolveHome(env) {
    return resolve(env.CLAUDE_CONFIG_DIR && env.CLAUDE_CONFIG_DIR !== '' ? env.CLAUDE_CONFIG_DIR : join(env.HOME ?? homedir(), '.claude'));
  },

  async prepare(context: HarnessContext, options: PrepareOptions) {
    await prepareClaudeState({
      configDir: context.home,
      configDirFromEnvironment: Boolean(context.env.CLAUDE_CONFIG_DIR),
      home: context.env.HOME ?? homedir(),
      cwd: context.cwd,
      apiKey: context.modelEndpoint?.token ?? (context.env.ANTHROPIC_API_KEY || undefined),
      mcpServers: options.mcpServers,
      skills: options.skills,
    });
  },

  newSessionId() {
    return newClaudeSessionId();
  },

  async command(context: HarnessContext, request: LaunchRequest<SessionResume>, templates: CommandTemplates): Promise<CommandSpec> {
    const file = await resolveExecutable({ ...EXECUTABLE, configKey: 'harnesses.claude.command' }, templates.command, context.env);
    const sessionId = request.kind === 'new' ? request.sessionId : request.resume.sessionId;
    const values = { model: request.setup.model, effort: request.setup.effort, cwd: context.cwd, sessionId, systemPrompt: request.setup.systemPrompt };
    const args =
      request.kind === 'interactive'
        ? expandTemplate(claudeInteractiveArgs(request.permissions), values)
        : expandTemplate(request.kind === 'new' ? (templates.newArgs ?? CLAUDE_NEW_ARGS) : (templates.resumeArgs ?? CLAUDE_RESUME_ARGS), { ...values, prompt: request.prompt });
    // Claude Code refuses --dangerously-skip-permissions as root unless it is told it runs in a sandbox; in
    // baton's sandbox its uid is not root, and it needs no such word.
    // Only when the environment names it: setting it to the default ~/.claude would move the CLI's .claude.json
    // from ~/.claude.json (where prepare() merged the user's state) to ~/.claude/.claude.json.
    const env: Record<string, string> = context.env.CLAUDE_CONFIG_DIR ? { CLAUDE_CONFIG_DIR: context.home } : {};
    if ((context.runsAsRoot ?? process.getuid?.() === 0) && args.includes('--dangerously-skip-permissions')) env.IS_SANDBOX = '1';
    // The variable beats --effort (verified with claude 2.1.332): an inherited one must not override the conversation's.
    if (request.setup.effort !== undefined) env.CLAUDE_CODE_EFFORT_LEVEL = request.setup.effort;
    if (context.modelEndpoint) {
      // verified with claude 2.1.332: ANTHROPIC_BASE_URL may carry a path (`http://127.0.0.1:P/anthropic` →
      // `POST /anthropic/v1/messages?beta=true`); ANTHROPIC_API_KEY is sent as `x-api-key`. A 429 with
      // `x-should-retry: false` ends the run at once ("API Error: Request rejected (429) · <message>", exit 1);
      // without that header it retries for about three minutes.
      env.ANTHROPIC_BASE_URL = context.modelEndpoint.baseUrl;
      env.ANTHROPIC_API_KEY = context.modelEndpoint.token;
    }
    return { file, args, env, cwd: context.cwd, packagePaths: packagePathsOf(file), ...(request.kind === 'interactive' ? { terminal: true as const } : {}) };
  },

  // verified with claude 2.1.332 (test/e2e/untrusted-import.test.ts): a .claude/settings.json SessionStart hook runs
  // before the first model turn. Also: settings*.json hooks of other events,
  // permissions and enabled plugins; .mcp.json servers start with the session; skills, agents and commands in
  // .claude/ can carry hooks and `!` shell lines of their own. The whole .claude folder, and .mcp.json.
  projectFilesThatRunCode: ['.claude', '.mcp.json'],
  async credentialSecrets(context) {
    const statePath = claudeStatePath({ configDir: context.home, configDirFromEnvironment: Boolean(context.env.CLAUDE_CONFIG_DIR), home: context.env.HOME ?? homedir() });
    const state = await readFile(statePath, 'utf8').then((text) => JSON.parse(text) as unknown).catch(() => undefined);
    // .claude.json remembers each approved key by its last 20 characters: a fragment of a key is a secret too.
    const approved = isRecord(state) && isRecord(state.customApiKeyResponses) && Array.isArray(state.customApiKeyResponses.approved) ? state.customApiKeyResponses.approved : [];
    const fragments = approved.filter((value): value is string => typeof value === 'string').map((value) => ({ name: 'ANTHROPIC_API_KEY', value }));
    const key = context.env.ANTHROPIC_API_KEY;
    if (key) fragments.push({ name: 'ANTHROPIC_API_KEY', value: apiKeyFingerprint(key) });
    return [
      // A subscription login's OAuth tokens (verified with Claude Code 2.1 on Linux: $CLAUDE_CONFIG_DIR/.credentials.json).
      ...(await secretsInCredentialFileAt(join(context.home, '.credentials.json'), '.credentials.json')),
      ...(isRecord(state) ? secretsInCredentialFile('.claude.json', { primaryApiKey: state.primaryApiKey }) : []),
      ...fragments,
    ];
  },
  async sandboxNeeds(context) {
    const statePath = claudeStatePath({ configDir: context.home, configDirFromEnvironment: Boolean(context.env.CLAUDE_CONFIG_DIR), home: context.env.HOME ?? homedir() });
    return { statePaths: [context.home, statePath], environment: ['ANTHROPIC_*', 'CLAUDE_*', 'DISABLE_*'] };
  },

  outputParser() {
    return claudeOutputParser();
  },

  async locateTranscript(context, sessionId) {
    return locateClaudeSession(context.home, sessionId, context.cwd);
  },

  readSessionMeta(content, sessionId) {
    return readClaudeMeta(content, sessionId);
  },

  findSession: (context, query) => findClaudeSession(context.home, context.cwd, query),

  sessionPlaces(context, query) {
    if ('file' in query) return query.file;
    if ('latestFor' in query) return join(projectDirectory(context.home, query.latestFor), '<session id>.jsonl');
    return join(context.home, 'projects', '*', `${query.sessionId}.jsonl`);
  },

  async rehydrate(envelope: Envelope | StoredEnvelope, context: HarnessContext) {
    claudeHarness.resumeInfo(envelope);
    return rehydrateClaudeSession(envelope, context.home, context.cwd);
  },

  viewTranscript: (files) => viewMainFile(files, viewClaudeSession),

  forkSession: forkClaudeSession,
  forkSessionId: () => newClaudeSessionId(),

  resumeInfo: (envelope: EnvelopeHeader): SessionResume => sessionResumeInfo('claude', envelope),

  scriptedHome: scriptedClaudeHome,
};

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** A parser for one run's `--output-format stream-json` lines; it remembers tool calls in flight. */
export function claudeOutputParser(): OutputParser {
  const pendingCommands = new Map<string, string>();
  return (line) => parseClaudeEvent(line, pendingCommands);
}

/** One stream-json line → baton's events. `pendingCommands` maps tool_use ids to their commands. */
export function parseClaudeEvent(line: string, pendingCommands: Map<string, string> = new Map()): HarnessEvent[] {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return [];
  }
  if (!isRecord(event)) return [];
  const message = isRecord(event.message) ? event.message : {};
  const blocks = Array.isArray(message.content) ? message.content.filter(isRecord) : [];
  switch (event.type) {
    case 'system': {
      if (event.subtype !== 'init') return [];
      const sessionId = text(event.session_id);
      return sessionId ? [{ type: 'session.started', sessionId }, { type: 'turn.started' }] : [];
    }
    case 'assistant': {
      if (event.parent_tool_use_id) return []; // a subagent's step: its own transcript keeps it
      const events: HarnessEvent[] = [];
      for (const block of blocks) {
        if (block.type === 'text' && text(block.text)?.trim()) events.push({ type: 'message', text: text(block.text)! });
        else if (block.type === 'tool_use') {
          const input = isRecord(block.input) ? block.input : {};
          const command = block.name === 'Bash' && typeof input.command === 'string' ? input.command : `${text(block.name) ?? 'tool'} ${JSON.stringify(input)}`;
          if (typeof block.id === 'string') pendingCommands.set(block.id, command);
          events.push({ type: 'command.started', command });
        }
      }
      return events;
    }
    case 'user': {
      if (event.parent_tool_use_id) return [];
      const events: HarnessEvent[] = [];
      for (const block of blocks) {
        if (block.type !== 'tool_result') continue;
        const id = text(block.tool_use_id) ?? '';
        const output = typeof block.content === 'string' ? block.content : Array.isArray(block.content) ? block.content.flatMap((part) => (isRecord(part) && typeof part.text === 'string' ? [part.text] : [])).join('\n') : '';
        events.push({ type: 'command.completed', command: pendingCommands.get(id) ?? '', exitCode: block.is_error === true ? 1 : 0, output });
        pendingCommands.delete(id);
      }
      return events;
    }
    case 'result': {
      const usage = isRecord(event.usage) ? event.usage : {};
      if (event.is_error === true || (typeof event.subtype === 'string' && event.subtype !== 'success')) {
        // verified with 2.1.332: a failure before any turn (e.g. "No conversation found …") has no `result`, only `errors`.
        const errors = Array.isArray(event.errors) ? event.errors.filter((entry): entry is string => typeof entry === 'string' && entry !== '') : [];
        const message = text(event.result) || errors.join('; ') || `Claude Code ended the turn with ${text(event.subtype) ?? 'an error'}`;
        return [{ type: 'turn.failed', message }];
      }
      return [{ type: 'turn.completed', inputTokens: count(usage.input_tokens), outputTokens: count(usage.output_tokens) }];
    }
    default:
      return [];
  }
}
