/**
 * Secrets an agent prints never reach the store: a key planted in the run's environment and a token in a `.env`
 * the agent `cat`s are missing from the raw store (SQLite file bytes, `pg_dump` of PostgreSQL) and from the
 * export — not even a 20-character fragment — while the real CLIs still resume the redacted transcript, on
 * another machine and on the same one, and the model is shown the placeholder. With `--no-redact` the same run
 * leaves them there (the proof that the checks can fail).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HarnessId } from '../../src/harness/ids.js';
import type { Machine } from '../../src/testing/machine.js';
import { pgDump, startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, runJson, type World } from './world.js';

const PLANTED_KEY = 'baton-planted-env-7Q2x9Lm4Rt8Vw1Zp3Kd6';
const DOTENV_TOKEN = 'ghp_R4nd0mT0k3nF0rT3st1ngOnly01234567';
const PROMPT = 'RUN cat .env; echo "the key is $PLANTED_API_KEY"';

/** Every 20-character piece of each secret. */
function fragmentsOf(...secrets: string[]): string[] {
  return secrets.flatMap((secret) => Array.from({ length: secret.length - 19 }, (_, index) => secret.slice(index, index + 20)));
}
const FRAGMENTS = fragmentsOf(PLANTED_KEY, DOTENV_TOKEN);

function leakedFragments(bytes: Buffer): string[] {
  return FRAGMENTS.filter((fragment) => bytes.includes(fragment));
}

/** The SQLite store file and its write-ahead log, as a thief who copies them would get them. */
async function rawSqlite(path: string): Promise<Buffer> {
  const dir = join(path, '..');
  const name = path.split('/').at(-1)!;
  const parts = await Promise.all((await readdir(dir)).filter((entry) => entry.startsWith(name)).map((entry) => readFile(join(dir, entry))));
  return Buffer.concat(parts);
}

async function plantDotenv(machine: Machine): Promise<void> {
  await writeFile(join(machine.cwd, '.env'), `GITHUB_TOKEN=${DOTENV_TOKEN}\nDEBUG=true\n`);
}

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

describe.each(['codex', 'claude'] as const)('secrets a %s agent prints', (harness: HarnessId) => {
  it('are redacted from the store and the export, and the redacted conversation resumes on another machine and on this one', async () => {
    const store = join(world.root, 'shared.db');
    const env = { PLANTED_API_KEY: PLANTED_KEY };
    const machineA = await world.machine('machine-a');
    await plantDotenv(machineA);
    const first = await world.baton(machineA, ['run', '--harness', harness, '--json', PROMPT], { store, env });
    expect(runJson(first).status, first.stderr).toBe('succeeded');
    const { conversationId } = runJson(first);
    // The model did see them live (the CLI sends what its tool printed): what follows is about what is kept.
    const live = world.turns().find((turn) => conversationOf(turn).some((item) => item.kind === 'tool_output' && item.text.includes(PLANTED_KEY)));
    expect(live, 'the agent did not print the planted key').toBeDefined();
    // The terminal shows what is stored.
    expect(first.stderr).not.toContain(PLANTED_KEY);

    const exportFile = join(world.root, 'export.json');
    const exported = await world.baton(machineA, ['export', conversationId, '-o', exportFile], { store });
    expect(exported.code, exported.stderr).toBe(0);
    const exportBytes = await readFile(exportFile);
    expect(leakedFragments(exportBytes)).toEqual([]);
    // (Asserted as booleans: a failure message must not print a whole export.)
    expect(exportBytes.includes('the key is [REDACTED:$PLANTED_API_KEY]')).toBe(true);
    expect(/GITHUB_TOKEN=\[REDACTED:[^\]]+\]/.test(exportBytes.toString())).toBe(true);
    expect(leakedFragments(await rawSqlite(store))).toEqual([]);
    const shown = await world.baton(machineA, ['show', conversationId], { store });
    expect(shown.stdout).toContain('[REDACTED:$PLANTED_API_KEY]');

    // Another machine sharing the store resumes the redacted transcript; the model is shown the placeholder.
    const machineB = await world.machine('machine-b');
    const resumed = await world.baton(machineB, ['resume', conversationId, '--json', 'from machine B'], { store });
    expect(runJson(resumed).status, resumed.stderr).toBe('succeeded');
    const onB = conversationOf(world.turns().find((turn) => lastUserText(turn) === 'from machine B')!);
    const output = onB.filter((turn) => turn.kind === 'tool_output').map((turn) => turn.text).join('\n');
    expect(output).toContain('[REDACTED:$PLANTED_API_KEY]');
    expect(output).toContain('DEBUG=true');
    expect(leakedFragments(Buffer.from(JSON.stringify(onB)))).toEqual([]);

    // Machine A still holds the CLI's own copy with the secrets in it: a resume there is no conflict, and the copy
    // is redacted in place to the stored one.
    const again = await world.baton(machineA, ['resume', conversationId, '--json', 'back on machine A'], { store });
    expect(again.stdout, again.stderr).not.toBe('');
    expect(runJson(again).status, again.stderr).toBe('succeeded');
    const onA = conversationOf(world.turns().find((turn) => lastUserText(turn) === 'back on machine A')!);
    expect(onA).toContainEqual({ kind: 'user', text: 'from machine B' });
    expect(leakedFragments(await rawSqlite(store))).toEqual([]);
  });

  it('stay byte for byte with --no-redact, and the run says so', async () => {
    const store = join(world.root, 'plain.db');
    const machine = await world.machine('machine-a');
    await plantDotenv(machine);
    const first = await world.baton(machine, ['run', '--harness', harness, '--no-redact', '--json', PROMPT], { store, env: { PLANTED_API_KEY: PLANTED_KEY } });
    expect(runJson(first).status, first.stderr).toBe('succeeded');
    const exportFile = join(world.root, 'export.json');
    expect((await world.baton(machine, ['export', runJson(first).conversationId, '-o', exportFile], { store })).code).toBe(0);
    const exportText = await readFile(exportFile, 'utf8');
    expect(exportText.includes(PLANTED_KEY)).toBe(true);
    expect(exportText.includes(DOTENV_TOKEN)).toBe(true);
    expect(leakedFragments(await rawSqlite(store)).length).toBeGreaterThan(0);
    const shown = await world.baton(machine, ['show', runJson(first).conversationId], { store });
    expect(shown.stdout).toContain('saved without redaction (--no-redact)');
  });
});

describe('secrets in a PostgreSQL store', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('are absent from pg_dump of the database', async () => {
    const machine = await world.machine('machine-a');
    await plantDotenv(machine);
    const first = await world.baton(machine, ['run', '--harness', 'codex', '--json', PROMPT], { store: cluster.url, env: { PLANTED_API_KEY: PLANTED_KEY } });
    expect(runJson(first).status, first.stderr).toBe('succeeded');
    const dump = (await pgDump(cluster.url)).toString();
    expect(dump).toContain(runJson(first).conversationId);
    expect(leakedFragments(Buffer.from(dump))).toEqual([]);
  });
});
