/**
 * The parts of the agent setup (agent-setup.ts) that need no schema: the run path imports these, and only the
 * checks of a setup given by flags or an API body load zod (whose start-up would otherwise delay every `baton run`).
 */
import type { AgentSetup, McpServer, StdioMcpServer } from './agent-setup.js';

/** The reasoning effort levels baton offers; each harness maps them to its CLI's own (or takes none). */
export const EFFORT_LEVELS = ['low', 'medium', 'high'] as const;

export function isStdioServer(server: McpServer): server is StdioMcpServer {
  return 'command' in server;
}

/** The agent setup among a conversation's options (which also say where its first workspace comes from). */
export function agentSetupOf(options: AgentSetup & { workspace?: unknown }): AgentSetup {
  const { model, effort, systemPrompt, mcpServers, skills } = options;
  return Object.fromEntries(Object.entries({ model, effort, systemPrompt, mcpServers, skills }).filter(([, value]) => value !== undefined)) as AgentSetup;
}
