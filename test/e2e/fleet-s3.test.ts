/**
 * The fleet of fleet.test.ts with its bodies in object storage: real PostgreSQL, s3rver on loopback, the real
 * `baton serve` and two real `baton worker` processes given BATON_BLOBS and the AWS variables, the real Codex
 * against the scripted model. A follow-up forced onto the other worker resumes from bodies read back from the
 * bucket; the rows keep only references; `baton rm` deletes what no row names any more.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinishedRunStatus } from '../../src/model/run-status.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { createFleet, fleetScript, type Fleet, type Worker } from './fleet-world.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { waitFor } from './world.js';

let s3: S3Server;
let location: string;
let fleet: Fleet;
let token: string;
const workers = new Map<string, Worker>();

beforeAll(async () => {
  s3 = await startS3Server();
  location = s3.freshLocation();
  // Every body to the bucket: the scripted runs' transcripts are smaller than the default 64 KB threshold.
  fleet = await createFleet({ script: fleetScript, env: { ...s3.env, BATON_BLOBS: `${location}?inline-below=0` } });
  token = await fleet.token('acme');
  for (const name of ['worker-a', 'worker-b']) workers.set(name, await fleet.startWorker(name, ['--drain-seconds', '1']));
}, 180_000);

afterAll(async () => {
  await fleet?.cleanup();
  await s3?.stop();
}, 60_000);

const finished = (runId: string): Promise<any> => fleet.waitForRun(token, runId, (run) => isFinishedRunStatus(run.status), `run ${runId} to finish`);

async function post(path: string, body: unknown): Promise<{ conversationId: string; runId: string }> {
  const response = await fleet.api(token, 'POST', path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body;
}

describe('a fleet with its bodies in S3', () => {
  it('codex: a follow-up on the other worker resumes from the bucket; rows keep references; baton rm releases the objects', async () => {
    const first = await post('/v1/conversations', { harness: 'codex', prompt: 'RUN echo first-s3' });
    const firstRun = await finished(first.runId);
    expect(firstRun, JSON.stringify(firstRun)).toMatchObject({ status: 'succeeded', sequence: 1 });
    const stopped = workers.get(firstRun.host)!;
    stopped.child.kill('SIGTERM');
    expect((await stopped.exited).code).toBe(0);

    const prompt = 'what did the first command print? (s3)';
    const followup = await post(`/v1/conversations/${first.conversationId}/followups`, { prompt });
    const followupRun = await finished(followup.runId);
    expect(followupRun).toMatchObject({ status: 'succeeded', kind: 'resume', sequence: 2 });
    expect(followupRun.host).not.toBe(firstRun.host);
    const request = await waitFor(() => fleet.turns().find((turn) => lastUserText(turn) === prompt), 'the follow-up request');
    const turns = conversationOf(request);
    expect(turns).toContainEqual({ kind: 'user', text: 'RUN echo first-s3' });
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('first-s3') });

    const db = new pg.Client({ connectionString: fleet.cluster.url });
    await db.connect();
    try {
      const chunks = await db.query<{ all: string; references: string }>("select count(*) as all, count(*) filter (where length(data) = 78 and data like 'object:sha256:%'::bytea) as references from transcript_chunks");
      expect(Number(chunks.rows[0]!.all)).toBeGreaterThan(0);
      expect(chunks.rows[0]!.references).toBe(chunks.rows[0]!.all);
      const objects = await s3.objectKeys(location);
      expect(objects.length).toBeGreaterThanOrEqual(Number(chunks.rows[0]!.all));

      const removed = await fleet.baton(['rm', first.conversationId]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(Number((await db.query('select count(*) as n from transcript_chunks')).rows[0].n)).toBe(0);
      // Deleted at once: the objects whose claims were taken in their rows' transactions. The periodic deltas'
      // one-statement saves claimed alone: released, left to a sweep once their grace period is over.
      const left = await s3.objectKeys(location);
      expect(left.length).toBeLessThan(objects.length);
      const claims = await db.query<{ released_at: string | null }>('select released_at from body_objects');
      expect(claims.rows).toHaveLength(left.length);
      expect(claims.rows.every((claim) => claim.released_at !== null)).toBe(true);
    } finally {
      await db.end();
    }
  }, 180_000);
});
