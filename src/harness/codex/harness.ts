/**
 * The Codex CLI harness: `codex exec --json` for a new conversation, `codex exec resume <uuid>` for a
 * follow-up. The session id is Codex's thread id, read from the first `thread.started` event (Codex cannot be
 * told an id for a new conversation).
 */
import { codexCredentials } from './credentials.js';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileIfExists } from '../../fs/private-files.js';
import { secretsInCredentialFileAt } from '../../redact/known-secrets.js';
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
  type HarnessEvent,
  type InteractivePermissions,
  type LaunchRequest,
  type PrepareOptions,
  type SessionResume,
  type TemplateItem,
} from '../harness.js';
import { MODEL_PROXY_KEY_VARIABLE, prepareCodexHome, providerKeyVariables } from './config.js';
import { nativeCodexBehind } from './native-binary.js';
import { forkRollout, newCodexThreadId } from './fork.js';
import { homeProvider, pinnedProvider, providerOverride, type ProviderOverride } from './provider.js';
import { findCodexSession, findRollouts, locateRollout, readRolloutMeta, rehydrateRollout, sessionsDirectory, viewRollout } from './transcript.js';
import { scriptedCodexHome } from './scripted.js';

const BYPASS = ['--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox'];

/** `--` ends the options, so a prompt that starts with "-" is still the prompt. */
const EFFORT = ['-c', 'model_reasoning_effort={effort}'];
export const CODEX_NEW_ARGS: TemplateItem[] = ['exec', ...BYPASS, ['-m', '{model}'], EFFORT, '--', '{prompt}'];
export const CODEX_RESUME_ARGS: TemplateItem[] = ['exec', 'resume', ...BYPASS, ['-m', '{model}'], EFFORT, '--', '{sessionId}', '{prompt}'];
/**
 * The TUI resuming the session (`baton open`). verified with codex 0.171 under tmux:
 * - without `--no-daemon` the TUI starts a detached app-server daemon that runs the turns, writes the rollout and
 *   outlives the TUI ("Any running work continues"); with it the TUI runs the turns itself;
 * - in a cwd other than the one the rollout recorded a modal "Working directory" picker appears first;
 *   `tui.resume_cwd = "current"` answers it (what its "always current" choice writes to config.toml);
 * - a resume keeps the policy recorded in the session (a baton session: approvals never, full access), so the
 *   permissions are always passed: the bypass flag, or the TUI's normal on-request approvals in the workspace sandbox.
 */
const CODEX_TUI_PERMISSIONS = { bypass: ['--dangerously-bypass-approvals-and-sandbox'], ask: ['--ask-for-approval', 'on-request', '--sandbox', 'workspace-write'] } as const;
function codexInteractiveArgs(permissions: InteractivePermissions): TemplateItem[] {
  return ['resume', '--no-daemon', ...CODEX_TUI_PERMISSIONS[permissions], '-c', 'tui.resume_cwd="current"', ['-m', '{model}'], EFFORT, '--', '{sessionId}'];
}

const EXECUTABLE = { packageName: '@openai/codex', binName: 'codex', platformPackagePrefix: '@openai/codex-' };

export const codexHarness: Harness<SessionResume> = {
  id: 'codex',
  displayName: 'Codex CLI',
  modelApi: 'openai-responses',
  executable: EXECUTABLE,
  homeVariables: ['CODEX_HOME'],
  modelKeyVariables: ['OPENAI_API_KEY', 'CODEX_API_KEY', 'OPENAI_BASE_URL'],

  preflight: { testedVersions: '0.171', loginFix: 'log in with `codex login` (or `codex login --with-api-key`), or set OPENAI_API_KEY (or the env_key of your config.toml\'s model provider)', credentials: codexCredentials },
  locateExecutable: (env, configured) => resolveExecutable({ ...EXECUTABLE, configKey: 'harnesses.codex.command' }, configured, env),
  setupSupport: { effort: true, systemPrompt: { supported: true } },

  resolveHome(env) {
    return resolve(env.CODEX_HOME && env.CODEX_HOME !== '' ? env.CODEX_HOME : join(env.HOME ?? homedir(), '.codex'));
  },

  async prepare(context: HarnessContext, options: PrepareOptions) {
    await prepareCodexHome({
      codexHome: context.home,
      cwd: context.cwd,
      model: options.model,
      systemPrompt: options.systemPrompt,
      mcpServers: options.mcpServers,
      skills: options.skills,
      openaiApiKey: context.env.OPENAI_API_KEY || undefined,
      modelEndpoint: context.modelEndpoint,
    });
  },

  newSessionId() {
    return undefined;
  },

  async command(context: HarnessContext, request: LaunchRequest<SessionResume>, templates: CommandTemplates): Promise<CommandSpec> {
    const launcher = await resolveExecutable(
      { ...EXECUTABLE, configKey: 'harnesses.codex.command' },
      templates.command,
      context.env,
    );
    const native = nativeCodexBehind(launcher);
    const values = { model: request.setup.model, effort: request.setup.effort, cwd: context.cwd };
    const args =
      request.kind === 'new'
        ? expandTemplate(templates.newArgs ?? CODEX_NEW_ARGS, { ...values, prompt: request.prompt })
        : request.kind === 'resume'
          ? expandTemplate(templates.resumeArgs ?? CODEX_RESUME_ARGS, { ...values, prompt: request.prompt, sessionId: request.resume.sessionId })
          : expandTemplate(codexInteractiveArgs(request.permissions), { ...values, sessionId: request.resume.sessionId });
    const file = native?.file ?? launcher;
    const endpointEnv: Record<string, string> = context.modelEndpoint ? { [MODEL_PROXY_KEY_VARIABLE]: context.modelEndpoint.token } : {};
    const provider = request.kind === 'new' ? { args: [], env: {} } : await resumeProviderOverride(context, request.resume.sessionId, endpointEnv);
    const spec: CommandSpec = {
      file,
      // verified with codex 0.171: `-c` before the subcommand applies to `exec resume` and to the TUI's `resume`.
      args: [...provider.args, ...args],
      env: { ...native?.env, ...endpointEnv, ...provider.env, CODEX_HOME: context.home },
      cwd: context.cwd,
      packagePaths: packagePathsOf(file),
    };
    return request.kind === 'interactive' ? { ...spec, terminal: true } : spec;
  },

  // verified with codex 0.171 (test/e2e/untrusted-import.test.ts): a project's .codex/config.toml is read and its
  // [mcp_servers] commands start before the first model turn; baton runs with approvals off. The whole folder.
  projectFilesThatRunCode: ['.codex'],
  async credentialSecrets(context) {
    // auth.json: the API key baton or `codex login --with-api-key` wrote, or a ChatGPT login's tokens.
    return secretsInCredentialFileAt(join(context.home, 'auth.json'), 'auth.json');
  },
  async sandboxNeeds(context) {
    // Behind a model proxy the token is the only key: the keys other providers' env_key name stay outside.
    if (context.modelEndpoint) return { statePaths: [context.home], environment: ['OPENAI_*', 'CODEX_*'] };
    // A model provider's key is read from the variable its env_key names (e.g. OPENROUTER_API_KEY).
    return { statePaths: [context.home], environment: ['OPENAI_*', 'CODEX_*', ...(await providerKeyVariables(context.home))] };
  },

  outputParser() {
    return parseCodexEvent;
  },

  async locateTranscript(context, sessionId) {
    return locateRollout(context.home, sessionId);
  },

  readSessionMeta(content, sessionId) {
    return readRolloutMeta(content, sessionId);
  },

  findSession: (context, query) => findCodexSession(context.home, query),

  sessionPlaces: (context, query) => ('file' in query ? query.file : `${join(sessionsDirectory(context.home), '**', 'rollout-*.jsonl')}${'latestFor' in query ? ` (session_meta.cwd ${query.latestFor})` : ''}`),

  async rehydrate(envelope: Envelope | StoredEnvelope, context: HarnessContext) {
    codexHarness.resumeInfo(envelope);
    return rehydrateRollout(envelope, context.home);
  },

  viewTranscript: (files) => viewMainFile(files, viewRollout),

  forkSession: forkRollout,
  forkSessionId: () => newCodexThreadId(),

  resumeInfo: (envelope: EnvelopeHeader): SessionResume => sessionResumeInfo('codex', envelope),

  scriptedHome: scriptedCodexHome,
};

/**
 * A resume runs under the provider this home configures (see provider.ts): the thread's provider name is read
 * from the rollout as rehydrated here (the file Codex is about to read), the home's from its prepared config.toml.
 */
async function resumeProviderOverride(context: HarnessContext, sessionId: string, endpointEnv: Record<string, string>): Promise<ProviderOverride> {
  const [rollout] = await findRollouts(context.home, sessionId);
  const content = rollout ? await readFileIfExists(rollout) : undefined;
  if (!content) return { args: [], env: {} };
  return providerOverride(pinnedProvider(content), await homeProvider(context.home), { ...context.env, ...endpointEnv });
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** One `codex exec --json` line → baton's events. verified with codex 0.171 (test/fixtures/codex/exec-events.jsonl). */
export function parseCodexEvent(line: string): HarnessEvent[] {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return [];
  }
  if (!isRecord(event)) return [];
  switch (event.type) {
    case 'thread.started': {
      const sessionId = text(event.thread_id);
      return sessionId ? [{ type: 'session.started', sessionId }] : [];
    }
    case 'turn.started':
      return [{ type: 'turn.started' }];
    case 'turn.completed': {
      const usage = isRecord(event.usage) ? event.usage : {};
      return [{ type: 'turn.completed', inputTokens: count(usage.input_tokens), outputTokens: count(usage.output_tokens) }];
    }
    case 'turn.failed': {
      const error = isRecord(event.error) ? event.error : {};
      return [{ type: 'turn.failed', message: text(error.message) ?? 'the turn failed' }];
    }
    case 'error':
      return [{ type: 'error', message: text(event.message) ?? 'Codex reported an error' }];
    case 'item.started':
    case 'item.completed': {
      const item = isRecord(event.item) ? event.item : {};
      return parseItem(item, event.type === 'item.completed');
    }
    default:
      return [];
  }
}

function parseItem(item: Record<string, unknown>, completed: boolean): HarnessEvent[] {
  switch (item.type) {
    case 'agent_message':
      return completed && text(item.text) ? [{ type: 'message', text: text(item.text)! }] : [];
    case 'reasoning':
      return completed && text(item.text) ? [{ type: 'reasoning', text: text(item.text)! }] : [];
    case 'command_execution': {
      const command = text(item.command) ?? '';
      return completed
        ? [{ type: 'command.completed', command, exitCode: count(item.exit_code), output: text(item.aggregated_output) ?? '' }]
        : [{ type: 'command.started', command }];
    }
    case 'file_change': {
      if (!completed || !Array.isArray(item.changes)) return [];
      const paths = item.changes.flatMap((change) => (isRecord(change) && typeof change.path === 'string' ? [change.path] : []));
      return paths.length > 0 ? [{ type: 'file.changed', paths }] : [];
    }
    case 'error':
      // verified with codex 0.171: error items are non-fatal notices (e.g. "Model metadata for `x` not found");
      // a failed turn arrives as `turn.failed` or a top-level `error` event instead.
      return completed ? [{ type: 'warning', message: text(item.message) ?? 'Codex reported a problem' }] : [];
    default:
      return [];
  }
}
