/**
 * A conversation's agent setup at each run (see agent-setup.ts for the checks on its way in, which load the setup's
 * zod schema: a run whose setup was given none is launched without it, so zod is not part of its start-up).
 */
import { BatonError, quoted } from '../errors.js';
import { isStdioServer } from '../model/agent-setup-values.js';
import type { AgentSetup, McpServer, McpServers } from '../model/agent-setup.js';
import type { Redactor } from '../redact/redactor.js';
import { isSecretValue, type KnownSecret } from '../redact/known-secrets.js';

const REFERENCES = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A system prompt is stored as the run's other text is: redacted. */
export async function redactSetup(setup: AgentSetup, redactor: Redactor): Promise<AgentSetup> {
  return setup.systemPrompt === undefined ? setup : { ...setup, systemPrompt: await redactor.redactText(setup.systemPrompt) };
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
