/**
 * The command line against a shared PostgreSQL store (BATON_STORE=postgres://…): a conversation started on one
 * machine resumes on another that shares only the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, runJson, type World } from './world.js';
import { startPostgresCluster } from '../helpers/postgres-cluster.js';

let cluster: Awaited<ReturnType<typeof startPostgresCluster>>;
let world: World;
beforeAll(async () => {
  cluster = await startPostgresCluster();
  world = await createWorld();
}, 120_000);
afterAll(async () => {
  await world?.cleanup();
  await cluster?.stop();
});

describe('baton with BATON_STORE=postgres://…', () => {
  it('runs on machine A and resumes on machine B through the shared database', async () => {
    const env = { BATON_STORE: cluster.url };
    const machineA = await world.machine('machine-a');
    const first = await world.baton(machineA, ['run', '--harness', 'codex', '--json', 'RUN echo stored-in-postgres'], { store: cluster.url, env });
    expect(first.code, first.stderr).toBe(0);
    const { conversationId, sessionId } = runJson(first);
    await machineA.destroy();

    const machineB = await world.machine('machine-b');
    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', 'from machine B'], { store: cluster.url, env });
    expect(runJson(resumed)).toMatchObject({ status: 'succeeded', sessionId });
    const request = world.turns().find((turn) => lastUserText(turn) === 'from machine B')!;
    expect(conversationOf(request)).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('stored-in-postgres') });

    const listed = await world.baton(machineB, ['ls'], { store: cluster.url });
    expect(listed.stdout).toContain(conversationId);
  });
});
