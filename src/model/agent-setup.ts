/**
 * How a conversation's agent is set up: model, reasoning effort, system prompt, MCP servers and skills. Chosen
 * when the conversation starts (`baton run` flags, the API, the web UI's form), stored with it, and applied by
 * every run on any machine, each harness writing it in its CLI's own form (see Harness.prepare).
 *
 * Defined schema-first: the same schemas check a user's `--mcp-config` file, an API body, an imported export and
 * what the store hands back, so a hostile import cannot name a file outside a skill's folder or a NUL argv.
 */
import { z } from 'zod';
import { EFFORT_LEVELS } from './agent-setup-values.js';

// What the run path needs without zod (it would add its start-up to every `baton run`): see agent-setup-values.ts.
export { agentSetupOf, EFFORT_LEVELS, isStdioServer } from './agent-setup-values.js';

export const ReasoningEffort = z.enum(EFFORT_LEVELS);
export type ReasoningEffort = z.infer<typeof ReasoningEffort>;

/** Argv and config text cannot hold a NUL. */
const text = (max: number) => z.string().max(max).regex(/^[^\0]*$/, 'holds a NUL character');

/** MCP server names every CLI accepts as a config key and a tool-name prefix. */
export const MCP_SERVER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'is not an environment variable name');
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'is not an HTTP header name');

/**
 * A value in an MCP server's env or headers: literal, or `${NAME}`, which each run resolves from its own
 * environment (so a credential is not stored with the conversation; see src/run/agent-setup.ts).
 */
const settingValue = text(8192);

export const StdioMcpServer = z.strictObject({
  type: z.literal('stdio').optional(),
  command: text(4096).min(1, 'command must not be empty'),
  args: z.array(text(8192)).max(256).optional(),
  env: z.record(variableName, settingValue).optional(),
});
export type StdioMcpServer = z.infer<typeof StdioMcpServer>;

export const RemoteMcpServer = z.strictObject({
  /** `http` (streamable HTTP, the default) or the older `sse` transport. */
  type: z.enum(['http', 'sse']).optional(),
  url: text(4096).refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), 'is not an http(s) URL'),
  headers: z.record(headerName, settingValue).optional(),
});
export type RemoteMcpServer = z.infer<typeof RemoteMcpServer>;

export const McpServer = z.union([StdioMcpServer, RemoteMcpServer]);
export type McpServer = z.infer<typeof McpServer>;

export const McpServers = z
  .record(z.string().regex(MCP_SERVER_NAME, 'is not an MCP server name (letters, digits, _ and -, at most 64)'), McpServer)
  .refine((servers) => Object.keys(servers).length <= 32, 'names more than 32 MCP servers');
export type McpServers = z.infer<typeof McpServers>;


/** Agent Skills names: lowercase letters, digits and single hyphens, at most 64 (the skill's folder name). */
export const SKILL_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,63}$/;
export const MAX_SKILL_BYTES = 1024 * 1024;
export const MAX_SKILLS_BYTES = 4 * 1024 * 1024;

/** A path inside a skill's folder: relative, `/`-separated, no `.`/`..` segment, no control characters. */
const skillPath = z
  .string()
  .max(512)
  .refine(
    (path) => path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..' && !/[\0-\x1f\x7f\\]/.test(segment)),
    'is not a relative path inside the skill (no empty, "." or ".." segment, no backslash or control character)',
  );

export const SkillFile = z.strictObject({
  path: skillPath,
  /** The file is a script the skill's instructions run. */
  executable: z.boolean().optional(),
  /** The bytes, base64. */
  content: z.string().max(Math.ceil((MAX_SKILL_BYTES * 4) / 3) + 4).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'is not base64'),
});
export type SkillFile = z.infer<typeof SkillFile>;

export const Skill = z
  .strictObject({
    name: z.string().regex(SKILL_NAME, 'is not a skill name (lowercase letters, digits and hyphens, at most 64)'),
    description: text(1024).min(1),
    files: z.array(SkillFile).min(1).max(500),
  })
  .refine((skill) => skill.files.some((file) => file.path === 'SKILL.md'), 'has no SKILL.md')
  .refine((skill) => new Set(skill.files.map((file) => file.path)).size === skill.files.length, 'names a file twice')
  .refine((skill) => skillBytes(skill) <= MAX_SKILL_BYTES, `is larger than ${MAX_SKILL_BYTES / 1024} KiB`);
export type Skill = z.infer<typeof Skill>;

export const Skills = z
  .array(Skill)
  .max(32)
  .refine((skills) => new Set(skills.map((skill) => skill.name)).size === skills.length, 'names a skill twice')
  .refine((skills) => skills.reduce((sum, skill) => sum + skillBytes(skill), 0) <= MAX_SKILLS_BYTES, `are larger than ${MAX_SKILLS_BYTES / 1024 / 1024} MiB together`);

function skillBytes(skill: { files: Array<{ content: string }> }): number {
  return skill.files.reduce((sum, file) => sum + Math.floor((file.content.length * 3) / 4), 0);
}

/** What every run of a conversation launches the agent with. Every field is optional: absent means the CLI's default. */
export const AgentSetup = z.strictObject({
  model: text(200).min(1).optional(),
  effort: ReasoningEffort.optional(),
  systemPrompt: text(1_000_000).optional(),
  mcpServers: McpServers.optional(),
  skills: Skills.optional(),
});
export type AgentSetup = z.infer<typeof AgentSetup>;
