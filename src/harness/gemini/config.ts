/**
 * Preparing Gemini CLI's state for a headless run by merging, never clobbering: `<home>/.gemini/settings.json`
 * gets the settings a headless, resumable run needs and keeps every other key; `projects.json` and the
 * `.project_root` markers map a working directory to the project folder (slug) its sessions live in.
 *
 * verified with gemini 0.61.0: the home is `$GEMINI_CLI_HOME` (else the OS home) and the state lives in
 * `<home>/.gemini/`; the variable names a home, not the `.gemini` folder.
 */
import { ManagedEntries } from '../../fs/managed-entries.js';
import type { McpServers, ReasoningEffort, Skill } from '../../model/agent-setup.js';
import { geminiLedgerPath, mergeGeminiEffort, mergeGeminiMcpServers, publishGeminiSkills } from './setup.js';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { readFileIfExists, writePrivateFileAtomic } from '../../fs/private-files.js';
import { readJsonObject, writeJsonIfChanged } from '../../fs/json-config.js';
import { isRecord } from '../../transcript/jsonl.js';

/** The variable that names the CLI's home (its state is in `<home>/.gemini/`). */
export const GEMINI_HOME_VARIABLE = 'GEMINI_CLI_HOME';

export function geminiHomeOf(env: NodeJS.ProcessEnv): string {
  return resolve(env.GEMINI_CLI_HOME && env.GEMINI_CLI_HOME !== '' ? env.GEMINI_CLI_HOME : (env.HOME ?? homedir()));
}

export function geminiStateDirectory(home: string): string {
  return join(home, '.gemini');
}

export function geminiSettingsPath(home: string): string {
  return join(geminiStateDirectory(home), 'settings.json');
}



/** The object at `key` of `parent`, created (or a non-object replaced) when missing. */
function section(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const existing = parent[key];
  if (isRecord(existing)) return existing;
  const created: Record<string, unknown> = {};
  parent[key] = created;
  return created;
}

function setDefault(object: Record<string, unknown>, key: string, value: unknown): void {
  if (object[key] === undefined) object[key] = value;
}

export interface GeminiPrepareInput {
  home: string;
  /** A worker's model proxy (or the scripted server): the CLI must then authenticate with an API key. */
  usesApiKey: boolean;
  effort?: ReasoningEffort | undefined;
  mcpServers?: McpServers | undefined;
  skills?: Skill[] | undefined;
}

/**
 * Merges baton's settings into settings.json. Forced, whatever the user has:
 * - `general.sessionRetention.enabled: false`. verified with gemini 0.61.0: retention is on by default (30 days,
 *   judged by the `lastUpdated` inside the file, so an old rehydrated conversation goes at once), and its cleanup
 *   also deletes every file sharing a session's `-<id8>` suffix whose first line names another session — after a
 *   resume, the next run in that project deleted the resumed transcript. A baton home must never run it.
 * - `security.auth.selectedType: "gemini-api-key"` when the run is given an API key (a model endpoint).
 *   verified with gemini 0.61.0: with GOOGLE_GEMINI_BASE_URL set and no selected type the CLI picks its
 *   `gateway` auth and refuses it ("Invalid auth method selected.", exit 41).
 * Defaults, kept when the user set them: the API-key auth type (a user's OAuth login stays), usage statistics off
 * (verified: Clearcut traffic to play.googleapis.com stops), auto-update and its notification off, and
 * `advanced.ignoreLocalEnv: true` (verified: the cwd's and its parents' `.env` files are then not loaded).
 */
export async function prepareGeminiSettings(input: GeminiPrepareInput): Promise<void> {
  const path = geminiSettingsPath(input.home);
  const { value: settings, text: before } = await readJsonObject(path);
  const general = section(settings, 'general');
  const retention = section(general, 'sessionRetention');
  retention.enabled = false;
  setDefault(general, 'enableAutoUpdate', false);
  setDefault(general, 'enableAutoUpdateNotification', false);
  const auth = section(section(settings, 'security'), 'auth');
  if (input.usesApiKey) auth.selectedType = 'gemini-api-key';
  else setDefault(auth, 'selectedType', 'gemini-api-key');
  setDefault(section(settings, 'privacy'), 'usageStatisticsEnabled', false);
  setDefault(section(settings, 'advanced'), 'ignoreLocalEnv', true);
  const ledger = await ManagedEntries.load(geminiLedgerPath(geminiStateDirectory(input.home)));
  const mcpServers = mergeGeminiMcpServers(ledger, settings.mcpServers, input.mcpServers, path);
  if (Object.keys(mcpServers).length > 0 || settings.mcpServers !== undefined) settings.mcpServers = mcpServers;
  const modelConfigs = settings.modelConfigs;
  const overrides = mergeGeminiEffort(ledger, isRecord(modelConfigs) ? modelConfigs.overrides : undefined, input.effort, path);
  if (overrides.length > 0 || (isRecord(modelConfigs) && modelConfigs.overrides !== undefined)) section(settings, 'modelConfigs').overrides = overrides;
  await writeJsonIfChanged(path, settings, before);
  await ledger.save();
  await publishGeminiSkills(geminiStateDirectory(input.home), input.skills);
}

// ---------------------------------------------------------------------------------------------------------
// Projects: verified with gemini 0.61.0 (packages/core/src/config/projectRegistry.ts in the bundle). The project
// root is the real cwd; `projects.json` is `{"projects": {"<abs path>": "<slug>"}}` with slugs matching
// /^[a-z0-9-]+$/; a slug is owned by the path in `tmp/<slug>/.project_root` and `history/<slug>/.project_root`
// (no newline) and is skipped when a marker names another path; without a registry entry the markers are
// scanned; a new slug is slugify(basename(root)), then `-1`, `-2` … on a collision.

const SLUG = /^[a-z0-9-]+$/;
const MARKER = '.project_root';
const MARKER_FOLDERS = ['tmp', 'history'] as const;

export function projectsPath(home: string): string {
  return join(geminiStateDirectory(home), 'projects.json');
}

/** The CLI's slug of a folder name: lower case, each run of other characters one dash, no dashes at the ends. */
export function slugify(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '') || 'project';
}

async function readMarker(home: string, folder: string, slug: string): Promise<string | undefined> {
  const content = await readFileIfExists(join(geminiStateDirectory(home), folder, slug, MARKER));
  return content?.toString('utf8').trim();
}

/** The directory a project slug belongs to, as the CLI's markers (or else its projects.json) record it. */
export async function projectRootOf(home: string, slug: string): Promise<string | undefined> {
  for (const folder of MARKER_FOLDERS) {
    const owner = await readMarker(home, folder, slug);
    if (owner) return owner;
  }
  const { projects } = await readProjects(home);
  return Object.entries(projects).find(([, value]) => value === slug)?.[0];
}

/** Whether no marker of `slug` names a path other than `realCwd`. */
async function ownsSlug(home: string, slug: string, realCwd: string): Promise<boolean> {
  for (const folder of MARKER_FOLDERS) {
    const owner = await readMarker(home, folder, slug);
    if (owner !== undefined && owner !== realCwd) return false;
  }
  return true;
}

async function readProjects(home: string): Promise<{ projects: Record<string, unknown>; document: Record<string, unknown>; text: string | undefined }> {
  const { value, text } = await readJsonObject(projectsPath(home));
  return { projects: isRecord(value.projects) ? value.projects : {}, document: value, text };
}

/**
 * The slug under which the CLI keeps the sessions of `realCwd`, as it would find it: the registry's entry when its
 * markers agree, else a slug whose marker names the path. Undefined when the CLI has not seen the folder yet.
 */
export async function findProjectSlug(home: string, realCwd: string): Promise<string | undefined> {
  const { projects } = await readProjects(home);
  const registered = projects[realCwd];
  if (typeof registered === 'string' && SLUG.test(registered) && (await ownsSlug(home, registered, realCwd))) return registered;
  for (const folder of MARKER_FOLDERS) {
    let candidates: string[];
    try {
      candidates = await readdir(join(geminiStateDirectory(home), folder));
    } catch {
      continue;
    }
    for (const candidate of candidates.sort()) {
      if (SLUG.test(candidate) && (await readMarker(home, folder, candidate)) === realCwd) return candidate;
    }
  }
  return undefined;
}

/**
 * The slug of `realCwd`, registered the way the CLI registers one when it is missing (projects.json merged, every
 * other entry kept; markers written only where absent), so that a rehydrated session is where `--resume` looks.
 */
export async function ensureProjectSlug(home: string, realCwd: string): Promise<string> {
  const existing = await findProjectSlug(home, realCwd);
  const { projects, document, text } = await readProjects(home);
  let slug = existing;
  if (slug === undefined) {
    const taken = new Set(Object.entries(projects).filter(([path]) => path !== realCwd).map(([, value]) => value));
    const base = slugify(basename(realCwd) || 'project');
    for (let counter = 0; slug === undefined; counter++) {
      const candidate = counter === 0 ? base : `${base}-${counter}`;
      if (!taken.has(candidate) && (await ownsSlug(home, candidate, realCwd))) slug = candidate;
    }
  }
  for (const folder of MARKER_FOLDERS) {
    if ((await readMarker(home, folder, slug)) === undefined) {
      await writePrivateFileAtomic(join(geminiStateDirectory(home), folder, slug, MARKER), realCwd, { durable: false });
    }
  }
  if (projects[realCwd] !== slug) {
    document.projects = { ...projects, [realCwd]: slug };
    await writeJsonIfChanged(projectsPath(home), document, text);
  }
  return slug;
}
