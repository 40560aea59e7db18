/**
 * Zero-setup `baton serve` on the embedded store, with the real CLIs against the scripted model: a HOME and
 * nothing else. The server prints a one-time sign-in URL; the browser's session sees the conversations a
 * terminal's `baton run` makes, live; the API's runs run on the in-process worker, in fresh homes, and resume
 * what the terminal started.
 */
import { readdir, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { StreamedEvent } from '../../src/server/run-events-client.js';
import { followRunEvents } from '../../src/server/run-events-client.js';
import type { Machine } from '../../src/testing/machine.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { fleetScript } from './fleet-world.js';
import { api, redeem, startLocalServe, useSignedInLocalServe, USER_OPENAI_KEY, type LocalServe } from './local-serve.js';
import { waitFor, type World } from './world.js';

let world: World;
let laptop: Machine;
let serve: LocalServe;
let token: string;

useSignedInLocalServe(fleetScript, (setup) => ({ world, laptop, serve, token } = setup));

/** The status of a request that names `host` in its Host header (fetch does not let a caller set it). */
function statusWithHost(url: string, host: string, headers: Record<string, string>, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers: { ...headers, host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

/** Live processes with `argument` among their argv (an agent CLI started with that prompt). */
async function processesWithArgument(argument: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.split('\0').includes(argument)) pids.push(Number(entry));
  }
  return pids;
}

/** `baton …` in the laptop's terminal, on the store `baton serve` serves (~/.baton, no --store). */
function terminal(args: string[]) {
  return world.start(laptop, args, { store: `${laptop.home}/.baton/baton.db` });
}

describe('baton serve with no setup', () => {
  it('listens on 127.0.0.1 and prints a sign-in URL whose code works once; nothing else gets in', async () => {
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(serve.signInUrl.startsWith(`${serve.url}/#sign-in=`)).toBe(true);
    expect(serve.log()).toContain(`store ${laptop.home}/.baton/baton.db`);

    const again = await redeem(serve, serve.signInUrl);
    expect([again.status, again.body.error.code]).toEqual([401, 'SIGN_IN_INVALID']);
    // After each use the next browser's URL is printed, and it works (once).
    const next = await waitFor(() => [...serve.log().matchAll(/the next one can at (http:\/\/\S+)/g)].at(-1)?.[1], 'the next sign-in URL');
    expect(next).not.toBe(serve.signInUrl);
    const second = await redeem(serve, next);
    expect(second.status).toBe(200);
    expect(second.body.token).not.toBe(token);

    expect((await api(serve, undefined, 'GET', '/v1/conversations')).status).toBe(401);
    expect((await api(serve, 'baton_local_made-up', 'GET', '/v1/conversations')).status).toBe(401);
    // A page that rebinds its own name to 127.0.0.1 sends that name: refused before any route.
    expect(await statusWithHost(`${serve.url}/v1/conversations`, 'attacker.example:80', { authorization: `Bearer ${token}` })).toBe(421);
    expect(await statusWithHost(`${serve.url}/sign-in`, 'attacker.example', {}, 'POST')).toBe(421);
    expect(await statusWithHost(`${serve.url}/v1/conversations`, `localhost:${new URL(serve.url).port}`, { authorization: `Bearer ${token}` })).toBe(200);
  });

  it("shows a terminal's `baton run` live, and the UI's follow-up resumes it on the in-process worker with the terminal's tool output", async () => {
    const running = terminal(['run', '--harness', 'codex', 'RUN echo terminal-said-SLOW-42']);
    // The conversation appears as the terminal runs it (the model holds its reply to SLOW output for a minute).
    const listed = await waitFor(async () => {
      const { body } = await api(serve, token, 'GET', '/v1/conversations');
      return body.conversations.find((conversation: any) => conversation.status === 'running');
    }, 'the terminal conversation to be listed as running', 60_000);
    const detail = (await api(serve, token, 'GET', `/v1/conversations/${listed.id}`)).body;
    expect(detail.runs).toHaveLength(1);
    const events: StreamedEvent[] = [];
    const controller = new AbortController();
    const following = followRunEvents({ url: serve.url, token, runId: detail.runs[0].id, onEvent: (event) => events.push(event), signal: controller.signal });
    // The command's output reaches the stream while the terminal's run is still going.
    await waitFor(() => (JSON.stringify(events).includes('terminal-said-SLOW-42') ? true : undefined), 'the command output on the event stream', 60_000);
    expect((await api(serve, token, 'GET', `/v1/runs/${detail.runs[0].id}`)).body.status).toBe('running');
    running.kill('SIGINT');
    const interrupted = await running.result;
    expect(interrupted.code).toBe(130);
    const ended = await following;
    controller.abort();
    expect(ended).toMatchObject({ status: 'interrupted' });

    const before = world.turns().length;
    const followup = await api(serve, token, 'POST', `/v1/conversations/${listed.id}/followups`, { prompt: 'what did the command print?' });
    expect(followup.status).toBe(202);
    const done = await waitFor(async () => {
      const { body } = await api(serve, token, 'GET', `/v1/runs/${followup.body.runId}`);
      return ['succeeded', 'failed', 'interrupted'].includes(body.status) ? body : undefined;
    }, 'the follow-up to finish', 120_000);
    expect(done.status, serve.log()).toBe('succeeded');
    expect(done.host).not.toBe('');
    const request = world.turns().slice(before).find((turn) => lastUserText(turn) === 'what did the command print?');
    expect(request, 'the follow-up reached the model').toBeDefined();
    // The resumed session carries the terminal's turn, tool output included, and came through the proxy with the user's key.
    expect(conversationOf(request!).filter((turn) => turn.kind === 'tool_output').map((turn) => turn.text).join('\n')).toContain('terminal-said-SLOW-42');
    expect(request!.headers.authorization).toBe(`Bearer ${USER_OPENAI_KEY}`);
    const shown = await terminal(['show', listed.id]).result;
    expect(shown.stdout).toContain('ACK what did the command print?');
  }, 240_000);

  it('runs a conversation started through the API and streams it to its end', async () => {
    const started = await api(serve, token, 'POST', '/v1/conversations', { harness: 'claude', prompt: 'RUN echo from-the-ui-7' });
    expect(started.status).toBe(202);
    const events: StreamedEvent[] = [];
    const ended = await followRunEvents<{ status: string }>({ url: serve.url, token, runId: started.body.runId, onEvent: (event) => events.push(event) });
    expect(ended?.status, serve.log()).toBe('succeeded');
    expect(JSON.stringify(events)).toContain('The command printed: from-the-ui-7');
    // Listed with the terminal's conversations: one store, one owner.
    const shown = await terminal(['ls']).result;
    expect(shown.stdout).toContain(started.body.conversationId);
  }, 180_000);

  it('hands an active run back when stopped, and the next `baton serve` continues it', async () => {
    const machine = await world.machine('laptop-restart');
    const first = await startLocalServe(machine, world.model);
    let second: LocalServe | undefined;
    try {
      const owner = (await redeem(first, first.signInUrl)).body.token;
      // PAUSE: the model holds its answer for 4 s, longer than the server's 2 s drain.
      const started = await api(first, owner, 'POST', '/v1/conversations', { harness: 'codex', prompt: 'PAUSE then answer' });
      expect(started.status).toBe(202);
      await waitFor(async () => ((await api(first, owner, 'GET', `/v1/runs/${started.body.runId}`)).body.status === 'running' ? true : undefined), 'the run to start', 60_000);
      await waitFor(() => (world.turns().some((turn) => lastUserText(turn) === 'PAUSE then answer') ? true : undefined), 'the model request', 60_000);
      const stopped = await first.stop('SIGTERM');
      expect(stopped.code, first.log()).toBe(0);
      expect(first.log()).toContain(`run ${started.body.runId} handed back to the queue`);

      second = await startLocalServe(machine, world.model);
      const token2 = (await redeem(second, second.signInUrl)).body.token;
      const run = await waitFor(async () => {
        const { body } = await api(second!, token2, 'GET', `/v1/runs/${started.body.runId}`);
        return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
      }, 'the handed-back run to finish on the next server', 120_000);
      expect(run.status, second.log()).toBe('succeeded');
      const shown = await world.baton(machine, ['show', started.body.conversationId], { store: `${machine.home}/.baton/baton.db` });
      expect(shown.stdout).toContain('CONTINUED after the handoff');
    } finally {
      await first.stop('SIGKILL');
      await second?.stop('SIGKILL');
    }
  }, 240_000);

  it('killed outright (SIGKILL) mid-run: its agent dies with it, and the next `baton serve` fails the run it left, keeps its save, and runs the follow-up', async () => {
    const machine = await world.machine('laptop-killed');
    const first = await startLocalServe(machine, world.model);
    let second: LocalServe | undefined;
    try {
      const owner = (await redeem(first, first.signInUrl)).body.token;
      // SLOW: the model holds its answer for a minute; the run's periodic save (every 5 s) stores what the CLI wrote.
      const prompt = 'SLOW before the kill';
      const started = await api(first, owner, 'POST', '/v1/conversations', { harness: 'codex', prompt });
      expect(started.status).toBe(202);
      await waitFor(() => (world.turns().some((turn) => lastUserText(turn) === prompt) ? true : undefined), 'the model request', 60_000);
      const store = await openSqliteStore(`${machine.home}/.baton/baton.db`);
      try {
        await waitFor(async () => ((await store.loadTranscript(started.body.conversationId)) ? true : undefined), 'a periodic save', 30_000);
      } finally {
        await store.close();
      }
      expect(await processesWithArgument(prompt)).not.toEqual([]);
      await first.stop('SIGKILL');
      // The agent CLI does not outlive the server that started it (a PID namespace that dies with its parent).
      await waitFor(async () => ((await processesWithArgument(prompt)).length === 0 ? true : undefined), 'the orphaned agent to die', 10_000);

      second = await startLocalServe(machine, world.model);
      const token2 = (await redeem(second, second.signInUrl)).body.token;
      const failed = await waitFor(async () => {
        const { body } = await api(second!, token2, 'GET', `/v1/runs/${started.body.runId}`);
        return body.status === 'failed' ? body : undefined;
      }, 'the abandoned run to be failed once its lease expired', 60_000);
      expect(failed.error).toMatch(/stopped without a final save \(lease expired\)/);
      const followUp = await api(second, token2, 'POST', `/v1/conversations/${started.body.conversationId}/followups`, { prompt: 'RUN echo after-the-kill' });
      expect(followUp.status, JSON.stringify(followUp.body)).toBe(202);
      const ended = await followRunEvents<{ status: string; error: string | null }>({ url: second.url, token: token2, runId: followUp.body.runId, onEvent: () => undefined });
      expect(ended?.status, `${ended?.error}\n${second.log()}`).toBe('succeeded');
      // The follow-up resumed the session from the killed run's last save: the model saw its first prompt.
      const resumed = world.turns().filter((turn) => lastUserText(turn) === 'RUN echo after-the-kill');
      expect(resumed.length).toBeGreaterThan(0);
      expect(JSON.stringify(resumed[0]!.body)).toContain(prompt);
    } finally {
      await first.stop('SIGKILL');
      await second?.stop('SIGKILL');
    }
  }, 240_000);

  it('on any other address than loopback, offers no sign-in and needs tokens, which see only their tenant', async () => {
    const machine = await world.machine('shared-box');
    const open = await startLocalServe(machine, world.model, ['--host', '0.0.0.0']);
    onTestFinished(async () => {
      await open.stop('SIGKILL');
    });
    expect(open.signInUrl).toBe('');
    expect(open.log()).not.toContain('sign-in');
    expect((await fetch(`${open.url}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":"x"}' })).status).toBe(404);
    expect((await api(open, undefined, 'GET', '/v1/conversations')).status).toBe(401);
    const created = await world.baton(machine, ['token', 'create', '--tenant', 'acme'], { store: `${machine.home}/.baton/baton.db` });
    expect(created.code, created.stderr).toBe(0);
    const tenantToken = created.stdout.trim().split('\n').at(-1)!;
    const local = await world.baton(machine, ['run', '--harness', 'codex', 'a local conversation'], { store: `${machine.home}/.baton/baton.db` });
    expect(local.code, local.stderr).toBe(0);
    const listed = await api(open, tenantToken, 'GET', '/v1/conversations');
    expect([listed.status, listed.body.conversations]).toEqual([200, []]);
    await open.stop();
  }, 120_000);
});
