/**
 * Preparing Claude Code's state for a headless run by merging, never clobbering: `.claude.json` gets the
 * onboarding marked done, the cwd's project trusted and (with ANTHROPIC_API_KEY) the key approved;
 * `settings.json` skips the one-time prompt of bypass mode. Every other field survives; the files stay 0600.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readJsonObject, writeJsonIfChanged } from '../../fs/json-config.js';
import { isRecord } from '../../transcript/jsonl.js';
import { ManagedEntries } from '../../fs/managed-entries.js';
import type { McpServers, Skill } from '../../model/agent-setup.js';
import { claudeLedgerPath, mergeClaudeMcpServers, publishClaudeSkills } from './setup.js';

export interface ClaudePrepareInput {
  configDir: string;
  /** True when CLAUDE_CONFIG_DIR is set: the CLI then keeps .claude.json inside it, else in $HOME. */
  configDirFromEnvironment: boolean;
  home: string;
  cwd: string;
  apiKey: string | undefined;
  mcpServers?: McpServers | undefined;
  skills?: Skill[] | undefined;
}

/** verified with Claude Code 2.1: `$CLAUDE_CONFIG_DIR/.claude.json` when the variable is set, else `~/.claude.json`. */
export function claudeStatePath(input: Pick<ClaudePrepareInput, 'configDir' | 'configDirFromEnvironment' | 'home'>): string {
  return input.configDirFromEnvironment ? join(input.configDir, '.claude.json') : join(input.home || homedir(), '.claude.json');
}

/** The CLI remembers an approved API key by its last 20 characters. */
export function apiKeyFingerprint(apiKey: string): string {
  return apiKey.slice(-20);
}



export async function prepareClaudeState(input: ClaudePrepareInput): Promise<void> {
  const statePath = claudeStatePath(input);
  const { value: state, text: stateBefore } = await readJsonObject(statePath);
  state.hasCompletedOnboarding = true;
  const projects = isRecord(state.projects) ? state.projects : {};
  const project = isRecord(projects[input.cwd]) ? projects[input.cwd] as Record<string, unknown> : {};
  projects[input.cwd] = { ...project, hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true };
  state.projects = projects;
  if (input.apiKey) {
    const responses = isRecord(state.customApiKeyResponses) ? state.customApiKeyResponses : {};
    const approved = Array.isArray(responses.approved) ? responses.approved.filter((entry): entry is string => typeof entry === 'string') : [];
    const rejected = Array.isArray(responses.rejected) ? responses.rejected.filter((entry): entry is string => typeof entry === 'string') : [];
    const fingerprint = apiKeyFingerprint(input.apiKey);
    state.customApiKeyResponses = {
      ...responses,
      approved: approved.includes(fingerprint) ? approved : [...approved, fingerprint],
      rejected: rejected.filter((entry) => entry !== fingerprint),
    };
  }
  const ledger = await ManagedEntries.load(claudeLedgerPath(input.configDir));
  const mcpServers = mergeClaudeMcpServers(ledger, state.mcpServers, input.mcpServers, statePath);
  if (Object.keys(mcpServers).length > 0 || state.mcpServers !== undefined) state.mcpServers = mcpServers;
  await writeJsonIfChanged(statePath, state, stateBefore);
  await ledger.save();
  await publishClaudeSkills(input.configDir, input.skills);

  const settingsPath = join(input.configDir, 'settings.json');
  const { value: settings, text: settingsBefore } = await readJsonObject(settingsPath);
  settings.skipDangerousModePermissionPrompt = true;
  await writeJsonIfChanged(settingsPath, settings, settingsBefore);
}
