/**
 * `POST /v1/conversations/{id}/forks` end to end: real PostgreSQL, the real `baton serve` and a real worker
 * running the real Codex against the scripted model. A four-turn conversation forked after turn 2 with a prompt
 * queues the fork's follow-up, which resumes with turns 1–2 only; the route is tenant-scoped and names bad
 * requests (422) the way the other conversation routes do.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isFinishedRunStatus } from '../../src/model/run-status.js';
import { createFleet, fleetScript, type Fleet } from './fleet-world.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { waitFor } from './world.js';

let fleet: Fleet;
let token: string;
let conversationId: string;
const runIds: string[] = [];
const PROMPTS = [1, 2, 3, 4].map((n) => `RUN echo fleet-turn-${n}`);

const finished = (runId: string): Promise<any> => fleet.waitForRun(token, runId, (run) => isFinishedRunStatus(run.status), `run ${runId} to finish`, 120_000);
const requestWith = (prompt: string) => waitFor(() => fleet.turns().find((turn) => lastUserText(turn) === prompt), `a model request for "${prompt}"`, 60_000);

beforeAll(async () => {
  fleet = await createFleet({ script: fleetScript });
  token = await fleet.token('acme');
  await fleet.startWorker('worker-a', ['--drain-seconds', '1']);
  const created = await fleet.api(token, 'POST', '/v1/conversations', { harness: 'codex', prompt: PROMPTS[0] });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  conversationId = created.body.conversationId;
  runIds.push(created.body.runId);
  expect((await finished(created.body.runId)).status).toBe('succeeded');
  for (const prompt of PROMPTS.slice(1)) {
    const followup = await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/followups`, { prompt });
    runIds.push(followup.body.runId);
    expect((await finished(followup.body.runId)).status).toBe('succeeded');
  }
}, 300_000);

afterAll(async () => {
  await fleet?.cleanup();
}, 60_000);

it('forks after turn 2 with a prompt: 201 with the fork, whose queued follow-up resumes with turns 1–2 only', async () => {
  const response = await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/forks`, { turn: 2, prompt: 'after the fleet fork' });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  const { conversation, runId } = response.body;
  expect(response.body).toMatchObject({ turn: 2, turns: 4 });
  // The newest snapshot up to turn 2's run (a run that changed no file stores none: the same fingerprint).
  expect(runIds.slice(0, 2)).toContain(response.body.workspaceRunId);
  expect(conversation).toMatchObject({ harness: 'codex', forkedFrom: { conversationId, runId: runIds[1], turn: 2 } });
  expect(typeof runId).toBe('string');
  expect((await finished(runId)).status).toBe('succeeded');
  const users = conversationOf(await requestWith('after the fleet fork')).filter((turn) => turn.kind === 'user').map((turn) => turn.text);
  expect(users.filter((text) => PROMPTS.includes(text))).toEqual(PROMPTS.slice(0, 2));
  const original = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`);
  expect(original.body.runs).toHaveLength(4);
  const detail = await fleet.api(token, 'GET', `/v1/conversations/${conversation.id}`);
  expect(detail.body.sessionId).not.toBe(original.body.sessionId);
  const transcript = await fleet.api(token, 'GET', `/v1/conversations/${conversation.id}/transcript`);
  expect(transcript.body.items.filter((item: any) => item.kind === 'user').map((item: any) => item.text)).toEqual([...PROMPTS.slice(0, 2), 'after the fleet fork']);
}, 180_000);

it('forks at the end of a run without a prompt: no run is queued', async () => {
  const response = await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/forks`, { runId: runIds[2] });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body).toMatchObject({ turn: 3, turns: 4, runId: null, conversation: { status: 'idle', forkedFrom: { runId: runIds[2], turn: 3 } } });
});

it('refuses a turn out of range, both turn and runId, and a run of another conversation (422); another tenant gets 404', async () => {
  const outOfRange = await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/forks`, { turn: 9 });
  expect(outOfRange.status).toBe(422);
  expect(outOfRange.body.error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('the conversation has 4 turns') });
  expect((await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/forks`, { turn: 0 })).status).toBe(422);
  const both = await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/forks`, { turn: 1, runId: runIds[0] });
  expect(both.status).toBe(422);
  expect((await fleet.api(token, 'POST', `/v1/conversations/${conversationId}/forks`, { runId: 'r_not_a_run' })).status).toBe(422);
  const other = await fleet.token('globex');
  const foreign = await fleet.api(other, 'POST', `/v1/conversations/${conversationId}/forks`, { turn: 1 });
  expect(foreign.status).toBe(404);
  expect(foreign.body.error.code).toBe('CONVERSATION_NOT_FOUND');
});

it('`baton fork --server` forks through the route and prints the same JSON', async () => {
  const result = await fleet.baton(['fork', '--server', fleet.serverUrl, conversationId, '--turn', '1', '--json'], { BATON_TOKEN: token });
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ turn: 1, turns: 4, runId: null, conversation: { forkedFrom: { conversationId, turn: 1 } } });
  const plain = await fleet.baton(['fork', '--server', fleet.serverUrl, conversationId, '--turn', '9'], { BATON_TOKEN: token });
  expect(plain.code).not.toBe(0);
  expect(plain.stderr).toMatch(/turn 9 is out of range: the conversation has 4 turns/);
});

it('is declared in the OpenAPI document', async () => {
  const document = (await (await fetch(`${fleet.serverUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  expect(Object.keys(document.paths['/v1/conversations/{id}/forks'] ?? {})).toEqual(['post']);
});
