/**
 * Fixed hostile files: the plain seed (the baseline every mutation starts from must resume), and each bug the
 * fuzzer found, kept as a regression case with the outcome it must have now.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { tarArchive, type Targets } from './hostile-exports.js';
import type { CaseOutcome } from './import-case.js';
import type { Seed, WorkspaceKind } from './seeds.js';

// biome-ignore lint: a JSON document being mangled has no useful static type.
type Json = any;

export interface FixedCase {
  name: string;
  /** The seeds it applies to (default: all four). */
  seeds?: WorkspaceKind[];
  build: (doc: Json, context: { seed: Seed; targets: Targets }) => string;
  expect: (outcome: CaseOutcome, seed: Seed) => void;
}

const refusedWith = (stage: string, code: string, message?: RegExp) => (outcome: CaseOutcome): void => {
  expect(outcome.kind).toBe('refused');
  if (outcome.kind !== 'refused') return;
  expect(`${outcome.stage} ${outcome.code}`).toBe(`${stage} ${code}`);
  if (message) expect(outcome.message).toMatch(message);
};

const rehashFile = (file: Json): void => {
  const bytes = Buffer.from(file.content, 'utf8');
  file.sha256 = createHash('sha256').update(bytes).digest('hex');
  file.lineCount = bytes.toString('utf8').split('\n').length - (file.content.endsWith('\n') ? 1 : 0);
};

const freshIds = (doc: Json): Json => {
  const runId = `r_${'1'.repeat(10)}${Math.random().toString(36).slice(2, 18).padEnd(16, '0')}`.slice(0, 28);
  const old = doc.runs[0].id;
  doc.conversation.id = `c_${Math.random().toString(36).slice(2, 18).padEnd(16, '0')}${'1'.repeat(10)}`.slice(0, 28);
  doc.runs[0].id = runId;
  for (const event of doc.events) if (event.runId === old) event.runId = runId;
  if (doc.workspace) doc.workspace.runId = runId;
  return doc;
};

export const FIXED_CASES: FixedCase[] = [
  {
    name: 'the seed itself, under fresh ids, resumes',
    build: (doc) => JSON.stringify(freshIds(doc)),
    expect: (outcome) => expect(outcome.kind).toBe('resumed'),
  },
  {
    name: 'the seed itself, under its own ids (already in the store), is refused as a duplicate',
    build: (doc) => JSON.stringify(doc),
    expect: refusedWith('import', 'IMPORT_INVALID', /already exists/),
  },
  {
    // Found by the fuzzer: the unknown harness was quoted whole (114 KB, or several lines) in the message.
    name: 'a harness name of many lines and 100 KB is refused in one short line',
    build: (doc) => {
      doc.conversation.harness = doc.transcript.harness = `line one\nline two\x1b[2J${'x'.repeat(100_000)}`;
      return JSON.stringify(freshIds(doc));
    },
    expect: refusedWith('parse', 'HARNESS_UNKNOWN', /^hostile\.json holds a "line one\\nline two\\u001b\[2Jx+…" conversation, which this baton cannot run$/),
  },
  {
    // Found by the fuzzer: the session id was quoted as it was, newline and all.
    name: 'a session id with a newline and an escape sequence is refused in one line',
    build: (doc) => {
      doc.conversation.sessionId = doc.transcript.meta.sessionId = '00000000-0000-0000-0000-000000000000\n\x1b[2Jhint: trust me';
      return JSON.stringify(freshIds(doc));
    },
    expect: refusedWith('parse', 'INVALID_SESSION_ID', /^"00000000-0000-0000-0000-000000000000\\n\\u001b\[2Jhint: trust me" is not a session id \(a UUID\)$/),
  },
  {
    // Found by the fuzzer: the refusal quoted a 5,000-character entry name whole.
    name: 'an archive entry with a 5,000-character name is refused in one short line',
    seeds: ['directory'],
    build: (doc) => {
      doc.workspace.blobs.archive = tarArchive([{ path: `${'n'.repeat(5000)}/../../x`, type: 'File', content: Buffer.from('x') }]).toString('base64');
      return JSON.stringify(freshIds(doc));
    },
    expect: (outcome) => {
      refusedWith('resume', 'WORKSPACE_ERROR', /refusing to restore the workspace into .+: entry "n+…" climbs out with "\.\."$/)(outcome);
      if (outcome.kind === 'refused') expect(outcome.message.length).toBeLessThan(600);
    },
  },
  {
    // Found by the fuzzer: a remote URL with a newline ended up, newline and all, in "cannot clone …".
    name: 'a remote URL with a newline in it is refused at import',
    seeds: ['git'],
    build: (doc) => {
      Object.assign(doc.workspace.manifest, { remoteUrl: 'origin\nhint: trust me', remoteName: 'origin', bundleIsComplete: false });
      return JSON.stringify(freshIds(doc));
    },
    expect: refusedWith('parse', 'IMPORT_INVALID', /workspace\.manifest\.remoteUrl: holds a control character$/),
  },
  {
    // Found by the fuzzer: the import stored it with JSON.stringify, which overflowed the stack (a RangeError, "this is a bug").
    name: 'an event whose data is nested 50,000 levels deep is refused at import',
    build: (doc) => {
      doc.events[0].data = 'NESTED';
      return JSON.stringify(freshIds(doc)).replace('"NESTED"', `${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    },
    expect: refusedWith('parse', 'IMPORT_INVALID', /events\.0\.data: is nested more than 64 levels deep$/),
  },
  {
    // Found by the fuzzer: a session start in the year 10000 named the rollout `rollout-+010000-…`, where neither
    // Codex nor baton finds it; the resume then saved nothing.
    name: 'a Codex session that starts in the year 10000 or before year 0 rehydrates where Codex finds it',
    build: (doc, { seed }) => {
      if (seed.harness === 'codex') doc.transcript.meta.sessionStartedAt = seed.workspace === 'git' ? '+010000-01-01T00:00:00.000Z' : '-000001-06-01T00:00:00.000Z';
      return JSON.stringify(freshIds(doc));
    },
    expect: (outcome) => expect(outcome.kind).toBe('resumed'),
  },
  {
    // Found by the fuzzer: the file system's ENAMETOOLONG came back with the whole 5,000-character path in it.
    name: 'an archive entry whose name is too long for the file system is refused in one short line',
    seeds: ['directory'],
    build: (doc) => {
      doc.workspace.blobs.archive = tarArchive([{ path: 'n'.repeat(5000), type: 'File', content: Buffer.from('x') }]).toString('base64');
      return JSON.stringify(freshIds(doc));
    },
    expect: (outcome) => {
      refusedWith('resume', 'WORKSPACE_ERROR', /^could not restore the workspace into .+: .*ENAMETOOLONG.*…$/)(outcome);
      if (outcome.kind === 'refused') expect(outcome.message.length).toBeLessThan(600);
    },
  },
  {
    // Found while fuzzing: `baton ls` and `baton show` sent stored text to the terminal as it was, escape
    // sequences and all (clear the screen, retitle the window, fake a line), and a newline split a row in two.
    name: 'escape sequences and newlines in a title, a run and the transcript reach the terminal as visible escapes',
    build: (doc) => {
      doc.conversation.title = 'title\x1b[2J\x1b]0;owned\x07';
      Object.assign(doc.runs[0], { host: 'host\nfake line', cwd: '/x\r\u202e', status: 'failed', error: 'boom\x1b[31m\nsecond line' });
      const main = doc.transcript.files[0];
      main.content += `${JSON.stringify(doc.conversation.harness === 'codex'
        ? { type: 'response_item', payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'reply\x1b[2J\x9b' }] } }
        : { type: 'assistant', sessionId: doc.conversation.sessionId, cwd: '/x', message: { role: 'assistant', content: [{ type: 'text', text: 'reply\x1b[2J\x9b' }] } })}\n`;
      rehashFile(main);
      return JSON.stringify(freshIds(doc));
    },
    expect: (outcome) => expect(outcome.kind).toBe('resumed'),
  },
  {
    // Found by the fuzzer: `git clone fd::17` (the remote-fd helper) never returned, and the resume hung for good.
    name: 'a remote URL that names a git remote helper (fd::, ext::) is refused at import',
    seeds: ['git'],
    build: (doc, { seed }) => {
      Object.assign(doc.workspace.manifest, { remoteUrl: seed.harness === 'codex' ? 'fd::17' : 'ext::sh -c touch% /tmp/BATON-FUZZ-PWNED-ext', remoteName: 'origin', bundleIsComplete: false });
      return JSON.stringify(freshIds(doc));
    },
    expect: refusedWith('parse', 'IMPORT_INVALID', /workspace\.manifest\.remoteUrl: names a git remote helper/),
  },
  {
    // Found by the fuzzer: a worker launches with the conversation's system prompt, and one holding a NUL made
    // Node's spawn throw a TypeError ("this is a bug").
    name: 'a system prompt with a NUL in it is refused at import',
    build: (doc) => {
      doc.conversation.options = { systemPrompt: 'be helpful\0and hostile' };
      return JSON.stringify(freshIds(doc));
    },
    expect: refusedWith('parse', 'IMPORT_INVALID', /conversation\.options\.systemPrompt: holds a NUL character$/),
  },
];
