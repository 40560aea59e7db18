/**
 * A fleet on an encrypted PostgreSQL store (`baton migrate`, `baton serve` and `baton worker` all given
 * BATON_MASTER_KEY), with the real CLIs: runs work as on a plaintext store; a tenant's secrets reach the
 * environment of that tenant's runs only (through the sandbox); a worker started without the key refuses to
 * start, in one line.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinishedRunStatus } from '../../src/model/run-status.js';
import { generateKeyText, parseKey } from '../../src/store/master-key.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { createFleet, type Fleet } from './fleet-world.js';
import { BATON, testScript } from './world.js';

const KEY = generateKeyText();
const SECRET_VALUE = 'tenant-a-own-key-0000';
let fleet: Fleet;

beforeAll(async () => {
  fleet = await createFleet({ script: testScript, env: { BATON_MASTER_KEY: KEY } });
  const store = await openPostgresStore(fleet.cluster.url, { masterKey: parseKey(KEY, 'test key') });
  await store.setTenantSecret('tenant-a', 'TENANT_OWN_KEY', SECRET_VALUE);
  await store.close();
  await fleet.startWorker('encrypted');
}, 180_000);

afterAll(async () => {
  await fleet?.cleanup();
}, 60_000);


async function runFor(tenant: string, prompt: string): Promise<any> {
  const token = await fleet.token(tenant);
  const queued = await fleet.api(token, 'POST', '/v1/conversations', { harness: 'codex', prompt });
  expect(queued.status, JSON.stringify(queued.body)).toBe(202);
  return fleet.waitForRun(token, queued.body.runId, (run) => isFinishedRunStatus(run.status), `the run of ${tenant}`);
}

describe('a fleet on an encrypted store', () => {
  it("runs a tenant's conversation with its secrets in the environment, and another tenant's without them", async () => {
    const a = await runFor('tenant-a', 'RUN echo "secret=[$TENANT_OWN_KEY]"');
    const b = await runFor('tenant-b', 'RUN echo "secret=[$TENANT_OWN_KEY]"');
    expect(a.status).toBe('succeeded');
    expect(b.status).toBe('succeeded');
    const outputs = fleet.turns().map((turn) => JSON.stringify(turn.body));
    expect(outputs.some((body) => body.includes(`secret=[${SECRET_VALUE}]`))).toBe(true);
    expect(outputs.some((body) => body.includes('secret=[]'))).toBe(true);
  }, 120_000);

  it('a worker without the master key does not start, and says which variable to set', async () => {
    const env = { ...fleet.env };
    delete env.BATON_MASTER_KEY;
    const child = spawn(process.execPath, [BATON, 'worker', '--name', 'keyless', '--data-dir', `${fleet.root}/keyless`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: the store .* is encrypted: set BATON_MASTER_KEY or pass --master-key-file FILE\nhint: it needs master key mk_[0-9a-f]{16}\n$/);
  }, 60_000);
});
