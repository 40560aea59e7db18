/**
 * The agent setup from `baton run`/`resume` flags: `--effort`, `--system-prompt-file`, `--mcp-config FILE` (the
 * `{"mcpServers": {…}}` format Claude Code's `.mcp.json` and Gemini's settings use) and `--skill DIR` (an Agent
 * Skills folder with SKILL.md), read into the stored form (src/model/agent-setup.ts).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeIssue } from '../model/describe-issue.js';
import { BatonError, errorMessage, quoted } from '../errors.js';
import { EFFORT_LEVELS, McpServers, MAX_SKILL_BYTES, ReasoningEffort, Skill, type AgentSetup, type SkillFile } from '../model/agent-setup.js';

export interface SetupFlags {
  model?: string | undefined;
  effort?: string | undefined;
  systemPromptFile?: string | undefined;
  mcpConfig?: string | undefined;
  skill?: string[] | undefined;
}

export async function agentSetupFromFlags(flags: SetupFlags): Promise<AgentSetup> {
  const setup: AgentSetup = {};
  if (flags.model !== undefined) setup.model = flags.model;
  if (flags.effort !== undefined) setup.effort = parseEffort(flags.effort);
  if (flags.systemPromptFile !== undefined) setup.systemPrompt = await readText(flags.systemPromptFile, '--system-prompt-file', 'the system prompt file');
  if (flags.mcpConfig !== undefined) setup.mcpServers = await readMcpConfig(flags.mcpConfig);
  if (flags.skill && flags.skill.length > 0) {
    const skills = [];
    for (const dir of flags.skill) skills.push(await readSkill(dir));
    const names = skills.map((skill) => skill.name);
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    if (twice) throw new BatonError('SKILL_INVALID', `two --skill folders are both named ${twice}`, { hint: 'give each skill its own name in its SKILL.md' });
    setup.skills = skills;
  }
  return setup;
}

export function parseEffort(value: string): AgentSetup['effort'] {
  const parsed = ReasoningEffort.safeParse(value);
  if (!parsed.success) throw new BatonError('USAGE', `--effort must be one of ${EFFORT_LEVELS.join(', ')}, not ${quoted(value)}`, { hint: 'each harness maps it to its CLI\'s own reasoning setting' });
  return parsed.data;
}

async function readText(path: string, flag: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new BatonError('USAGE', `cannot read ${what} ${path}: ${errorMessage(error)}`, { hint: `pass an existing file to ${flag}` });
  }
}

export async function readMcpConfig(path: string): Promise<McpServers> {
  const text = await readText(path, '--mcp-config', 'the MCP config file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BatonError('MCP_CONFIG_INVALID', `${path} is not JSON: ${errorMessage(error)}`, { hint: 'write {"mcpServers": {"NAME": {"command": "…", "args": […]}}}' });
  }
  const servers = typeof parsed === 'object' && parsed !== null && 'mcpServers' in parsed ? (parsed as { mcpServers: unknown }).mcpServers : undefined;
  if (servers === undefined) throw new BatonError('MCP_CONFIG_INVALID', `${path} has no "mcpServers" object`, { hint: 'write {"mcpServers": {"NAME": {"command": "…", "args": […]}}} (the .mcp.json format)' });
  const result = McpServers.safeParse(servers);
  if (!result.success) {
    throw new BatonError('MCP_CONFIG_INVALID', `${path}: mcpServers.${describeIssue(result.error)}`, {
      hint: 'each server is {"command", "args", "env"} (stdio) or {"type": "http"|"sse", "url", "headers"}; write ${NAME} for a secret',
    });
  }
  return result.data;
}

/** SKILL.md's YAML front matter (between the first two `---` lines). */
function frontMatter(skillMd: string, dir: string): Record<string, unknown> {
  const match = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/.exec(skillMd);
  if (!match) throw new BatonError('SKILL_INVALID', `${join(dir, 'SKILL.md')} has no front matter`, { hint: 'start it with ---, name: …, description: …, ---' });
  let value: unknown;
  try {
    value = parseYaml(match[1] ?? '');
  } catch (error) {
    throw new BatonError('SKILL_INVALID', `${join(dir, 'SKILL.md')}: its front matter is not YAML: ${errorMessage(error).split('\n')[0]}`, { hint: 'fix the lines between the --- markers' });
  }
  if (typeof value !== 'object' || value === null) throw new BatonError('SKILL_INVALID', `${join(dir, 'SKILL.md')}: its front matter is not a mapping`, { hint: 'write name: … and description: … between the --- markers' });
  return value as Record<string, unknown>;
}

/** A skill folder read whole: regular files only (a link could reach anything), within the size limit. */
export async function readSkill(dir: string): Promise<Skill> {
  const root = resolve(dir);
  const stats = await lstat(root).catch((error: unknown) => {
    throw new BatonError('SKILL_INVALID', `cannot read the skill folder ${dir}: ${errorMessage(error)}`, { hint: 'pass a folder that holds a SKILL.md to --skill' });
  });
  if (!stats.isDirectory()) throw new BatonError('SKILL_INVALID', `${dir} is not a folder`, { hint: 'pass a folder that holds a SKILL.md to --skill' });
  const files: SkillFile[] = [];
  let bytes = 0;
  async function walk(directory: string): Promise<void> {
    for (const entry of (await readdir(directory, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') await walk(path);
        continue;
      }
      if (!entry.isFile()) throw new BatonError('SKILL_INVALID', `${path} is a link or special file`, { hint: 'a skill travels as plain files: copy what the link points to into the folder' });
      const content = await readFile(path);
      bytes += content.length;
      if (bytes > MAX_SKILL_BYTES) throw new BatonError('SKILL_INVALID', `the skill folder ${dir} holds more than ${MAX_SKILL_BYTES / 1024} KiB`, { hint: 'keep a skill to its instructions and small scripts' });
      const mode = (await lstat(path)).mode;
      files.push({ path: relative(root, path).split(sep).join('/'), ...((mode & 0o100) !== 0 ? { executable: true } : {}), content: content.toString('base64') });
    }
  }
  await walk(root);
  const skillMd = files.find((file) => file.path === 'SKILL.md');
  if (!skillMd) throw new BatonError('SKILL_INVALID', `${dir} has no SKILL.md`, { hint: 'a skill folder holds SKILL.md with name and description in its front matter' });
  const meta = frontMatter(Buffer.from(skillMd.content, 'base64').toString('utf8'), dir);
  const name = typeof meta.name === 'string' ? meta.name : basename(root);
  const result = Skill.safeParse({ name, description: meta.description, files });
  if (!result.success) {
    throw new BatonError('SKILL_INVALID', `the skill in ${dir}: ${describeIssue(result.error)}`, { hint: 'SKILL.md needs `name:` (lowercase letters, digits, hyphens) and `description:` in its front matter' });
  }
  return result.data;
}
