/**
 * Encryption at rest through the real `baton` (dist/cli/baton.mjs) and the real CLIs: a conversation on an
 * encrypted store resumed on a second machine with the key, refused without it; the key commands, secrets and
 * encrypted exports as a user runs them. Every refusal is one line and a non-zero exit.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../src/store/master-key.js';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, runJson, type BatonResult, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

async function storeBytes(path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) parts.push(await readFile(path + suffix));
  return Buffer.concat(parts);
}

/** A refusal as the CLI prints it: `error: …` and `hint: …`, one line each, exit 1 (2 for a usage error). */
function expectOneLineError(result: BatonResult, message: RegExp): void {
  expect([1, 2], result.stderr).toContain(result.code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines.length, result.stderr).toBeLessThanOrEqual(2);
  expect(lines[0]).toMatch(message);
  if (lines[1] !== undefined) expect(lines[1]).toMatch(/^hint: /);
}

async function privateFile(name: string, content: string): Promise<string> {
  const path = join(world.root, name);
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

describe.each(['codex', 'claude'] as const)('an encrypted store with %s', (harness) => {
  it('keeps a real conversation sealed, resumes it on another machine with the key, and refuses without it or with another', async () => {
    const keyText = generateKeyText();
    const marker = `SEALED${randomBytes(6).toString('hex')}`;
    const machineA = await world.machine('machine-a');
    const first = await world.baton(machineA, ['run', '--harness', harness, '--json', `RUN echo ${marker}; env`], { env: { BATON_MASTER_KEY: keyText } });
    const run = runJson(first);
    expect(run.status, first.stderr).toBe('succeeded');
    // The agent's shell saw no master key (baton takes it out of the environment before starting anything).
    const toolTurn = world.turns().find((turn) => JSON.stringify(turn.body).includes(`${marker}\\n`));
    expect(toolTurn, 'the model got the command output').toBeDefined();
    expect(JSON.stringify(toolTurn!.body)).not.toContain(keyText);
    expect(JSON.stringify(toolTurn!.body)).not.toContain('BATON_MASTER_KEY');

    const bytes = await storeBytes(world.storePath);
    expect(bytes.includes(Buffer.from(marker)), 'the marker in the raw store').toBe(false);

    const machineB = await world.machine('machine-b', 'elsewhere');
    const withoutKey = await world.baton(machineB, ['resume', run.conversationId, 'continue']);
    expectOneLineError(withoutKey, /^error: the store .* is encrypted: set BATON_MASTER_KEY or pass --master-key-file FILE$/);
    const wrongKey = await world.baton(machineB, ['ls'], { env: { BATON_MASTER_KEY: generateKeyText() } });
    expectOneLineError(wrongKey, /^error: the master key from \$BATON_MASTER_KEY does not open the store .* \(it needs key mk_[0-9a-f]{16}, not mk_[0-9a-f]{16}\)$/);
    const malformed = await world.baton(machineB, ['ls'], { env: { BATON_MASTER_KEY: 'not-a-key' } });
    expectOneLineError(malformed, /^error: \$BATON_MASTER_KEY is not a baton key/);
    expect(malformed.stderr).not.toContain('not-a-key');

    const keyFile = await privateFile('master.key', `${keyText}\n`);
    const resumed = await world.baton(machineB, ['--master-key-file', keyFile, 'resume', run.conversationId, '--json', 'what did it print?']);
    expect(runJson(resumed), resumed.stderr).toMatchObject({ status: 'succeeded', conversationId: run.conversationId, sessionId: run.sessionId });
    const request = world.turns().find((turn) => lastUserText(turn) === 'what did it print?');
    const turns = conversationOf(request!);
    expect(turns).toContainEqual({ kind: 'user', text: `RUN echo ${marker}; env` });
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining(marker) });
    const shown = await world.baton(machineB, ['show', run.conversationId], { env: { BATON_MASTER_KEY: keyText } });
    expect(shown.stdout).toContain(marker);
    expect((await storeBytes(world.storePath)).includes(Buffer.from(marker))).toBe(false);
  }, 120_000);
});

describe('the key commands, secrets and encrypted exports from the command line', () => {
  it('generate a private key file, refuse readable key files, encrypt a plaintext store in place, rotate, and keep tenant secrets', async () => {
    const machine = await world.machine('machine');
    const keyFile = join(world.root, 'master.key');
    const generated = await world.baton(machine, ['keys', 'generate', '--output', keyFile]);
    expect(generated.code, generated.stderr).toBe(0);
    expect(generated.stdout).toBe('');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await world.baton(machine, ['keys', 'generate', '--output', keyFile])).code).toBe(2); // never over an existing key

    // A plaintext store with a conversation in it.
    const plain = runJson(await world.baton(machine, ['run', '--harness', 'codex', '--json', 'a plaintext conversation']));
    const refused = await world.baton(machine, ['--master-key-file', keyFile, 'ls']);
    expectOneLineError(refused, /^error: the store .* is not encrypted, and a master key was given \(the master key file .*\)$/);
    const noSecrets = await world.baton(machine, ['secret', 'set', '--tenant', 'acme', 'OPENAI_API_KEY']);
    expectOneLineError(noSecrets, /^error: the store .* is not encrypted, so it does not keep secrets$/);

    await chmod(keyFile, 0o644);
    const readable = await world.baton(machine, ['--master-key-file', keyFile, 'keys', 'enable']);
    expectOneLineError(readable, /^error: the master key file .* is readable by others \(mode 644\)$/);
    expect(readable.stderr).toContain(`hint: make it private with \`chmod 600 ${keyFile}\``);
    await chmod(keyFile, 0o600);

    const enabled = await world.baton(machine, ['--master-key-file', keyFile, 'keys', 'enable']);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect((await storeBytes(world.storePath)).includes(Buffer.from('a plaintext conversation'))).toBe(false);
    expectOneLineError(await world.baton(machine, ['ls']), /is encrypted: set BATON_MASTER_KEY/);
    const listed = await world.baton(machine, ['--master-key-file', keyFile, 'ls']);
    expect(listed.stdout).toContain(plain.conversationId);

    // Secrets: the value from stdin, never argv; names listed, never values.
    const secretValue = `sk-tenant-${randomBytes(8).toString('hex')}`;
    const set = await world.baton(machine, ['--master-key-file', keyFile, 'secret', 'set', '--tenant', 'acme', 'OPENAI_API_KEY'], { stdin: `${secretValue}\n` });
    expect(set.code, set.stderr).toBe(0);
    const names = await world.baton(machine, ['--master-key-file', keyFile, 'secret', 'list', '--tenant', 'acme']);
    expect(names.stdout).toBe('OPENAI_API_KEY\n');
    expect((await storeBytes(world.storePath)).includes(Buffer.from(secretValue))).toBe(false);
    expectOneLineError(await world.baton(machine, ['--master-key-file', keyFile, 'secret', 'set', '--tenant', 'acme', 'BATON_STORE'], { stdin: 'x' }), /cannot be a secret's name/);

    // Rotation: the new key opens it, the old one no longer does.
    const newKeyFile = await privateFile('new.key', `${generateKeyText()}\n`);
    const rotated = await world.baton(machine, ['--master-key-file', keyFile, 'keys', 'rotate', '--new-key-file', newKeyFile]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toMatch(/re-wrapped 2 data key\(s\), master key mk_[0-9a-f]{16} → mk_[0-9a-f]{16}/);
    expectOneLineError(await world.baton(machine, ['--master-key-file', keyFile, 'ls']), /does not open the store/);
    const status = await world.baton(machine, ['--master-key-file', newKeyFile, 'keys', 'status']);
    expect(status.stdout).toMatch(/: encrypted, master key mk_[0-9a-f]{16}\n$/);
    const shown = await world.baton(machine, ['--master-key-file', newKeyFile, 'show', plain.conversationId]);
    expect(shown.stdout).toContain('a plaintext conversation');
    expect((await world.baton(machine, ['--master-key-file', newKeyFile, 'secret', 'rm', '--tenant', 'acme', 'OPENAI_API_KEY'])).code).toBe(0);
  }, 120_000);

  it('exports plaintext by default and encrypted with --encrypt; import needs the same passphrase and says so in one line', async () => {
    const machine = await world.machine('machine');
    const marker = `EXPORTED${randomBytes(5).toString('hex')}`;
    const run = runJson(await world.baton(machine, ['run', '--harness', 'codex', '--json', `say ${marker}`]));
    const plainFile = join(world.root, 'plain.json');
    expect((await world.baton(machine, ['export', run.conversationId, '-o', plainFile])).code).toBe(0);
    expect(await readFile(plainFile, 'utf8')).toContain(marker);

    const passphrase = await privateFile('passphrase', 'a long passphrase for the export\n');
    const wrong = await privateFile('wrong', 'not the passphrase it was made with\n');
    const encryptedFile = join(world.root, 'sealed.json');
    const exported = await world.baton(machine, ['export', run.conversationId, '--encrypt', '--passphrase-file', passphrase, '-o', encryptedFile]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(await readFile(encryptedFile, 'utf8')).not.toContain(marker);
    expectOneLineError(await world.baton(machine, ['export', run.conversationId, '--encrypt']), /--encrypt needs --passphrase-file FILE or --key-file FILE/);

    const other = await world.machine('other');
    const otherStore = join(world.root, 'other.db');
    expectOneLineError(await world.baton(other, ['import', encryptedFile], { store: otherStore }), /^error: .*sealed\.json is encrypted: pass --passphrase-file FILE$/);
    expectOneLineError(await world.baton(other, ['import', encryptedFile, '--passphrase-file', wrong], { store: otherStore }), /^error: cannot decrypt .*sealed\.json: wrong passphrase, or the file was altered$/);
    const imported = await world.baton(other, ['import', encryptedFile, '--passphrase-file', passphrase], { store: otherStore });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout.trim()).toBe(run.conversationId);
    expect((await world.baton(other, ['show', run.conversationId], { store: otherStore })).stdout).toContain(marker);
  }, 120_000);
});
