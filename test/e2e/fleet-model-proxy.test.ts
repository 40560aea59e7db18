/**
 * The agent never holds the operator's model key: a real worker (bubblewrap sandbox) runs the real Codex and
 * Claude Code through its model proxy. The agent dumps everything it can read of its credentials — `env`,
 * auth.json, .claude.json, /proc/self/environ — and finds only its per-run token there; the model (upstream)
 * got the operator's key; the token is refused once the run ended; the usage stored with the run is what the
 * scripted model reported; and a run over its token limit fails with TOKEN_LIMIT_EXCEEDED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Script } from '../../src/testing/scripted-model-server.js';
import { isFinishedRunStatus } from '../../src/model/run-status.js';
import { RUN_TOKEN_PREFIX } from '../../src/fleet/model-proxy/proxy.js';
import { createFleet, OPERATOR_ANTHROPIC_KEY, OPERATOR_OPENAI_KEY, type Fleet, type Worker } from './fleet-world.js';
import { conversationOf } from './model-requests.js';
import { testScript, waitFor } from './world.js';

/** testScript, and a prompt with BIG makes the model report 1000 input tokens (for the limit). */
const script: Script = (request, index) => {
  const reply = testScript(request, index);
  return (request.prompt ?? '').includes('BIG') ? { ...reply, usage: { inputTokens: 1000, cachedInputTokens: 250, outputTokens: 10 } } : reply;
};

const DUMP = [
  'RUN echo ---ENV; env',
  'echo ---AUTH; cat "$CODEX_HOME/auth.json" 2>&1',
  'echo ---CLAUDE; cat "${CLAUDE_CONFIG_DIR:-$HOME/.claude}/.claude.json" "$HOME/.claude.json" 2>&1',
  'echo ---CONFIG; cat "$CODEX_HOME/config.toml" 2>&1',
  // Not `tr … </proc/self/environ`: the shell opens that file before it execs tr, and the kernel then reads the
  // address space exec replaced, so it always comes out empty (verified on Linux 6.x, also outside the sandbox).
  // cat's own environment is what every command of the agent gets; $$ is the agent's shell, $PPID the CLI.
  "echo ---ENVIRON; cat /proc/self/environ | tr '\\0' '\\n'",
  "echo ---SHELL; tr '\\0' '\\n' </proc/$$/environ",
  "echo ---PARENT; tr '\\0' '\\n' </proc/$PPID/environ 2>&1",
  'echo ---END',
].join('; ');

const TOKEN_PATTERN = new RegExp(`${RUN_TOKEN_PREFIX}[A-Za-z0-9_-]{43}`, 'g');

let fleet: Fleet;
let token: string;
let worker: Worker;

beforeAll(async () => {
  fleet = await createFleet({ script });
  token = await fleet.token('acme');
  worker = await fleet.startWorker('proxied');
}, 180_000);

afterAll(async () => {
  if (process.env.BATON_FLEET_LOGS) console.log(worker?.log());
  await fleet?.cleanup();
}, 60_000);

async function runToEnd(body: unknown): Promise<{ conversationId: string; run: any }> {
  const queued = await fleet.api(token, 'POST', '/v1/conversations', body);
  expect(queued.status, JSON.stringify(queued.body)).toBe(202);
  const run = await fleet.waitForRun(token, queued.body.runId, (candidate) => isFinishedRunStatus(candidate.status), `run ${queued.body.runId} to finish`);
  return { conversationId: queued.body.conversationId, run };
}

const section = (dump: string, name: string): string => {
  const start = dump.indexOf(`---${name}\n`);
  const end = dump.indexOf('\n---', start + 1);
  return start === -1 ? '' : dump.slice(start + name.length + 4, end === -1 ? undefined : end);
};

/** Fails naming where the leak showed, without printing the whole dump. */
function expectAbsent(text: string, leak: string, what: string): void {
  const at = text.indexOf(leak);
  expect(at === -1 ? undefined : `…${text.slice(Math.max(0, at - 120), at + leak.length + 40)}…`, `${what} leaked`).toBeUndefined();
}

describe('a worker\'s model proxy', () => {
  it.each(['codex', 'claude'] as const)('%s: the agent holds only its per-run token, refused once the run ended; usage is what the model reported', async (harness) => {
    const turnsBefore = fleet.model.requests.length;
    const usageBefore = fleet.model.reportedUsage.length;
    const { conversationId, run } = await runToEnd({ harness, prompt: DUMP });
    expect(run, JSON.stringify(run)).toMatchObject({ status: 'succeeded' });
    const requests = fleet.model.requests.slice(turnsBefore);
    const toolRequest = requests.find((request) => conversationOf(request).some((turn) => turn.kind === 'tool_output' && turn.text.includes('---END')));
    expect(toolRequest, 'a model request carrying the dump').toBeDefined();
    const dump = conversationOf(toolRequest!).filter((turn) => turn.kind === 'tool_output').map((turn) => turn.text).join('\n');

    // Nothing of the operator's keys, not even the last 20 characters by which Claude Code remembers a key.
    for (const key of [OPERATOR_OPENAI_KEY, OPERATOR_ANTHROPIC_KEY]) {
      expectAbsent(dump, key.slice(-20), 'an operator key');
      expectAbsent(dump, key.slice(0, 20), 'an operator key');
    }
    // One token, the run's own, wherever a key would be.
    const tokens = new Set(dump.match(TOKEN_PATTERN) ?? []);
    expect(tokens.size).toBe(1);
    const [runToken] = [...tokens] as [string];
    const env = section(dump, 'ENV');
    const environ = section(dump, 'ENVIRON');
    expect(environ).toContain('PATH=');
    const proxyUrl = /model proxy on (http:\/\/127\.0\.0\.1:\d+)/.exec(worker.log())![1]!;
    for (const variables of [env, environ, section(dump, 'SHELL')]) {
      const lines = variables.split('\n');
      expect(lines.filter((line) => /^(OPENAI|ANTHROPIC)_(API_KEY|AUTH_TOKEN)=/.test(line) || line.includes(runToken))).toEqual(
        harness === 'codex' ? [`OPENAI_API_KEY=${runToken}`] : [`ANTHROPIC_API_KEY=${runToken}`],
      );
      if (harness === 'claude') expect(lines).toContain(`ANTHROPIC_BASE_URL=${proxyUrl}/anthropic`);
    }
    if (harness === 'codex') {
      expect(JSON.parse(section(dump, 'AUTH'))).toEqual({ auth_mode: 'apikey', OPENAI_API_KEY: runToken });
      expect(section(dump, 'CONFIG')).toContain(`base_url = "${proxyUrl}/openai/v1"`);
    } else {
      expect(section(dump, 'CLAUDE')).toContain(runToken.slice(-20));
    }

    // The model got the operator's key on every request, never the token.
    const modelRequests = requests.filter((request) => request.method === 'POST');
    expect(modelRequests.length).toBeGreaterThanOrEqual(2);
    for (const request of modelRequests) {
      if (harness === 'codex') expect(request.headers.authorization).toBe(`Bearer ${OPERATOR_OPENAI_KEY}`);
      else expect(request.headers['x-api-key']).toBe(OPERATOR_ANTHROPIC_KEY);
      expectAbsent(JSON.stringify(request.headers), runToken, 'the run token upstream');
    }

    // The run has ended: its token is refused.
    const path = harness === 'codex' ? '/openai/v1/responses' : '/anthropic/v1/messages';
    const after = await fetch(`${proxyUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(harness === 'codex' ? { authorization: `Bearer ${runToken}` } : { 'x-api-key': runToken }) },
      body: JSON.stringify({ model: 'm', stream: true, input: [], messages: [] }),
    });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject(harness === 'codex' ? { error: { code: 'invalid_api_key' } } : { type: 'error', error: { type: 'authentication_error' } });

    // What the agent printed is stored redacted, the run's token included (the API says which redaction ran).
    expect(run.redaction).toMatchObject({ kind: 'on', rules: expect.stringContaining('secretlint'), variables: expect.arrayContaining(['BATON_RUN_TOKEN']) });
    const exported = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}/export`);
    expect(exported.status).toBe(200);
    const exportText = JSON.stringify(exported.body);
    expect(exportText).toContain('[REDACTED:$BATON_RUN_TOKEN]');
    expectAbsent(exportText, runToken, 'the run token in the store');

    // The usage stored with the run is what the model reported, and the conversation sums its runs.
    const reported = fleet.model.reportedUsage.slice(usageBefore);
    const expected = {
      inputTokens: reported.reduce((total, report) => total + report.inputTokens, 0),
      cachedInputTokens: reported.reduce((total, report) => total + report.cachedInputTokens, 0),
      outputTokens: reported.reduce((total, report) => total + report.outputTokens, 0),
      requests: reported.length,
    };
    expect(expected.cachedInputTokens).toBeGreaterThan(0);
    expect(run.usage).toEqual(expected);
    const detail = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`);
    expect(detail.body.usage).toEqual(expected);
    const shown = await fleet.baton(['show', conversationId]);
    expect(shown.stdout).toContain(`tokens: ${expected.inputTokens} in (${expected.cachedInputTokens} cached) · ${expected.outputTokens} out`);
  });

  it.each(['codex', 'claude'] as const)('%s: a run over --max-tokens-per-run is refused its next model request and fails with TOKEN_LIMIT_EXCEEDED', async (harness) => {
    worker.child.kill('SIGTERM');
    await worker.exited;
    worker = await fleet.startWorker(`limited-${harness}`, ['--max-tokens-per-run', '500']);
    const usageBefore = fleet.model.reportedUsage.length;
    // The first model turn reports 1010 tokens; the CLI runs the command and asks again: refused.
    const { run } = await runToEnd({ harness, prompt: 'RUN echo BIG-limit-test' });
    expect(run, JSON.stringify(run)).toMatchObject({ status: 'failed', errorCode: 'TOKEN_LIMIT_EXCEEDED' });
    expect(run.error).toContain('limit of 500');
    expect(fleet.model.reportedUsage.slice(usageBefore)).toHaveLength(1);
    expect(run.usage).toEqual({ inputTokens: 1000, cachedInputTokens: 250, outputTokens: 10, requests: 1 });
    await waitFor(() => (worker.log().includes(`run ${run.id} failed`) ? true : undefined), 'the worker to log the failure');
  });
});
