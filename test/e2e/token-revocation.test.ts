/**
 * `baton token create|list|revoke` with the built CLI, against two real `baton serve` processes on one
 * PostgreSQL store: a revoked token is refused (401) by both within one second, and the listing never shows a
 * token or its hash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { BATON, waitFor } from './world.js';

let cluster: PostgresCluster;
let root: string;
let env: NodeJS.ProcessEnv;
const servers: Array<{ child: ChildProcess; url: string; log: () => string }> = [];

function baton(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BATON, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function startServe(): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, [BATON, 'serve', '--port', '0'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(log)?.[1], 'baton serve to listen', 30_000);
  return { child, url, log: () => log };
}

async function createToken(tenant: string): Promise<{ id: string; token: string }> {
  const created = await baton(['token', 'create', '--tenant', tenant]);
  expect(created.code, created.stderr).toBe(0);
  return { id: /created token (t_[0-9a-f]+)/.exec(created.stderr)![1]!, token: created.stdout.trim() };
}

const statusOf = async (url: string, token: string): Promise<number> => (await fetch(`${url}/v1/conversations`, { headers: { authorization: `Bearer ${token}` } })).status;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-tokens-e2e-'));
  cluster = await startPostgresCluster();
  env = { PATH: process.env.PATH, HOME: root, BATON_STORE: cluster.url };
  const migrated = await baton(['migrate']);
  expect(migrated.code, migrated.stderr).toBe(0);
  servers.push(await startServe(), await startServe());
}, 120_000);

afterAll(async () => {
  for (const server of servers) server.child.kill('SIGKILL');
  await cluster?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('baton token', () => {
  it('lists tokens by id, tenant and dates, never the token or its hash', async () => {
    const acme = await createToken('list-acme');
    const globex = await createToken('list-globex');
    expect(await statusOf(servers[0]!.url, acme.token)).toBe(200);

    const listed = await baton(['token', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+TENANT\s+CREATED\s+LAST USED\s+REVOKED$/);
    expect(listed.stdout).toMatch(new RegExp(`^${acme.id}  list-acme\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  `, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${globex.id}  list-globex\\s+\\S+ \\S+\\s+-\\s+-$`, 'm'));

    const asJson = await baton(['token', 'list', '--tenant', 'list-acme', '--json']);
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(JSON.parse(asJson.stdout)).toEqual([{ id: acme.id, tenant: 'list-acme', createdAt: expect.stringMatching(/^\d{4}-.+Z$/), lastUsedAt: expect.any(String), revokedAt: null }]);

    for (const output of [listed.stdout + listed.stderr, asJson.stdout + asJson.stderr]) {
      for (const { token } of [acme, globex]) {
        expect(output).not.toContain(token);
        expect(output).not.toContain(createHash('sha256').update(token).digest('hex'));
      }
    }
    const none = await baton(['token', 'list', '--tenant', 'nobody']);
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr).toMatch(/^no tokens of tenant nobody in .+; create one with `baton token create --tenant nobody`\n$/);
  });

  it('revokes a token: both servers refuse it with 401 within one second, other tokens still work', async () => {
    const revoked = await createToken('acme');
    const kept = await createToken('acme');
    for (const server of servers) {
      expect(await statusOf(server.url, revoked.token)).toBe(200);
      expect(await statusOf(server.url, kept.token)).toBe(200);
    }

    const revoking = await baton(['token', 'revoke', revoked.id]);
    const revokedAt = performance.now();
    expect(revoking.code, revoking.stderr).toBe(0);
    expect(revoking.stderr).toMatch(new RegExp(`^revoked token ${revoked.id} of tenant acme; `));

    const refusedAfter = await Promise.all(
      servers.map(async (server) => {
        while ((await statusOf(server.url, revoked.token)) === 200) await new Promise((resolve) => setTimeout(resolve, 20));
        return performance.now() - revokedAt;
      }),
    );
    for (const ms of refusedAfter) expect(ms).toBeLessThan(1_100);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 1_000 - performance.now())));
    for (const server of servers) {
      const response = await fetch(`${server.url}/v1/conversations`, { headers: { authorization: `Bearer ${revoked.token}` } });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expect(await statusOf(server.url, kept.token)).toBe(200);
    }

    const listed = JSON.parse((await baton(['token', 'list', '--tenant', 'acme', '--json'])).stdout);
    expect(listed.find((token: any) => token.id === revoked.id).revokedAt).toEqual(expect.stringMatching(/Z$/));
    expect(listed.find((token: any) => token.id === kept.id).revokedAt).toBeNull();

    const again = await baton(['token', 'revoke', revoked.id]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`^token ${revoked.id} of tenant acme was already revoked at `));
  });

  it('answers an unknown id, or a token in place of its id, with one line and a hint', async () => {
    const unknown = await baton(['token', 'revoke', 't_000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: no token with the id "t_000000000000"\nhint: see the token ids with `baton token list`\n');
    const { token } = await createToken('oops');
    const secret = await baton(['token', 'revoke', token]);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/^error: that is a token, not a token id\nhint: .*`baton token list`.*\n$/);
    expect(secret.stderr).not.toContain(token);
    expect(await statusOf(servers[0]!.url, token)).toBe(200);
  });
});
