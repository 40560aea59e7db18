/**
 * Synthetic Gemini CLI 0.61 session files (`~/.gemini/tmp/<slug>/chats/session-….jsonl`), shaped like the real
 * one in test/fixtures/gemini/resumed/: the fixture's records (the metadata line, the `$set` of the session
 * context, user prompts, the model's message recorded empty and again with its tool calls and their results, the
 * functionResponse message, `$set` of lastUpdated and of sessionId), re-used run after run with fresh ids, times,
 * tokens, prompts, replies and tool calls (bench/lib/activity.ts: the same seeded sources as the other CLIs).
 *
 * A session is a first run and then resumes, one prompt each, as baton drives the CLI. A resume appends, as
 * verified with the real CLI, a new metadata line, the session context, `$set` of the sessionId and `$set` of the
 * whole history so far in the model's form (functionCall / functionResponse parts; a call's response twice): so
 * the file grows by a copy of the history at every follow-up, and long sessions hold many such lines, the last
 * as long as the history. Each run has 0–8 model steps of 1–3 tool calls, then a text reply.
 *
 * The fixture holds only run_shell_command calls; read_file, replace and grep_search follow the CLI 0.61 bundle's
 * tool names and result texts, their `resultDisplay` shapes and the model's `thoughts` are an assumption.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { editSnippet, type ToolActivity, toolActivity } from './activity.js';
import { createSynth, fixturePath, linesUpTo, readJsonLines, type Json, type JsonObject, type RolloutSynth } from './synth.js';

const FIXTURES = fixturePath('gemini', 'resumed');

interface Templates {
  meta: JsonObject;
  context: JsonObject;
  /** The fixture's project folder and its temporary directory under the CLI home, replaced in the context. */
  fixtureCwd: string;
  fixtureTmp: string;
  userPrompt: JsonObject;
  setLastUpdated: JsonObject;
  setSessionId: JsonObject;
  geminiEmpty: JsonObject;
  geminiTools: JsonObject;
  functionResponse: JsonObject;
  geminiReply: JsonObject;
}

function loadTemplates(): Templates {
  const name = readdirSync(FIXTURES).find((file) => file.endsWith('.jsonl'));
  if (!name) throw new Error(`bench: no Gemini session in ${FIXTURES}`);
  const lines = readJsonLines(join(FIXTURES, name));
  const find = (what: string, test: (line: JsonObject) => boolean): JsonObject => {
    const line = lines.find(test);
    if (!line) throw new Error(`bench: no ${what} record in the Gemini fixture`);
    return line;
  };
  const set = (line: JsonObject): JsonObject => (line.$set ?? {}) as JsonObject;
  const parts = (line: JsonObject): JsonObject[] => (Array.isArray(line.content) ? (line.content as JsonObject[]) : []);
  const context = find('session context', (line) => JSON.stringify(set(line).messages ?? '').includes('<session_context>'));
  const contextText = String(parts(((set(context).messages as JsonObject[])[0] ?? {}) as JsonObject)[0]?.text ?? '');
  return {
    meta: find('metadata', (line) => typeof line.sessionId === 'string' && typeof line.startTime === 'string'),
    context,
    fixtureCwd: /Workspace Directories:\*\*\n\s+- ([^\n]+)/.exec(contextText)?.[1] ?? '',
    fixtureTmp: /temporary directory is: ([^\n]+)/.exec(contextText)?.[1] ?? '',
    userPrompt: find('user prompt', (line) => line.type === 'user' && parts(line).some((part) => typeof part.text === 'string')),
    setLastUpdated: find('$set lastUpdated', (line) => Object.keys(set(line)).join() === 'lastUpdated'),
    setSessionId: find('$set sessionId', (line) => Object.keys(set(line)).join() === 'sessionId'),
    geminiEmpty: find('empty model message', (line) => line.type === 'gemini' && line.content === '' && !('toolCalls' in line)),
    geminiTools: find('model message with tool calls', (line) => line.type === 'gemini' && Array.isArray(line.toolCalls)),
    functionResponse: find('functionResponse message', (line) => line.type === 'user' && parts(line).some((part) => 'functionResponse' in part)),
    geminiReply: find('model reply', (line) => line.type === 'gemini' && typeof line.content === 'string' && line.content !== ''),
  };
}

const clone = <T extends Json>(value: T): T => structuredClone(value);

interface Call {
  id: string;
  name: string;
  args: JsonObject;
  /** What the model gets back (functionResponse.response.output). */
  output: string;
  display: Json;
  description: string;
  displayName: string;
}

export class GeminiSynth {
  readonly sessionId: string;
  readonly cwd: string;
  readonly startTime: string;
  private readonly text: RolloutSynth;
  private readonly slug: string;
  private clock: number;
  private readonly pending: string[] = [];
  /** The conversation in the model's form, as a resume writes it with `$set`. */
  private readonly history: JsonObject[] = [];
  private runs = 0;

  constructor(private readonly templates: Templates, seed: number) {
    this.text = createSynth({ seed });
    this.cwd = this.text.cwd;
    this.slug = this.cwd.split('/').pop()!;
    this.clock = Date.UTC(2026, 10, 20, 9, 0, 0) + Math.floor(this.text.random() * 86_400_000);
    this.startTime = new Date(this.clock).toISOString();
    this.sessionId = this.text.uuid4();
  }

  /** The next JSONL line, newline included. */
  nextLine(): string {
    if (this.pending.length === 0) this.queueRun();
    return this.pending.shift()!;
  }

  // --- helpers ---------------------------------------------------------------------------------------

  private now(minMs: number, maxMs: number): string {
    this.clock += this.text.int(minMs, maxMs);
    return new Date(this.clock).toISOString();
  }

  private push(record: JsonObject): void {
    this.pending.push(`${JSON.stringify(record)}\n`);
  }

  private lastUpdated(): void {
    const record = clone(this.templates.setLastUpdated);
    (record.$set as JsonObject).lastUpdated = this.now(1, 30);
    this.push(record);
  }

  private tokens(): JsonObject {
    const input = this.text.int(2_000, 150_000);
    const output = this.text.int(20, 4_000);
    const thoughts = this.text.int(0, 2_000);
    return { input, output, cached: Math.floor(input * this.text.random()), thoughts, tool: 0, total: input + output + thoughts };
  }

  private thoughts(): Json[] {
    if (this.text.random() < 0.5) return [];
    return Array.from({ length: this.text.int(1, 3) }, () => ({ subject: this.text.sentence().slice(0, 60), description: this.text.sentence(), timestamp: this.now(1, 400) }));
  }

  private model(template: JsonObject, edit: (record: JsonObject) => void): JsonObject {
    const record = clone(template);
    Object.assign(record, { id: this.text.uuid4(), timestamp: this.now(100, 20_000), thoughts: this.thoughts(), tokens: this.tokens() });
    edit(record);
    return record;
  }

  private call(activity: ToolActivity, index: number): Call {
    const id = (name: string): string => `${name}_${this.clock}_${index}`;
    switch (activity.kind) {
      case 'shell': {
        const exit = activity.exitCode === 0 ? '' : `\nExit Code: ${activity.exitCode}`;
        const output = `<untrusted_context>\nOutput: ${activity.output}${exit}\nProcess Group PGID: ${this.text.int(1000, 99999)}\n</untrusted_context>`;
        return { id: id('run_shell_command'), name: 'run_shell_command', args: { command: activity.command, description: activity.description }, output, display: activity.output, description: activity.command, displayName: 'Shell' };
      }
      case 'read': {
        const { filePath, file, start, lines, whole } = activity;
        const end = start + lines.length;
        const output = whole
          ? lines.join('\n')
          : `\nIMPORTANT: The file content has been truncated.\nStatus: Showing lines ${start + 1}-${end} of ${file.lines.length} total lines.\nAction: To read more of the file, you can use the 'start_line' and 'end_line' parameters in a subsequent 'read_file' call. For example, to read the next section of the file, use start_line: ${end + 1}.\n\n--- FILE CONTENT (truncated) ---\n${lines.join('\n')}`;
        const args: JsonObject = whole ? { file_path: filePath } : { file_path: filePath, start_line: start + 1, end_line: end };
        return { id: id('read_file'), name: 'read_file', args, output, display: whole ? '' : `Read lines ${start + 1}-${end} of ${file.lines.length} from ${file.path}`, description: file.path, displayName: 'ReadFile' };
      }
      case 'edit': {
        const { filePath, file, at, oldLines, newLines, contextStart } = activity;
        const snippet = editSnippet(activity);
        const fileDiff = [`Index: ${file.path}`, '===================================================================', `--- ${file.path}\tCurrent`, `+++ ${file.path}\tProposed`, `@@ -${contextStart + 1},${at - contextStart + oldLines.length + 4} +${contextStart + 1},${snippet.length} @@`, ...oldLines.map((line) => `-${line}`), ...newLines.map((line) => `+${line}`)].join('\n');
        // The whole file before and after, at most 1,000 lines of each (the corpus holds some very large files).
        const originalContent = file.lines.slice(0, 1000).join('\n');
        const newContent = [...file.lines.slice(0, at), ...newLines, ...file.lines.slice(at + oldLines.length)].slice(0, 1000).join('\n');
        const display = { fileDiff, fileName: file.path.split('/').pop()!, filePath, originalContent, newContent, diffStat: { model_added_lines: newLines.length, model_removed_lines: oldLines.length, model_added_chars: newLines.join('\n').length, model_removed_chars: oldLines.join('\n').length, user_added_lines: 0, user_removed_lines: 0, user_added_chars: 0, user_removed_chars: 0 }, isNewFile: false };
        const args = { file_path: filePath, instruction: this.text.sentence(), old_string: oldLines.join('\n'), new_string: newLines.join('\n') };
        return { id: id('replace'), name: 'replace', args, output: `Successfully modified file: ${filePath} (1 replacements).`, display, description: file.path, displayName: 'Edit' };
      }
      case 'grep': {
        const lines = [`Found ${activity.hits.length} matches for pattern "${activity.pattern}" in path ".":`, '---'];
        let current: string | undefined;
        for (const hit of activity.hits) {
          if (hit.path !== current) lines.push(...(current === undefined ? [] : ['---']), `File: ${(current = hit.path).slice(this.cwd.length + 1)}`);
          lines.push(`L${hit.line}: ${hit.text}`);
        }
        lines.push('---');
        return { id: id('grep_search'), name: 'grep_search', args: { pattern: activity.pattern, dir_path: '.' }, output: lines.join('\n'), display: `Found ${activity.hits.length} matches`, description: `'${activity.pattern}' within ./`, displayName: 'SearchText' };
      }
    }
  }

  // --- runs ------------------------------------------------------------------------------------------

  /** The session header: a run's metadata line and session context; a resume adds its `$set`s of the history. */
  private header(): void {
    const t = this.templates;
    const at = this.now(30_000, 3_600_000);
    const meta = clone(t.meta);
    Object.assign(meta, { sessionId: this.sessionId, projectHash: this.text.hex(64), startTime: this.runs === 0 ? this.startTime : at, lastUpdated: at });
    this.push(meta);
    let text = JSON.stringify(t.context);
    text = text.split(t.fixtureTmp).join(`/home/dev/.gemini/tmp/${this.slug}`).split(t.fixtureCwd).join(this.cwd);
    const context = JSON.parse(text) as JsonObject;
    const set = context.$set as JsonObject;
    const message = (set.messages as JsonObject[])[0]!;
    message.timestamp = at;
    set.lastUpdated = at;
    this.push(context);
    if (this.runs === 0) {
      this.history.push(message);
      return;
    }
    const sessionId = clone(t.setSessionId);
    (sessionId.$set as JsonObject).sessionId = this.sessionId;
    this.push(sessionId);
    const resumedAt = this.now(1, 20);
    this.push({ $set: { messages: this.history.map((entry) => ({ ...entry, timestamp: resumedAt })), lastUpdated: resumedAt } });
  }

  private queueRun(): void {
    const t = this.templates;
    this.header();
    this.runs++;
    const prompt = clone(t.userPrompt);
    Object.assign(prompt, { id: this.text.uuid4(), timestamp: this.now(5, 40), content: [{ text: this.text.userPrompt() }] });
    this.push(prompt);
    this.history.push(prompt);
    this.lastUpdated();
    const steps = this.text.random() < 0.15 ? 0 : this.text.int(1, 8);
    for (let step = 0; step < steps; step++) {
      const empty = this.model(t.geminiEmpty, () => undefined);
      this.push(empty);
      this.lastUpdated();
      const text = this.text.random() < 0.35 ? this.text.sentence() : '';
      const calls = Array.from({ length: this.text.random() < 0.8 ? 1 : this.text.int(2, 3) }, (_, index) => this.call(toolActivity(this.text, this.cwd), index));
      const callTemplate = (t.geminiTools.toolCalls as JsonObject[])[0]!;
      const responses = calls.map((call) => ({ functionResponse: { id: call.id, name: call.name, response: { output: call.output } } }));
      const withTools = clone(t.geminiTools);
      Object.assign(withTools, { id: empty.id, timestamp: empty.timestamp, content: text, thoughts: empty.thoughts, tokens: empty.tokens });
      withTools.toolCalls = calls.map((call, index) => {
        const record = clone(callTemplate);
        Object.assign(record, { id: call.id, name: call.name, args: call.args, result: [responses[index]!], status: 'success', timestamp: this.now(50, 20_000), resultDisplay: call.display, description: call.description, displayName: call.displayName });
        return record;
      });
      this.push(withTools);
      const response = clone(t.functionResponse);
      Object.assign(response, { id: this.text.uuid4(), timestamp: this.now(1, 10), content: responses });
      this.push(response);
      this.lastUpdated();
      const modelParts: Json[] = [...(text === '' ? [] : [{ text }]), ...calls.map((call) => ({ functionCall: { id: call.id, name: call.name, args: call.args } }))];
      this.history.push({ id: empty.id!, timestamp: empty.timestamp!, type: 'gemini', content: modelParts }, { id: `${String(empty.id)}_response`, timestamp: empty.timestamp!, type: 'user', content: responses }, response);
    }
    const reply = this.model(t.geminiReply, (record) => (record.content = this.text.assistantReply()));
    this.push(reply);
    this.history.push({ id: reply.id!, timestamp: reply.timestamp!, type: 'gemini', content: [{ text: reply.content! }] });
    this.lastUpdated();
  }
}

let templates: Templates | undefined;

/**
 * A session file of at least `bytes` bytes, cut after the line that gets there (the CLI appends record by record, so
 * any line ends a file it could resume; ending at a run's end would overshoot by up to a run and a history copy),
 * and the generator to continue it with.
 */
export function synthesiseGeminiSession(bytes: number, seed: number): { content: Buffer; lineCount: number; synth: GeminiSynth } {
  const synth = new GeminiSynth((templates ??= loadTemplates()), seed);
  return { ...linesUpTo(bytes, () => synth.nextLine()), synth };
}
