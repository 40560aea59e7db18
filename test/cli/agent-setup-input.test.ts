/** `--mcp-config FILE` and `--skill DIR` read into the stored agent setup, with one-line errors for bad input. */
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentSetupFromFlags, readMcpConfig, readSkill } from '../../src/cli/agent-setup-input.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-setup-input-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function skillFolder(name: string, frontMatter: string): Promise<string> {
  const folder = join(dir, name);
  await mkdir(join(folder, 'scripts'), { recursive: true });
  await writeFile(join(folder, 'SKILL.md'), `---\n${frontMatter}\n---\n# How\nRun scripts/check.sh.\n`);
  await writeFile(join(folder, 'scripts', 'check.sh'), '#!/bin/sh\necho ok\n');
  await chmod(join(folder, 'scripts', 'check.sh'), 0o755);
  return folder;
}

describe('readMcpConfig', () => {
  it('reads the {"mcpServers": …} format of .mcp.json', async () => {
    const path = join(dir, 'mcp.json');
    await writeFile(path, JSON.stringify({ mcpServers: { probe: { type: 'stdio', command: 'node', args: ['server.js'], env: { TOKEN: '${TOKEN}' } }, web: { type: 'http', url: 'http://127.0.0.1:9/mcp' } } }));
    expect(await readMcpConfig(path)).toEqual({ probe: { type: 'stdio', command: 'node', args: ['server.js'], env: { TOKEN: '${TOKEN}' } }, web: { type: 'http', url: 'http://127.0.0.1:9/mcp' } });
  });

  it.each([
    ['not JSON', '{', /is not JSON/],
    ['no mcpServers', '{"servers": {}}', /has no "mcpServers" object/],
    ['an unknown field', '{"mcpServers": {"a": {"command": "x", "cwd": "/"}}}', /mcpServers\.a/],
    ['a bad name', '{"mcpServers": {"a b": {"command": "x"}}}', /not an MCP server name/],
  ])('refuses %s in one line with a hint', async (_what, text, message) => {
    const path = join(dir, 'mcp.json');
    await writeFile(path, text);
    const error = await readMcpConfig(path).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'MCP_CONFIG_INVALID', message: expect.stringMatching(message), hint: expect.any(String) });
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('readSkill', () => {
  it('reads a folder whole, with its name and description from SKILL.md and scripts marked executable', async () => {
    const skill = await readSkill(await skillFolder('release-notes', 'name: release-notes\ndescription: Writes release notes from git log'));
    expect(skill.name).toBe('release-notes');
    expect(skill.description).toBe('Writes release notes from git log');
    expect(skill.files.map((file) => [file.path, file.executable ?? false])).toEqual([['SKILL.md', false], ['scripts/check.sh', true]]);
  });

  it('refuses a folder without SKILL.md, without a description, or with a link', async () => {
    await mkdir(join(dir, 'empty'));
    await expect(readSkill(join(dir, 'empty'))).rejects.toMatchObject({ code: 'SKILL_INVALID', message: expect.stringContaining('has no SKILL.md') });
    await expect(readSkill(await skillFolder('nodesc', 'name: nodesc'))).rejects.toMatchObject({ code: 'SKILL_INVALID', message: expect.stringContaining('description') });
    const linked = await skillFolder('linked', 'name: linked\ndescription: d');
    await symlink('/etc/passwd', join(linked, 'passwd'));
    await expect(readSkill(linked)).rejects.toMatchObject({ code: 'SKILL_INVALID', message: expect.stringContaining('is a link') });
  });

  it('refuses two skills of one name and an unknown effort', async () => {
    const a = await skillFolder('a', 'name: same\ndescription: d');
    const b = await skillFolder('b', 'name: same\ndescription: d');
    await expect(agentSetupFromFlags({ skill: [a, b] })).rejects.toMatchObject({ code: 'SKILL_INVALID' });
    await expect(agentSetupFromFlags({ effort: 'max' })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('low, medium, high') });
  });
});
