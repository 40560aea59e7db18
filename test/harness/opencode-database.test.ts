/**
 * baton reads an OpenCode session from the CLI's own database instead of running `opencode export`: the document it
 * reads must be `opencode export`'s, byte for byte (the real CLI is the oracle), and the read must leave the
 * database as it was.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { synthesiseOpencodeSession } from '../../bench/lib/opencode-synth.js';
import { bundledOpencode, runChoreOrFail } from '../../src/harness/opencode/cli.js';
import { readSession, VERIFIED_MIGRATION } from '../../src/harness/opencode/database.js';
import { insertSession } from '../../src/harness/opencode/database-insert.js';
import { parseExport } from '../../src/harness/opencode/log.js';
import { runBareCli } from '../e2e/bare-cli.js';
import { conversationOf, lastUserText } from '../e2e/model-requests.js';
import { createWorld, type World } from '../e2e/world.js';

let world: World;
let root: string;
beforeEach(async () => {
  world = await createWorld();
  root = await mkdtemp(join(tmpdir(), 'baton-opencode-db-'));
});
afterEach(async () => {
  await world.cleanup();
  await rm(root, { recursive: true, force: true });
});

function executable(): string {
  const file = bundledOpencode();
  if (!file) throw new Error('the pinned opencode-linux-x64 package is missing');
  return file;
}

async function exported(env: NodeJS.ProcessEnv, cwd: string, sessionId: string): Promise<string> {
  return (await runChoreOrFail('export', executable(), ['export', sessionId], { cwd, env, stdoutFile: join(root, `${sessionId}.json`) })).toString('utf8');
}

const sha256 = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

it("reads a real run's session (a tool call, two turns) exactly as `opencode export` prints it, and changes nothing", async () => {
  const machine = await world.machine('machine-a');
  const first = await runBareCli(machine, 'opencode', 'RUN echo from-the-database');
  expect(first.code, first.stderr).toBe(0);
  const sessionId = /"sessionID":"(ses_[0-9A-Za-z]+)"/.exec(first.stdout)![1]!;
  const second = await runBareCli(machine, 'opencode', 'and a follow-up', { resume: sessionId });
  expect(second.code, second.stderr).toBe(0);
  const database = join(String(machine.env.XDG_DATA_HOME), 'opencode', 'opencode.db');

  const before = await sha256(database);
  const read = readSession(database, sessionId);
  expect(await sha256(database)).toBe(before);
  expect(read?.kind).toBe('document');
  const text = read?.kind === 'document' ? read.text : '';
  expect(text).toBe(await exported(machine.env, machine.cwd, sessionId));
  const document = parseExport(text)!;
  expect(document.messages.map((message) => message.info.role)).toEqual(['user', 'assistant', 'assistant', 'user', 'assistant']);
  expect(text).toContain('from-the-database');

  // The marker of that read: unchanged while the session is; a session the database lacks is absent.
  expect(readSession(database, sessionId, read?.kind === 'document' ? read.fingerprint.value : undefined)?.kind).toBe('unchanged');
  expect(readSession(database, 'ses_ffffffffffffAAAAAAAAAAAAAA')).toEqual({ kind: 'absent' });
  expect(readSession(join(root, 'no-such.db'), sessionId)).toEqual({ kind: 'absent' });
}, 180_000);

it('reads a 2 MB imported session (every part type the fixtures hold) exactly as `opencode export` prints it', async () => {
  const machine = await world.machine('machine-a');
  const exportText = synthesiseOpencodeSession(2 * 1024 * 1024, 11).synth.exportText();
  const sessionId = parseExport(exportText)!.info.id as string;
  const file = join(root, 'session.json');
  await writeFile(file, exportText);
  await runChoreOrFail('import', executable(), ['import', file], { cwd: machine.cwd, env: machine.env });
  const database = join(String(machine.env.XDG_DATA_HOME), 'opencode', 'opencode.db');
  const read = readSession(database, sessionId);
  expect(read?.kind === 'document' ? read.text : read).toBe(await exported(machine.env, machine.cwd, sessionId));
}, 180_000);

it('leaves a database of a schema it has not verified (a newer OpenCode) to `opencode export`', async () => {
  const machine = await world.machine('machine-a');
  const run = await runBareCli(machine, 'opencode', 'hello');
  expect(run.code, run.stderr).toBe(0);
  const sessionId = /"sessionID":"(ses_[0-9A-Za-z]+)"/.exec(run.stdout)![1]!;
  const copy = join(root, 'newer.db');
  const db = new Sqlite(join(String(machine.env.XDG_DATA_HOME), 'opencode', 'opencode.db'), { readonly: true });
  await db.backup(copy);
  db.close();
  expect(readSession(copy, sessionId)?.kind).toBe('document');
  const newer = new Sqlite(copy);
  newer.prepare('INSERT INTO migration (id, time_completed) VALUES (?, ?)').run(`${VERIFIED_MIGRATION.slice(0, 4)}9999999999_from_the_future`, Date.now());
  newer.close();
  expect(readSession(copy, sessionId)).toBeUndefined();
  // Not OpenCode's database at all.
  const other = join(root, 'other.db');
  await copyFile(copy, other);
  const foreign = new Sqlite(other);
  foreign.exec('DROP TABLE migration');
  foreign.close();
  expect(readSession(other, sessionId)).toBeUndefined();
}, 180_000);

it('puts a stored session into a database that lacks it as `opencode import` would, and the real CLI continues it', async () => {
  const machineA = await world.machine('machine-a');
  const first = await runBareCli(machineA, 'opencode', 'RUN echo inserted-turn');
  expect(first.code, first.stderr).toBe(0);
  const sessionId = /"sessionID":"(ses_[0-9A-Za-z]+)"/.exec(first.stdout)![1]!;
  const read = readSession(join(String(machineA.env.XDG_DATA_HOME), 'opencode', 'opencode.db'), sessionId);
  const stored = read?.kind === 'document' ? read.text : '';

  // Machine B has a database (an earlier session of its own) but not this session.
  const machineB = await world.machine('machine-b', 'elsewhere');
  expect((await runBareCli(machineB, 'opencode', 'hello')).code).toBe(0);
  const database = join(String(machineB.env.XDG_DATA_HOME), 'opencode', 'opencode.db');
  expect(insertSession(join(root, 'no-such.db'), stored, machineB.cwd)).toBe('cannot');
  expect(insertSession(database, stored, machineB.cwd)).toBe('inserted');
  const before = await sha256(database);
  expect(insertSession(database, stored, machineB.cwd)).toBe('present');
  expect(await sha256(database)).toBe(before);

  // What the CLI reads back is the stored session, bound to machine B's directory as an import binds it.
  const inserted = readSession(database, sessionId);
  const text = inserted?.kind === 'document' ? inserted.text : '';
  expect(text).toBe(await exported(machineB.env, machineB.cwd, sessionId));
  const [want, got] = [parseExport(stored)!, parseExport(text)!];
  expect(JSON.stringify(got.messages)).toBe(JSON.stringify(want.messages));
  expect(got.info).toEqual({ ...want.info, projectID: 'global', directory: machineB.cwd, path: machineB.cwd.slice(1) });

  const resumed = await runBareCli(machineB, 'opencode', 'continued on machine b', { resume: sessionId });
  expect(resumed.code, resumed.stderr).toBe(0);
  const request = world.turns().find((turn) => lastUserText(turn) === 'continued on machine b');
  expect(conversationOf(request!)).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('inserted-turn') });
}, 240_000);

it('writes nothing into a database of a schema it has not verified', async () => {
  const machine = await world.machine('machine-a');
  expect((await runBareCli(machine, 'opencode', 'hello')).code).toBe(0);
  const copy = join(root, 'newer.db');
  const source = new Sqlite(join(String(machine.env.XDG_DATA_HOME), 'opencode', 'opencode.db'), { readonly: true });
  await source.backup(copy);
  source.close();
  const newer = new Sqlite(copy);
  newer.prepare('INSERT INTO migration (id, time_completed) VALUES (?, ?)').run(`${VERIFIED_MIGRATION.slice(0, 4)}9999999999_from_the_future`, Date.now());
  newer.pragma('wal_checkpoint(TRUNCATE)');
  newer.close();
  const exportText = synthesiseOpencodeSession(64 * 1024, 3).synth.exportText();
  const before = await sha256(copy);
  expect(insertSession(copy, exportText, machine.cwd)).toBe('cannot');
  expect(await sha256(copy)).toBe(before);
  const check = new Sqlite(copy, { readonly: true });
  expect(check.prepare('SELECT count(*) AS n FROM session WHERE id = ?').get(parseExport(exportText)!.info.id)).toEqual({ n: 0 });
  check.close();
}, 180_000);
