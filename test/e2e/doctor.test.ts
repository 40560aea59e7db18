/**
 * `baton doctor` with the real CLIs: on a machine set up for the scripted model every check passes and names what
 * it found; on a broken one (nobody logged in, a store others can read, a server that does not answer) each
 * broken thing is its own ✗ line with the fix, and the exit status says so.
 */
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HARNESS_IDS } from '../../src/harness/ids.js';
import { listHarnesses } from '../../src/harness/registry.js';
import { startPostgresCluster } from '../helpers/postgres-cluster.js';
import { createWorld, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}
const pinned = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };

describe('baton doctor', () => {
  it('passes every check on a machine that is set up, naming each CLI, its version and where its credentials are', async () => {
    const machine = await world.machine('machine-a');
    const result = await world.baton(machine, ['doctor', '--json']);
    expect(result.code, result.stdout).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] };
    expect(report.ok).toBe(true);
    const byName = new Map(report.checks.map((check) => [check.name, check]));
    for (const harness of listHarnesses()) {
      const version = pinned.devDependencies[harness.executable.packageName] ?? '1.18.33';
      expect(byName.get(`${harness.id} CLI`)).toMatchObject({ status: 'ok', detail: expect.stringContaining(`${harness.displayName} ${version} at `) });
      expect(byName.get(`${harness.id} credentials`)?.status).toBe('ok');
    }
    expect(byName.get('codex credentials')?.detail).toBe('SCRIPTED_MODEL_API_KEY');
    expect(byName.get('store')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^\S+baton\.db: opens, schema up to date, 0 conversations/) });
    expect(byName.get('store files')?.status).toBe('ok');
    expect(byName.get('sandbox')).toMatchObject({ status: 'ok', detail: expect.stringContaining('bubblewrap') });
    expect(report.checks.map((check) => check.name)).not.toContain('server');
  });

  it('says what is broken, one ✗ line each with its fix, and exits 1', async () => {
    const machine = await world.machine('machine-a');
    const home = join(world.root, 'bare', 'home');
    await mkdir(home, { recursive: true });
    const store = join(world.root, 'open-store', 'baton.db');
    // A store others can read: made by a first doctor, then opened up.
    const env = { PATH: process.env.PATH, HOME: home };
    await world.baton(machine, ['doctor', '--json'], { store, onlyEnv: env });
    await chmod(store, 0o644);
    const broken = { ...env, BATON_SERVER: 'http://127.0.0.1:9', BATON_TOKEN: 'baton_not_a_token' };

    const json = await world.baton(machine, ['doctor', '--json'], { store, onlyEnv: broken });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Check[] };
    expect(report.ok).toBe(false);
    const failing = report.checks.filter((check) => check.status === 'fail').map((check) => check.name);
    expect(failing).toEqual([...HARNESS_IDS.map((id) => `${id} credentials`), 'store files', 'server']);
    for (const check of report.checks.filter((c) => c.status === 'fail')) expect(check.fix, check.name).toMatch(/\S/);
    expect(report.checks.find((check) => check.name === 'store files')?.fix).toBe(`chmod 600 '${store}'* && chmod 700 '${join(world.root, 'open-store')}'`);
    expect(report.checks.find((check) => check.name === 'server')?.detail).toMatch(/127\.0\.0\.1:9/);

    const text = await world.baton(machine, ['doctor'], { store, onlyEnv: broken });
    expect(text.code).toBe(1);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.filter((line) => line.startsWith('✗ '))).toHaveLength(failing.length);
    expect(lines.filter((line) => /^\s+fix: /.test(line))).toHaveLength(failing.length);
    expect(lines.at(-1)).toBe(`${failing.length} checks failed; ready to run: none of the harnesses`);
  });

  it('on PostgreSQL checks the run queue: not set up until `baton migrate` (or the first serve) makes it', async () => {
    const cluster = await startPostgresCluster();
    try {
      const machine = await world.machine('machine-a');
      const doctor = async () => JSON.parse((await world.baton(machine, ['doctor', '--harness', 'codex', '--json'], { store: cluster.url })).stdout) as { ok: boolean; checks: Check[] };
      const before = await doctor();
      expect(before.checks.find((check) => check.name === 'queue')).toMatchObject({ status: 'warn', fix: expect.stringContaining('baton serve') });
      expect(before.checks.map((check) => check.name)).not.toContain('store files');
      const migrated = await world.baton(machine, ['migrate'], { store: cluster.url });
      expect(migrated.code, migrated.stderr).toBe(0);
      const after = await doctor();
      expect(after.ok).toBe(true);
      expect(after.checks.find((check) => check.name === 'store')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^postgres:\/\/\S+: opens, schema up to date, 0 conversations/) });
      expect(after.checks.find((check) => check.name === 'queue')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^graphile-worker on the store's PostgreSQL, 0 job/) });
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
