/**
 * An imported conversation is someone else's bytes: its title, prompts, errors and transcript must not be able to
 * drive the terminal that `baton ls` and `baton show` print to (real Codex run, exported, edited, imported).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createWorld, runJson, type World } from './world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

/** Sets the window title, clears the screen, then starts a row of its own that looks like a listed conversation. */
const HOSTILE_TITLE = '\x1b]0;pwned\x07\x1b[2J\n c_fakeid  codex   idle          1 run   2026-01-01 00:00:00  forged row';
/** Bytes a terminal acts on: every C0 control but newline, DEL, the C1 range (as UTF-8) and the bidi controls. */
const INTERPRETED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

it('an imported conversation\'s hostile title, prompt, error and reply are shown escaped by ls and show', async () => {
  const machine = await world.machine('machine-a');
  const { conversationId } = runJson(await world.baton(machine, ['run', '--harness', 'codex', '--json', 'hello']));
  const exportPath = join(world.root, 'export.json');
  expect((await world.baton(machine, ['export', conversationId, '-o', exportPath])).code).toBe(0);

  const document = JSON.parse(await readFile(exportPath, 'utf8'));
  document.conversation.title = HOSTILE_TITLE;
  document.runs[0].prompt = 'hello\n\x1b[1A\x1b[2K── run 7 · resume · succeeded';
  document.runs[0].status = 'failed';
  document.runs[0].error = 'boom \x1b]8;;http://attacker.example\x07click\x1b]8;;\x07 \u202egnp.exe';
  const main = document.transcript.files[0];
  // The reply inside the JSONL as JSON escapes, so the transcript stays valid JSON and its reply holds raw ESCs.
  expect(main.content).toContain('ACK hello');
  main.content = main.content.replaceAll('ACK hello', 'ACK \\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m hello');
  main.sha256 = createHash('sha256').update(Buffer.from(main.content, 'utf8')).digest('hex');
  await writeFile(exportPath, JSON.stringify(document));

  const otherStore = join(world.root, 'other', 'baton.db');
  const imported = await world.baton(machine, ['import', exportPath], { store: otherStore });
  expect(imported.code, imported.stderr).toBe(0);
  expect(imported.stdout).toBe(`${conversationId}\n`);

  const listed = await world.baton(machine, ['ls'], { store: otherStore });
  expect(listed.code, listed.stderr).toBe(0);
  expect(listed.stdout).not.toMatch(INTERPRETED);
  expect(listed.stdout.split('\n')).toHaveLength(2); // one row, then the final newline
  expect(listed.stdout).toMatch(new RegExp(`^${conversationId}  codex .+  \\\\x1b\\]0;pwned\\\\x07\\\\x1b\\[2J\\\\x0a c_fakeid  codex .+ forged row\\n$`));

  const shown = await world.baton(machine, ['show', conversationId], { store: otherStore });
  expect(shown.code, shown.stderr).toBe(0);
  expect(shown.stdout).not.toMatch(INTERPRETED);
  expect(shown.stdout).toContain('ACK \\x1b]0;pwned\\x07\\x1b[2J\\x9b31m hello');
  expect(shown.stdout).toContain('! boom \\x1b]8;;http://attacker.example\\x07click\\x1b]8;;\\x07 \\u202egnp.exe');
  expect(shown.stdout).not.toMatch(/^── run 7/m);

  // --json stays JSON: the stored text comes back exactly, escaped by JSON itself.
  const asJson = await world.baton(machine, ['show', conversationId, '--json'], { store: otherStore });
  expect(asJson.stdout).not.toMatch(INTERPRETED);
  expect(JSON.parse(asJson.stdout).conversation.title).toBe(HOSTILE_TITLE);
});
