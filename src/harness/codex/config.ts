/**
 * Preparing CODEX_HOME for a headless run by merging, never clobbering: config.toml is patched in place with
 * a format-preserving TOML editor (comments, key order, a user's [model_providers.*] and profiles survive),
 * auth.json keeps every field it had, and a system prompt is a marked section of AGENTS.override.md.
 */
import { gitWorktreeOf } from '../../fs/git-worktree.js';
import { exists } from '../../fs/exists.js';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError, errorMessage } from '../../errors.js';
import { readFileIfExists, writePrivateFileAtomic } from '../../fs/private-files.js';
import { isRecord } from '../../transcript/jsonl.js';
import { digestOf, ManagedEntries } from '../../fs/managed-entries.js';
import type { McpServers, Skill } from '../../model/agent-setup.js';
import { codexLedgerPath, mergeCodexMcpServers, publishCodexSkills } from './setup.js';
import { loadToml, readToml } from './toml.js';

export interface CodexPrepareInput {
  codexHome: string;
  cwd: string;
  model: string | undefined;
  systemPrompt: string | undefined;
  mcpServers?: McpServers | undefined;
  skills?: Skill[] | undefined;
  openaiApiKey: string | undefined;
  /** A worker's model proxy: Codex is pointed at it with the run's token, and auth.json holds that token only. */
  modelEndpoint?: { baseUrl: string; token: string } | undefined;
}

/** The provider baton writes for a worker's model proxy (`[model_providers.baton-model-proxy]`). */
export const MODEL_PROXY_PROVIDER = 'baton-model-proxy';
/** The variable the proxy provider's `env_key` names: the run's token, under the name Codex users know. */
export const MODEL_PROXY_KEY_VARIABLE = 'OPENAI_API_KEY';

export async function prepareCodexHome(input: CodexPrepareInput): Promise<void> {
  await mergeConfigToml(input);
  if (input.modelEndpoint) await replaceAuthJson(join(input.codexHome, 'auth.json'), input.modelEndpoint.token);
  else if (input.openaiApiKey) await mergeAuthJson(join(input.codexHome, 'auth.json'), input.openaiApiKey);
  if (input.systemPrompt !== undefined) await writeSystemPrompt(input.codexHome, input.systemPrompt);
  await publishCodexSkills(input.codexHome, input.skills);
}

/** Directories Codex should trust for this run: the cwd, the git repository it is in, and git repos below it. */
export async function trustedProjects(cwd: string): Promise<string[]> {
  const trusted = new Set<string>([cwd]);
  const worktree = gitWorktreeOf(cwd);
  if (worktree) trusted.add(worktree);
  async function childRepos(directory: string, depth: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const child = join(directory, entry.name);
      if (await exists(join(child, '.git'))) trusted.add(child);
      if (depth < 2) await childRepos(child, depth + 1);
    }
  }
  await childRepos(cwd, 1);
  return [...trusted].sort();
}

/**
 * Bumped whenever mergeConfigToml would write something else for the same file and inputs: a home's record of
 * an earlier merge (below) then no longer matches, and the next run merges again.
 */
const CONFIG_MERGE_REVISION = 1;

/** Where a home records the last merge that left config.toml as it was: the digest of that file and its inputs. */
export function configMergeRecordPath(codexHome: string): string {
  return join(codexHome, 'baton-config-merged');
}

/**
 * Merges baton's settings into config.toml. The merge depends only on the file, the ledger and the inputs; when
 * all of them are what they were at a merge that changed nothing, this one would change nothing either, and is
 * skipped: a repeated `baton run` in the same home neither loads the TOML editor nor parses the file.
 */
async function mergeConfigToml(input: CodexPrepareInput): Promise<void> {
  const path = join(input.codexHome, 'config.toml');
  const recordPath = configMergeRecordPath(input.codexHome);
  const [existingBytes, ledgerBytes, record, trusted] = await Promise.all([
    readFileIfExists(path),
    readFileIfExists(codexLedgerPath(input.codexHome)),
    readFileIfExists(recordPath),
    trustedProjects(input.cwd),
  ]);
  const existing = existingBytes?.toString('utf8') ?? '';
  const digest = digestOf({
    revision: CONFIG_MERGE_REVISION,
    config: existing,
    ledger: ledgerBytes?.toString('utf8') ?? null,
    model: input.model ?? null,
    trusted,
    mcpServers: input.mcpServers ?? null,
    modelEndpoint: input.modelEndpoint?.baseUrl ?? null,
  });
  if (record?.toString('utf8') === digest) return;
  const { parse: parseToml, patch: patchToml } = await loadToml();
  let document: Record<string, unknown>;
  try {
    document = existing.trim() === '' ? {} : (parseToml(existing) as Record<string, unknown>);
  } catch (error) {
    throw new BatonError('CONFIG_INVALID', `${path} is not valid TOML: ${errorMessage(error)}`, {
      hint: 'fix the file (baton merges its settings into it and never rewrites a file it cannot read)',
      cause: error,
    });
  }
  document.check_for_update_on_startup = false;
  if (input.model !== undefined) document.model = input.model;
  const projects = isRecord(document.projects) ? document.projects : {};
  for (const project of trusted) {
    const entry = isRecord(projects[project]) ? projects[project] : {};
    projects[project] = { ...entry, trust_level: 'trusted' };
  }
  document.projects = projects;
  const ledger = await ManagedEntries.load(codexLedgerPath(input.codexHome));
  const mcpServers = mergeCodexMcpServers(ledger, document.mcp_servers, input.mcpServers, path);
  if (Object.keys(mcpServers).length > 0) document.mcp_servers = mcpServers;
  else delete document.mcp_servers;
  if (input.modelEndpoint) {
    // verified with codex 0.171.0: a [model_providers.X] table with wire_api = "responses" talks plain HTTP/SSE
    // (POST {base_url}/responses, no WebSocket attempt, no GET /models), sending `Authorization: Bearer <the value
    // of env_key's variable>`; `model_provider = "X"` at the top level selects it. A 429 with code
    // "insufficient_quota" ends the turn at once ("Quota exceeded…", exit 1), without retrying.
    const providers = isRecord(document.model_providers) ? document.model_providers : {};
    providers[MODEL_PROXY_PROVIDER] = {
      name: 'baton model proxy (this worker)',
      base_url: input.modelEndpoint.baseUrl,
      wire_api: 'responses',
      env_key: MODEL_PROXY_KEY_VARIABLE,
    };
    document.model_providers = providers;
    document.model_provider = MODEL_PROXY_PROVIDER;
  }
  // New tables such as [projects."/path"] become sections, as Codex itself writes them, not inline tables.
  const updated = patchToml(existing.trim() === '' ? '' : existing, document, { inlineTableStart: 2 });
  const rewritten = updated !== existing;
  if (rewritten) await writePrivateFileAtomic(path, updated.endsWith('\n') ? updated : `${updated}\n`);
  const ledgerChanged = await ledger.save();
  // Only a merge that changed nothing is a fixed point the next run may skip to.
  if (!rewritten && !ledgerChanged) await writePrivateFileAtomic(recordPath, digest);
}

/**
 * auth.json: the API key from OPENAI_API_KEY, every other field kept; `auth_mode` set to "apikey" only when the
 * file has none (a ChatGPT login stays a ChatGPT login).
 */
export async function mergeAuthJson(path: string, apiKey: string): Promise<void> {
  const existing = await readFileIfExists(path);
  let auth: Record<string, unknown> = {};
  if (existing) {
    try {
      const parsed: unknown = JSON.parse(existing.toString('utf8'));
      if (!isRecord(parsed)) throw new Error('not a JSON object');
      auth = parsed;
    } catch (error) {
      throw new BatonError('CONFIG_INVALID', `${path} is not a JSON object: ${errorMessage(error)}`, {
        hint: 'fix or remove the file; baton keeps its fields and only sets OPENAI_API_KEY',
      });
    }
  }
  const updated = { ...auth, OPENAI_API_KEY: apiKey, auth_mode: auth.auth_mode ?? 'apikey' };
  const text = `${JSON.stringify(updated, null, 2)}\n`;
  if (existing?.toString('utf8') !== text) await writePrivateFileAtomic(path, text);
}

/**
 * auth.json for a run behind a worker's model proxy: the run's token and nothing else. A home template's file
 * may hold an operator's key or ChatGPT login tokens; none of it may reach the agent.
 */
export async function replaceAuthJson(path: string, token: string): Promise<void> {
  await writePrivateFileAtomic(path, `${JSON.stringify({ auth_mode: 'apikey', OPENAI_API_KEY: token }, null, 2)}\n`);
}

const SECTION_BEGIN = '<!-- baton:system-prompt:begin (managed by baton; edits inside are replaced) -->';
const SECTION_END = '<!-- baton:system-prompt:end -->';

/**
 * Codex reads $CODEX_HOME/AGENTS.override.md instead of AGENTS.md. baton owns one marked section of it:
 * a user's own text in the file is kept, and when baton creates the file it starts from the user's AGENTS.md
 * so that the override does not hide their instructions.
 */
export async function writeSystemPrompt(codexHome: string, systemPrompt: string): Promise<void> {
  const path = join(codexHome, 'AGENTS.override.md');
  const existing = (await readFileIfExists(path))?.toString('utf8');
  const base = existing ?? (await readFileIfExists(join(codexHome, 'AGENTS.md')))?.toString('utf8') ?? '';
  const section = `${SECTION_BEGIN}\n${systemPrompt.trimEnd()}\n${SECTION_END}\n`;
  const begin = base.indexOf(SECTION_BEGIN);
  const end = base.indexOf(SECTION_END);
  let updated: string;
  if (begin !== -1 && end > begin) {
    updated = base.slice(0, begin) + section + base.slice(end + SECTION_END.length).replace(/^\n/, '');
  } else {
    updated = base === '' ? section : `${base.trimEnd()}\n\n${section}`;
  }
  if (updated !== existing) await writePrivateFileAtomic(path, updated);
}

/** The variables `[model_providers.*] env_key` in config.toml names: Codex reads each provider's key from one. */
export async function providerKeyVariables(codexHome: string): Promise<string[]> {
  const text = (await readFileIfExists(join(codexHome, 'config.toml')))?.toString('utf8');
  if (!text) return [];
  let document: unknown;
  try {
    document = readToml(text);
  } catch {
    return []; // prepare() reported it already
  }
  const providers = isRecord(document) && isRecord(document.model_providers) ? document.model_providers : {};
  return Object.values(providers).flatMap((provider) => (isRecord(provider) && typeof provider.env_key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(provider.env_key) ? [provider.env_key] : []));
}
