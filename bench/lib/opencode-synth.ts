/**
 * Synthetic OpenCode 1.18 sessions in the form baton stores them: the JSONL log of src/harness/opencode/log.ts,
 * made by the harness's own code from an `opencode export` document. The document is built from the records of
 * test/fixtures/opencode/export-resumed.json (session info, user and assistant message infos, text, step-start,
 * bash tool and step-finish parts), re-used turn after turn with fresh ids in OpenCode's own shape (`msg_`/`prt_`
 * + 12 hex digits of the time + 14 base62, ascending, so the export's order is the order of creation), times,
 * tokens and costs; text from the same seeded sources as the other synthetic sessions (bench/lib/synth.ts).
 *
 * A turn is a user message (one text part) and 1–9 assistant messages, one per model step: step-start, sometimes
 * a text part, 1–3 tool parts (bash, read, edit, grep), step-finish; the last step a text reply. The fixtures hold
 * only bash calls; the read, edit and grep parts follow the tool outputs in the 1.18.33 binary (`<path>…</path>`,
 * `N: line`, "Edit applied successfully.", "Found N matches") and are an assumption.
 *
 * `synthesiseOpencodeSession` makes the log of the whole document at once (`exportToLog`, a first save's form);
 * `more(count)` is what a periodic save appends: the document grows by `count - 1` records (new messages and
 * parts, and an assistant message's info again when its step finishes), and `updateLog` brings the log up to date
 * with it (`count - 1` record lines and the session line, whose `time.updated` moved). The storage benchmark
 * imports the folded log with the real `opencode import` and checks that `opencode export` gives the document
 * back byte for byte, but for the directory the import binds the session to.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { exportToLog, updateLog } from '../../src/harness/opencode/log.js';
import { countLines } from '../../src/transcript/jsonl.js';
import { type ToolActivity, toolActivity } from './activity.js';
import { createSynth, fixturePath, type Json, type JsonObject, type RolloutSynth } from './synth.js';

const FIXTURE = fixturePath('opencode', 'export-resumed.json');

interface Message {
  info: JsonObject;
  parts: JsonObject[];
}

interface Templates {
  session: JsonObject;
  user: JsonObject;
  userText: JsonObject;
  assistant: JsonObject;
  stepStart: JsonObject;
  tool: JsonObject;
  stepFinish: JsonObject;
  assistantText: JsonObject;
}

function loadTemplates(): Templates {
  const document = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { info: JsonObject; messages: Message[] };
  const parts = document.messages.flatMap((message) => message.parts.map((part) => ({ role: message.info.role, part })));
  const find = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`bench: no ${what} in ${FIXTURE}`);
    return value;
  };
  const part = (what: string, test: (role: Json | undefined, part: JsonObject) => boolean): JsonObject => find(what, parts.find((entry) => test(entry.role, entry.part))?.part);
  return {
    session: document.info,
    user: find('user message', document.messages.find((message) => message.info.role === 'user')?.info),
    userText: part('user text part', (role, p) => role === 'user' && p.type === 'text'),
    assistant: find('assistant message', document.messages.find((message) => message.info.role === 'assistant' && message.info.finish === 'tool-calls')?.info),
    stepStart: part('step-start part', (_role, p) => p.type === 'step-start'),
    tool: part('bash tool part', (_role, p) => p.type === 'tool' && p.tool === 'bash'),
    stepFinish: part('step-finish part', (_role, p) => p.type === 'step-finish'),
    assistantText: part('assistant text part', (role, p) => role === 'assistant' && p.type === 'text'),
  };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const clone = <T extends Json>(value: T): T => structuredClone(value);

/** One step of the document's growth: a new message, a new part, or a message's info again. */
type Change = { kind: 'message'; message: Message } | { kind: 'part'; message: Message; part: JsonObject } | { kind: 'info'; message: Message; info: JsonObject };
type Step = Change & {
  /** The session info's time.updated, tokens and cost once this step is in. */
  session: JsonObject;
};

export class OpencodeSynth {
  readonly sessionId: string;
  readonly cwd: string;
  private readonly text: RolloutSynth;
  private readonly info: JsonObject;
  private readonly messages: Message[] = [];
  private readonly pending: Step[] = [];
  private clock: number;
  private lastMillis = 0;
  private counter = 0;
  private tokens = { input: 0, output: 0, read: 0 };
  private cost = 0;
  /** About what the records so far come to as log lines (each record's JSON and `{"type":…,"data":}`). */
  logBytes = 0;

  constructor(private readonly templates: Templates, seed: number) {
    this.text = createSynth({ seed });
    this.cwd = this.text.cwd;
    this.clock = Date.UTC(2026, 10, 20, 9, 0, 0) + Math.floor(this.text.random() * 86_400_000);
    const inverted = (~(BigInt(this.clock) * 4096n + 1n) & 0xffffffffffffn).toString(16).padStart(12, '0');
    this.sessionId = `ses_${inverted}${this.base62(14)}`;
    this.info = clone(templates.session);
    Object.assign(this.info, { id: this.sessionId, slug: 'bench-session', directory: this.cwd, path: this.cwd.slice(1), title: this.text.sentence().slice(0, 60) });
    this.info.time = { created: this.clock, updated: this.clock };
  }

  /** The export document as `opencode export` prints it. */
  exportText(): string {
    return `${JSON.stringify({ info: this.info, messages: this.messages }, null, 2)}\n`;
  }

  /** Grows the document by one step: which record changed, and whether that step ended a turn (no message left unfinished). */
  step(): { record: string; turnEnded: boolean } {
    if (this.pending.length === 0) this.queueTurn();
    const next = this.pending.shift()!;
    if (next.kind === 'message') this.messages.push(next.message);
    else if (next.kind === 'part') next.message.parts.push(next.part);
    else next.message.info = next.info;
    if (next.kind !== 'info') this.logBytes += JSON.stringify(next.kind === 'part' ? next.part : next.message.info).length + 24;
    Object.assign(this.info, next.session);
    return { record: String(next.kind === 'part' ? next.part.id : next.message.info.id), turnEnded: this.pending.length === 0 };
  }

  // --- helpers ---------------------------------------------------------------------------------------

  private base62(length: number): string {
    let out = '';
    for (let index = 0; index < length; index++) out += BASE62[Math.floor(this.text.random() * 62)];
    return out;
  }

  /** `msg_…` / `prt_…`: 12 hex digits of `ms·4096 + counter`, ascending, then 14 base62. */
  private id(prefix: 'msg' | 'prt'): string {
    if (this.clock !== this.lastMillis) {
      this.lastMillis = this.clock;
      this.counter = 0;
    }
    this.counter++;
    const value = ((BigInt(this.clock) * 4096n + BigInt(this.counter)) & 0xffffffffffffn).toString(16).padStart(12, '0');
    return `${prefix}_${value}${this.base62(14)}`;
  }

  private advance(minMs: number, maxMs: number): number {
    this.clock += this.text.int(minMs, maxMs);
    return this.clock;
  }

  /** Queues a step; the session info then shows the time, tokens and cost as they are now. */
  private push(step: Change): void {
    const created = (this.info.time as JsonObject).created!;
    const tokens = { input: this.tokens.input, output: this.tokens.output, reasoning: 0, cache: { read: this.tokens.read, write: 0 } };
    this.pending.push({ ...step, session: { cost: Math.round(this.cost * 1e6) / 1e6, tokens, time: { created, updated: this.clock } } });
  }

  private part(template: JsonObject, message: Message, edit: (part: JsonObject) => void): void {
    const part = clone(template);
    this.advance(1, 400);
    edit(part);
    Object.assign(part, { id: this.id('prt'), sessionID: this.sessionId, messageID: message.info.id as string });
    this.push({ kind: 'part', message, part });
  }

  private usage(): JsonObject {
    const input = this.text.int(2_000, 150_000);
    const read = Math.floor(input * this.text.random());
    const output = this.text.int(20, 4_000);
    const cost = Math.round((input * 0.00000125 + output * 0.00001) * 1e6) / 1e6;
    this.tokens.input += input - read;
    this.tokens.read += read;
    this.tokens.output += output;
    this.cost += cost;
    return { total: input + output, input: input - read, output, reasoning: 0, cache: { read, write: 0 }, cost };
  }

  private toolPart(activity: ToolActivity, message: Message): void {
    this.part(this.templates.tool, message, (part) => {
      const state = part.state as JsonObject;
      const start = this.clock;
      const end = this.advance(50, 20_000);
      part.callID = `call_${this.base62(24)}`;
      part.metadata = { openai: { itemId: `fc_${this.text.hex(48)}` } };
      const complete = (tool: string, input: JsonObject, output: string, title: string, metadata: JsonObject): void => {
        part.tool = tool;
        Object.assign(state, { status: 'completed', input, output, title, metadata, time: { start, end } });
      };
      switch (activity.kind) {
        case 'shell': {
          const output = `${activity.output}\n`;
          complete('bash', { command: activity.command, description: activity.description }, output, activity.command.split('\n')[0]!.slice(0, 80), { output, exit: activity.exitCode, description: activity.description, truncated: false });
          return;
        }
        case 'read': {
          const { filePath, file, start: from, lines } = activity;
          const last = from + lines.length;
          const tail = last >= file.lines.length ? `(End of file - total ${file.lines.length} lines)` : `(Showing lines ${from + 1}-${last} of ${file.lines.length}. Use offset=${last + 1} to continue.)`;
          const body = lines.map((line, index) => `${from + index + 1}: ${line}`).join('\n');
          const input: JsonObject = activity.whole ? { filePath } : { filePath, offset: from + 1, limit: activity.limit };
          complete('read', input, `<path>${filePath}</path>\n<type>file</type>\n<content>\n${body}\n\n${tail}\n</content>`, file.path, { preview: lines.slice(0, 20).join('\n'), truncated: !activity.whole, loaded: [] });
          return;
        }
        case 'edit': {
          const { filePath, file, at, oldLines, newLines, contextStart } = activity;
          // The whole file before and after, at most 1,000 lines of each (the corpus holds some very large files).
          const before = file.lines.slice(0, 1000).join('\n');
          const after = [...file.lines.slice(0, at), ...newLines, ...file.lines.slice(at + oldLines.length)].slice(0, 1000).join('\n');
          const context = (lines: string[]): string[] => lines.map((line) => ` ${line}`);
          const diff = [
            `Index: ${filePath}`,
            '===================================================================',
            `--- ${filePath}`,
            `+++ ${filePath}`,
            `@@ -${contextStart + 1},${at - contextStart + oldLines.length + 4} +${contextStart + 1},${at - contextStart + newLines.length + 4} @@`,
            ...context(file.lines.slice(contextStart, at)),
            ...oldLines.map((line) => `-${line}`),
            ...newLines.map((line) => `+${line}`),
            ...context(file.lines.slice(at + oldLines.length, at + oldLines.length + 4)),
          ].join('\n');
          const filediff = { file: filePath, before, after, additions: newLines.length, deletions: oldLines.length };
          complete('edit', { filePath, oldString: oldLines.join('\n'), newString: newLines.join('\n') }, 'Edit applied successfully.', file.path, { diagnostics: {}, diff, filediff });
          return;
        }
        case 'grep': {
          const lines = [`Found ${activity.hits.length} matches`];
          let current: string | undefined;
          for (const hit of activity.hits) {
            if (hit.path !== current) lines.push(...(current === undefined ? [] : ['']), `${(current = hit.path)}:`);
            lines.push(`  Line ${hit.line}: ${hit.text}`);
          }
          complete('grep', { pattern: activity.pattern, path: this.cwd }, lines.join('\n'), activity.pattern, { matches: activity.hits.length, truncated: false });
          return;
        }
      }
    });
  }

  // --- turns -----------------------------------------------------------------------------------------

  private queueTurn(): void {
    const t = this.templates;
    this.advance(30_000, 3_600_000);
    const user: Message = { info: clone(t.user), parts: [] };
    Object.assign(user.info, { time: { created: this.clock }, id: this.id('msg'), sessionID: this.sessionId });
    this.push({ kind: 'message', message: user });
    const prompt = this.text.userPrompt();
    this.part(t.userText, user, (part) => (part.text = prompt));
    const calls = this.text.random() < 0.15 ? 0 : this.text.int(1, 8);
    for (let call = 0; call <= calls; call++) {
      const last = call === calls;
      this.advance(300, 20_000);
      const created = this.clock;
      const assistant: Message = { info: clone(t.assistant), parts: [] };
      const info = assistant.info;
      Object.assign(info, { parentID: user.info.id as string, path: { cwd: this.cwd, root: '/' }, time: { created }, id: this.id('msg'), sessionID: this.sessionId });
      // Until its step finishes: no finish reason (and the fixture's tokens and cost).
      const finished = clone(info);
      delete info.finish;
      this.push({ kind: 'message', message: assistant });
      this.part(t.stepStart, assistant, () => undefined);
      const say = (words: string): void =>
        this.part(t.assistantText, assistant, (part) => {
          part.text = words;
          part.time = { start: this.clock - this.text.int(50, 5_000), end: this.clock };
          part.metadata = { openai: { itemId: `msg_${this.text.hex(48)}` } };
        });
      if (last) say(this.text.assistantReply());
      else {
        if (this.text.random() < 0.35) say(this.text.sentence());
        const tools = this.text.random() < 0.8 ? 1 : this.text.int(2, 3);
        for (let tool = 0; tool < tools; tool++) this.toolPart(toolActivity(this.text, this.cwd), assistant);
      }
      const usage = this.usage();
      const { cost, ...tokens } = usage;
      this.part(t.stepFinish, assistant, (part) => Object.assign(part, { reason: last ? 'stop' : 'tool-calls', tokens, cost }));
      // The step's message info again, finished: completed time, tokens, cost and why it stopped.
      Object.assign(finished, { cost, tokens, time: { created, completed: this.clock }, finish: last ? 'stop' : 'tool-calls' });
      this.push({ kind: 'info', message: assistant, info: finished });
    }
  }
}

let templates: Templates | undefined;

export interface OpencodeSession {
  content: Buffer;
  lineCount: number;
  synth: OpencodeSynth;
  /** The log lines a periodic save would append after `count - 1` more records, and how long `updateLog` took. */
  more(count: number): { bytes: Buffer; updateLogMs: number };
  /** How long `exportToLog` took for the whole document (what a first save does to the export). */
  exportToLogMs: number;
}

/**
 * A log of at least `bytes` bytes that ends where a turn ended, made by `exportToLog` from the whole document, and
 * the generator to continue it with. Throws when the harness's code would keep the document verbatim (one
 * `export` line) instead of as records: the synthetic document would then not be in OpenCode's shape.
 */
export function synthesiseOpencodeSession(bytes: number, seed: number): OpencodeSession {
  const synth = new OpencodeSynth((templates ??= loadTemplates()), seed);
  // Each record is one line of the log; stop at the end of a turn once the lines come to `bytes`.
  while (!synth.step().turnEnded || synth.logBytes < bytes);
  const exportText = synth.exportText();
  const made = timedSync(() => exportToLog(exportText));
  let log = made.value;
  // exportToLog keeps the records only when they fold back to the document byte for byte, else one `export` line.
  if (!log.subarray(0, 20).toString().startsWith('{"type":"session"')) throw new Error('bench: the synthetic OpenCode document is not one the log can carry as records');
  return {
    content: log,
    lineCount: countLines(log),
    synth,
    exportToLogMs: made.ms,
    more(count) {
      // `count - 1` records new or changed (a record made and changed again before a save is one line), and the session line.
      const touched = new Set<string>();
      while (touched.size < Math.max(1, count - 1)) touched.add(synth.step().record);
      const { value: update, ms } = timedSync(() => updateLog(log, synth.exportText()));
      if (update.change !== 'appended') throw new Error(`bench: updateLog ${update.change} the synthetic OpenCode log instead of appending to it`);
      log = update.log;
      return { bytes: update.appended, updateLogMs: ms };
    },
  };
}

export function timedSync<T>(action: () => T): { ms: number; value: T } {
  const start = performance.now();
  const value = action();
  return { ms: performance.now() - start, value };
}
