import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureProjectSlug, findProjectSlug, geminiHomeOf, geminiSettingsPath, prepareGeminiSettings, projectsPath, slugify } from '../../src/harness/gemini/config.js';
import { geminiHarness } from '../../src/harness/gemini/harness.js';
import { checkSetup } from '../../src/run/agent-setup.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'baton-gemini-config-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

describe('gemini settings.json merge', () => {
  it('writes what a headless run needs into a fresh home, private', async () => {
    await prepareGeminiSettings({ home, usesApiKey: true });
    expect(await readJson(geminiSettingsPath(home))).toEqual({
      general: { sessionRetention: { enabled: false }, enableAutoUpdate: false, enableAutoUpdateNotification: false },
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
      advanced: { ignoreLocalEnv: true },
    });
    expect((await stat(geminiSettingsPath(home))).mode & 0o777).toBe(0o600);
  });

  it("keeps the user's keys, and their choices where baton only has a default", async () => {
    await mkdir(join(home, '.gemini'), { recursive: true });
    await writeFile(geminiSettingsPath(home), JSON.stringify({
      theme: 'Dracula',
      general: { vimMode: true, sessionRetention: { enabled: true, maxAge: '7d' }, enableAutoUpdate: true },
      security: { auth: { selectedType: 'oauth-personal' }, folderTrust: { enabled: true } },
      privacy: { usageStatisticsEnabled: true },
      mcpServers: { mine: { command: 'my-server' } },
    }));
    await prepareGeminiSettings({ home, usesApiKey: false });
    const settings = await readJson(geminiSettingsPath(home));
    expect(settings).toMatchObject({
      theme: 'Dracula',
      general: { vimMode: true, enableAutoUpdate: true, sessionRetention: { enabled: false, maxAge: '7d' } },
      security: { auth: { selectedType: 'oauth-personal' }, folderTrust: { enabled: true } },
      privacy: { usageStatisticsEnabled: true },
      mcpServers: { mine: { command: 'my-server' } },
    });
  });

  it('selects API-key auth when the run is given a key, whatever was selected', async () => {
    await mkdir(join(home, '.gemini'), { recursive: true });
    await writeFile(geminiSettingsPath(home), JSON.stringify({ security: { auth: { selectedType: 'oauth-personal' } } }));
    await prepareGeminiSettings({ home, usesApiKey: true });
    expect((await readJson(geminiSettingsPath(home))).security.auth.selectedType).toBe('gemini-api-key');
  });

  it('refuses a settings.json that is not a JSON object, leaving it as it was', async () => {
    await mkdir(join(home, '.gemini'), { recursive: true });
    await writeFile(geminiSettingsPath(home), '{ not json');
    await expect(prepareGeminiSettings({ home, usesApiKey: true })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await readFile(geminiSettingsPath(home), 'utf8')).toBe('{ not json');
  });

  it('finds the home in GEMINI_CLI_HOME, else HOME', () => {
    expect(geminiHomeOf({ GEMINI_CLI_HOME: '/x/gh', HOME: '/x/h' })).toBe('/x/gh');
    expect(geminiHomeOf({ HOME: '/x/h' })).toBe('/x/h');
  });
});

describe('gemini project slugs', () => {
  it('slugifies folder names as the CLI does', () => {
    expect(slugify('Other_Proj')).toBe('other-proj');
    expect(slugify('My.Project')).toBe('my-project');
    expect(slugify('somewhere else')).toBe('somewhere-else');
    expect(slugify('c.project_ü')).toBe('c-project');
    expect(slugify('ü')).toBe('project');
  });

  it('registers a new cwd with markers, keeping other projects, and finds it again', async () => {
    await mkdir(join(home, '.gemini'), { recursive: true });
    await writeFile(projectsPath(home), JSON.stringify({ projects: { '/elsewhere/project': 'project' } }));
    await mkdir(join(home, '.gemini', 'tmp', 'project'), { recursive: true });
    await writeFile(join(home, '.gemini', 'tmp', 'project', '.project_root'), '/elsewhere/project');
    const slug = await ensureProjectSlug(home, '/work/project');
    expect(slug).toBe('project-1');
    expect(await readJson(projectsPath(home))).toEqual({ projects: { '/elsewhere/project': 'project', '/work/project': 'project-1' } });
    expect(await readFile(join(home, '.gemini', 'tmp', 'project-1', '.project_root'), 'utf8')).toBe('/work/project');
    expect(await readFile(join(home, '.gemini', 'history', 'project-1', '.project_root'), 'utf8')).toBe('/work/project');
    expect(await findProjectSlug(home, '/work/project')).toBe('project-1');
    expect(await ensureProjectSlug(home, '/work/project')).toBe('project-1');
  });

  it('skips a registered slug whose marker names another path, and finds a slug by its marker alone', async () => {
    await mkdir(join(home, '.gemini', 'tmp', 'taken'), { recursive: true });
    await writeFile(join(home, '.gemini', 'tmp', 'taken', '.project_root'), '/someone/else');
    await writeFile(projectsPath(home), JSON.stringify({ projects: { '/work/p': 'taken' } }));
    expect(await findProjectSlug(home, '/work/p')).toBeUndefined();
    await mkdir(join(home, '.gemini', 'tmp', 'mine'), { recursive: true });
    await writeFile(join(home, '.gemini', 'tmp', 'mine', '.project_root'), '/work/p');
    expect(await findProjectSlug(home, '/work/p')).toBe('mine');
  });
});

describe('gemini run options', () => {
  it('refuses a system prompt before a conversation exists, with a one-line USAGE error and a hint', () => {
    expect(() => checkSetup(geminiHarness, { systemPrompt: 'be terse' })).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('system prompt'), hint: expect.stringContaining('GEMINI.md') }));
    expect(checkSetup(geminiHarness, { model: 'gemini-2.5-pro' })).toEqual({ model: 'gemini-2.5-pro' });
  });
});
