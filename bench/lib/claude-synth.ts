/**
 * Synthetic Claude Code 2.1.332 session transcripts, shaped like the real ones in test/fixtures/claude/: the
 * records are the fixtures' own lines (queue-operation, user, attachment, atis-latch, last-prompt,
 * api-request-shape, api-request-blob, api-request, tools-used, assistant, mode, cost-state), re-used run after
 * run with fresh uuids, a linear uuid/parentUuid chain over every line that has one (as the CLI writes it),
 * tool_use ids answered by tool_result lines that name their assistant line, timestamps, hashes and usage.
 *
 * A session is a first run (the full header the CLI writes: environment, model, deferred tools, agent and skill
 * listings, auto mode, session context, date, attribution, prompt snapshot, request shape, request blobs) and
 * then resumes (`claude -p --resume`: an environment attachment and a request blob), each one prompt with 0–8
 * model calls of 1–3 tool_uses. Tools, as the CLI records them: Bash (stdout in the tool_result and again in
 * `toolUseResult`), Read (numbered lines, and the file in `toolUseResult.file`), Edit (a snippet, and
 * `toolUseResult.originalFile` with the whole file plus a structuredPatch), Grep. Text comes from the same
 * seeded sources as the Codex rollouts (bench/lib/synth.ts): real code, generated logs, a prose chain.
 *
 * The fixtures only hold Bash calls; the Read/Edit/Grep result shapes follow Claude Code's documented tool
 * results and are an assumption. The api-request `tail` list (hashes of the messages sent) is capped at 60
 * entries: the real CLI lists a resumed conversation's messages, which auto-compaction keeps bounded.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProjectFolder } from '../../src/harness/claude/transcript.js';
import { editSnippet, numbered, toolActivity } from './activity.js';
import { createSynth, fixturePath, linesUpTo, readJsonLines, type Json, type JsonObject, type RolloutSynth } from './synth.js';

const FIXTURES = fixturePath('claude');

interface ClaudeTemplates {
  /** The fixture's session id and cwds, replaced in every line. */
  sessionId: string;
  cwds: string[];
  enqueue: string;
  dequeue: string;
  userPrompt: string;
  attachments: Record<string, string>;
  environmentChange: string;
  promptSnapshotTools: string;
  atisLatch: string;
  lastPrompt: string;
  requestShape: string;
  blobUser: string;
  blobSystem: string;
  blobEnvironmentUpdate: string;
  apiRequest: string;
  toolsUsed: string;
  assistantToolUse: string;
  assistantText: string;
  toolResult: string;
  mode: string;
  costState: string;
}

/** The header attachments of a new session, in the order the CLI writes them (atis-latch after auto_mode). */
const HEADER_ATTACHMENTS = ['environment', 'model', 'deferred_tools_delta', 'agent_listing_delta', 'skill_listing', 'auto_mode'] as const;
const CONTEXT_ATTACHMENTS = ['session_context', 'date', 'remote_session_change', 'prompt_snapshot'] as const;

function fixtureFile(): string {
  // `resumed-twice`: a new run with a Bash call, a resume without a tool, a resume with one — every line type.
  const directory = join(FIXTURES, 'resumed-twice', 'projects');
  for (const folder of readdirSync(directory)) {
    const path = join(directory, folder);
    if (!statSync(path).isDirectory()) continue;
    const name = readdirSync(path).find((file) => file.endsWith('.jsonl'));
    if (name) return join(path, name);
  }
  throw new Error(`bench: no Claude fixture transcript under ${directory}`);
}

function loadClaudeTemplates(): ClaudeTemplates {
  const lines = readJsonLines(fixtureFile());
  const find = (what: string, test: (line: JsonObject) => boolean): string => {
    const line = lines.find(test);
    if (!line) throw new Error(`bench: no ${what} line in the Claude fixture`);
    return JSON.stringify(line);
  };
  const attachment = (line: JsonObject): JsonObject => (line.attachment ?? {}) as JsonObject;
  const content = (line: JsonObject): Json | undefined => ((line.message ?? {}) as JsonObject).content;
  const blocks = (line: JsonObject): JsonObject[] => (Array.isArray(content(line)) ? (content(line) as JsonObject[]) : []);
  const blobRole = (line: JsonObject): string => String(((line.message ?? {}) as JsonObject).role);
  const attachments: Record<string, string> = {};
  for (const type of [...HEADER_ATTACHMENTS, ...CONTEXT_ATTACHMENTS]) {
    attachments[type] = find(`${type} attachment`, (line) => line.type === 'attachment' && attachment(line).type === type && !('changes' in attachment(line)) && !('tools' in attachment(line)));
  }
  const userLines = lines.filter((line) => line.type === 'user' && typeof content(line) === 'string');
  return {
    sessionId: String(lines.find((line) => typeof line.sessionId === 'string')!.sessionId),
    cwds: [...new Set(lines.flatMap((line) => (typeof line.cwd === 'string' ? [line.cwd] : [])))].sort((a, b) => b.length - a.length),
    enqueue: find('enqueue', (line) => line.type === 'queue-operation' && line.operation === 'enqueue'),
    dequeue: find('dequeue', (line) => line.type === 'queue-operation' && line.operation === 'dequeue'),
    userPrompt: JSON.stringify(userLines[0]),
    attachments,
    environmentChange: find('environment change', (line) => line.type === 'attachment' && attachment(line).type === 'environment' && 'changes' in attachment(line)),
    promptSnapshotTools: find('prompt_snapshot with tools', (line) => line.type === 'attachment' && attachment(line).type === 'prompt_snapshot' && 'tools' in attachment(line)),
    atisLatch: find('atis-latch', (line) => line.type === 'atis-latch'),
    lastPrompt: find('last-prompt', (line) => line.type === 'last-prompt'),
    requestShape: find('api-request-shape', (line) => line.type === 'api-request-shape'),
    blobUser: find('user request blob', (line) => line.type === 'api-request-blob' && blobRole(line) === 'user'),
    blobSystem: find('system request blob', (line) => line.type === 'api-request-blob' && blobRole(line) === 'system' && JSON.stringify(line).length > 2000),
    blobEnvironmentUpdate: find('environment update blob', (line) => line.type === 'api-request-blob' && blobRole(line) === 'system' && JSON.stringify(line).length <= 2000),
    apiRequest: find('api-request', (line) => line.type === 'api-request'),
    toolsUsed: find('tools-used', (line) => line.type === 'tools-used'),
    assistantToolUse: find('assistant tool_use', (line) => line.type === 'assistant' && blocks(line).some((block) => block.type === 'tool_use')),
    assistantText: find('assistant text', (line) => line.type === 'assistant' && blocks(line).some((block) => block.type === 'text')),
    toolResult: find('tool_result', (line) => line.type === 'user' && blocks(line).some((block) => block.type === 'tool_result')),
    mode: find('mode', (line) => line.type === 'mode'),
    costState: find('cost-state', (line) => line.type === 'cost-state'),
  };
}

interface ToolCall {
  name: string;
  input: JsonObject;
  /** The tool_result block's content (what the model sees). */
  result: string;
  isError: boolean;
  /** `toolUseResult`: what the CLI keeps beside it for its UI. */
  toolUseResult: Json;
}

export class ClaudeSynth {
  readonly sessionId: string;
  readonly cwd: string;
  private readonly text: RolloutSynth;
  private clock: number;
  private readonly pending: string[] = [];
  private leaf: string | null = null;
  private runs = 0;
  private promptIndex = 0;
  private requestId: string | undefined;
  private messageHashes: string[] = [];
  private snapshotWithTools = false;
  private toolCount = 0;
  private shapeHash = '';
  private cost = { usd: 0, input: 0, output: 0, apiMs: 0, toolMs: 0, startTime: 0 };

  constructor(private readonly templates: ClaudeTemplates, seed: number) {
    this.text = createSynth({ seed });
    this.sessionId = this.text.uuid4();
    this.cwd = this.text.cwd;
    this.clock = Date.UTC(2026, 10, 20, 9, 0, 0) + Math.floor(this.text.random() * 86_400_000);
    this.cost.startTime = this.clock;
  }

  /** The next JSONL line, newline included. */
  nextLine(): string {
    if (this.pending.length === 0) this.queueRun();
    return this.pending.shift()!;
  }

  /** Whether the last line returned ended a run (so a transcript cut here has no tool_use left unanswered). */
  atRunEnd(): boolean {
    return this.pending.length === 0;
  }

  /** Where the CLI keeps this session, relative to CLAUDE_CONFIG_DIR, for a resume in `realCwd`. */
  relativePath(realCwd: string): string {
    return join('projects', encodeProjectFolder(realCwd), `${this.sessionId}.jsonl`);
  }

  // --- helpers ---------------------------------------------------------------------------------------

  private advance(minMs: number, maxMs: number): string {
    this.clock += this.text.int(minMs, maxMs);
    return new Date(this.clock).toISOString();
  }

  /** A template with this session's id and cwd; `chained` lines get a fresh uuid and the chain's parent. */
  private line(template: string, chained: boolean, edit: (line: JsonObject) => void = () => undefined): JsonObject {
    let text = template.split(this.templates.sessionId).join(this.sessionId);
    for (const cwd of this.templates.cwds) text = text.split(cwd).join(this.cwd);
    const line = JSON.parse(text) as JsonObject;
    if ('timestamp' in line) line.timestamp = this.advance(1, 60);
    if (chained) {
      line.parentUuid = this.leaf;
      line.uuid = this.text.uuid4();
      this.leaf = line.uuid;
    }
    edit(line);
    return line;
  }

  private push(line: JsonObject): void {
    this.pending.push(`${JSON.stringify(line)}\n`);
  }

  private sha(): string {
    return this.text.hex(64);
  }

  // --- tools -----------------------------------------------------------------------------------------

  private toolCall(): ToolCall {
    const activity = toolActivity(this.text, this.cwd);
    switch (activity.kind) {
      case 'shell': {
        const { command, description, output: stdout, exitCode } = activity;
        return {
          name: 'Bash',
          input: { command, description },
          result: exitCode === 0 ? stdout : `Exit code ${exitCode}\n${stdout}`,
          isError: exitCode !== 0,
          toolUseResult: exitCode === 0 ? { stdout, stderr: '', interrupted: false, isImage: false, noOutputExpected: false } : `Error: Exit code ${exitCode}\n${stdout}`,
        };
      }
      case 'read': {
        const { filePath, file, start, limit, lines } = activity;
        return {
          name: 'Read',
          input: activity.whole ? { file_path: filePath } : { file_path: filePath, offset: start + 1, limit },
          result: numbered(lines, start + 1),
          isError: false,
          toolUseResult: { type: 'text', file: { filePath, content: lines.join('\n'), numLines: lines.length, startLine: start + 1, totalLines: file.lines.length } },
        };
      }
      case 'edit': {
        const { filePath, file, at, oldLines, newLines, contextStart } = activity;
        return {
          name: 'Edit',
          input: { file_path: filePath, old_string: oldLines.join('\n'), new_string: newLines.join('\n'), replace_all: false },
          result: `The file ${filePath} has been updated. Here's the result of running \`cat -n\` on a snippet of the edited file:\n${numbered(editSnippet(activity), contextStart + 1)}`,
          isError: false,
          toolUseResult: {
            filePath,
            oldString: oldLines.join('\n'),
            newString: newLines.join('\n'),
            originalFile: file.lines.slice(0, 2000).join('\n'),
            structuredPatch: [
              {
                oldStart: contextStart + 1,
                oldLines: at - contextStart + oldLines.length + 4,
                newStart: contextStart + 1,
                newLines: at - contextStart + newLines.length + 4,
                lines: [...file.lines.slice(contextStart, at).map((line) => ` ${line}`), ...oldLines.map((line) => `-${line}`), ...newLines.map((line) => `+${line}`), ...file.lines.slice(at + oldLines.length, at + oldLines.length + 4).map((line) => ` ${line}`)],
              },
            ],
            userModified: false,
            replaceAll: false,
          },
        };
      }
      case 'grep': {
        const hits = activity.hits.map((hit) => `${hit.path}:${hit.line}:${hit.text}`);
        return {
          name: 'Grep',
          input: { pattern: activity.pattern, path: this.cwd, output_mode: 'content', '-n': true },
          result: hits.join('\n'),
          isError: false,
          toolUseResult: { mode: 'content', numFiles: new Set(activity.hits.map((hit) => hit.path)).size, filenames: [], content: hits.join('\n'), numLines: hits.length },
        };
      }
    }
  }

  // --- records ---------------------------------------------------------------------------------------

  private usage(message: JsonObject): void {
    const usage = message.usage as JsonObject;
    const input = this.text.int(2_000, 150_000);
    const cached = Math.floor(input * this.text.random());
    const output = this.text.int(20, 4_000);
    Object.assign(usage, { input_tokens: input - cached, cache_read_input_tokens: cached, cache_creation_input_tokens: this.text.int(0, 5_000), output_tokens: output });
    this.cost.input += input;
    this.cost.output += output;
    this.cost.usd += input * 0.000005 + output * 0.000025;
  }

  private apiRequest(first: boolean): void {
    const id = this.text.uuid4();
    this.push(
      this.line(this.templates.apiRequest, false, (line) => {
        line.id = id;
        line.requestDigest = this.sha();
        line.shapeHash = this.shapeHash;
        line.tail = this.messageHashes.slice(first ? -60 : -2);
        line.keep = first ? 0 : Math.min(this.messageHashes.length, 60);
        if (first) delete line.base;
        else line.base = this.requestId ?? id;
        const cache = line.cacheControl as JsonObject[] | undefined;
        const last = cache?.[cache.length - 1] as JsonObject | undefined;
        if (last && Array.isArray(last.path)) last.path[1] = Math.max(0, this.messageHashes.length - 1);
      }),
    );
    this.requestId = id;
  }

  private assistant(template: string, block: JsonObject, messageId: string, index: number): JsonObject {
    return this.line(template, true, (line) => {
      const message = line.message as JsonObject;
      message.id = messageId;
      message.content = [block];
      message.stop_reason = block.type === 'tool_use' ? 'tool_use' : 'end_turn';
      this.usage(message);
      line.requestRef = this.requestId ?? null;
      line.apiBlockIndex = index;
      if ('toolInputStreamMs' in line) line.toolInputStreamMs = this.text.int(2, 900);
    });
  }

  private lastPrompt(prompt: string): void {
    this.push(this.line(this.templates.lastPrompt, false, (line) => Object.assign(line, { lastPrompt: prompt.slice(0, 200), leafUuid: this.leaf })));
  }

  private queueRun(): void {
    const t = this.templates;
    const first = this.runs === 0;
    this.runs++;
    this.clock += this.text.int(30_000, 3_600_000);
    const prompt = this.text.userPrompt();
    const promptId = this.text.uuid4();
    this.push(this.line(t.enqueue, false, (line) => (line.content = prompt)));
    this.push(this.line(t.dequeue, false));
    this.push(
      this.line(t.userPrompt, true, (line) => {
        (line.message as JsonObject).content = prompt;
        line.promptId = promptId;
        line.sentAtMs = this.clock;
        line.turnPosition = { promptIndex: 0, turnIndex: ++this.promptIndex };
      }),
    );
    this.messageHashes.push(this.sha());
    if (first) {
      for (const type of HEADER_ATTACHMENTS) this.push(this.line(t.attachments[type]!, true));
      this.push(this.line(t.atisLatch, false));
      for (const type of CONTEXT_ATTACHMENTS) this.push(this.line(t.attachments[type]!, true));
      this.lastPrompt(prompt);
      this.push(this.line(t.atisLatch, false));
      this.shapeHash = this.sha();
      this.push(this.line(t.requestShape, false, (line) => (line.shapeHash = this.shapeHash)));
      this.push(this.line(t.blobUser, false, (line) => (line.hash = this.messageHashes.at(-1)!)));
      const system = this.sha();
      this.messageHashes.push(system);
      this.push(this.line(t.blobSystem, false, (line) => (line.hash = system)));
    } else {
      this.push(this.line(t.environmentChange, true));
      const update = this.sha();
      this.messageHashes.push(update);
      this.push(this.line(t.blobEnvironmentUpdate, false, (line) => (line.hash = update)));
    }
    this.apiRequest(true);

    // Model calls: each answers with optional text and 1–3 tool_uses (one line per block), then the results.
    const calls = this.text.random() < 0.15 ? 0 : this.text.int(1, 8);
    const used = new Set<string>();
    for (let call = 0; call < calls; call++) {
      const messageId = `msg_${this.text.hex(24)}`;
      let index = 0;
      if (this.text.random() < 0.35) this.push(this.assistant(t.assistantText, { type: 'text', text: this.text.sentence() }, messageId, index++));
      const tools = Array.from({ length: this.text.random() < 0.8 ? 1 : this.text.int(2, 3) }, () => this.toolCall());
      const uses: Array<{ id: string; uuid: string; tool: ToolCall }> = [];
      for (const tool of tools) {
        if (!used.has(tool.name)) {
          used.add(tool.name);
          this.push(this.line(t.toolsUsed, false, (line) => (line.tools = [...used])));
        }
        const id = `toolu_${this.text.hex(24)}`;
        const line = this.assistant(t.assistantToolUse, { type: 'tool_use', id, name: tool.name, input: tool.input }, messageId, index++);
        this.push(line);
        uses.push({ id, uuid: String(line.uuid), tool });
      }
      this.messageHashes.push(this.sha());
      this.lastPrompt(prompt);
      this.push(this.line(t.atisLatch, false));
      this.advance(50, 20_000);
      for (const use of uses) {
        this.push(
          this.line(t.toolResult, true, (line) => {
            line.promptId = promptId;
            (line.message as JsonObject).content = [{ tool_use_id: use.id, type: 'tool_result', content: use.tool.result, is_error: use.tool.isError }];
            line.toolUseResult = use.tool.toolUseResult;
            line.sourceToolAssistantUUID = use.uuid;
          }),
        );
        this.toolCount++;
        this.cost.toolMs += this.text.int(5, 20_000);
      }
      this.messageHashes.push(this.sha());
      // The CLI records the full prompt snapshot (tools included) once, after the session's first tool result.
      if (!this.snapshotWithTools) {
        this.snapshotWithTools = true;
        this.push(this.line(t.promptSnapshotTools, true));
      }
      this.apiRequest(false);
    }
    this.push(this.assistant(t.assistantText, { type: 'text', text: this.text.assistantReply() }, `msg_${this.text.hex(24)}`, 0));
    this.messageHashes.push(this.sha());
    this.lastPrompt(prompt);
    if (!first && this.text.random() < 0.5) this.push(this.line(t.mode, false));
    else this.push(this.line(t.atisLatch, false));
    this.cost.apiMs += this.text.int(500, 60_000) * (calls + 1);
    this.push(
      this.line(t.costState, false, (line) => {
        Object.assign(line, {
          totalCostUSD: Math.round(this.cost.usd * 1e6) / 1e6,
          totalAPIDuration: this.cost.apiMs,
          totalAPIDurationWithoutRetries: this.cost.apiMs - this.text.int(0, 50),
          totalToolDuration: this.cost.toolMs,
          totalDuration: this.clock - this.cost.startTime,
          startTime: this.cost.startTime,
        });
        const usage = Object.values((line.modelUsage ?? {}) as JsonObject)[0] as JsonObject | undefined;
        if (usage) Object.assign(usage, { inputTokens: this.cost.input, outputTokens: this.cost.output, costUSD: Math.round(this.cost.usd * 1e6) / 1e6 });
      }),
    );
    if (used.size > 0) this.push(this.line(t.toolsUsed, false, (line) => (line.tools = [...used])));
  }
}

let templates: ClaudeTemplates | undefined;

export function createClaudeSynth(seed: number): ClaudeSynth {
  templates ??= loadClaudeTemplates();
  return new ClaudeSynth(templates, seed);
}

/**
 * A transcript of at least `bytes` bytes that ends where a run ended (no tool_use left unanswered, so a
 * rehydrate writes it unchanged), and the generator to continue it with.
 */
export function synthesiseClaudeSession(bytes: number, seed: number): { content: Buffer; lineCount: number; synth: ClaudeSynth } {
  const synth = createClaudeSynth(seed);
  return { ...linesUpTo(bytes, () => synth.nextLine(), () => synth.atRunEnd()), synth };
}
