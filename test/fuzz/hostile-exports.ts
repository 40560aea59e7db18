/**
 * Hostile export files, generated with fast-check from real ones (seeds.ts): each case takes a seed, gives it
 * fresh ids (so cases do not collide in one store unless a mutation makes them), then applies one to four
 * mutations — ids, references, dates, integers, strings, transcript keys and hashes, manifests, crafted tar
 * archives, git bundles and patches, JSON shape — and sometimes damages the text itself.
 *
 * Every path a mutation aims outside the working directory points at `target.outside` (a canary folder that must
 * stay empty) or at a name holding `MARKER` under /tmp, so the test can tell whether anything was written there.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Header, Pax } from 'tar';
import type { Seed } from './seeds.js';

/** Every file a hostile export tries to create outside the cwd has this in its name. */
export const MARKER = 'BATON-FUZZ-PWNED';

/** Where a hostile export aims: fixed for a fuzz session, checked after every case. */
export interface Targets {
  /** An absolute folder outside every case's cwd and homes that must stay empty. */
  outside: string;
  /** A relative path from a case's cwd up to `outside` (cwd = <root>/cases/<n>/cwd, outside = <root>/outside). */
  outsideFromCwd: string;
  /** Ids of conversations and runs already in the store (seeds imported as they are): references to other conversations. */
  foreignConversationIds: string[];
  foreignRunIds: string[];
}

export interface HostileCase {
  seed: Seed;
  /** What was done to the seed, for the failure message. */
  mutations: string[];
  text: string;
}

// biome-ignore lint: a JSON document being mangled has no useful static type.
type Json = any;
type Mutation = { label: string; apply: (doc: Json, seed: Seed) => void };

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const idBody = fc.string({ unit: fc.constantFrom(...CROCKFORD), minLength: 26, maxLength: 26 });
const freshConversationId = idBody.map((body) => `c_${body}`);
const freshRunId = idBody.map((body) => `r_${body}`);

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const countLines = (bytes: Buffer): number => {
  let newlines = 0;
  for (const byte of bytes) if (byte === 0x0a) newlines++;
  return bytes.length === 0 || bytes[bytes.length - 1] === 0x0a ? newlines : newlines + 1;
};

/** Makes a transcript file verify again after its content changed (so the mutation reaches past the hash check). */
function rehash(file: Json): void {
  if (typeof file?.content !== 'string') return;
  const bytes = Buffer.from(file.content, file.encoding === 'base64' ? 'base64' : 'utf8');
  file.sha256 = sha256(bytes);
  file.lineCount = countLines(bytes);
}

const pick = (items: Json, index: number): Json => (Array.isArray(items) && items.length > 0 ? items[index % items.length] : undefined);

// ---------------------------------------------------------------------------------------------------------------
// Values

const controlCharacters = fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 20 });

/** Strings that break displays, parsers and one-line messages. */
export function hostileString(targets: Targets): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      '\0',
      'a\0b',
      'line one\nline two',
      'carriage\rreturn',
      '\x1b[2J\x1b[H\x1b]0;owned\x07',
      '\x1b[31mred\x1b[0m',
      '\u202eevil\u202c',
      '\ud800',
      '\ufeffbom',
      '../../etc/passwd',
      `${targets.outsideFromCwd}/${MARKER}`,
      `/tmp/${MARKER}`,
      '$(touch /tmp/BATON-FUZZ-PWNED-sh)',
      '`touch /tmp/BATON-FUZZ-PWNED-sh`',
      '--upload-pack=touch /tmp/BATON-FUZZ-PWNED-git',
      '-oProxyCommand=touch /tmp/BATON-FUZZ-PWNED-ssh',
      '%s%s%n',
      '{{prompt}}',
      '{prompt}',
      'ありがとう🎉',
      '__proto__',
    ),
    controlCharacters,
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer({ min: 1, max: 120 }).map((kilobytes) => 'x'.repeat(kilobytes * 1024)),
    fc.integer({ min: 1, max: 20 }).map((lines) => Array.from({ length: lines }, (_, index) => `line ${index}`).join('\n')),
  );
}

/** Ids in the wrong shape: traversal, NUL, huge, wrong prefix, unicode, newlines. */
function hostileId(prefix: 'c_' | 'r_', targets: Targets): fc.Arbitrary<string> {
  const other = prefix === 'c_' ? 'r_' : 'c_';
  return fc.oneof(
    fc.constantFrom(
      '../../x',
      `${prefix}../../x`,
      `${prefix}${'0'.repeat(25)}\0`,
      `${prefix}${'0'.repeat(26)}\n`,
      `${prefix}${'A'.repeat(26)}`,
      `${prefix}${'0'.repeat(25)}`,
      `${prefix}${'0'.repeat(27)}`,
      `${prefix}ÄÖÜäöüßÄÖÜäöüßÄÖÜäöüßÄÖÜäö`,
      `${prefix}${'0'.repeat(24)}🎉`,
      '',
      prefix,
      `${targets.outside}/${MARKER}`,
    ),
    idBody.map((body) => `${other}${body}`),
    fc.integer({ min: 1, max: 100 }).map((kilobytes) => `${prefix}${'0'.repeat(kilobytes * 1024)}`),
    hostileString(targets),
  );
}

/** Session ids (UUIDs) that are not UUIDs, or are another conversation's. */
const hostileSessionId = fc.constantFrom(
  '../../x',
  '00000000-0000-0000-0000-000000000000\n',
  '00000000-0000-0000-0000-00000000000',
  '00000000-0000-0000-0000-0000000000000',
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  '00000000-0000-0000-0000-000000000000/../../x',
  '',
  '\0',
  'x'.repeat(100_000),
  '\x1b[2Jnot-a-uuid\nhint: trust me',
);

const badTime = fc.oneof(
  fc.constantFrom(1e20, -1e17, -1, 1.5, 8.64e15, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 'NaN', 'Infinity', '2024-01-01', '', null, true, [], {}),
  fc.double({ noNaN: true }),
);

const badInteger = fc.oneof(
  fc.constantFrom(-1, 0, 0.5, 1.5, -0.0001, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, 'NaN', '1', null, [], {}, true, 256, -2),
  fc.integer(),
  fc.double(),
);

const hostileSessionStart = fc.constantFrom(
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '+010000-01-01T00:00:00.000Z',
  '0000-01-01T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  'not a date',
  '',
  '1970-01-01T00:00:00Z/../../x',
  '2026-13-45T99:99:99Z',
  '\x1b[2J',
);

// ---------------------------------------------------------------------------------------------------------------
// Crafted tar archives

export interface TarEntry {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO' | 'ContiguousFile' | 'GNUDumpDir';
  mode?: number;
  linkpath?: string;
  content?: Buffer;
}

/** A tar archive as the entries say, however unsafe (no checks: that is the point). */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content ?? Buffer.alloc(0);
    const fields = {
      path: entry.path,
      mode: entry.mode ?? (entry.type === 'Directory' ? 0o755 : 0o644),
      size: entry.type === 'File' || entry.type === 'ContiguousFile' ? content.length : 0,
      mtime: new Date(1_700_000_000_000),
      type: entry.type,
      uid: 0,
      gid: 0,
      ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}),
      ...(entry.type === 'CharacterDevice' || entry.type === 'BlockDevice' ? { devmaj: 1, devmin: 3 } : {}),
    };
    const header = new Header(fields);
    if (header.encode()) blocks.push(new Pax({ path: entry.path, linkpath: entry.linkpath, size: fields.size, mtime: fields.mtime }).encode());
    blocks.push(header.block!);
    if (fields.size > 0) blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const pwned = Buffer.from('pwned\n');

function hostileArchive(targets: Targets): fc.Arbitrary<{ label: string; archive: Buffer }> {
  const file = (path: string, extra: Partial<TarEntry> = {}): TarEntry => ({ path, type: 'File', content: pwned, ...extra });
  const crafted: Array<[string, TarEntry[]]> = [
    ['a ../ entry', [file(`../${MARKER}`)]],
    ['a deep ../ entry', [file(`${targets.outsideFromCwd}/${MARKER}`)]],
    ['a ../ inside a path', [file(`a/../../${MARKER}`)]],
    ['an absolute path', [file(`${targets.outside}/${MARKER}`)]],
    ['an absolute /tmp path', [file(`/tmp/${MARKER}`)]],
    ['a symlink escape, then a file through it', [{ path: 'link', type: 'SymbolicLink', linkpath: targets.outside }, file(`link/${MARKER}`)]],
    ['a relative symlink escape, then a file through it', [{ path: 'up', type: 'SymbolicLink', linkpath: targets.outsideFromCwd }, file(`up/${MARKER}`)]],
    ['a symlink escape, then a directory and a file through it', [{ path: 'd', type: 'SymbolicLink', linkpath: targets.outside }, { path: 'd/sub', type: 'Directory' }, file(`d/sub/${MARKER}`)]],
    ['a symlink named like a file that comes later', [{ path: 'f.txt', type: 'SymbolicLink', linkpath: `${targets.outside}/${MARKER}` }, file('f.txt')]],
    ['a file, then a symlink over it', [file('f.txt'), { path: 'f.txt', type: 'SymbolicLink', linkpath: `${targets.outside}/${MARKER}` }]],
    ['a directory, then a symlink over it with a file below', [{ path: 'x', type: 'Directory' }, file('x/inner'), { path: 'x', type: 'SymbolicLink', linkpath: targets.outside }]],
    ['a hardlink to a file outside', [{ path: 'hard', type: 'Link', linkpath: `${targets.outside}/${MARKER}` }]],
    ['a hardlink to /etc/passwd, then a write to it', [{ path: 'hard', type: 'Link', linkpath: '/etc/passwd' }, file('hard')]],
    ['a relative hardlink out', [{ path: 'hard', type: 'Link', linkpath: `../${MARKER}` }]],
    ['a character device', [{ path: 'null', type: 'CharacterDevice', mode: 0o666 }]],
    ['a block device', [{ path: 'disk', type: 'BlockDevice', mode: 0o660 }]],
    ['a FIFO', [{ path: 'pipe', type: 'FIFO', mode: 0o644 }]],
    ['a setuid file', [file('suid', { mode: 0o4755 })]],
    ['a setgid directory', [{ path: 'sgid', type: 'Directory', mode: 0o2775 }, file('sgid/inner')]],
    ['a sticky, world-writable directory', [{ path: 'sticky', type: 'Directory', mode: 0o1777 }]],
    ['a contiguous file', [{ path: 'contig', type: 'ContiguousFile', content: pwned }]],
    ['a GNU dump dir', [{ path: 'dump', type: 'GNUDumpDir' }]],
    ['files that run code', [file('.codex/config.toml', { content: Buffer.from(`[mcp_servers.x]\ncommand = "touch"\nargs = ["/tmp/${MARKER}-mcp"]\n`) }), file('.mcp.json'), file('.claude/settings.json'), file('.git/config', { content: Buffer.from(`[core]\n\tfsmonitor = touch /tmp/${MARKER}-fsmonitor\n`) }), file('.git/HEAD', { content: Buffer.from('ref: refs/heads/main\n') })]],
    ['a symlink where withheld files go', [{ path: '.codex', type: 'SymbolicLink', linkpath: targets.outside }, { path: '.claude', type: 'SymbolicLink', linkpath: targets.outside }]],
    ['a NUL in a name', [file('a\0b')]],
    ['a name of 5000 characters', [file('n'.repeat(5000))]],
    ['a path of 300 folders', [file(`${Array.from({ length: 300 }, () => 'd').join('/')}/f`)]],
    ['a backslash climb', [file(`..\\..\\${MARKER}`)]],
    ['a windows drive path', [file(`C:\\${MARKER}`)]],
    ['an entry for "." that is a symlink', [{ path: '.', type: 'SymbolicLink', linkpath: targets.outside }, file(MARKER)]],
    ['an empty path', [file('')]],
    ['a dangling symlink to an absolute path (legitimate)', [{ path: 'ok-link', type: 'SymbolicLink', linkpath: '/nonexistent/target' }, file('ok.txt')]],
  ];
  const craftedArchive = fc.constantFrom(...crafted).map(([label, entries]) => ({ label: `archive: ${label}`, archive: tarArchive(entries) }));
  const bytes = fc.oneof(
    fc.constant({ label: 'archive: empty', archive: Buffer.alloc(0) }),
    fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((array) => ({ label: 'archive: garbage bytes', archive: Buffer.from(array) })),
    fc.constant({ label: 'archive: zero blocks only', archive: Buffer.alloc(1024) }),
    fc.constant({ label: 'archive: one header, no end', archive: tarArchive([{ path: 'a', type: 'File', content: pwned }]).subarray(0, 512) }),
  );
  return fc.oneof({ weight: 3, arbitrary: craftedArchive }, { weight: 1, arbitrary: bytes });
}

// ---------------------------------------------------------------------------------------------------------------
// Git patches and bundles

const newFilePatch = (path: string, content = 'pwned', mode = '100644'): string =>
  `diff --git a/${path} b/${path}\nnew file mode ${mode}\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1 @@\n+${content}\n\\ No newline at end of file\n`;

function hostilePatch(targets: Targets): fc.Arbitrary<{ label: string; patch: Buffer }> {
  const crafted: Array<[string, string]> = [
    ['a patch that writes ../outside', newFilePatch(`../${MARKER}`)],
    ['a patch that climbs to the canary', newFilePatch(`${targets.outsideFromCwd}/${MARKER}`)],
    ['a patch with an absolute path', `diff --git a${targets.outside}/${MARKER} b${targets.outside}/${MARKER}\nnew file mode 100644\n--- /dev/null\n+++ b${targets.outside}/${MARKER}\n@@ -0,0 +1 @@\n+pwned\n`],
    ['a patch that makes a symlink out and writes through it', newFilePatch('link', targets.outside, '120000') + newFilePatch(`link/${MARKER}`)],
    ['a patch that writes a git hook', newFilePatch('.git/hooks/post-checkout', `#!/bin/sh\ntouch /tmp/${MARKER}-hook`, '100755')],
    ['a patch that writes .git/config', newFilePatch('.git/config', `[core]\n\tfsmonitor = touch /tmp/${MARKER}-fsmonitor`)],
    ['a patch that adds files that run code', newFilePatch('.codex/config.toml', `[mcp_servers.x]\ncommand = "touch"`) + newFilePatch('.mcp.json', '{}') + newFilePatch('.claude/settings.json', '{}')],
    ['a patch with a setuid mode', newFilePatch('suid', 'x', '104755')],
    ['a patch with a gitlink', newFilePatch('sub', '0123456789012345678901234567890123456789', '160000')],
    ['a patch that edits a missing file', 'diff --git a/nope b/nope\n--- a/nope\n+++ b/nope\n@@ -1 +1 @@\n-a\n+b\n'],
    ['a patch whose name holds an escape sequence', newFilePatch('\x1b[2Jname')],
    ['a patch of 200 KB', newFilePatch('big', 'y'.repeat(200_000))],
  ];
  return fc.oneof(
    fc.constantFrom(...crafted).map(([label, patch]) => ({ label: `patch: ${label}`, patch: Buffer.from(patch) })),
    fc.uint8Array({ maxLength: 2000 }).map((array) => ({ label: 'patch: garbage bytes', patch: Buffer.from(array) })),
  );
}

const hostileBundle = fc.oneof(
  fc.constant({ label: 'bundle: empty', bundle: Buffer.alloc(0) }),
  fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((array) => ({ label: 'bundle: garbage bytes', bundle: Buffer.from(array) })),
  fc.constant({ label: 'bundle: a header and no pack', bundle: Buffer.from('# v2 git bundle\n0123456789012345678901234567890123456789 refs/heads/main\n\n') }),
  fc.constant({ label: 'bundle: a header naming an option as a ref', bundle: Buffer.from('# v2 git bundle\n0123456789012345678901234567890123456789 --upload-pack=touch\n\nPACK') }),
);

// ---------------------------------------------------------------------------------------------------------------
// Mutations

const setAt = (label: string, apply: (doc: Json, seed: Seed) => void): Mutation => ({ label, apply });

function idMutations(targets: Targets): fc.Arbitrary<Mutation> {
  return fc.oneof(
    hostileId('c_', targets).map((id) => setAt(`conversation.id = ${JSON.stringify(id).slice(0, 60)}`, (doc) => void (doc.conversation.id = id))),
    fc.tuple(hostileId('r_', targets), fc.nat()).map(([id, index]) =>
      setAt(`runs[${index}].id = ${JSON.stringify(id).slice(0, 60)}`, (doc) => {
        const run = pick(doc.runs ?? [], index);
        if (run) run.id = id;
      }),
    ),
    fc.tuple(hostileId('r_', targets), fc.nat()).map(([id, index]) =>
      setAt(`events[${index}].runId = ${JSON.stringify(id).slice(0, 60)}`, (doc) => {
        const event = pick(doc.events ?? [], index);
        if (event) event.runId = id;
      }),
    ),
    hostileId('r_', targets).map((id) => setAt(`workspace.runId = ${JSON.stringify(id).slice(0, 60)}`, (doc) => void (doc.workspace && (doc.workspace.runId = id)))),
    fc.tuple(hostileSessionId, fc.constantFrom('conversation', 'meta', 'both')).map(([id, where]) =>
      setAt(`session id (${where}) = ${JSON.stringify(id).slice(0, 60)}`, (doc) => {
        if (where !== 'meta') doc.conversation.sessionId = id;
        if (where !== 'conversation' && doc.transcript?.meta) doc.transcript.meta.sessionId = id;
      }),
    ),
    fc.constant(setAt('session id removed', (doc) => void delete doc.conversation.sessionId)),
    fc.uuid().map((id) => setAt(`a fresh session id ${id} (conversation and meta)`, (doc) => {
      doc.conversation.sessionId = id;
      if (doc.transcript?.meta) doc.transcript.meta.sessionId = id;
    })),
    fc.constantFrom(...targets.foreignConversationIds).map((id) => setAt(`conversation.id = an existing conversation ${id}`, (doc) => void (doc.conversation.id = id))),
    fc.constant(setAt('harness swapped', (doc) => void (doc.conversation.harness = doc.transcript.harness = doc.conversation.harness === 'codex' ? 'claude' : 'codex'))),
    fc.constant(setAt('transcript harness differs', (doc) => void (doc.transcript.harness = doc.conversation.harness === 'codex' ? 'claude' : 'codex'))),
    hostileString(targets).map((name) => setAt(`harness = ${JSON.stringify(name).slice(0, 60)}`, (doc) => void (doc.conversation.harness = doc.transcript.harness = name))),
  );
}

function referenceMutations(targets: Targets): fc.Arbitrary<Mutation> {
  const foreignRun = fc.constantFrom(...targets.foreignRunIds);
  return fc.oneof(
    fc.tuple(foreignRun, fc.nat()).map(([id, index]) => setAt(`events[${index}].runId = another conversation's run`, (doc) => {
      const event = pick(doc.events ?? [], index);
      if (event) event.runId = id;
    })),
    fc.tuple(freshRunId, fc.nat()).map(([id, index]) => setAt(`events[${index}].runId = a missing run`, (doc) => {
      const event = pick(doc.events ?? [], index);
      if (event) event.runId = id;
    })),
    foreignRun.map((id) => setAt('workspace.runId = another conversation\'s run', (doc) => void (doc.workspace && (doc.workspace.runId = id)))),
    freshRunId.map((id) => setAt('workspace.runId = a missing run', (doc) => void (doc.workspace && (doc.workspace.runId = id)))),
    foreignRun.map((id) => setAt('runs[0].id = another conversation\'s run (events follow)', (doc) => {
      const old = doc.runs[0].id;
      doc.runs[0].id = id;
      for (const event of doc.events) if (event.runId === old) event.runId = id;
      if (doc.workspace?.runId === old) doc.workspace.runId = id;
    })),
    fc.constant(setAt('a run appears twice', (doc) => void doc.runs.push(structuredClone(doc.runs[0])))),
    freshRunId.map((id) => setAt('two runs share a sequence', (doc) => void doc.runs.push({ ...structuredClone(doc.runs[0]), id }))),
    freshRunId.map((id) => setAt('a second run (resume, sequence 2)', (doc) => void doc.runs.push({ ...structuredClone(doc.runs[0]), id, sequence: 2, kind: 'resume', prompt: 'second' }))),
    fc.nat().map((index) => setAt(`events[${index}] appears twice`, (doc) => {
      const event = pick(doc.events ?? [], index);
      if (event) doc.events.push(structuredClone(event));
    })),
    fc.constant(setAt('runs emptied', (doc) => void (doc.runs = []))),
    fc.constant(setAt('runs and events emptied, workspace dropped', (doc) => Object.assign(doc, { runs: [], events: [], workspace: null }))),
    fc.constant(setAt('events emptied', (doc) => void (doc.events = []))),
    fc.constant(setAt('a transcript file appears twice', (doc) => void doc.transcript.files.push(structuredClone(doc.transcript.files[0])))),
    fc.constant(setAt('transcript files emptied', (doc) => void (doc.transcript.files = []))),
    fc.constant(setAt('transcript meta null', (doc) => void (doc.transcript.meta = null))),
    fc.constant(setAt('forkedFrom pointing at another conversation', (doc) => void (doc.conversation.forkedFrom = { conversationId: targets.foreignConversationIds[0], runId: targets.foreignRunIds[0], reason: 'x' }))),
  );
}

function dateMutations(): fc.Arbitrary<Mutation> {
  const where = fc.constantFrom('conversation.createdAt', 'conversation.updatedAt', 'runs.startedAt', 'runs.endedAt', 'runs.queuedAt', 'events.at', 'exportedAt');
  return fc.tuple(where, badTime, fc.nat()).map(([path, value, index]) =>
    setAt(`${path} = ${JSON.stringify(value)}`, (doc) => {
      const [head, key] = path.split('.') as [string, string | undefined];
      if (key === undefined) doc[head] = value;
      else if (head === 'conversation') doc.conversation[key] = value;
      else {
        const item = pick(doc[head] ?? [], index);
        if (item) item[key] = value;
      }
    }),
  );
}

function integerMutations(): fc.Arbitrary<Mutation> {
  const where = fc.constantFrom('runs.sequence', 'runs.exitCode', 'runs.handoffs', 'events.sequence', 'files.lineCount', 'manifest.fileCount', 'manifest.bytes', 'manifest.limitBytes', 'version');
  return fc.tuple(where, badInteger, fc.nat()).map(([path, value, index]) =>
    setAt(`${path} = ${JSON.stringify(value)}`, (doc) => {
      const [head, key] = path.split('.') as [string, string | undefined];
      if (key === undefined) doc[head] = value;
      else if (head === 'manifest') {
        if (doc.workspace?.manifest) doc.workspace.manifest[key] = value;
      } else {
        const list = head === 'files' ? doc.transcript.files : doc[head];
        const item = pick(list ?? [], index);
        if (item) item[key] = value;
      }
    }),
  );
}

function stringMutations(targets: Targets): fc.Arbitrary<Mutation> {
  const where = fc.constantFrom(
    'conversation.title', 'conversation.cwd', 'conversation.options.model', 'conversation.options.systemPrompt',
    'runs.prompt', 'runs.host', 'runs.cwd', 'runs.error', 'runs.status', 'runs.kind',
    'events.type', 'events.data', 'events.data.message', 'events.data.command',
    'meta.cwd', 'meta.cliVersion', 'meta.sessionStartedAt', 'manifest.changedFiles', 'manifest.excludedSecrets', 'manifest.fingerprint',
    'exportedAt', 'format',
  );
  return fc.tuple(where, hostileString(targets), fc.nat()).map(([path, value, index]) =>
    setAt(`${path} = ${JSON.stringify(value).slice(0, 60)}`, (doc) => {
      const parts = path.split('.');
      const head = parts[0]!;
      let holder: Json;
      if (parts.length === 1) holder = doc;
      else if (head === 'conversation') holder = parts[1] === 'options' ? (doc.conversation.options ??= {}) : doc.conversation;
      else if (head === 'meta') holder = doc.transcript.meta;
      else if (head === 'manifest') holder = doc.workspace?.manifest;
      else holder = pick(doc[head] ?? [], index);
      if (!holder) return;
      if (head === 'events' && parts.length === 3) holder = holder.data = typeof holder.data === 'object' && holder.data ? holder.data : {};
      const key = parts.at(-1)!;
      holder[key] = head === 'manifest' && (key === 'changedFiles' || key === 'excludedSecrets') ? [value, '../../x', '\x1b[2J'] : value;
    }),
  );
}

function transcriptMutations(targets: Targets): fc.Arbitrary<Mutation> {
  const key = fc.oneof(
    fc.constantFrom('../x', '/etc/passwd', `${targets.outside}/${MARKER}`, 'subagents/../../x', 'subagents/../../../x.jsonl', 'subagents/a/b.jsonl', 'main/../main', 'main\0', 'MAIN', '', 'subagents/', 'subagents/.jsonl', 'subagents/agent-1.jsonl', 'subagents/agent-1.meta.json', 'tasks/1.json', 'todos/x-agent-1.json', 'todos/../../../x.json', 'k'.repeat(5000), 'subagents/agent-\x1b.jsonl'),
    hostileString(targets),
  );
  const content = fc.oneof(
    fc.constantFrom('', '\n', 'not json\n', '{"type":"session_meta"}\n', '{"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"\\u001b[2Jhi\\u0007"}]}}\n', '{"cwd":"/x","sessionId":"\\u001b","message":{"role":"user","content":"\\u001b]0;t\\u0007"}}\n', '[[[[[[[[[[[[[[[[[[[[\n', 'x'.repeat(200_000), '\ufeff{}\n'),
    fc.string({ unit: 'binary', maxLength: 500 }),
    fc.integer({ min: 1, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}\n`),
  );
  return fc.oneof(
    fc.tuple(key, fc.boolean()).map(([name, add]) => setAt(`${add ? 'a second' : 'the main'} transcript file's key = ${JSON.stringify(name).slice(0, 60)}`, (doc) => {
      if (add) doc.transcript.files.push({ ...structuredClone(doc.transcript.files[0] ?? { content: '', encoding: 'utf8' }), key: name });
      else if (doc.transcript.files[0]) doc.transcript.files[0].key = name;
      for (const file of doc.transcript.files) rehash(file);
    })),
    fc.tuple(content, fc.boolean()).map(([text, fix]) => setAt(`main content = ${JSON.stringify(text).slice(0, 60)} (${fix ? 'hash fixed' : 'hash kept'})`, (doc) => {
      const main = doc.transcript.files[0];
      if (!main) return;
      main.content = text;
      main.encoding = 'utf8';
      if (fix) rehash(main);
    })),
    fc.constantFrom('append a line', 'drop the last line', 'flip a byte').map((change) => setAt(`main content: ${change} (hash kept)`, (doc) => {
      const main = doc.transcript.files[0];
      if (!main) return;
      const lines: string[] = main.content.split('\n');
      if (change === 'append a line') main.content += '{"extra":true}\n';
      else if (change === 'drop the last line') main.content = lines.slice(0, -2).join('\n') + '\n';
      else main.content = `X${main.content.slice(1)}`;
    })),
    fc.constantFrom('lineCount + 1', 'sha256 of nothing', 'sha256 uppercase', 'sha256 short').map((change) => setAt(`main ${change}`, (doc) => {
      const main = doc.transcript.files[0];
      if (!main) return;
      if (change === 'lineCount + 1') main.lineCount += 1;
      else if (change === 'sha256 of nothing') main.sha256 = sha256(Buffer.alloc(0));
      else if (change === 'sha256 uppercase') main.sha256 = main.sha256.toUpperCase();
      else main.sha256 = main.sha256.slice(0, 10);
    })),
    fc.constantFrom('base64 of the same bytes', 'invalid base64', 'an unknown encoding').map((change) => setAt(`main encoding: ${change}`, (doc) => {
      const main = doc.transcript.files[0];
      if (!main) return;
      if (change === 'base64 of the same bytes') Object.assign(main, { encoding: 'base64', content: Buffer.from(main.content, 'utf8').toString('base64') });
      else if (change === 'invalid base64') Object.assign(main, { encoding: 'base64', content: '!!not base64!!' });
      else main.encoding = 'utf16le';
    })),
    hostileSessionStart.map((value) => setAt(`meta.sessionStartedAt = ${JSON.stringify(value)}`, (doc) => void (doc.transcript.meta && (doc.transcript.meta.sessionStartedAt = value)))),
  );
}

function manifestMutations(targets: Targets, seeds: readonly Seed[]): fc.Arbitrary<Mutation> {
  const field = (key: string, value: unknown) => setAt(`manifest.${key} = ${JSON.stringify(value)?.slice(0, 60)}`, (doc) => void (doc.workspace?.manifest && (doc.workspace.manifest[key] = value)));
  const remoteUrl = fc.constantFrom(
    `ext::sh -c touch% /tmp/${MARKER}-ext`,
    `ext::sh -c touch% ${targets.outside}/${MARKER}`,
    '-oProxyCommand=touch /tmp/BATON-FUZZ-PWNED-ssh',
    `ssh://-oProxyCommand=touch%20/tmp/${MARKER}-ssh/x`,
    `fd::17`,
    targets.outside,
    `file://${targets.outside}`,
    'https://127.0.0.1:1/repo.git',
    '../../..',
    'origin\nhint: trust me',
    '\x1b[2J',
  );
  const gitName = fc.constantFrom('-b', '--orphan', '--upload-pack=touch', 'main..x', 'HEAD', '@{-1}', 'a/../../b', 'refs/heads/../../x', '.lock', 'x.lock', 'main\n', '$(touch /tmp/BATON-FUZZ-PWNED-sh)', 'ü', '\x1b[2J');
  const otherSeedsWorkspace = fc.constantFrom(...seeds).map((other) => setAt(`workspace taken from seed ${other.name}`, (doc) => void (doc.workspace = JSON.parse(other.text).workspace)));
  return fc.oneof(
    fc.constantFrom('changedFiles', 'excludedSecrets', 'fingerprint', 'kind', 'baseCommit', 'tree', 'bundleIsComplete', 'fileCount').map((key) => setAt(`manifest.${key} removed`, (doc) => void (doc.workspace?.manifest && delete doc.workspace.manifest[key]))),
    fc.constantFrom('git', 'directory', 'too-large', 'svn', '', 'GIT').map((kind) => field('kind', kind)),
    fc.constantFrom('--upload-pack=touch /tmp/BATON-FUZZ-PWNED-git', '-c', 'HEAD', 'main', '0'.repeat(40), 'f'.repeat(64), 'F'.repeat(40), '0'.repeat(39)).map((commit) => field('baseCommit', commit)),
    fc.constantFrom('--upload-pack=x', '0'.repeat(40), 'HEAD^{tree}').map((tree) => field('tree', tree)),
    remoteUrl.map((url) => setAt(`remote ${JSON.stringify(url)} (bundle incomplete)`, (doc) => {
      const manifest = doc.workspace?.manifest;
      if (manifest) Object.assign(manifest, { remoteUrl: url, remoteName: manifest.remoteName ?? 'origin', bundleIsComplete: false });
    })),
    remoteUrl.map((url) => field('remoteUrl', url)),
    gitName.map((name) => field('branch', name)),
    gitName.map((name) => field('remoteName', name)),
    fc.constant(setAt('a too-large manifest with blobs', (doc) => doc.workspace && Object.assign(doc.workspace.manifest, { kind: 'too-large', bytes: 1, limitBytes: 0 }))),
    otherSeedsWorkspace,
    fc.constant(setAt('workspace: an unknown blob', (doc) => void (doc.workspace && (doc.workspace.blobs.script = Buffer.from('x').toString('base64'))))),
    fc.constant(setAt('workspace: blobs removed', (doc) => void (doc.workspace && (doc.workspace.blobs = {})))),
    fc.constant(setAt('workspace: blob not base64', (doc) => void (doc.workspace && (doc.workspace.blobs = { archive: '%%%', bundle: '%%%', patch: '%%%' })))),
    fc.constant(setAt('workspace: null manifest', (doc) => void (doc.workspace && (doc.workspace.manifest = null)))),
  );
}

function blobMutations(targets: Targets): fc.Arbitrary<Mutation> {
  const setBlob = (name: 'archive' | 'bundle' | 'patch', bytes: Buffer) => (doc: Json): void => {
    if (!doc.workspace) return;
    doc.workspace.blobs ??= {};
    doc.workspace.blobs[name] = bytes.toString('base64');
  };
  return fc.oneof(
    hostileArchive(targets).map(({ label, archive }) => setAt(label, (doc) => {
      // An archive rides on a directory manifest (as baton writes it), whatever the seed was.
      setBlob('archive', archive)(doc);
      if (doc.workspace && doc.workspace.manifest?.kind !== 'directory') {
        doc.workspace.manifest = { kind: 'directory', fingerprint: 'f'.repeat(64), fileCount: 1, changedFiles: [], excludedSecrets: [] };
        doc.workspace.blobs = { archive: archive.toString('base64') };
      }
    })),
    hostilePatch(targets).map(({ label, patch }) => setAt(label, (doc) => void (doc.workspace?.manifest?.kind === 'git' && setBlob('patch', patch)(doc)))),
    hostileBundle.map(({ label, bundle }) => setAt(label, (doc) => void (doc.workspace?.manifest?.kind === 'git' && setBlob('bundle', bundle)(doc)))),
  );
}

/** Deletes, retypes or adds a key somewhere in the document (a random walk down its objects and arrays). */
function shapeMutations(): fc.Arbitrary<Mutation> {
  const replacement = fc.oneof(fc.constantFrom(null, 0, -1, '', 'x', true, [], {}, [null], { __proto__: null }), fc.jsonValue({ maxDepth: 2 }));
  const walk = (doc: Json, steps: number[]): { holder: Json; key: string | number } | undefined => {
    let holder: Json = doc;
    let key: string | number | undefined;
    for (const step of steps) {
      const value = key === undefined ? holder : holder[key];
      if (value === null || typeof value !== 'object') break;
      const keys: Array<string | number> = Array.isArray(value) ? value.map((_, index) => index) : Object.keys(value);
      if (keys.length === 0) break;
      if (key !== undefined) holder = value;
      key = keys[step % keys.length]!;
    }
    return key === undefined ? undefined : { holder, key };
  };
  const steps = fc.array(fc.nat(), { minLength: 1, maxLength: 6 });
  return fc.oneof(
    steps.map((path) => setAt(`delete at ${path.join('.')}`, (doc) => {
      const spot = walk(doc, path);
      if (!spot) return;
      if (Array.isArray(spot.holder)) spot.holder.splice(Number(spot.key), 1);
      else delete spot.holder[spot.key];
    })),
    fc.tuple(steps, replacement).map(([path, value]) => setAt(`retype at ${path.join('.')} = ${JSON.stringify(value)?.slice(0, 40)}`, (doc) => {
      const spot = walk(doc, path);
      if (spot) spot.holder[spot.key] = structuredClone(value);
    })),
    fc.tuple(steps, fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'toString', 'tenant', 'trust', 'activeRunId', 'leaseExpiresAt'), replacement).map(([path, name, value]) =>
      setAt(`extra key ${name} at ${path.join('.')}`, (doc) => {
        const spot = walk(doc, path);
        const target = spot ? spot.holder[spot.key] : doc;
        if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, name, { value: structuredClone(value), enumerable: true, configurable: true, writable: true });
      }),
    ),
    fc.constantFrom('trusted', 'untrusted').map((trust) => setAt(`conversation.trust = ${trust} (not the file's to say)`, (doc) => void (doc.conversation.trust = trust))),
    // Nested deeper than JSON.stringify can go: spliced into the text (see nestedArrays).
    fc.constantFrom(100, 5_000, 50_000).map((depth) => setAt(`an event's data nested ${depth} deep`, (doc) => {
      if (doc.events[0]) doc.events[0].data = { nested: `${NESTED}${depth}` };
    })),
    fc.integer({ min: 1, max: 20_000 }).map((count) => setAt(`${count} extra events`, (doc) => {
      const first = doc.events[0];
      if (!first) return;
      const base = Math.max(0, ...doc.events.map((event: Json) => Number(event.sequence) || 0));
      for (let index = 1; index <= count; index++) doc.events.push({ ...first, sequence: base + index });
    })),
  );
}

/** Damage to the text itself, after the document is serialised. */
const textDamage = fc.oneof(
  fc.nat().map((cut) => ({ label: `truncated at ${cut}`, apply: (text: string) => text.slice(0, cut % Math.max(1, text.length)) })),
  fc.constant({ label: 'a BOM in front', apply: (text: string) => `\ufeff${text}` }),
  fc.constant({ label: 'trailing garbage', apply: (text: string) => `${text}}}}` }),
  fc.constant({ label: 'empty', apply: () => '' }),
  fc.constantFrom('null', '[]', '"baton-conversation"', '0', 'true', '{}', '{"format":"baton-conversation","version":1}').map((json) => ({ label: `replaced by ${json}`, apply: () => json })),
  fc.constant({ label: 'a duplicate key that wins', apply: (text: string) => text.replace(/\}\s*$/, ',"conversation":{"id":"../../x"}}') }),
  fc.integer({ min: 10_000, max: 200_000 }).map((depth) => ({ label: `nested ${depth} deep`, apply: () => `${'['.repeat(depth)}${']'.repeat(depth)}` })),
  fc.nat().map((at) => ({ label: `a NUL byte at ${at}`, apply: (text: string) => { const index = at % Math.max(1, text.length); return `${text.slice(0, index)}\0${text.slice(index)}`; } })),
);

/**
 * An agent setup an export claims: MCP servers whose commands, args and env are hostile, and skills whose names,
 * paths and contents are. It is refused by its schema, or stored and never applied (the import is untrusted).
 */
function setupMutations(targets: Targets): fc.Arbitrary<Mutation> {
  const value = hostileString(targets);
  const server = fc.oneof(
    fc.record({ command: value, args: fc.array(value, { maxLength: 3 }), env: fc.dictionary(fc.oneof(value, fc.constant('PATH')), value, { maxKeys: 2 }) }),
    fc.record({ type: fc.constantFrom('http', 'sse', 'ws'), url: fc.oneof(value, fc.constantFrom('http://127.0.0.1:1/mcp', 'file:///etc/passwd', 'javascript:alert(1)')), headers: fc.dictionary(value, value, { maxKeys: 2 }) }),
  );
  const content = fc.oneof(fc.constant(Buffer.from('---\nname: x\ndescription: y\n---\n').toString('base64')), value);
  const path = fc.oneof(value, fc.constantFrom('SKILL.md', '../../escape.md', '/etc/cron.d/x', 'a/../../b', 'scripts/run.sh', '.', 'a//b'));
  const skill = fc.record({
    name: fc.oneof(value, fc.constantFrom('release-notes', '../skills', 'a--b', '-x')),
    description: value,
    files: fc.array(fc.record({ path, content, executable: fc.boolean() }), { minLength: 1, maxLength: 3 }),
  });
  return fc.oneof(
    fc.tuple(fc.oneof(value, fc.constantFrom('probe', '__proto__', 'a b')), server).map(([name, entry]) =>
      setAt(`options.mcpServers[${JSON.stringify(name).slice(0, 40)}] = ${JSON.stringify(entry).slice(0, 60)}`, (doc) => {
        doc.conversation.options = { ...doc.conversation.options, mcpServers: { [name]: entry } };
      }),
    ),
    fc.array(skill, { minLength: 1, maxLength: 2 }).map((skills) =>
      setAt(`options.skills = ${JSON.stringify(skills).slice(0, 60)}`, (doc) => {
        doc.conversation.options = { ...doc.conversation.options, skills };
      }),
    ),
    fc.oneof(value, fc.constantFrom('max', 'HIGH', 'low ')).map((effort) => setAt(`options.effort = ${JSON.stringify(effort).slice(0, 40)}`, (doc) => void (doc.conversation.options = { ...doc.conversation.options, effort }))),
  );
}

/**
 * One hostile export file. Most cases mutate the parsed document (so they reach past JSON.parse), a few damage
 * the text as well.
 */
export function mutationKinds(seeds: readonly Seed[], targets: Targets): Record<string, fc.Arbitrary<Mutation>> {
  return {
    ids: idMutations(targets),
    references: referenceMutations(targets),
    dates: dateMutations(),
    integers: integerMutations(),
    strings: stringMutations(targets),
    transcript: transcriptMutations(targets),
    manifest: manifestMutations(targets, seeds),
    blobs: blobMutations(targets),
    shape: shapeMutations(),
    setup: setupMutations(targets),
  };
}

/** How often each kind of mutation is drawn: blobs most (they pass the schema and reach the restore). */
const WEIGHTS: Record<string, number> = { ids: 3, references: 3, dates: 2, integers: 2, strings: 3, transcript: 4, manifest: 3, blobs: 6, shape: 2, setup: 2 };

export function hostileExport(seeds: readonly Seed[], targets: Targets, only?: string): fc.Arbitrary<HostileCase> {
  const kinds = mutationKinds(seeds, targets);
  const chosen = Object.entries(kinds).filter(([name]) => only === undefined || name === only);
  const mutation = fc.oneof(...chosen.map(([name, arbitrary]) => ({ weight: WEIGHTS[name]!, arbitrary })));
  return fc
    .record({
      seed: fc.constantFrom(...seeds),
      conversationId: freshConversationId,
      runIds: fc.array(freshRunId, { minLength: 4, maxLength: 4 }),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
      damage: only === undefined ? fc.oneof({ weight: 1, arbitrary: textDamage }, { weight: 7, arbitrary: fc.constant(null) }) : fc.constant(null),
    })
    .map(({ seed, conversationId, runIds, mutations, damage }) => {
      const doc = JSON.parse(seed.text);
      renumber(doc, conversationId, runIds);
      for (const { apply } of mutations) {
        try {
          apply(doc, seed);
        } catch {
          // a mutation that does not fit this document (an earlier one removed what it edits) does nothing
        }
      }
      let text = nestedArrays(JSON.stringify(doc));
      if (damage) text = damage.apply(text);
      const labels = [...mutations.map(({ label }) => label), ...(damage ? [`text: ${damage.label}`] : [])];
      // fast-check prints a failing case with this (not its 150 KB of text).
      return { seed, mutations: labels, text, [fc.toStringMethod]: () => `seed ${seed.name}, ${labels.join('; ')}` };
    });
}

const NESTED = '__nested arrays, this deep:';

/** Replaces the first NESTED placeholder string with arrays nested that deep (copies of it, e.g. extra events, get `[]`). */
function nestedArrays(text: string): string {
  let first = true;
  return text.replace(new RegExp(`"${NESTED}(\\d+)"`, 'g'), (_, depth: string) => {
    const levels = first ? Number(depth) : 1;
    first = false;
    return `${'['.repeat(levels)}${']'.repeat(levels)}`;
  });
}

/** Fresh conversation and run ids, every reference moved along: a seed as `baton export` would write another conversation. */
function renumber(doc: Json, conversationId: string, runIds: readonly string[]): void {
  const renamed = new Map<string, string>(doc.runs.map((run: Json, index: number) => [run.id, runIds[index % runIds.length]!]));
  doc.conversation.id = conversationId;
  for (const run of doc.runs) {
    run.id = renamed.get(run.id);
    run.conversationId = conversationId;
  }
  for (const event of doc.events) event.runId = renamed.get(event.runId) ?? event.runId;
  if (doc.workspace) doc.workspace.runId = renamed.get(doc.workspace.runId) ?? doc.workspace.runId;
}
