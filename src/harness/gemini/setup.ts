/**
 * A conversation's agent setup in Gemini CLI's own form (verified with gemini 0.61.0, /work/notes/run-options.md):
 * - MCP servers: `mcpServers` in settings.json (`{command, args, env}`, `{httpUrl, headers}` for streamable HTTP,
 *   `{url, headers}` for SSE); the CLI waits for them before its first request and declares their tools as
 *   `mcp_<server>_<tool>`. User-level servers load under `--skip-trust`; `--yolo` lets the agent call them.
 * - Skills: `$GEMINI_CLI_HOME/.gemini/skills/<name>/`, listed in `<available_skills>` of the system instruction.
 * - Effort: no flag. A `modelConfigs.overrides` entry per built-in alias sets `generationConfig.thinkingConfig`:
 *   `chat-base-3` (Gemini 3) takes `thinkingLevel`, `chat-base-2.5` takes `thinkingBudget` (matching plain
 *   `chat-base` would send both fields to 2.5 models). baton owns its two entries through the ledger.
 */
import { join } from 'node:path';
import { digestOf, ManagedEntries, mergeManagedSection } from '../../fs/managed-entries.js';
import { isStdioServer } from '../../model/agent-setup-values.js';
import type { McpServer, McpServers, ReasoningEffort, Skill } from '../../model/agent-setup.js';
import { isRecord } from '../../transcript/jsonl.js';
import { publishSkills } from '../skills.js';

export function geminiLedgerPath(stateDirectory: string): string {
  return join(stateDirectory, 'baton-managed.json');
}

function geminiMcpEntry(server: McpServer): Record<string, unknown> {
  if (isStdioServer(server)) return { command: server.command, ...(server.args ? { args: server.args } : {}), ...(server.env ? { env: server.env } : {}) };
  const headers = server.headers ? { headers: server.headers } : {};
  return server.type === 'sse' ? { url: server.url, ...headers } : { httpUrl: server.url, ...headers };
}

/** settings.json's `mcpServers` with the conversation's servers merged in. */
export function mergeGeminiMcpServers(ledger: ManagedEntries, current: unknown, servers: McpServers | undefined, settingsPath: string): Record<string, unknown> {
  const desired = Object.fromEntries(Object.entries(servers ?? {}).map(([name, server]) => [name, geminiMcpEntry(server)]));
  return mergeManagedSection(ledger, 'mcpServers', current, desired, { kind: 'MCP server', where: settingsPath });
}

/** Gemini 3's thinking levels and Gemini 2.5's thinking budgets (2.5 Flash's maximum is 24576). */
const THINKING_LEVEL: Record<ReasoningEffort, string> = { low: 'LOW', medium: 'MEDIUM', high: 'HIGH' };
const THINKING_BUDGET: Record<ReasoningEffort, number> = { low: 1024, medium: 8192, high: 24576 };

function effortOverrides(effort: ReasoningEffort | undefined): Map<string, Record<string, unknown>> {
  const overrides = new Map<string, Record<string, unknown>>();
  if (effort === undefined) return overrides;
  const entry = (alias: string, thinkingConfig: Record<string, unknown>) => ({ match: { model: alias }, modelConfig: { generateContentConfig: { thinkingConfig } } });
  overrides.set('chat-base-3', entry('chat-base-3', { thinkingLevel: THINKING_LEVEL[effort] }));
  overrides.set('chat-base-2.5', entry('chat-base-2.5', { thinkingBudget: THINKING_BUDGET[effort] }));
  return overrides;
}

/** The model alias an override entry matches, for entries that match on a model name alone. */
function matchedModel(entry: unknown): string | undefined {
  return isRecord(entry) && isRecord(entry.match) && typeof entry.match.model === 'string' ? entry.match.model : undefined;
}

/** `modelConfigs.overrides` with the effort's entries in place of baton's earlier ones; the user's entries stay. */
export function mergeGeminiEffort(ledger: ManagedEntries, current: unknown, effort: ReasoningEffort | undefined, settingsPath: string): unknown[] {
  const entries = Array.isArray(current) ? [...(current as unknown[])] : [];
  const found = new Map<string, string>();
  for (const entry of entries) {
    const model = matchedModel(entry);
    if (model !== undefined && !found.has(model)) found.set(model, digestOf(entry));
  }
  const changes = ledger.reconcile('modelConfigOverrides', found, effortOverrides(effort), { kind: 'model config override for', where: settingsPath });
  const changed = new Set(changes.map((change) => change.name));
  const kept = entries.filter((entry) => {
    const model = matchedModel(entry);
    return model === undefined || !changed.has(model);
  });
  for (const change of changes) if (change.action === 'write') kept.push(change.value);
  ledger.record('modelConfigOverrides', changes);
  return kept;
}

export async function publishGeminiSkills(stateDirectory: string, skills: readonly Skill[] | undefined): Promise<void> {
  await publishSkills(join(stateDirectory, 'skills'), skills ?? [], geminiLedgerPath(stateDirectory));
}
