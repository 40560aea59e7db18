/**
 * A conversation's agent setup in OpenCode's own form (verified with opencode 1.18.33, /work/notes/run-options.md):
 * - MCP servers: `mcp` in opencode.json (`{type: "local", command: [cmd, ...args], environment}` or `{type: "remote",
 *   url, headers}`); `run` waits for them before its first request and names their tools `<server>_<tool>`.
 * - Skills: `$XDG_CONFIG_HOME/opencode/skills/<name>/`, listed in `<available_skills>` of the developer message.
 * - Effort: `--variant LEVEL`: the variants differ by model (gpt-5.1: none, low, medium, high → `reasoning.effort`;
 *   Claude sonnet 4.5: high, max only) and an unknown one is ignored without a word.
 */
import { join } from 'node:path';
import { ManagedEntries, mergeManagedSection } from '../../fs/managed-entries.js';
import { isStdioServer } from '../../model/agent-setup-values.js';
import type { McpServer, McpServers, Skill } from '../../model/agent-setup.js';
import { publishSkills } from '../skills.js';

export function opencodeLedgerPath(configDir: string): string {
  return join(configDir, 'baton-managed.json');
}

function opencodeMcpEntry(server: McpServer): Record<string, unknown> {
  if (isStdioServer(server)) return { type: 'local', command: [server.command, ...(server.args ?? [])], ...(server.env ? { environment: server.env } : {}) };
  return { type: 'remote', url: server.url, ...(server.headers ? { headers: server.headers } : {}) };
}

/** opencode.json's `mcp` with the conversation's servers merged in. */
export function mergeOpencodeMcpServers(ledger: ManagedEntries, current: unknown, servers: McpServers | undefined, configPath: string): Record<string, unknown> {
  const desired = Object.fromEntries(Object.entries(servers ?? {}).map(([name, server]) => [name, opencodeMcpEntry(server)]));
  return mergeManagedSection(ledger, 'mcpServers', current, desired, { kind: 'MCP server', where: configPath });
}

export async function publishOpencodeSkills(configDir: string, skills: readonly Skill[] | undefined): Promise<void> {
  await publishSkills(join(configDir, 'skills'), skills ?? [], opencodeLedgerPath(configDir));
}
