/**
 * A conversation's agent setup (src/model/agent-setup.ts) on its way in and at each run:
 *  - in: refused when an MCP server's env or headers hold a literal credential (the setup is stored with the
 *    conversation, and copies of the store must not carry keys; `${NAME}` references are resolved at each run);
 *    refused when the harness cannot honour an option;
 *  - at a run: `${NAME}` resolved from the run's environment, the resolved values known to the redactor, and
 *    the MCP servers and skills of an untrusted (imported) conversation withheld: both run code or steer the agent.
 */
import { BatonError, quoted } from '../errors.js';
import type { Harness } from '../harness/harness.js';
import { AgentSetup, isStdioServer, type McpServer, type McpServers } from '../model/agent-setup.js';
import type { Redactor } from '../redact/redactor.js';
import { describeIssue } from '../model/describe-issue.js';
import { isCredentialName, isSecretValue, type KnownSecret } from '../redact/known-secrets.js';

const REFERENCES = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The setup checked as it arrives: the harness can honour it, and it holds no credential (see run/agent-setup.ts). */
export function checkSetup(harness: Harness, setup: AgentSetup): AgentSetup {
  const parsed = AgentSetup.safeParse(setup);
  if (!parsed.success) throw new BatonError('USAGE', `the agent setup is not valid: ${describeIssue(parsed.error)}`, { hint: 'see `baton run --help` for the options' });
  assertSetupSupported(harness, parsed.data);
  assertNoStoredCredentials(parsed.data.mcpServers);
  return parsed.data;
}

/** A system prompt is stored as the run's other text is: redacted. */
export async function redactSetup(setup: AgentSetup, redactor: Redactor): Promise<AgentSetup> {
  return setup.systemPrompt === undefined ? setup : { ...setup, systemPrompt: await redactor.redactText(setup.systemPrompt) };
}

/** USAGE when an MCP server's env variable or header that names a credential holds a literal value. */
export function assertNoStoredCredentials(servers: McpServers | undefined): void {
  for (const [name, server] of Object.entries(servers ?? {})) {
    const settings = isStdioServer(server) ? Object.entries(server.env ?? {}) : Object.entries(server.headers ?? {});
    for (const [key, value] of settings) {
      const literal = value.replace(REFERENCES, '');
      if (isCredentialName(key) && isSecretValue(literal.replace(/^(?:Bearer|Basic|token)\s+/i, ''))) {
        throw new BatonError('USAGE', `MCP server ${name}: ${key} holds a credential, which would be stored with the conversation`, {
          hint: `write "${isStdioServer(server) ? `\${${key}}` : 'Bearer ${MY_TOKEN}'}" instead and set that variable where the run happens (a tenant secret on a server)`,
        });
      }
    }
  }
}

/** USAGE when the harness's CLI cannot take an option of the setup (see Harness.setupSupport). */
export function assertSetupSupported(harness: Harness, setup: AgentSetup): void {
  const support = harness.setupSupport;
  if (setup.effort !== undefined && !support.effort) {
    throw new BatonError('USAGE', `${harness.displayName} has no reasoning effort setting`, { hint: 'drop --effort for this harness' });
  }
  if (setup.systemPrompt !== undefined && !support.systemPrompt.supported) {
    throw new BatonError('USAGE', `${harness.displayName} cannot take a system prompt: ${support.systemPrompt.reason}`, { hint: support.systemPrompt.hint });
  }
}

/** What a run applies: the setup with every `${NAME}` resolved, the values to redact, and what was withheld. */
export interface RunSetup {
  setup: AgentSetup;
  secrets: KnownSecret[];
  /** MCP servers and skills of an untrusted conversation, not applied (their names, for the run's warning). */
  withheld: string[];
}

export function setupForRun(setup: AgentSetup, env: NodeJS.ProcessEnv, trusted: boolean): RunSetup {
  const withheld = trusted ? [] : [...Object.keys(setup.mcpServers ?? {}).map((name) => `MCP server ${name}`), ...(setup.skills ?? []).map((skill) => `skill ${skill.name}`)];
  const applied: AgentSetup = trusted ? setup : { ...setup, mcpServers: undefined, skills: undefined };
  const secrets: KnownSecret[] = [];
  let mcpServers: McpServers | undefined;
  if (applied.mcpServers) {
    mcpServers = {};
    for (const [name, server] of Object.entries(applied.mcpServers)) mcpServers[name] = resolveServer(name, server, env, secrets);
  }
  return { setup: { ...applied, mcpServers }, secrets, withheld };
}

function resolveServer(name: string, server: McpServer, env: NodeJS.ProcessEnv, secrets: KnownSecret[]): McpServer {
  const resolveValue = (value: string, key?: string): string => {
    const resolved = value.replace(REFERENCES, (_match, variable: string) => {
      const found = env[variable];
      if (found === undefined) {
        throw new BatonError('MCP_VARIABLE_MISSING', `MCP server ${name} needs $${variable}, which is not set for this run`, {
          hint: `set ${variable} in the environment of the run (a tenant secret on a server), or change the conversation's MCP config`,
        });
      }
      if (isSecretValue(found)) secrets.push({ name: `mcp:${name}.${key ?? variable}`, value: found });
      return found;
    });
    return resolved;
  };
  const resolveRecord = (record: Record<string, string> | undefined): Record<string, string> | undefined =>
    record && Object.fromEntries(Object.entries(record).map(([key, value]) => [key, resolveValue(value, key)]));
  if (isStdioServer(server)) {
    return { ...server, command: resolveValue(server.command), ...(server.args ? { args: server.args.map((arg) => resolveValue(arg)) } : {}), ...(server.env ? { env: resolveRecord(server.env) } : {}) };
  }
  return { ...server, url: resolveValue(server.url), ...(server.headers ? { headers: resolveRecord(server.headers) } : {}) };
}

/** One line for a run's warning about what an untrusted conversation's setup did not get. */
export function withheldWarning(withheld: string[], conversationId: string): string {
  return `this conversation was imported and is not trusted: ${withheld.map((item) => quoted(item)).join(', ')} ${withheld.length === 1 ? 'was' : 'were'} not applied; resume with \`baton resume --trust ${conversationId} PROMPT\` to use ${withheld.length === 1 ? 'it' : 'them'}`;
}
