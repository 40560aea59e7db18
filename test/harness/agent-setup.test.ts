/**
 * A conversation's agent setup reaches every harness's real CLI, and is stored with the conversation: the first
 * model request on machine A, and the first one after a resume on a fresh machine B given no flags at all, carry
 * the model, the reasoning effort, the system prompt, the MCP server's tool and the skill. The MCP server is a
 * real stdio server (test/fixtures/mcp/probe-server.mjs) the CLI starts with the resolved `${PROBE_TOKEN}`, which
 * is never stored.
 */
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HARNESS_IDS, type HarnessId } from '../../src/harness/ids.js';
import type { RecordedRequest } from '../../src/testing/scripted-model-server.js';
import type { Machine } from '../../src/testing/machine.js';
import { lastUserText } from '../e2e/model-requests.js';
import { createWorld, runJson, type World } from '../e2e/world.js';

const PROBE_SERVER = resolve('test/fixtures/mcp/probe-server.mjs');
const PROBE_TOKEN = 'probe-token-5f3e9a1c7b2d4e6f8a0b';
const SYSTEM_PROMPT = 'Answer in the voice of a ship captain (baton system prompt fixture)';
const SKILL_DESCRIPTION = 'Writes release notes from the git log (baton skill fixture)';

interface Expectations {
  model: string;
  /** The model the request names (Gemini puts it in the URL path). */
  modelSent(request: RecordedRequest): unknown;
  /** Where `--effort high` lands in the request. */
  effortSent(request: RecordedRequest): unknown;
  effortHigh: unknown;
  /** The MCP tool's name as the CLI tells the model about it (Codex and Claude Code may defer the schema). */
  mcpToolName: string;
  systemPrompt: boolean;
}

const EXPECTED: Record<HarnessId, Expectations> = {
  // verified with codex 0.171.0: `-c model_reasoning_effort=high` → `reasoning.effort`; with a model outside its
  // catalogue the MCP tools are sent as a namespace `mcp__probe` holding `baton_probe_lookup`.
  codex: { model: 'scripted-model-setup', modelSent: (r) => r.body.model, effortSent: (r) => r.body.reasoning?.effort, effortHigh: 'high', mcpToolName: 'baton_probe_lookup', systemPrompt: true },
  // verified with claude 2.1.332: `--effort high` → `output_config.effort` on adaptive-thinking models (opus 4.7);
  // MCP tools are deferred: their names are listed for the ToolSearch tool.
  claude: { model: 'claude-opus-4-7', modelSent: (r) => r.body.model, effortSent: (r) => r.body.output_config?.effort, effortHigh: 'high', mcpToolName: 'mcp__probe__baton_probe_lookup', systemPrompt: true },
  // verified with gemini 0.61.0: a `modelConfigs.overrides` entry on the chat-base-2.5 alias sets the thinking
  // budget; the model is in the URL path; MCP tools are `mcp_<server>_<tool>` declarations.
  gemini: {
    model: 'gemini-2.5-flash',
    modelSent: (r) => /\/models\/([^:/]+):/.exec(r.path)?.[1],
    effortSent: (r) => r.body.generationConfig?.thinkingConfig?.thinkingBudget,
    effortHigh: 24576,
    mcpToolName: 'mcp_probe_baton_probe_lookup',
    systemPrompt: false,
  },
  // verified with opencode 1.18.33: `--variant high` → `reasoning.effort` for gpt-5.1; `-m openai/gpt-5.1` is sent
  // without its provider; MCP tools are `<server>_<tool>`.
  opencode: { model: 'openai/gpt-5.1', modelSent: (r) => `openai/${r.body.model}`, effortSent: (r) => r.body.reasoning?.effort, effortHigh: 'high', mcpToolName: 'probe_baton_probe_lookup', systemPrompt: true },
};

describe.each(HARNESS_IDS)('the %s harness applies the agent setup', (id) => {
  const expected = EXPECTED[id];
  let world: World;
  beforeEach(async () => {
    world = await createWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  /** The main model request of a prompt: the one that tells the model about the skills. */
  const requestFor = (prompt: string): RecordedRequest => {
    const candidates = world.turns().filter((turn) => lastUserText(turn) === prompt);
    const main = candidates.find((turn) => JSON.stringify(turn.body).includes(SKILL_DESCRIPTION));
    if (!main) throw new Error(`no request for ${JSON.stringify(prompt)} listed the skill; ${candidates.length} carried the prompt`);
    return main;
  };

  const expectSetupIn = (request: RecordedRequest): void => {
    const text = JSON.stringify(request.body);
    expect(expected.modelSent(request)).toBe(expected.model);
    expect(expected.effortSent(request)).toBe(expected.effortHigh);
    expect(text).toContain(expected.mcpToolName);
    expect(text).toContain(SKILL_DESCRIPTION);
    if (expected.systemPrompt) expect(text).toContain(SYSTEM_PROMPT);
  };

  async function setupFiles(root: string): Promise<{ flags: string[]; probeLog: string }> {
    const probeLog = join(root, 'probe-starts.jsonl');
    const mcpConfig = join(root, 'mcp.json');
    await writeFile(mcpConfig, JSON.stringify({ mcpServers: { probe: { command: process.execPath, args: [PROBE_SERVER, '--from-setup'], env: { PROBE_TOKEN: '${PROBE_TOKEN}', PROBE_LOG: probeLog } } } }));
    const skill = join(root, 'release-notes');
    await mkdir(skill, { recursive: true });
    await writeFile(join(skill, 'SKILL.md'), `---\nname: release-notes\ndescription: ${SKILL_DESCRIPTION}\n---\nRun \`git log --oneline\` and group the commits.\n`);
    const systemPrompt = join(root, 'system-prompt.md');
    await writeFile(systemPrompt, SYSTEM_PROMPT);
    const flags = ['--model', expected.model, '--effort', 'high', '--mcp-config', mcpConfig, '--skill', skill, ...(expected.systemPrompt ? ['--system-prompt-file', systemPrompt] : [])];
    return { flags, probeLog };
  }

  it('on the first run, and on a resume on a fresh machine without any flag', async () => {
    const { flags, probeLog } = await setupFiles(world.root);
    const env = { PROBE_TOKEN };
    const machineA: Machine = await world.machine('machine-a');
    const first = await world.baton(machineA, ['run', '--harness', id, ...flags, '--json', 'hello from A'], { env });
    expect(first.code, first.stderr).toBe(0);
    const { conversationId } = runJson(first);
    expectSetupIn(requestFor('hello from A'));

    const machineB = await world.machine('machine-b', 'elsewhere');
    const second = await world.baton(machineB, ['resume', conversationId, '--json', 'hello from B'], { env });
    expect(second.code, second.stderr).toBe(0);
    expectSetupIn(requestFor('hello from B'));

    // The CLI started the MCP server with the conversation's arguments and the token resolved on each machine.
    const starts = (await readFile(probeLog, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { args: string[]; token: string | null });
    expect(starts.length).toBeGreaterThanOrEqual(2);
    for (const start of starts) expect(start).toEqual({ args: ['--from-setup'], token: PROBE_TOKEN });
    // What is stored names the variable, never its value.
    const storeFiles = (await readdir(join(world.root, 'store'))).map((name) => join(world.root, 'store', name));
    for (const file of storeFiles) expect((await readFile(file)).includes(PROBE_TOKEN), file).toBe(false);
    const show = await world.baton(machineB, ['show', '--json', conversationId]);
    expect(show.stdout).toContain('${PROBE_TOKEN}');
    const text = await world.baton(machineB, ['show', conversationId]);
    expect(text.stdout).toContain(`setup: model ${expected.model} · high effort · MCP: probe · skills: release-notes`);
  }, 180_000);
});

describe('an imported conversation\'s agent setup', () => {
  let world: World;
  beforeEach(async () => {
    world = await createWorld();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  it('starts without its MCP servers and skills until the user trusts it', async () => {
    const probeLog = join(world.root, 'probe-starts.jsonl');
    const mcpConfig = join(world.root, 'mcp.json');
    await writeFile(mcpConfig, JSON.stringify({ mcpServers: { probe: { command: process.execPath, args: [PROBE_SERVER], env: { PROBE_LOG: probeLog } } } }));
    const machineA = await world.machine('machine-a');
    const first = await world.baton(machineA, ['run', '--harness', 'codex', '--mcp-config', mcpConfig, '--json', 'hello from A']);
    expect(first.code, first.stderr).toBe(0);
    const { conversationId } = runJson(first);
    const file = join(world.root, 'export.json');
    expect((await world.baton(machineA, ['export', conversationId, '-o', file])).code).toBe(0);
    const startsOnA = (await readFile(probeLog, 'utf8')).trim().split('\n').length;

    const machineB = await world.machine('machine-b');
    const store = join(world.root, 'store-b', 'baton.db');
    const imported = await world.baton(machineB, ['import', file], { store });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain(`untrusted: its runs start without MCP server probe (they run code or steer the agent)`);

    const untrusted = await world.baton(machineB, ['resume', conversationId, '--json', 'hello untrusted'], { store });
    expect(untrusted.code, untrusted.stderr).toBe(0);
    expect(untrusted.stderr).toContain(`"MCP server probe" was not applied; resume with \`baton resume --trust ${conversationId} PROMPT\``);
    expect(JSON.stringify(world.turns().find((turn) => lastUserText(turn) === 'hello untrusted')?.body)).not.toContain('baton_probe_lookup');
    expect((await readFile(probeLog, 'utf8')).trim().split('\n')).toHaveLength(startsOnA);

    const trusted = await world.baton(machineB, ['resume', '--trust', conversationId, '--json', 'hello trusted'], { store });
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(JSON.stringify(world.turns().find((turn) => lastUserText(turn) === 'hello trusted')?.body)).toContain('baton_probe_lookup');
    expect((await readFile(probeLog, 'utf8')).trim().split('\n').length).toBeGreaterThan(startsOnA);
  }, 120_000);
});
