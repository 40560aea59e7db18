/**
 * A run that fails at the model API says what failed, with the CLI's own message and a hint that fits: the real
 * CLIs against the scripted model server answering 401 and 429 and dropping a stream mid-reply; and a model that
 * never answers is stopped by the stall timeout (STALLED), its transcript saved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFailures } from './failing-script.js';
import { createWorld, runJson, type World } from './world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld(withFailures());
});
afterAll(async () => {
  await world?.cleanup();
});

const CASES = [
  { prompt: 'FAIL 401', code: 'CLI_AUTH_FAILED', said: { codex: /401 Unauthorized: Incorrect API key provided/, claude: /Invalid API key/ }, hint: { codex: /codex login/, claude: /ANTHROPIC_API_KEY/ } },
  { prompt: 'FAIL 429', code: 'MODEL_RATE_LIMITED', said: { codex: /429 Too Many Requests/, claude: /Request rejected \(429\)/ }, hint: { codex: /rate limit/, claude: /rate limit/ } },
  { prompt: 'FAIL DISCONNECT', code: 'MODEL_UNREACHABLE', said: { codex: /stream disconnected before completion/, claude: /Connection to the API was lost/ }, hint: { codex: /network/, claude: /network/ } },
] as const;

describe.each(['codex', 'claude'] as const)('a model API failure with %s', (harness) => {
  for (const failure of CASES) {
    it(`${failure.prompt} fails the run as ${failure.code}, with the CLI's message and a hint that fits, in the CLI and the store`, async () => {
      const machine = await world.machine(`${harness}-${failure.code}`);
      const result = await world.baton(machine, ['run', '--harness', harness, failure.prompt]);
      expect(result.code).toBe(1);
      const [errorLine, hintLine] = result.stderr.trim().split('\n').filter((line) => line.startsWith('error: ') || line.startsWith('hint: '));
      expect(errorLine).toMatch(new RegExp(`^error: run failed \\(${failure.code}\\): `));
      expect(errorLine).toMatch(failure.said[harness]);
      expect(hintLine).toMatch(failure.hint[harness]);
      const conversationId = result.stdout.trim();
      // The hint says resume only when a session was saved to resume: then the conversation has a session id.
      const shown = JSON.parse((await world.baton(machine, ['show', '--json', conversationId])).stdout);
      const run = shown.runs?.[0] ?? shown.conversation?.runs?.[0];
      expect(run?.errorCode ?? run?.failure?.code).toBe(failure.code);
      if (hintLine!.includes('baton resume')) expect(shown.sessionId ?? shown.conversation?.sessionId).toBeTruthy();
    });
  }

  it('--json names the code too', async () => {
    const machine = await world.machine(`${harness}-json`);
    const json = runJson(await world.baton(machine, ['run', '--harness', harness, '--json', 'FAIL 401']));
    expect(json).toMatchObject({ status: 'failed', errorCode: 'CLI_AUTH_FAILED' });
  });

  it('a model that never answers: the run ends STALLED after the stall timeout, its transcript saved', async () => {
    const machine = await world.machine(`${harness}-stall`);
    const started = Date.now();
    const result = await world.baton(machine, ['run', '--harness', harness, '--stall-timeout', '2s', 'HANG please']);
    const took = Date.now() - started;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: run failed \(STALLED\): .*printed nothing and its transcript did not grow for 2s/m);
    expect(took).toBeLessThan(20_000);
    const conversationId = result.stdout.trim();
    const shown = await world.baton(machine, ['show', conversationId]);
    expect(shown.stdout).toContain('HANG please');
  });

  it('--max-run-time caps a run that would wait for ever (no stall timeout): RUN_TIME_EXCEEDED', async () => {
    const machine = await world.machine(`${harness}-cap`);
    const result = await world.baton(machine, ['run', '--harness', harness, '--stall-timeout', '0', '--max-run-time', '2s', 'HANG for ever']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: run failed \(RUN_TIME_EXCEEDED\): the run reached its time limit of 2s \(--max-run-time\)/m);
    expect(result.stderr).toMatch(/^hint: .*--max-run-time/m);
  });
});
