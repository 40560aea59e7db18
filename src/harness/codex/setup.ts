/**
 * A conversation's agent setup in Codex's own form (verified with codex 0.171.0, /work/notes/run-options.md):
 * - MCP servers: `[mcp_servers.NAME]` tables in config.toml (`command`/`args`/`env`, or `url`/`http_headers`), each
 *   `required = true`: Codex otherwise waits only 1 s (`mcp_optional_startup_grace_ms`) for a server before its first
 *   request, and a slower server is silently missing from that turn.
 * - Skills: `$CODEX_HOME/skills/<name>/`, listed in the developer message's `<skills_instructions>`.
 * - Effort: `-c model_reasoning_effort=LEVEL` on the command line (one run's, not written into the user's config),
 *   sent as `reasoning.effort`. Codex sends any string, so baton's levels are checked before.
 */
import { join } from 'node:path';
import { ManagedEntries, mergeManagedSection } from '../../fs/managed-entries.js';
import { isStdioServer } from '../../model/agent-setup-values.js';
import type { McpServer, McpServers, Skill } from '../../model/agent-setup.js';
import { publishSkills } from '../skills.js';

export function codexLedgerPath(codexHome: string): string {
  return join(codexHome, 'baton-managed.json');
}

function codexMcpEntry(server: McpServer): Record<string, unknown> {
  if (isStdioServer(server)) {
    return { command: server.command, ...(server.args ? { args: server.args } : {}), ...(server.env ? { env: server.env } : {}), required: true };
  }
  // verified with codex 0.171.0: a `url` server speaks streamable HTTP; `http_headers` are sent with every request.
  return { url: server.url, ...(server.headers ? { http_headers: server.headers } : {}), required: true };
}

/** config.toml's `mcp_servers` with the conversation's servers merged in (see src/fs/managed-entries.ts). */
export function mergeCodexMcpServers(ledger: ManagedEntries, current: unknown, servers: McpServers | undefined, configPath: string): Record<string, unknown> {
  const desired = Object.fromEntries(Object.entries(servers ?? {}).map(([name, server]) => [name, codexMcpEntry(server)]));
  return mergeManagedSection(ledger, 'mcpServers', current, desired, { kind: 'MCP server', where: configPath });
}

export async function publishCodexSkills(codexHome: string, skills: readonly Skill[] | undefined): Promise<void> {
  await publishSkills(join(codexHome, 'skills'), skills ?? [], codexLedgerPath(codexHome));
}
