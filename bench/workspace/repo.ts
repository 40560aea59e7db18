/**
 * A deterministic, realistic test repository for the workspace benchmark: ~10,000 text files of varied sizes in
 * a few hundred directories, a few binaries, two commits, packed (as a cloned or gc'd repository is), no remote.
 * Then ~1 MB of an agent's work on top: one new commit, staged and unstaged edits, new untracked files (one of
 * them binary), a deleted file.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { sh } from './util.js';

/** mulberry32: small, fast, reproducible. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYWORDS = ['const', 'let', 'return', 'if', 'else', 'for', 'while', 'function', 'import', 'export', 'from', 'await', 'async', 'new', 'class', 'interface', 'type', 'throw', 'try', 'catch', 'null', 'undefined', 'true', 'false', 'this', 'of', 'in'];
const PUNCT = ['(', ')', '{', '}', '[', ']', ';', ',', '.', '=', '=>', '===', '+', '-', '*', '&&', '||', '?', ':', '<', '>'];
// Avoid folder names baton's plain-directory mode skips by default (build, dist, target, coverage, …).
const DIR_NAMES = ['src', 'lib', 'core', 'util', 'api', 'server', 'client', 'models', 'views', 'handlers', 'internal', 'pkg', 'cmd', 'config', 'store', 'auth', 'net', 'io', 'parser', 'render', 'test', 'fixtures', 'docs', 'examples', 'tools', 'scripts', 'i18n', 'assets', 'styles', 'components', 'hooks', 'services', 'jobs', 'cache2', 'db', 'migrations', 'schema', 'types', 'common', 'shared'];
const EXTENSIONS = ['.ts', '.ts', '.ts', '.js', '.tsx', '.py', '.go', '.md', '.json', '.css', '.txt', '.yaml'];

class TextMaker {
  private readonly words: string[];
  constructor(private readonly random: () => number) {
    const syllables = ['get', 'set', 'user', 'item', 'list', 'map', 'node', 'tree', 'load', 'save', 'parse', 'read', 'write', 'id', 'name', 'value', 'count', 'index', 'state', 'config', 'request', 'response', 'handler', 'error', 'result', 'buffer', 'path', 'file', 'key', 'cache', 'token', 'event', 'queue', 'task', 'run', 'worker'];
    this.words = Array.from({ length: 3000 }, () => {
      const parts = 1 + Math.floor(random() * 3);
      let word = '';
      for (let i = 0; i < parts; i++) {
        const syllable = syllables[Math.floor(random() * syllables.length)]!;
        word += i === 0 ? syllable : syllable[0]!.toUpperCase() + syllable.slice(1);
      }
      return random() < 0.1 ? `${word}${Math.floor(random() * 100)}` : word;
    });
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  line(): string {
    const indent = '  '.repeat(Math.floor(this.random() * 5));
    const tokens = 2 + Math.floor(this.random() * 12);
    let line = indent;
    for (let i = 0; i < tokens; i++) {
      const r = this.random();
      line += (r < 0.2 ? this.pick(KEYWORDS) : r < 0.45 ? this.pick(PUNCT) : r < 0.5 ? JSON.stringify(this.pick(this.words)) : this.pick(this.words)) + ' ';
    }
    return this.random() < 0.08 ? `${indent}// ${line.trim()}\n` : `${line.trimEnd()}\n`;
  }

  text(bytes: number): string {
    const lines: string[] = [];
    let length = 0;
    while (length < bytes) {
      const line = this.line();
      lines.push(line);
      length += line.length;
    }
    return lines.join('');
  }
}

export interface RepoStats {
  files: number;
  directories: number;
  textBytes: number;
  binaryFiles: number;
  binaryBytes: number;
  packBytes: number;
  commits: number;
}

export interface ChangeStats {
  committedFiles: number;
  committedBytes: number;
  stagedEdits: number;
  unstagedEdits: number;
  editBytes: number;
  untrackedFiles: number;
  untrackedBytes: number;
  deletedFiles: number;
  totalBytes: number;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};
const at = (seconds: number): Record<string, string> => ({ ...GIT_ENV, GIT_AUTHOR_DATE: `@${seconds} +0000`, GIT_COMMITTER_DATE: `@${seconds} +0000` });

async function put(path: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

function fileSize(random: () => number): number {
  // Log-normal: median ~2 KB, mean ~3.4 KB, a long tail up to 200 KB.
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.max(60, Math.min(200_000, Math.round(2000 * Math.exp(normal * 1.0))));
}

/** Runs git with `input` on stdin. */
function gitWithInput(cwd: string, args: string[], input: Buffer, env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`git ${args[0]} failed: ${stderr}`))));
    child.stdin.end(input);
  });
}

/** A fast-import commit with whole-file modifications. */
function importCommit(time: number, message: string, files: Array<[string, Buffer]>): Buffer[] {
  const parts: Buffer[] = [
    Buffer.from(`commit refs/heads/main\nauthor Bench <bench@example.com> ${time} +0000\ncommitter Bench <bench@example.com> ${time} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`),
  ];
  for (const [path, content] of files) parts.push(Buffer.from(`M 100644 inline ${path}\ndata ${content.length}\n`), content, Buffer.from('\n'));
  parts.push(Buffer.from('\n'));
  return parts;
}

/**
 * Builds the repository in `dir` (which must not exist). The two commits are made with `git fast-import` and
 * the tree checked out once (writing 10,000 files twice, plus 10,000 loose objects, is most of a minute on a
 * slow disk); then `git gc` packs it with deltas, as a cloned or long-lived repository is.
 */
export async function buildRepo(dir: string, fileCount: number, seed = 4): Promise<{ stats: RepoStats; tracked: string[] }> {
  const random = prng(seed);
  const maker = new TextMaker(random);
  // A few hundred directories: a tree grown by picking a random parent (depth ≤ 5).
  const directories = [''];
  const depth = new Map<string, number>([['', 0]]);
  while (directories.length < 320) {
    const parent = directories[Math.floor(random() * directories.length)]!;
    if (depth.get(parent)! >= 5) continue;
    const name = DIR_NAMES[Math.floor(random() * DIR_NAMES.length)]! + (random() < 0.3 ? String(Math.floor(random() * 20)) : '');
    const path = parent === '' ? name : `${parent}/${name}`;
    if (depth.has(path)) continue;
    directories.push(path);
    depth.set(path, depth.get(parent)! + 1);
  }
  const files = new Map<string, Buffer>();
  let textBytes = 0;
  // Skewed: some directories hold many files.
  const weights = directories.map(() => Math.pow(random(), 3));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const pickDir = (): string => {
    let r = random() * totalWeight;
    for (let i = 0; i < directories.length; i++) if ((r -= weights[i]!) <= 0) return directories[i]!;
    return directories.at(-1)!;
  };
  const binaries: Array<[string, number]> = [['assets/logo.png', 180_000], ['assets/hero.jpg', 420_000], ['docs/diagram.png', 95_000], ['tools/fixture.bin', 600_000], ['assets/font.woff2', 70_000], ['examples/sample.sqlite', 250_000]];
  let binaryBytes = 0;
  for (const [path, size] of binaries) {
    files.set(path, randomBytes(random, size));
    binaryBytes += size;
  }
  files.set('.gitignore', Buffer.from('/out/\n*.log\n'));
  while (files.size < fileCount) {
    const folder = pickDir();
    const name = `${maker.line().replace(/[^a-zA-Z0-9]/g, '').slice(0, 16) || 'file'}${files.size}${EXTENSIONS[Math.floor(random() * EXTENSIONS.length)]!}`;
    const path = folder === '' ? name : `${folder}/${name}`;
    const content = Buffer.from(maker.text(fileSize(random)));
    files.set(path, content);
    textBytes += content.length;
  }
  const all = [...files.keys()].sort();
  const isBinary = (path: string): boolean => binaries.some(([b]) => b === path);
  const later = new Set(all.filter(() => random() < 0.04));
  // Second commit: the later files plus edits of ~150 existing text files.
  const edited = all.filter((p) => !later.has(p) && !isBinary(p) && p !== '.gitignore').filter(() => random() < 0.015);
  const first = all.filter((p) => !later.has(p)).map((p): [string, Buffer] => [p, files.get(p)!]);
  const second: Array<[string, Buffer]> = [...later].map((p): [string, Buffer] => [p, files.get(p)!]);
  for (const path of edited) second.push([path, Buffer.from(editText(files.get(path)!.toString('utf8'), maker, random, 1500).text)]);
  await mkdir(dir, { recursive: true });
  await sh(`git init -q -b main . && git config core.autocrlf false && git config gc.auto 0`, { cwd: dir });
  await gitWithInput(dir, ['fast-import', '--quiet'], Buffer.concat([...importCommit(1_700_000_000, 'initial import', first), ...importCommit(1_700_086_400, 'second commit: more modules', second)]));
  await sh(`git reset -q --hard && git gc -q`, { cwd: dir });
  // Ignored build output: neither side may capture it.
  for (let i = 0; i < 40; i++) await put(join(dir, 'out', `chunk${i}.js`), maker.text(3000));
  await put(join(dir, 'debug.log'), maker.text(5000));
  const packBytes = Number((await sh(`du -sb .git/objects/pack | cut -f1`, { cwd: dir })).stdout.trim());
  return {
    stats: { files: all.length, directories: directories.length, textBytes, binaryFiles: binaries.length, binaryBytes, packBytes, commits: 2 },
    tracked: all.filter((p) => !isBinary(p) && p !== '.gitignore'),
  };
}

function randomBytes(random: () => number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE(Math.floor(random() * 4294967296), i);
  return bytes;
}

/** Inserts about `bytes` of new lines somewhere in the text and rewrites one line. */
function editText(text: string, maker: TextMaker, random: () => number, bytes: number): { text: string; added: number } {
  const lines = text.split('\n');
  const inserted = maker.text(bytes);
  lines.splice(Math.floor(random() * lines.length), 0, inserted.trimEnd());
  lines[Math.floor(random() * lines.length)] = maker.line().trimEnd();
  return { text: lines.join('\n'), added: inserted.length };
}

async function editFile(path: string, maker: TextMaker, random: () => number, bytes: number): Promise<number> {
  const { text, added } = editText(await readFile(path, 'utf8'), maker, random, bytes);
  await writeFile(path, text);
  return added;
}

/** ~1 MB of an agent's work: a commit, staged and unstaged edits, untracked files (one binary), one deletion. */
export async function makeChanges(dir: string, tracked: string[], seed = 44): Promise<ChangeStats> {
  const random = prng(seed);
  const maker = new TextMaker(random);
  const shuffled = [...tracked].sort(() => random() - 0.5);
  const take = (n: number): string[] => shuffled.splice(0, n);
  let committedBytes = 0;
  // The commit: 40 edits and 10 new files.
  const committedEdits = take(40);
  for (const path of committedEdits) committedBytes += await editFile(join(dir, path), maker, random, 3000);
  for (let i = 0; i < 10; i++) {
    const content = maker.text(15_000);
    await put(join(dir, 'src', 'agent', `feature${i}.ts`), content);
    committedBytes += content.length;
  }
  await sh(`git add -A && git commit -qm 'agent: add feature modules'`, { cwd: dir, env: at(1_700_200_000) });
  // Uncommitted edits: 80 files, 20 of them staged.
  let editBytes = 0;
  const edits = take(80);
  for (const path of edits) editBytes += await editFile(join(dir, path), maker, random, 3000);
  await sh(`git add -- ${edits.slice(0, 20).map((p) => `'${p}'`).join(' ')}`, { cwd: dir });
  // Untracked: 40 text files (some in new folders) and one binary.
  let untrackedBytes = 0;
  for (let i = 0; i < 40; i++) {
    const content = maker.text(8000);
    const folder = i < 15 ? 'src/agent/new-module' : i < 25 ? 'test/agent' : dirname(shuffled[i]!);
    await put(join(dir, folder, `untracked${i}.ts`), content);
    untrackedBytes += content.length;
  }
  const binary = randomBytes(random, 100_000);
  await put(join(dir, 'assets', 'generated.png'), binary);
  untrackedBytes += binary.length;
  // One deleted tracked file (not staged).
  await rm(join(dir, take(1)[0]!));
  // A fresh index, as after the agent's last `git status` (and no racily-clean entries).
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await sh(`git update-index -q --refresh || true`, { cwd: dir });
  return {
    committedFiles: 50,
    committedBytes,
    stagedEdits: 20,
    unstagedEdits: 60,
    editBytes,
    untrackedFiles: 41,
    untrackedBytes,
    deletedFiles: 1,
    totalBytes: committedBytes + editBytes + untrackedBytes,
  };
}
