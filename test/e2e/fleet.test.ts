/**
 * The fleet end to end: real PostgreSQL, the real `baton serve`, two real `baton worker` processes (separate
 * data directories, hence separate homes and working directories) running the real Codex and Claude Code
 * against the scripted model server. What the model was sent proves each follow-up resumed the conversation.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, fleetScript, killProcessesUnder, type Fleet, type Worker } from './fleet-world.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { waitFor } from './world.js';
import { HARNESS_IDS } from '../../src/harness/ids.js';
import { isFinishedRunStatus } from '../../src/model/run-status.js';

const script = fleetScript;


let fleet: Fleet;
let token: string;
const workers = new Map<string, Worker>();

async function startWorker(name: string): Promise<Worker> {
  const worker = await fleet.startWorker(name, ['--drain-seconds', '1']);
  workers.set(name, worker);
  return worker;
}

async function stopWorker(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const worker = workers.get(name)!;
  worker.child.kill(signal);
  const exit = await worker.exited;
  if (process.env.BATON_FLEET_LOGS) console.log(`--- ${name} (stopped with ${signal})\n${worker.log()}`);
  workers.delete(name);
  return exit;
}

const otherWorker = (name: string): string => (name === 'worker-a' ? 'worker-b' : 'worker-a');

async function post(path: string, body: unknown): Promise<{ conversationId: string; runId: string }> {
  const response = await fleet.api(token, 'POST', path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body;
}

const finished = (runId: string, timeoutMs?: number): Promise<any> => fleet.waitForRun(token, runId, (run) => isFinishedRunStatus(run.status), `run ${runId} to finish`, timeoutMs);

interface ReceivedEvent {
  event: string | undefined;
  id: string | undefined;
  data: any;
  receivedAt: number;
}

/** Reads a run's SSE stream to its end, noting when each event arrived. */
async function readEvents(runId: string, lastEventId?: string): Promise<ReceivedEvent[]> {
  const response = await fetch(`${fleet.serverUrl}/v1/runs/${runId}/events`, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const received: ReceivedEvent[] = [];
  const parser = createParser({ onEvent: (message) => received.push({ event: message.event, id: message.id, data: JSON.parse(message.data), receivedAt: Date.now() }) });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
  return received;
}

const requestWith = (prompt: string) => waitFor(() => fleet.turns().find((turn) => lastUserText(turn) === prompt), `a model request for "${prompt}"`);

beforeAll(async () => {
  fleet = await createFleet({ script });
  token = await fleet.token('acme');
  await Promise.all([startWorker('worker-a'), startWorker('worker-b')]);
}, 180_000);

afterAll(async () => {
  if (process.env.BATON_FLEET_LOGS) for (const worker of workers.values()) console.log(`--- ${worker.name}\n${worker.log()}`);
  await fleet?.cleanup();
}, 60_000);

describe('a fleet of two workers', () => {
  const conversations: Record<string, string> = {};

  it.each(HARNESS_IDS)('%s: a follow-up forced onto the other worker resumes with every earlier turn', async (harness) => {
    const first = await post('/v1/conversations', { harness, prompt: `RUN echo first-${harness}` });
    conversations[harness] = first.conversationId;
    const firstRun = await finished(first.runId);
    expect(firstRun, JSON.stringify(firstRun)).toMatchObject({ status: 'succeeded', kind: 'new', sequence: 1 });
    expect(workers.has(firstRun.host)).toBe(true);

    const before = await fetch(`${fleet.serverUrl}/v1/conversations/${first.conversationId}/transcript/raw`, { headers: { authorization: `Bearer ${token}` } });
    const etag = before.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const unchanged = await fetch(`${fleet.serverUrl}/v1/conversations/${first.conversationId}/transcript/raw`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': etag } });
    expect(unchanged.status).toBe(304);

    // Stop the worker that ran it: the follow-up can only land on the other one.
    expect((await stopWorker(firstRun.host)).code).toBe(0);
    const prompt = `what did the first command print? (${harness})`;
    const followup = await post(`/v1/conversations/${first.conversationId}/followups`, { prompt });
    const followupRun = await finished(followup.runId);
    expect(followupRun).toMatchObject({ status: 'succeeded', kind: 'resume', sequence: 2, host: otherWorker(firstRun.host) });

    const turns = conversationOf(await requestWith(prompt));
    expect(turns).toContainEqual({ kind: 'user', text: `RUN echo first-${harness}` });
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining(`first-${harness}`) });
    expect(turns).toContainEqual({ kind: 'assistant', text: expect.stringContaining(`first-${harness}`) });

    const detail = await fleet.api(token, 'GET', `/v1/conversations/${first.conversationId}`);
    expect(detail.body).toMatchObject({ status: 'idle', harness, runs: [{ host: firstRun.host }, { host: otherWorker(firstRun.host) }] });
    const transcript = await fleet.api(token, 'GET', `/v1/conversations/${first.conversationId}/transcript`);
    expect(transcript.body.items.filter((item: any) => item.kind === 'user').map((item: any) => item.text)).toEqual([`RUN echo first-${harness}`, prompt]);
    const raw = await fleet.api(token, 'GET', `/v1/conversations/${first.conversationId}/transcript/raw`);
    expect(raw.status).toBe(200); // the transcript grew: the old ETag no longer matches
    const stale = await fetch(`${fleet.serverUrl}/v1/conversations/${first.conversationId}/transcript/raw`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': etag } });
    expect(stale.status).toBe(200);
    expect(raw.body).toMatchObject({ harness, sessionId: detail.body.sessionId });
    expect(raw.body.files.find((file: any) => file.key === 'main').content).toContain(prompt);

    await startWorker(firstRun.host);
  }, 180_000);

  it("streams a run's events live over SSE, and resumes the stream after Last-Event-ID", async () => {
    const { runId } = await post(`/v1/conversations/${conversations.codex}/followups`, { prompt: 'RUN echo live-PAUSE' });
    const events = await readEvents(runId);
    const end = events.at(-1)!;
    expect(end.event).toBe('end');
    expect(end.data).toMatchObject({ id: runId, status: 'succeeded' });
    const command = events.find((event) => event.event === 'run-event' && event.data.type === 'command.completed' && String(event.data.output).includes('live-PAUSE'));
    expect(command, JSON.stringify(events.map((event) => event.data.type ?? event.event))).toBeDefined();
    // The model holds its answer 4 s after the command: the command's event arrived while the run went on.
    expect(end.receivedAt - command!.receivedAt).toBeGreaterThan(2_500);
    expect(events.some((event) => event.event === 'status' && event.data.status === 'running')).toBe(true);

    const ids = events.filter((event) => event.event === 'run-event').map((event) => Number(event.id));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    const resumed = await readEvents(runId, String(ids[2]));
    expect(resumed.filter((event) => event.event === 'run-event').map((event) => Number(event.id))).toEqual(ids.slice(3));
    expect(resumed.at(-1)).toMatchObject({ event: 'end', data: { status: 'succeeded' } });
  }, 120_000);

  it('queues a second follow-up posted while the first runs, and runs it after the first', async () => {
    const id = conversations.codex!;
    const first = await post(`/v1/conversations/${id}/followups`, { prompt: 'PAUSE then answer' });
    const second = await post(`/v1/conversations/${id}/followups`, { prompt: 'and the second one' });
    await fleet.waitForRun(token, first.runId, (run) => run.status === 'running', 'the first follow-up to run');
    // Both workers are idle, yet the second waits: one conversation never runs on two workers at once.
    expect((await fleet.api(token, 'GET', `/v1/runs/${second.runId}`)).body.status).toBe('queued');
    expect((await fleet.api(token, 'GET', `/v1/conversations/${id}`)).body.status).toBe('running');
    const [firstRun, secondRun] = [await finished(first.runId), await finished(second.runId)];
    expect([firstRun.status, secondRun.status]).toEqual(['succeeded', 'succeeded']);
    expect(Date.parse(secondRun.startedAt)).toBeGreaterThanOrEqual(Date.parse(firstRun.endedAt));
    expect(secondRun.sequence).toBe(firstRun.sequence + 1);
    expect(conversationOf(await requestWith('and the second one'))).toContainEqual({ kind: 'assistant', text: 'ACK PAUSE then answer' });
  }, 120_000);

  it('a worker killed with SIGKILL mid-run: the run fails once its lease expires, and the next follow-up resumes from the last save on the other worker', async () => {
    const id = conversations.claude!;
    const { runId } = await post(`/v1/conversations/${id}/followups`, { prompt: 'RUN echo SLOW-before-the-crash' });
    // The command ran and a periodic save stored it; the model now holds its reply for a minute.
    await waitFor(async () => {
      const { body } = await fleet.api(token, 'GET', `/v1/conversations/${id}/transcript`);
      return body.items.some((item: any) => String(item.output ?? '').includes('SLOW-before-the-crash')) || undefined;
    }, 'the command output to be saved', 60_000);
    const victim = (await fleet.api(token, 'GET', `/v1/runs/${runId}`)).body.host as string;
    const victimDir = workers.get(victim)!.dataDir;
    expect((await stopWorker(victim, 'SIGKILL')).signal).toBe('SIGKILL');
    await killProcessesUnder(victimDir); // the machine is gone: so is its CLI

    const failed = await finished(runId, 60_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/lease expired/);

    const prompt = 'what did the command print before the crash?';
    const next = await post(`/v1/conversations/${id}/followups`, { prompt });
    const nextRun = await finished(next.runId);
    expect(nextRun).toMatchObject({ status: 'succeeded', host: otherWorker(victim) });
    expect(conversationOf(await requestWith(prompt))).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('SLOW-before-the-crash') });
    await startWorker(victim);
  }, 180_000);

  it('a worker stopped with SIGTERM mid-run hands the run back, and the other worker continues it', async () => {
    const id = conversations.codex!;
    const { runId } = await post(`/v1/conversations/${id}/followups`, { prompt: 'SLOW work to hand over' });
    const running = await fleet.waitForRun(token, runId, (run) => run.status === 'running', 'the run to start');
    await requestWith('SLOW work to hand over'); // the CLI has sent the prompt: it is in the transcript
    const exit = await stopWorker(running.host);
    expect(exit.code).toBe(0);

    const done = await finished(runId);
    expect(done).toMatchObject({ status: 'succeeded', handoffs: 1, host: otherWorker(running.host), prompt: 'SLOW work to hand over' });
    const continued = await waitFor(() => fleet.turns().find((turn) => lastUserText(turn)?.startsWith('[baton]')), 'the continuation request');
    expect(lastUserText(continued)).toContain('SLOW work to hand over');
    const events = (await readEvents(runId)).filter((event) => event.event === 'run-event');
    expect(events.some((event) => event.data.type === 'error' && /handed back/.test(event.data.message))).toBe(true);
    await startWorker(running.host);
  }, 180_000);
});

describe('a worker with --runs 2', () => {
  it('runs two conversations at once, each in its own home and working directory', async () => {
    for (const name of [...workers.keys()]) await stopWorker(name);
    const worker = await fleet.startWorker('worker-c', ['--runs', '2']);
    workers.set('worker-c', worker);
    const [one, two] = [await post('/v1/conversations', { harness: 'codex', prompt: 'PAUSE one' }), await post('/v1/conversations', { harness: 'codex', prompt: 'PAUSE two' })];
    await waitFor(async () => {
      const runs = await Promise.all([one, two].map(async ({ runId }) => (await fleet.api(token, 'GET', `/v1/runs/${runId}`)).body));
      return runs.every((run) => run.status === 'running' && run.host === 'worker-c') || undefined;
    }, 'both runs to be running on worker-c at once', 60_000);
    const places = join(worker.dataDir, 'runs');
    expect((await readdir(places)).sort()).toEqual([one.runId, two.runId].sort());
    for (const runId of [one.runId, two.runId]) expect((await readdir(join(places, runId))).sort()).toEqual(['home', 'work']);
    const [first, second] = [await finished(one.runId), await finished(two.runId)];
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    // They overlapped in time: neither waited for the other.
    expect(Date.parse(second.startedAt)).toBeLessThan(Date.parse(first.endedAt));
    expect(Date.parse(first.startedAt)).toBeLessThan(Date.parse(second.endedAt));
    await waitFor(async () => (await readdir(places)).length === 0 || undefined, 'both run places to be removed once their runs ended');
    await stopWorker('worker-c');
    await Promise.all([startWorker('worker-a'), startWorker('worker-b')]);
  }, 120_000);
});

describe('the CLI against the server (--server, BATON_TOKEN)', () => {
  it('runs, resumes, lists and shows a conversation, streaming the events live', async () => {
    const env = { BATON_SERVER: fleet.serverUrl, BATON_TOKEN: token };
    const run = await fleet.baton(['run', '--harness', 'codex', '--json', 'RUN echo via-the-cli'], env);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim());
    expect(result).toMatchObject({ harness: 'codex', status: 'succeeded', exitCode: 0 });
    expect(run.stderr).toMatch(/\$ .*echo via-the-cli'?\n    via-the-cli/);

    const resumed = await fleet.baton(['resume', '--server', fleet.serverUrl, result.conversationId, 'and again'], { BATON_TOKEN: token });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.trim()).toBe(result.conversationId);
    expect(resumed.stderr).toContain('ACK and again');

    const listed = await fleet.baton(['ls'], env);
    expect(listed.stdout).toMatch(new RegExp(`${result.conversationId}\\s+codex\\s+idle\\s+2 runs`));
    const shown = await fleet.baton(['show', result.conversationId], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('$ echo via-the-cli');
    expect(shown.stdout).toMatch(/── run 2 · resume · succeeded \(exit 0\) · worker-[ab] · /);
  }, 120_000);

  it('says what is wrong with the token or the server, in one line with a hint', async () => {
    const noToken = await fleet.baton(['ls', '--server', fleet.serverUrl], { BATON_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^error: .*BATON_TOKEN is not set\nhint: /);
    const badToken = await fleet.baton(['ls', '--server', fleet.serverUrl], { BATON_TOKEN: 'baton_not-a-real-token' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/^error: the server refused the token/);
    const unknown = await fleet.baton(['show', '--server', fleet.serverUrl, 'c_nope'], { BATON_TOKEN: token });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: no conversation c_nope\nhint: /);
  }, 60_000);

  it('removes a conversation with baton rm --server, refusing while a run is active', async () => {
    const env = { BATON_SERVER: fleet.serverUrl, BATON_TOKEN: token };
    const { conversationId, runId } = await post('/v1/conversations', { harness: 'codex', prompt: 'PAUSE before rm' });
    await fleet.waitForRun(token, runId, (run) => run.status === 'running', 'the run to start');
    const busy = await fleet.baton(['rm', conversationId], env);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toBe(`error: cannot remove conversation ${conversationId} while a run (${runId}) is active\nhint: wait for the run to finish (or interrupt it), then run \`baton rm ${conversationId}\` again\n`);
    expect((await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`)).status).toBe(200);

    expect((await finished(runId)).status).toBe('succeeded');
    const other = await fleet.token('rm-other');
    const notTheirs = await fleet.baton(['rm', conversationId], { ...env, BATON_TOKEN: other });
    expect(notTheirs.code).toBe(1);
    expect(notTheirs.stderr).toBe(`error: no conversation ${conversationId}\nhint: list conversations with \`baton ls --server ${fleet.serverUrl}\`\n`);

    const removed = await fleet.baton(['rm', '--server', fleet.serverUrl, conversationId], { BATON_TOKEN: token });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`removed conversation ${conversationId} (codex, 1 run, its transcript and workspace snapshots): "PAUSE before rm"\n`);
    expect((await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`)).status).toBe(404);
    expect((await fleet.api(token, 'GET', `/v1/runs/${runId}`)).status).toBe(404);
    const again = await fleet.baton(['rm', conversationId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: no conversation .+\nhint: list conversations with `baton ls --server /);
  }, 120_000);
});

describe('the API: auth, tenants and bad input', () => {
  it('needs a valid bearer token on every route but /healthz and /openapi.json', async () => {
    expect((await fetch(`${fleet.serverUrl}/healthz`)).status).toBe(200);
    const document = (await (await fetch(`${fleet.serverUrl}/openapi.json`)).json()) as any;
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/conversations', '/v1/conversations/{id}/followups', '/v1/runs/{id}/events']));
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

    const anonymous = await fetch(`${fleet.serverUrl}/v1/conversations`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anonymous.json()).toMatchObject({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    expect((await fleet.api('baton_wrong', 'GET', '/v1/conversations')).status).toBe(401);
  });

  it("hides one tenant's conversations and runs from another (404, never 403)", async () => {
    const other = await fleet.token('globex');
    const id = Object.values((await fleet.api(token, 'GET', '/v1/conversations')).body.conversations as any[])[0].id as string;
    const runId = (await fleet.api(token, 'GET', `/v1/conversations/${id}`)).body.runs[0].id as string;
    for (const [method, path, body] of [
      ['GET', `/v1/conversations/${id}`],
      ['GET', `/v1/conversations/${id}/transcript`],
      ['GET', `/v1/conversations/${id}/transcript/raw`],
      ['POST', `/v1/conversations/${id}/followups`, { prompt: 'hello' }],
      ['DELETE', `/v1/conversations/${id}`],
      ['GET', `/v1/runs/${runId}`],
      ['GET', `/v1/runs/${runId}/events`],
    ] as const) {
      const response = await fleet.api(other, method, path, body);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body.error.code).toMatch(/NOT_FOUND/);
    }
    expect((await fleet.api(other, 'GET', '/v1/conversations')).body.conversations).toEqual([]);
    expect((await fleet.api(token, 'GET', `/v1/conversations/${id}`)).status).toBe(200);
  });

  it("answers another tenant's export and delete of a conversation with 404, as for one that does not exist, and leaves it whole", async () => {
    const { conversationId, runId } = await post('/v1/conversations', { harness: 'codex', prompt: 'RUN echo owned-by-acme' });
    expect((await finished(runId)).status).toBe('succeeded');
    const exported = async (as: string) => {
      const response = await fleet.api(as, 'GET', `/v1/conversations/${conversationId}/export`);
      expect(response.status).toBe(200);
      const { exportedAt: _, ...file } = response.body;
      return file;
    };
    const before = await exported(token);
    expect(before.conversation.id).toBe(conversationId);
    expect(before.runs).toHaveLength(1);
    expect(JSON.stringify(before.transcript)).toContain('owned-by-acme');
    const transcriptBefore = (await fleet.api(token, 'GET', `/v1/conversations/${conversationId}/transcript`)).body;

    const other = await fleet.token('initech');
    for (const method of ['GET', 'DELETE'] as const) {
      const path = (id: string) => `/v1/conversations/${id}${method === 'GET' ? '/export' : ''}`;
      const theirs = await fleet.api(other, method, path(conversationId));
      const missing = await fleet.api(other, method, path('c_doesnotexist'));
      expect([theirs.status, missing.status], `${method} ${path(conversationId)}`).toEqual([404, 404]);
      // Word for word the answer for an id that does not exist: nothing tells that this one does.
      expect(JSON.stringify(theirs.body).replaceAll(conversationId, 'ID')).toBe(JSON.stringify(missing.body).replaceAll('c_doesnotexist', 'ID'));
      expect(theirs.body.error.code).toBe('CONVERSATION_NOT_FOUND');
      expect(JSON.stringify(theirs.body)).not.toContain('owned-by-acme');
    }

    // The owner's conversation is untouched: the same export, its run and its transcript.
    expect(await exported(token)).toEqual(before);
    const detail = await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`);
    expect(detail.body).toMatchObject({ status: 'idle', runs: [{ id: runId, status: 'succeeded' }] });
    expect((await fleet.api(token, 'GET', `/v1/conversations/${conversationId}/transcript`)).body).toEqual(transcriptBefore);
    expect(transcriptBefore.items.some((item: any) => String(item.output ?? '').includes('owned-by-acme'))).toBe(true);
  }, 120_000);

  it('answers bad input with a 4xx JSON error and no stack trace', async () => {
    const cases: Array<[unknown, number, string]> = [
      ['{"harness": "codex", "prompt": ', 400, 'BAD_REQUEST'],
      [{ harness: 'cursor', prompt: 'hi' }, 422, 'INVALID_REQUEST'],
      [{ harness: 'codex' }, 422, 'INVALID_REQUEST'],
      [{ harness: 'codex', prompt: 'hi', extra: 1 }, 422, 'INVALID_REQUEST'],
      [{ harness: 'codex', prompt: 'x'.repeat(300_000) }, 413, 'PROMPT_TOO_LARGE'],
      [{ harness: 'codex', prompt: 'x'.repeat(3_000_000) }, 413, 'BODY_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const response = await fleet.api(token, 'POST', '/v1/conversations', body);
      expect(response.status, JSON.stringify(response.body).slice(0, 200)).toBe(status);
      expect(response.body.error.code).toBe(code);
      expect(JSON.stringify(response.body)).not.toMatch(/\bat .*\.(ts|js|mjs):\d+/);
    }
    expect((await fleet.api(token, 'GET', '/v1/conversations?status=sleeping')).status).toBe(422);
    expect((await fleet.api(token, 'GET', '/v1/runs/r_missing')).status).toBe(404);
  });

  it('deletes an idle conversation, and refuses while a run is active', async () => {
    const { conversationId, runId } = await post('/v1/conversations', { harness: 'codex', prompt: 'PAUSE before deleting' });
    await fleet.waitForRun(token, runId, (run) => run.status === 'running', 'the run to start');
    expect((await fleet.api(token, 'DELETE', `/v1/conversations/${conversationId}`)).status).toBe(409);
    await finished(runId);
    expect((await fleet.api(token, 'DELETE', `/v1/conversations/${conversationId}`)).status).toBe(204);
    expect((await fleet.api(token, 'GET', `/v1/conversations/${conversationId}`)).status).toBe(404);
  }, 60_000);
});
