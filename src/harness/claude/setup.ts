/**
 * A conversation's agent setup in Claude Code's own form (verified with claude 2.1.332, /work/notes/run-options.md):
 * - MCP servers: user-scope `mcpServers` in `.claude.json` (`{type: "stdio", command, args, env}` or `{type: "http" |
 *   "sse", url, headers}`); `-p` waits for them before its first request. Their tools are deferred: the request lists
 *   `mcp__<server>__<tool>` for its ToolSearch tool. `--dangerously-skip-permissions` lets the agent call them.
 * - Skills: `$CLAUDE_CONFIG_DIR/skills/<name>/`, listed for the Skill tool in a system entry of `messages`.
 * - Effort: `--effort LEVEL` → `output_config.effort` on adaptive-thinking models (4.6 and later); models with a
 *   thinking budget only (sonnet 4.5, haiku 4.5) ignore it. CLAUDE_CODE_EFFORT_LEVEL beats the flag, so a run with
 *   an effort sets it to the same level.
 */
import { join } from 'node:path';
import { ManagedEntries, mergeManagedSection } from '../../fs/managed-entries.js';
import { isStdioServer } from '../../model/agent-setup-values.js';
import type { McpServer, McpServers, Skill } from '../../model/agent-setup.js';
import { publishSkills } from '../skills.js';

export function claudeLedgerPath(configDir: string): string {
  return join(configDir, 'baton-managed.json');
}

function claudeMcpEntry(server: McpServer): Record<string, unknown> {
  if (isStdioServer(server)) return { type: 'stdio', command: server.command, args: server.args ?? [], env: server.env ?? {} };
  return { type: server.type ?? 'http', url: server.url, ...(server.headers ? { headers: server.headers } : {}) };
}

/** `.claude.json`'s `mcpServers` with the conversation's servers merged in (see src/fs/managed-entries.ts). */
export function mergeClaudeMcpServers(ledger: ManagedEntries, current: unknown, servers: McpServers | undefined, statePath: string): Record<string, unknown> {
  const desired = Object.fromEntries(Object.entries(servers ?? {}).map(([name, server]) => [name, claudeMcpEntry(server)]));
  return mergeManagedSection(ledger, 'mcpServers', current, desired, { kind: 'MCP server', where: statePath });
}

export async function publishClaudeSkills(configDir: string, skills: readonly Skill[] | undefined): Promise<void> {
  await publishSkills(join(configDir, 'skills'), skills ?? [], claudeLedgerPath(configDir));
}
