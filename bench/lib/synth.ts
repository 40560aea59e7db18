/**
 * Synthetic Codex 0.171 rollouts, shaped like the real ones in test/fixtures/codex/: the records are the real
 * fixture records (session_meta first, then event_msg / response_item / turn_context / token records), re-used
 * turn after turn with fresh ids, timestamps, token counts, prompts, replies, commands and command output.
 *
 * So that compression is not unrealistically good, the varying text comes from large real sources: command
 * output is real code read from this repository and node_modules (sed/cat/rg/git diff of random files and line
 * ranges, some of them long), plus generated test logs, listings and git logs; prose is a word-bigram chain
 * over the instructions Codex itself records. Everything is seeded: every run benchmarks the same bytes.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { seededRandom } from './stats.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const FIXTURES = fixturePath('codex');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A path under test/fixtures/, where every synthesiser finds the real records it re-uses. */
export function fixturePath(...parts: string[]): string {
  return join(ROOT, 'test/fixtures', ...parts);
}

/** The records of a JSONL fixture. */
export function readJsonLines(path: string): JsonObject[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as JsonObject);
}

interface Templates {
  sessionMeta: string;
  taskStarted: string;
  developer: string;
  environment: string;
  worldState: string;
  turnContext: string;
  threadSettings: string;
  userMessage: string;
  userCompleted: string;
  functionCall: string;
  tokenUsage: string;
  commandCompleted: string;
  functionOutput: string;
  tokenCount: string;
  agentCompleted: string;
  assistantMessage: string;
  taskComplete: string;
  /** The fixtures' own session ids: each becomes the synthetic session's id. */
  sessionIds: Set<string>;
  /** Every English text the fixtures carry (instructions, prompts, replies): the prose chain's source. */
  prose: string[];
}

function fixtureLines(): JsonObject[] {
  const lines: JsonObject[] = [];
  for (const folder of readdirSync(FIXTURES).sort()) {
    const directory = join(FIXTURES, folder);
    if (!statSync(directory).isDirectory()) continue;
    for (const name of readdirSync(directory).sort()) {
      if (!/^rollout-.*\.jsonl$/.test(name)) continue;
      lines.push(...readJsonLines(join(directory, name)));
    }
  }
  return lines;
}

function loadTemplates(): Templates {
  const lines = fixtureLines();
  const payload = (line: JsonObject): JsonObject => (line.payload ?? {}) as JsonObject;
  const find = (what: string, test: (line: JsonObject, p: JsonObject) => boolean): string => {
    const line = lines.find((candidate) => test(candidate, payload(candidate)));
    if (!line) throw new Error(`bench: no ${what} record in ${FIXTURES}`);
    return JSON.stringify(line);
  };
  const item = (p: JsonObject): JsonObject => (p.item ?? {}) as JsonObject;
  const text = (content: Json | undefined): string => (Array.isArray(content) ? content.map((part) => ((part as JsonObject)?.text as string) ?? '').join('\n') : '');
  const prose: string[] = [];
  for (const line of lines) {
    const p = payload(line);
    const base = (p.base_instructions as JsonObject | undefined)?.text;
    if (typeof base === 'string') prose.push(base);
    if (line.type === 'response_item' && p.type === 'message') prose.push(text(p.content));
  }
  return {
    sessionMeta: find('session_meta', (l) => l.type === 'session_meta'),
    taskStarted: find('task_started', (l, p) => l.type === 'event_msg' && p.type === 'task_started'),
    developer: find('developer message', (l, p) => l.type === 'response_item' && p.role === 'developer'),
    environment: find('environment context', (l, p) => l.type === 'response_item' && p.role === 'user' && text(p.content).includes('<environment_context>')),
    worldState: find('world_state', (l) => l.type === 'world_state'),
    turnContext: find('turn_context', (l) => l.type === 'turn_context'),
    threadSettings: find('thread_settings_applied', (l, p) => l.type === 'event_msg' && p.type === 'thread_settings_applied'),
    userMessage: find('user message', (l, p) => l.type === 'response_item' && p.role === 'user' && !text(p.content).includes('<environment_context>')),
    userCompleted: find('UserMessage item', (l, p) => p.type === 'item_completed' && item(p).type === 'UserMessage'),
    functionCall: find('function_call', (l, p) => l.type === 'response_item' && p.type === 'function_call'),
    tokenUsage: find('token_usage_record', (l) => l.type === 'token_usage_record'),
    commandCompleted: find('CommandExecution item', (l, p) => p.type === 'item_completed' && item(p).type === 'CommandExecution'),
    functionOutput: find('function_call_output', (l, p) => l.type === 'response_item' && p.type === 'function_call_output'),
    tokenCount: find('token_count', (l, p) => l.type === 'event_msg' && p.type === 'token_count'),
    agentCompleted: find('AgentMessage item', (l, p) => p.type === 'item_completed' && item(p).type === 'AgentMessage'),
    assistantMessage: find('assistant message', (l, p) => l.type === 'response_item' && p.role === 'assistant'),
    taskComplete: find('task_complete', (l, p) => l.type === 'event_msg' && p.type === 'task_complete'),
    prose,
    sessionIds: new Set(lines.filter((line) => line.type === 'session_meta').map((line) => String(payload(line).id))),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Text sources

export interface CorpusFile {
  path: string;
  lines: string[];
}

function walk(directory: string, accept: (path: string) => boolean, out: string[], depth = 0): void {
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(directory, entry.name);
    if (entry.isDirectory() && depth < 6 && entry.name !== 'node_modules') walk(path, accept, out, depth + 1);
    else if (entry.isFile() && accept(path)) out.push(path);
  }
}

/**
 * Real source code from pinned dependencies (about 25 MB, so long sessions rarely repeat it). Not this project's
 * own src/ and test/: they change with every commit, and the synthetic sessions must stay the same bytes.
 */
function loadCorpus(): CorpusFile[] {
  const paths: string[] = [];
  const code = (path: string): boolean => /\.(ts|js|mjs|cjs|md)$/.test(path) && !path.endsWith('.map') && statSync(path).size < 10_000_000;
  for (const directory of ['node_modules/kysely/dist/esm', 'node_modules/zod/v4', 'node_modules/hono/dist', 'node_modules/commander', 'node_modules/pino', 'node_modules/vitest/dist', 'node_modules/typescript/lib']) {
    walk(join(ROOT, directory), (path) => code(path) && !path.endsWith('.d.ts') && !/\/locales?\//.test(path), paths);
  }
  const files: CorpusFile[] = [];
  for (const path of paths) {
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n').map((line) => (line.length > 400 ? line.slice(0, 400) : line));
    if (lines.length >= 20) files.push({ path: relative(ROOT, path).replace(/^node_modules\//, 'vendor/'), lines });
  }
  if (files.length === 0) throw new Error('bench: no source files to build synthetic command output from');
  return files;
}

class Prose {
  private readonly next = new Map<string, string[]>();
  private readonly starts: string[] = [];

  constructor(texts: string[], private readonly random: () => number) {
    for (const text of texts) {
      const words = text.split(/\s+/).filter((word) => word !== '' && word.length < 40);
      for (let index = 0; index + 1 < words.length; index++) {
        const word = words[index]!;
        if (index === 0 || /[.!?]$/.test(words[index - 1]!)) this.starts.push(word);
        let list = this.next.get(word);
        if (!list) this.next.set(word, (list = []));
        list.push(words[index + 1]!);
      }
    }
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  sentence(extra: () => string): string {
    let word = this.pick(this.starts);
    const words = [word];
    const length = 6 + Math.floor(this.random() * 22);
    while (words.length < length) {
      if (this.random() < 0.08) words.push(extra());
      const options = this.next.get(word);
      word = options ? this.pick(options) : this.pick(this.starts);
      words.push(word);
      if (/[.!?]$/.test(word) && words.length > 5) break;
    }
    const text = words.join(' ');
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }

  paragraph(sentences: number, extra: () => string): string {
    return Array.from({ length: sentences }, () => this.sentence(extra)).join(' ');
  }
}

// ---------------------------------------------------------------------------------------------------------
// The generator

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const SCRIPTED_ID = /\b([a-z]+)_scripted_\d+\b/g;
const FIXTURE_CWD = /\/tmp\/baton-fixture\/machine-[a-z]\/[a-z-]+/g;

export interface SynthOptions {
  seed: number;
  /** Add `reasoning` items with encrypted_content (real models send them; the scripted fixtures do not). */
  reasoning?: boolean;
}

export class RolloutSynth {
  // The text helpers below (int, pick, hex, identifier, filePath, sourceFile, sentence, userPrompt, assistantReply,
  // command) are public so that bench/lib/claude-synth.ts builds Claude transcripts from the same sources.
  readonly sessionId: string;
  readonly startedAt: Date;
  /** The generator's seeded random stream (the Claude synthesiser draws from it too). */
  readonly random: () => number;
  private readonly prose: Prose;
  readonly cwd: string;
  private clock: number;
  private ordinal = 0;
  private history = 0;
  private turnIndex = 0;
  private ids = new Map<string, string>();
  private totalInput = 0;
  private totalOutput = 0;
  private readonly pending: string[] = [];
  private readonly cumulative: number[];
  private readonly corpusLines: number;
  private started = false;

  constructor(private readonly templates: Templates, private readonly corpus: CorpusFile[], private readonly options: SynthOptions) {
    this.random = seededRandom(options.seed);
    let total = 0;
    this.cumulative = corpus.map((file) => (total += file.lines.length));
    this.corpusLines = total;
    this.prose = new Prose(templates.prose, this.random);
    this.sessionId = this.uuidv7();
    this.startedAt = new Date(Date.UTC(2026, 10, 20, 9, 0, 0) + Math.floor(this.random() * 86_400_000));
    this.clock = this.startedAt.getTime();
    this.cwd = `/home/dev/work/${this.pick(['baton', 'relay', 'atlas', 'harbor', 'quill'])}-${this.hex(4)}`;
  }

  /** The next JSONL line of the rollout, newline included. */
  nextLine(): string {
    if (this.pending.length === 0) this.queueTurn();
    return this.pending.shift()!;
  }

  /** `rollout-<YYYY-MM-DDThh-mm-ss>-<uuid>.jsonl` */
  fileName(): string {
    const iso = this.startedAt.toISOString();
    return `rollout-${iso.slice(0, 10)}T${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}-${this.sessionId}.jsonl`;
  }

  // --- randomness ------------------------------------------------------------------------------------

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  hex(length: number): string {
    let out = '';
    for (let index = 0; index < length; index++) out += '0123456789abcdef'[Math.floor(this.random() * 16)];
    return out;
  }

  /** A random (v4) UUID, as Claude Code and Gemini CLI make them. */
  uuid4(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }

  /** Codex ids are UUIDv7: a millisecond prefix and random bits. */
  private uuidv7(): string {
    const time = (this.clock ?? Date.UTC(2026, 10, 20)).toString(16).padStart(12, '0');
    return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }

  identifier(): string {
    const file = this.pick(this.corpus);
    for (let attempt = 0; attempt < 4; attempt++) {
      const words = this.pick(file.lines).match(/[A-Za-z_][A-Za-z0-9_]{3,}/g);
      if (words) return this.pick(words);
    }
    return 'value';
  }

  filePath(): string {
    return this.pick(this.corpus).path;
  }

  /** Half the time any file (small project files recur, as in a real session), half by size (big files). */
  sourceFile(): CorpusFile {
    if (this.random() < 0.5) return this.pick(this.corpus);
    const target = this.random() * this.corpusLines;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return this.corpus[low]!;
  }

  private extraWord = (): string => {
    const roll = this.random();
    if (roll < 0.4) return `\`${this.identifier()}\``;
    if (roll < 0.7) return `\`${this.filePath()}\``;
    return String(this.int(1, 5000));
  };

  // --- records ---------------------------------------------------------------------------------------

  private advance(minMs: number, maxMs: number): void {
    this.clock += this.int(minMs, maxMs);
  }

  /** A fixture record with fresh ids, times, counters and token numbers. */
  private record(template: string, edit: (line: JsonObject, payload: JsonObject) => void = () => undefined): string {
    const text = template
      .replace(UUID, (id) => {
        if (this.templates.sessionIds.has(id)) return this.sessionId;
        let mapped = this.ids.get(id);
        if (!mapped) this.ids.set(id, (mapped = this.uuidv7()));
        return mapped;
      })
      .replace(SCRIPTED_ID, (id, prefix: string) => {
        let mapped = this.ids.get(id);
        if (!mapped) this.ids.set(id, (mapped = `${prefix}_${this.hex(24)}`));
        return mapped;
      })
      .replace(FIXTURE_CWD, this.cwd);
    const line = JSON.parse(text) as JsonObject;
    this.advance(1, 40);
    line.timestamp = new Date(this.clock).toISOString();
    if (typeof line.ordinal === 'number') line.ordinal = this.ordinal++;
    this.freshen(line);
    edit(line, (line.payload ?? {}) as JsonObject);
    return `${JSON.stringify(line)}\n`;
  }

  private freshen(value: Json): void {
    if (Array.isArray(value)) {
      for (const item of value) this.freshen(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    if (typeof value.input_tokens === 'number' && typeof value.output_tokens === 'number') {
      const input = this.int(2_000, 90_000);
      const cached = Math.floor(input * this.random());
      const output = this.int(20, 4_000);
      const reasoning = Math.floor(output * this.random() * 0.6);
      Object.assign(value, { input_tokens: input, cached_input_tokens: cached, output_tokens: output, reasoning_output_tokens: reasoning, total_tokens: input + output });
    }
    for (const [key, child] of Object.entries(value)) {
      switch (key) {
        case 'create_time':
          value[key] = this.clock / 1000 + this.random() / 1000;
          break;
        case 'started_at_ms':
        case 'completed_at_ms':
          value[key] = this.clock - (key === 'started_at_ms' ? this.int(0, 4000) : 0);
          break;
        case 'started_at':
        case 'completed_at':
          if (typeof child === 'number') value[key] = Math.floor(this.clock / 1000);
          break;
        case 'duration_ms':
        case 'time_to_first_token_ms':
          value[key] = this.int(80, 90_000);
          break;
        case 'history_sequence':
          value[key] = ++this.history;
          break;
        case 'sampled_through_sequence':
          value[key] = Math.max(0, this.history - this.int(1, 3));
          break;
        case 'user_input_order':
          value[key] = this.turnIndex;
          break;
        case 'process_id':
          value[key] = String(this.int(1000, 99999));
          break;
        default:
          this.freshen(child);
      }
    }
  }

  // --- text ------------------------------------------------------------------------------------------

  sentence(): string {
    return this.prose.sentence(this.extraWord);
  }


  userPrompt(): string {
    return this.prose.paragraph(this.int(1, 4), this.extraWord);
  }

  assistantReply(): string {
    const parts = [this.prose.paragraph(this.int(2, 6), this.extraWord)];
    if (this.random() < 0.4) {
      const file = this.pick(this.corpus);
      const start = this.int(0, Math.max(0, file.lines.length - 20));
      parts.push(`\`${file.path}\`:\n\n\`\`\`ts\n${file.lines.slice(start, start + this.int(4, 20)).join('\n')}\n\`\`\``);
    }
    if (this.random() < 0.5) parts.push(Array.from({ length: this.int(2, 6) }, () => `- ${this.prose.sentence(this.extraWord)}`).join('\n'));
    return parts.join('\n\n');
  }

  /** A shell command and its output; some outputs are long (whole files, big logs). */
  command(): { cmd: string; output: string; exitCode: number } {
    const roll = this.random();
    const file = this.sourceFile();
    const range = (length: number): { start: number; lines: string[] } => {
      const start = this.int(0, Math.max(0, file.lines.length - length));
      return { start, lines: file.lines.slice(start, start + length) };
    };
    if (roll < 0.38) {
      const { start, lines } = range(this.int(20, 300));
      return { cmd: `sed -n '${start + 1},${start + lines.length}p' ${file.path}`, output: `${lines.join('\n')}\n`, exitCode: 0 };
    }
    if (roll < 0.44) {
      // A long one: a whole (big) file or a long stretch of it.
      const { lines } = range(this.int(600, 2500));
      return { cmd: `cat ${file.path}`, output: `${lines.join('\n')}\n`, exitCode: 0 };
    }
    if (roll < 0.58) {
      const word = this.identifier();
      const hits = Array.from({ length: this.int(3, 60) }, () => {
        const hit = this.pick(this.corpus);
        const index = this.int(0, hit.lines.length - 1);
        return `${hit.path}:${index + 1}:${hit.lines[index]}`;
      });
      return { cmd: `rg -n "${word}" .`, output: `${hits.join('\n')}\n`, exitCode: hits.length > 0 ? 0 : 1 };
    }
    if (roll < 0.68) {
      const failing = this.random() < 0.3;
      const lines: string[] = [`\n RUN  v4.1.12 ${this.cwd}\n`];
      const files = this.int(4, 40);
      for (let index = 0; index < files; index++) lines.push(` ✓ test/${this.filePath().replace(/^(vendor|src)\//, '').replace(/\.\w+$/, '')}.test.ts (${this.int(1, 40)} tests) ${this.int(2, 3000)}ms`);
      if (failing) {
        const { start, lines: code } = range(this.int(8, 30));
        lines.push(` FAIL  test/${this.identifier()}.test.ts > ${this.prose.sentence(this.extraWord)}`, `AssertionError: expected ${this.int(0, 99)} to be ${this.int(0, 99)}`, ...code.map((line, index) => `${String(start + index + 1).padStart(5)}| ${line}`));
      }
      lines.push('', ` Test Files  ${failing ? '1 failed | ' : ''}${files} passed (${files + (failing ? 1 : 0)})`, `      Tests  ${this.int(20, 900)} passed`, `   Duration  ${(this.random() * 30).toFixed(2)}s (transform ${this.int(100, 3000)}ms, setup 0ms, collect ${this.int(100, 9000)}ms, tests ${this.int(100, 20000)}ms)`);
      return { cmd: 'npx vitest run', output: `${lines.join('\n')}\n`, exitCode: failing ? 1 : 0 };
    }
    if (roll < 0.8) {
      const hunks: string[] = [`diff --git a/${file.path} b/${file.path}`, `index ${this.hex(7)}..${this.hex(7)} 100644`, `--- a/${file.path}`, `+++ b/${file.path}`];
      for (let hunk = this.int(1, 6); hunk > 0; hunk--) {
        const { start, lines } = range(this.int(6, 40));
        hunks.push(`@@ -${start + 1},${lines.length} +${start + 1},${lines.length} @@`);
        for (const line of lines) {
          const change = this.random();
          if (change < 0.15) hunks.push(`-${line}`, `+${line.replace(/[A-Za-z_]\w{3,}/, this.identifier())}`);
          else hunks.push(` ${line}`);
        }
      }
      return { cmd: 'git diff', output: `${hunks.join('\n')}\n`, exitCode: 0 };
    }
    if (roll < 0.88) {
      const lines = Array.from({ length: this.int(5, 80) }, () => {
        const date = new Date(this.clock - this.int(0, 90 * 86_400_000)).toUTCString().slice(5, 22);
        return `${this.pick(['-rw-r--r--', 'drwxr-xr-x', '-rwxr-xr-x'])} ${this.int(1, 9)} dev dev ${String(this.int(0, 2_000_000)).padStart(8)} ${date} ${this.identifier()}${this.pick(['.ts', '.js', '.json', '.md', '', '.jsonl'])}`;
      });
      return { cmd: 'ls -la', output: `total ${this.int(8, 4000)}\n${lines.join('\n')}\n`, exitCode: 0 };
    }
    if (roll < 0.94) {
      const lines = Array.from({ length: this.int(5, 40) }, () => `${this.hex(40)} ${this.prose.sentence(this.extraWord).slice(0, 72)}`);
      return { cmd: 'git log --format="%H %s" -n 40', output: `${lines.join('\n')}\n`, exitCode: 0 };
    }
    const path = this.filePath();
    return { cmd: `apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: ${path}\n@@\n-${range(1).lines[0]}\n+${range(1).lines[0]}\n*** End Patch\nEOF`, output: `Success. Updated the following files:\nM ${path}\n`, exitCode: 0 };
  }

  private reasoning(): string {
    const bytes = Buffer.alloc(this.int(1_000, 6_000));
    for (let index = 0; index < bytes.length; index++) bytes[index] = Math.floor(this.random() * 256);
    const line = {
      timestamp: new Date(this.clock).toISOString(),
      ordinal: this.ordinal++,
      type: 'response_item',
      payload: { type: 'reasoning', summary: [{ type: 'summary_text', text: `**${this.prose.sentence(this.extraWord)}**\n\n${this.prose.paragraph(2, this.extraWord)}` }], content: null, encrypted_content: `gAAAAA${bytes.toString('base64')}` },
    };
    return `${JSON.stringify(line)}\n`;
  }

  // --- turns -----------------------------------------------------------------------------------------

  private queueTurn(): void {
    const t = this.templates;
    const out = this.pending;
    this.ids = new Map();
    this.advance(5_000, 600_000);
    if (!this.started) {
      this.started = true;
      out.push(
        this.record(t.sessionMeta, (line, payload) => {
          payload.timestamp = this.startedAt.toISOString();
          line.timestamp = this.startedAt.toISOString();
        }),
      );
    }
    // Every ~25 turns the conversation was resumed: Codex records its context again.
    const resumed = this.turnIndex === 0 || this.random() < 0.04;
    if (resumed && this.turnIndex > 0) out.push(this.record(t.threadSettings), this.record(t.threadSettings));
    out.push(this.record(t.taskStarted));
    if (resumed) out.push(this.record(t.developer), this.record(t.environment), this.record(t.worldState));
    out.push(this.record(t.turnContext));
    if (resumed && this.turnIndex === 0) out.push(this.record(t.threadSettings));
    const prompt = this.userPrompt();
    out.push(
      this.record(t.userMessage, (_line, payload) => {
        (payload.content as JsonObject[])[0]!.text = prompt;
      }),
      this.record(t.userCompleted, (_line, payload) => {
        ((payload.item as JsonObject).content as JsonObject[])[0]!.text = prompt;
      }),
    );
    const calls = this.random() < 0.15 ? 0 : this.int(1, 8);
    for (let call = 0; call < calls; call++) {
      for (const key of [...this.ids.keys()]) if (/_scripted_/.test(key)) this.ids.delete(key);
      const { cmd, output, exitCode } = this.command();
      if (this.options.reasoning) out.push(this.reasoning());
      out.push(
        this.record(t.functionCall, (_line, payload) => {
          payload.arguments = JSON.stringify({ cmd, workdir: this.cwd, yield_time_ms: 10000 });
        }),
        this.record(t.tokenUsage),
      );
      this.advance(50, 20_000);
      const wall = (this.random() * 20).toFixed(4);
      out.push(
        this.record(t.commandCompleted, (_line, payload) => {
          const item = payload.item as JsonObject;
          item.command = ['/bin/bash', '-lc', cmd];
          item.cwd = `file://${this.cwd}`;
          item.parsed_cmd = [{ type: 'unknown', cmd }];
          item.aggregated_output = output;
          item.exit_code = exitCode;
          item.duration = { secs: Math.floor(Number(wall)), nanos: this.int(0, 999_999_999) };
        }),
        this.record(t.functionOutput, (_line, payload) => {
          payload.output = `Chunk ID: ${this.hex(6)}\nWall time: ${wall} seconds\nProcess exited with code ${exitCode}\nOriginal token count: ${Math.ceil(output.length / 4)}\nOutput:\n${output}`;
        }),
        this.record(t.tokenCount),
      );
    }
    const reply = this.assistantReply();
    if (this.options.reasoning) out.push(this.reasoning());
    out.push(
      this.record(t.agentCompleted, (_line, payload) => {
        ((payload.item as JsonObject).content as JsonObject[])[0]!.text = reply;
      }),
      this.record(t.assistantMessage, (_line, payload) => {
        (payload.content as JsonObject[])[0]!.text = reply;
      }),
      this.record(t.tokenUsage),
      this.record(t.tokenCount),
      this.record(t.taskComplete, (_line, payload) => {
        payload.last_agent_message = reply;
      }),
    );
    this.turnIndex++;
  }
}

let shared: { templates: Templates; corpus: CorpusFile[] } | undefined;

export function createSynth(options: SynthOptions): RolloutSynth {
  shared ??= { templates: loadTemplates(), corpus: loadCorpus() };
  return new RolloutSynth(shared.templates, shared.corpus, options);
}

/**
 * Lines of a generator until they come to at least `bytes` bytes and `canEnd` (asked after each line) allows it:
 * a synthetic session's content.
 */
export function linesUpTo(bytes: number, nextLine: () => string, canEnd: () => boolean = () => true): { content: Buffer; lineCount: number } {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes || !canEnd()) {
    const line = nextLine();
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  return { content: Buffer.from(parts.join('')), lineCount: parts.length };
}

/** A rollout of at least `bytes` bytes (whole lines), and the generator to continue it with. */
export function synthesiseRollout(bytes: number, options: SynthOptions): { content: Buffer; lineCount: number; synth: RolloutSynth } {
  const synth = createSynth(options);
  return { ...linesUpTo(bytes, () => synth.nextLine()), synth };
}

/** The next `count` lines of any synthesiser. */
export function nextLines(synth: { nextLine(): string }, count: number): Buffer {
  return Buffer.from(Array.from({ length: count }, () => synth.nextLine()).join(''));
}
