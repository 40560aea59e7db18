/** The agent setup on its way in (refusals) and at each run (references resolved, an import's code withheld). */
import { describe, expect, it } from 'vitest';
import { codexHarness } from '../../src/harness/codex/harness.js';
import { geminiHarness } from '../../src/harness/gemini/harness.js';
import { checkSetup, setupForRun, withheldWarning } from '../../src/run/agent-setup.js';
import type { AgentSetup } from '../../src/model/agent-setup.js';

const github: AgentSetup = {
  mcpServers: {
    github: { command: 'npx', args: ['-y', 'github-mcp', '--org', '${ORG}'], env: { GITHUB_TOKEN: '${GITHUB_TOKEN}', LOG_LEVEL: 'debug' } },
    docs: { type: 'http', url: 'https://docs.example.com/mcp', headers: { Authorization: 'Bearer ${DOCS_TOKEN}' } },
  },
};

describe('checkSetup', () => {
  it('accepts references for credentials and refuses a literal credential, naming the server and the fix', () => {
    expect(checkSetup(codexHarness, github)).toEqual(github);
    const literal = { mcpServers: { github: { command: 'npx', env: { GITHUB_TOKEN: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' } } } };
    expect(() => checkSetup(codexHarness, literal)).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('MCP server github: GITHUB_TOKEN holds a credential'), hint: expect.stringContaining('${GITHUB_TOKEN}') }));
    const header = { mcpServers: { docs: { url: 'https://docs.example.com/mcp', headers: { Authorization: 'Bearer abcdefghijklmnop1234' } } } };
    expect(() => checkSetup(codexHarness, header)).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('docs: Authorization') }));
  });

  it('refuses what the schema or the harness cannot take, in one line', () => {
    expect(() => checkSetup(codexHarness, { effort: 'extreme' as never })).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^the agent setup is not valid: effort: /) }));
    expect(() => checkSetup(codexHarness, { mcpServers: { 'bad name': { command: 'x' } } })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => checkSetup(codexHarness, { mcpServers: { x: { url: 'file:///etc/passwd' } } })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => checkSetup(codexHarness, { mcpServers: { x: { command: 'a\0b' } } })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => checkSetup(geminiHarness, { systemPrompt: 'be brief' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('refuses skills whose files would land outside their folder', () => {
    const skill = (path: string) => ({ skills: [{ name: 'deploy', description: 'deploys', files: [{ path: 'SKILL.md', content: '' }, { path, content: '' }] }] });
    for (const path of ['../evil', 'a/../../evil', '/etc/passwd', 'a\\..\\b', 'a//b', './x', 'x\n']) {
      expect(() => checkSetup(codexHarness, skill(path)), path).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
    expect(checkSetup(codexHarness, skill('scripts/run.sh')).skills?.[0]?.files).toHaveLength(2);
  });
});

describe('setupForRun', () => {
  const env = { ORG: 'acme', GITHUB_TOKEN: 'ghp_0123456789abcdefghijklmnopqrstuvwx', DOCS_TOKEN: 'docs-secret-value-42' };

  it('resolves ${NAME} from the run\'s environment and makes each resolved secret known to the redactor', () => {
    const { setup, secrets, withheld } = setupForRun(github, env, true);
    expect(setup.mcpServers?.github).toEqual({ command: 'npx', args: ['-y', 'github-mcp', '--org', 'acme'], env: { GITHUB_TOKEN: env.GITHUB_TOKEN, LOG_LEVEL: 'debug' } });
    expect(setup.mcpServers?.docs).toMatchObject({ headers: { Authorization: `Bearer ${env.DOCS_TOKEN}` } });
    expect(secrets.map((secret) => secret.value)).toEqual(expect.arrayContaining([env.GITHUB_TOKEN, env.DOCS_TOKEN]));
    expect(withheld).toEqual([]);
  });

  it('fails with the variable\'s name when the run\'s environment lacks it', () => {
    expect(() => setupForRun(github, { ORG: 'acme' }, true)).toThrow(expect.objectContaining({ code: 'MCP_VARIABLE_MISSING', message: expect.stringContaining('$GITHUB_TOKEN') }));
  });

  it('withholds an untrusted conversation\'s MCP servers and skills, and keeps the rest', () => {
    const imported: AgentSetup = { ...github, model: 'm', effort: 'high', skills: [{ name: 'deploy', description: 'd', files: [{ path: 'SKILL.md', content: '' }] }] };
    const { setup, withheld } = setupForRun(imported, {}, false);
    expect(setup).toEqual({ model: 'm', effort: 'high', mcpServers: undefined, skills: undefined });
    expect(withheld).toEqual(['MCP server github', 'MCP server docs', 'skill deploy']);
    expect(withheldWarning(withheld, 'c_1')).toBe('this conversation was imported and is not trusted: "MCP server github", "MCP server docs", "skill deploy" were not applied; resume with `baton resume --trust c_1 PROMPT` to use them');
  });
});
