/**
 * Failed runs as `baton serve` shows them: a terminal's run that the model API refused carries its code, the
 * CLI's message and a hint in the API (`failure`), and a run whose model never answers is stopped by its own
 * stall timeout (stallTimeoutSeconds) on the in-process worker: STALLED, its transcript saved, and the worker's one
 * slot free for the next run.
 */
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/testing/machine.js';
import { withFailures } from './failing-script.js';
import { fleetScript } from './fleet-world.js';
import { api, useSignedInLocalServe, type LocalServe } from './local-serve.js';
import { waitFor, type World } from './world.js';

let world: World;
let laptop: Machine;
let serve: LocalServe;
let token: string;

useSignedInLocalServe(withFailures(fleetScript), (setup) => ({ world, laptop, serve, token } = setup));

const terminal = (args: string[]) => world.baton(laptop, args, { store: `${laptop.home}/.baton/baton.db` });

async function finishedRun(runId: string): Promise<any> {
  return waitFor(async () => {
    const { body } = await api(serve, token, 'GET', `/v1/runs/${runId}`);
    return ['succeeded', 'failed', 'interrupted'].includes(body.status) ? body : undefined;
  }, `run ${runId} to end`, 60_000);
}

describe('failed runs in the API', () => {
  it.each([
    ['codex', 'FAIL 401', 'CLI_AUTH_FAILED', /401 Unauthorized: Incorrect API key provided/, /codex login/],
    ['claude', 'FAIL 429', 'MODEL_RATE_LIMITED', /Request rejected \(429\)/, /rate limit/],
    ['codex', 'FAIL DISCONNECT', 'MODEL_UNREACHABLE', /stream disconnected before completion/, /network/],
  ] as const)('%s %s: the run\'s failure is %s, with the CLI\'s message and a hint', async (harness, prompt, code, said, hint) => {
    const result = await terminal(['run', '--harness', harness, prompt]);
    expect(result.code).toBe(1);
    const conversationId = result.stdout.trim();
    const { status, body } = await api(serve, token, 'GET', `/v1/conversations/${conversationId}`);
    expect(status).toBe(200);
    const [run] = body.runs;
    expect(run).toMatchObject({ status: 'failed', errorCode: code, failure: { code } });
    expect(run.failure.message).toMatch(said);
    expect(run.failure.hint).toMatch(hint);
    // The same failure, as GET /v1/runs/{id} gives it.
    expect((await api(serve, token, 'GET', `/v1/runs/${run.id}`)).body.failure).toEqual(run.failure);
  });

  it('a run whose model never answers is STALLED after its stall timeout, its transcript saved, and the worker runs the next run', async () => {
    const started = Date.now();
    const queued = await api(serve, token, 'POST', '/v1/conversations', { harness: 'codex', prompt: 'HANG on the worker', stallTimeoutSeconds: 2 });
    expect(queued.status).toBe(202);
    const run = await finishedRun(queued.body.runId);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'STALLED', failure: { code: 'STALLED' }, limits: { stallTimeoutSeconds: 2 } });
    expect(run.limits.maxRunTimeSeconds).toBeUndefined();
    expect(run.failure.message).toMatch(/printed nothing and its transcript did not grow for 2s/);
    expect(run.failure.hint).toMatch(/--stall-timeout/);
    expect(Date.now() - started).toBeLessThan(30_000);
    // What the CLI wrote before it went silent was saved: the prompt is in the transcript.
    const transcript = await api(serve, token, 'GET', `/v1/conversations/${queued.body.conversationId}/transcript`);
    expect(JSON.stringify(transcript.body.items)).toContain('HANG on the worker');
    // The worker runs one run at a time (--runs 1): the next one runs, so the stalled run freed its slot.
    const next = await api(serve, token, 'POST', '/v1/conversations', { harness: 'codex', prompt: 'hello after the stall' });
    expect(await finishedRun(next.body.runId)).toMatchObject({ status: 'succeeded', failure: null, limits: null });
  });

  it('refuses a stall timeout that is not a whole number of seconds', async () => {
    const refused = await api(serve, token, 'POST', '/v1/conversations', { harness: 'codex', prompt: 'x', stallTimeoutSeconds: 'soon' });
    expect(refused.status).toBe(422);
  });
});
