/**
 * `baton adopt … --server URL`: "send my laptop session to the fleet". A session run with the bare `claude` or
 * `codex` on a laptop (two turns, one of them running a command that reads a file of its directory) is adopted into the server's
 * store for the token's tenant, with its workspace (and --sync brings in a later bare turn); a follow-up through the API then runs on a fleet worker, whose
 * model request carries the bare turns and the command's output, and whose workspace holds the laptop's file.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHarness } from '../../src/harness/registry.js';
import { createMachine } from '../../src/testing/machine.js';
import { runBareCli } from './bare-cli.js';
import { createFleet, fleetScript, type Fleet } from './fleet-world.js';
import { conversationOf, lastUserText, type Turn } from './model-requests.js';

describe.each(['claude', 'codex'] as const)('baton adopt --server with the %s harness', (harnessId) => {
  let fleet: Fleet;
  let token: string;
  beforeAll(async () => {
    fleet = await createFleet({ script: fleetScript });
    token = await fleet.token('acme');
    await fleet.startWorker('w1');
  }, 180_000);
  afterAll(async () => {
    await fleet?.cleanup();
  });

  /** The longest conversation of the model requests whose last user text (or tool output) holds `text`. */
  const conversationWith = (text: string): Turn[] =>
    fleet
      .turns()
      .filter((request) => lastUserText(request)?.includes(text) === true)
      .map(conversationOf)
      .reduce((longest, turns) => (turns.length > longest.length ? turns : longest), [] as Turn[]);

  it("adopts a bare laptop session into the server's store, and a follow-up runs on a worker with its turns and files", async () => {
    const laptop = await createMachine(fleet.root, `laptop-${harnessId}`, fleet.model);
    await writeFile(join(laptop.cwd, 'notes.txt'), 'laptop-notes-4711\n');
    const bare = async (prompt: string, resume?: string): Promise<void> => {
      const run = await runBareCli(laptop, harnessId, prompt, resume ? { resume } : {});
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
    };
    await bare('RUN cat notes.txt');
    const harness = getHarness(harnessId);
    const found = await harness.findSession({ home: harness.resolveHome(laptop.env), cwd: laptop.cwd, env: laptop.env }, { latestFor: laptop.cwd });
    expect(found).toBeDefined();
    const sessionId = found!.sessionId;
    await bare('second bare turn', sessionId);

    // The laptop has no store of its own: BATON_TOKEN and --server only.
    const env: NodeJS.ProcessEnv = { ...laptop.env, BATON_TOKEN: token, BATON_STORE: '' };
    delete env.BATON_SERVER;
    const adopt = (args: string[]) => fleet.baton(['adopt', '--latest', '--harness', harnessId, '--cwd', laptop.cwd, '--server', fleet.serverUrl, ...args], env);
    const adopted = await adopt(['--json']);
    expect(adopted.code, adopted.stderr).toBe(0);
    const result = JSON.parse(adopted.stdout.trim()) as { conversationId: string; sessionId: string; outcome: string; workspace: string | null };
    expect(result).toMatchObject({ sessionId, outcome: 'adopted', workspace: laptop.cwd });
    const id = result.conversationId;

    // The server holds it for the token's tenant: adopted, trusted (the tenant's own files), one adopt run.
    const shown = await fleet.api(token, 'GET', `/v1/conversations/${id}`);
    expect(shown.status, JSON.stringify(shown.body)).toBe(200);
    expect(shown.body).toMatchObject({ harness: harnessId, sessionId, activeRunId: null });
    expect(shown.body.runs.map((run: { kind: string; status: string }) => `${run.kind}:${run.status}`)).toEqual(['adopt:succeeded']);
    const stored = await fleet.api(token, 'GET', `/v1/store/conversations/${id}`);
    expect(stored.body).toMatchObject({ tenant: 'acme', trust: 'trusted', adoptedFrom: { harness: harnessId, sessionId, path: found!.location.files[0]!.path } });
    // Another tenant does not see it.
    expect((await fleet.api(await fleet.token('globex'), 'GET', `/v1/conversations/${id}`)).status).toBe(404);

    // Adopting it again is refused, naming the conversation; a sync with nothing new changes nothing.
    const again = await adopt([]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`was adopted as conversation ${id}`);
    const unchanged = await adopt(['--sync', '--json']);
    expect(unchanged.code, unchanged.stderr).toBe(0);
    expect(JSON.parse(unchanged.stdout.trim())).toMatchObject({ conversationId: id, outcome: 'unchanged' });
    // A third bare turn on the laptop, then --sync: the server's conversation gains it as a second adopt run.
    await bare('third bare turn', sessionId);
    const synced = await adopt(['--sync', '--json']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout.trim())).toMatchObject({ conversationId: id, outcome: 'synced' });
    const afterSync = await fleet.api(token, 'GET', `/v1/conversations/${id}`);
    expect(afterSync.body.runs.map((run: { kind: string; status: string }) => `${run.kind}:${run.status}`)).toEqual(['adopt:succeeded', 'adopt:succeeded']);

    // A follow-up through the API runs on the worker: the bare turns and the command's output are in its model
    // request, and the laptop's file is in the worker's workspace (its own command reads it there).
    const followUp = await fleet.api(token, 'POST', `/v1/conversations/${id}/followups`, { prompt: 'RUN cat notes.txt && echo read-on-the-worker' });
    expect(followUp.status, JSON.stringify(followUp.body)).toBe(202);
    const run = await fleet.waitForRun(token, followUp.body.runId, (candidate) => candidate.status !== 'queued' && candidate.status !== 'running', 'the follow-up on the worker');
    expect(run, JSON.stringify(run)).toMatchObject({ kind: 'resume', status: 'succeeded' });
    const turns = conversationWith('RUN cat notes.txt && echo read-on-the-worker');
    const users = turns.filter((turn) => turn.kind === 'user').map((turn) => turn.text);
    expect(users).toEqual(expect.arrayContaining(['RUN cat notes.txt', 'second bare turn', 'third bare turn', 'RUN cat notes.txt && echo read-on-the-worker']));
    expect(turns.some((turn) => turn.kind === 'tool_output' && turn.text.includes('laptop-notes-4711'))).toBe(true);
    // The follow-up's own command, run on the worker, read the laptop's file there.
    expect(turns.some((turn) => turn.kind === 'tool_output' && turn.text.includes('read-on-the-worker') && turn.text.includes('laptop-notes-4711')), JSON.stringify(turns.slice(-3))).toBe(true);
    expect(turns.filter((turn) => turn.kind === 'tool_output' && turn.text.includes('laptop-notes-4711'))).toHaveLength(2);
    // Nothing went to a store on the laptop.
    expect(existsSync(join(laptop.home, '.baton', 'baton.db'))).toBe(false);
  }, 420_000);
});
