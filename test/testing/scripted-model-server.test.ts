import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  demoScript,
  SCRIPT_EXHAUSTED_TEXT,
  startScriptedModelServer,
  type ModelRequestView,
  type ScriptedModelServer,
  type ScriptedModelServerOptions,
} from '../../src/testing/scripted-model-server.js';
import { commandOutput, DEMO_COMMAND, DEMO_FILE, DEMO_READ_COMMAND } from '../../src/testing/demo-script.js';

const CODEX_BIN = resolve('node_modules/.bin/codex');

interface SseEvent {
  event: string;
  data: any;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((line) => line.startsWith('event: '))?.slice('event: '.length) ?? '';
      const data = lines
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n');
      return { event, data: JSON.parse(data) };
    });
}

const servers: ScriptedModelServer[] = [];
const tempDirs: string[] = [];

async function startServer(options: ScriptedModelServerOptions): Promise<ScriptedModelServer> {
  const server = await startScriptedModelServer(options);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Response JSON, loosely typed for assertions. */
async function readJson(response: Response): Promise<any> {
  return response.json();
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const codexUserMessage = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const codexRequest = (input: unknown[]) => ({ model: 'scripted-model', stream: true, input, tools: [] });
const claudeTools = [{ name: 'Bash', input_schema: { type: 'object' } }];

describe('OpenAI Responses API', () => {
  it('streams a text reply as response.created, the message item added, its text delta, the item done and response.completed', async () => {
    const server = await startServer({ script: [{ kind: 'text', text: 'hello there' }] });
    const response = await post(`${server.openaiBaseUrl}/responses`, codexRequest([codexUserMessage('hi')]));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await response.text());
    expect(events.map((event) => event.event)).toEqual(['response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_item.done', 'response.completed']);
    for (const event of events) expect(event.data.type).toBe(event.event);
    expect(events[2]!.data).toMatchObject({ delta: 'hello there', item_id: events[1]!.data.item.id });
    expect(events[3]!.data.item).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'hello there' }],
    });
    const { usage } = events[4]!.data.response;
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
    expect(events[4]!.data.response.id).toBe(events[0]!.data.response.id);
  });

  it('streams a shell reply as an exec_command function call', async () => {
    const server = await startServer({ script: [{ kind: 'shell', command: 'echo "a b"' }] });
    const events = parseSse(await (await post(`${server.openaiBaseUrl}/responses`, codexRequest([codexUserMessage('run')]))).text());

    const item = events.find((event) => event.event === 'response.output_item.done')!.data.item;
    expect(item).toMatchObject({ type: 'function_call', name: 'exec_command' });
    expect(typeof item.call_id).toBe('string');
    expect(JSON.parse(item.arguments)).toEqual({ cmd: 'echo "a b"' });
  });

  it('answers a non-streaming request with the completed response object', async () => {
    const server = await startServer({ script: [{ kind: 'text', text: 'plain' }] });
    const body = await readJson(await post(`${server.openaiBaseUrl}/responses`, { ...codexRequest([codexUserMessage('hi')]), stream: false }));
    expect(body).toMatchObject({ object: 'response', status: 'completed', output: [{ type: 'message', content: [{ text: 'plain' }] }] });
  });

  it('shows the script the typed prompts and the tool output, without Codex context messages', async () => {
    const views: ModelRequestView[] = [];
    const server = await startServer({
      script: (view) => {
        views.push(view);
        return { kind: 'text', text: 'ok' };
      },
    });
    await post(
      `${server.openaiBaseUrl}/responses`,
      codexRequest([
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'be helpful' }] },
        codexUserMessage('<environment_context>\n  <cwd>/x</cwd>\n</environment_context>'),
        codexUserMessage('first prompt'),
        { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'Chunk ID: 1\nOutput:\nfile.txt\n' },
      ]),
    ).then((response) => response.text());

    expect(views[0]).toMatchObject({
      api: 'openai-responses',
      prompt: 'first prompt',
      userPrompts: ['first prompt'],
      lastIsToolOutput: true,
      toolOutput: 'Chunk ID: 1\nOutput:\nfile.txt\n',
    });
  });
});

describe('Anthropic Messages API', () => {
  it('streams a text reply with the Messages event sequence', async () => {
    const server = await startServer({ script: [{ kind: 'text', text: 'hi from claude' }] });
    const response = await post(`${server.url}/v1/messages?beta=true`, {
      model: 'claude-test',
      stream: true,
      tools: claudeTools,
      messages: [{ role: 'user', content: 'hello' }],
    });

    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await response.text());
    expect(events.map((event) => event.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]!.data.message).toMatchObject({ role: 'assistant', model: 'claude-test', content: [] });
    expect(events[2]!.data.content_block).toEqual({ type: 'text', text: '' });
    expect(events[3]!.data.delta).toEqual({ type: 'text_delta', text: 'hi from claude' });
    expect(events[5]!.data.delta.stop_reason).toBe('end_turn');
  });

  it('streams a shell reply as a Bash tool_use block', async () => {
    const server = await startServer({ script: [{ kind: 'shell', command: 'ls -la' }] });
    const events = parseSse(
      await (
        await post(`${server.url}/v1/messages?beta=true`, { stream: true, tools: claudeTools, messages: [{ role: 'user', content: 'list' }] })
      ).text(),
    );

    const start = events.find((event) => event.event === 'content_block_start')!.data.content_block;
    expect(start).toMatchObject({ type: 'tool_use', name: 'Bash', input: {} });
    const delta = events.find((event) => event.event === 'content_block_delta')!.data.delta;
    expect(delta.type).toBe('input_json_delta');
    expect(JSON.parse(delta.partial_json)).toEqual({ command: 'ls -la' });
    expect(events.find((event) => event.event === 'message_delta')!.data.delta.stop_reason).toBe('tool_use');
  });

  it('answers a non-streaming call with a plain JSON message', async () => {
    const server = await startServer({ script: [{ kind: 'shell', command: 'pwd' }] });
    const message = await readJson(await post(`${server.url}/v1/messages`, { model: 'm', tools: claudeTools, messages: [{ role: 'user', content: 'where' }] }));
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      stop_reason: 'tool_use',
      content: [{ type: 'tool_use', name: 'Bash', input: { command: 'pwd' } }],
    });
  });

  it('reads the prompt after system reminders and skips system entries and tool results', async () => {
    const views: ModelRequestView[] = [];
    const server = await startServer({
      script: (view) => {
        views.push(view);
        return { kind: 'text', text: 'ok' };
      },
    });
    await post(`${server.url}/v1/messages?beta=true`, {
      stream: true,
      tools: claudeTools,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '<system-reminder>\ncontext\n</system-reminder>' },
            { type: 'text', text: 'first prompt' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'file.txt' }] },
        { role: 'system', content: 'a system note' },
      ],
    }).then((response) => response.text());

    expect(views[0]).toMatchObject({
      api: 'anthropic-messages',
      prompt: 'first prompt',
      userPrompts: ['first prompt'],
      lastIsToolOutput: true,
      toolOutput: 'file.txt',
    });
  });

  it('answers side calls without tools and count_tokens without using up the script', async () => {
    const server = await startServer({ script: [{ kind: 'text', text: 'the real turn' }] });
    const side = await readJson(await post(`${server.url}/v1/messages?beta=true`, { max_tokens: 1, messages: [{ role: 'user', content: 'quota' }] }));
    expect(side.type).toBe('message');
    const count = await readJson(await post(`${server.url}/v1/messages/count_tokens?beta=true`, { messages: [] }));
    expect(count.input_tokens).toBeGreaterThan(0);

    const turn = await readJson(await post(`${server.url}/v1/messages`, { tools: claudeTools, messages: [{ role: 'user', content: 'go' }] }));
    expect(turn.content).toEqual([{ type: 'text', text: 'the real turn' }]);
    expect(server.requests.map((request) => request.turn)).toEqual([false, false, true]);
  });
});

describe('scripts and recording', () => {
  it('plays a list script in order and then says it is exhausted', async () => {
    const server = await startServer({
      script: [
        { kind: 'text', text: 'one' },
        { kind: 'shell', command: 'echo two' },
        { kind: 'text', text: 'three' },
      ],
    });
    const replies: unknown[] = [];
    for (let turn = 0; turn < 4; turn += 1) {
      const response = await post(`${server.openaiBaseUrl}/responses`, { ...codexRequest([codexUserMessage(`p${turn}`)]), stream: false });
      const item = (await readJson(response)).output[0];
      replies.push(item.type === 'message' ? item.content[0].text : JSON.parse(item.arguments).cmd);
    }
    expect(replies).toEqual(['one', 'echo two', 'three', SCRIPT_EXHAUSTED_TEXT]);
  });

  it('passes the running turn index to a function script', async () => {
    const indexes: number[] = [];
    const server = await startServer({
      script: (_view, index) => {
        indexes.push(index);
        return { kind: 'text', text: `turn ${index}` };
      },
    });
    for (let turn = 0; turn < 3; turn += 1) await (await post(`${server.openaiBaseUrl}/responses`, codexRequest([]))).text();
    expect(indexes).toEqual([0, 1, 2]);
  });

  it('records every request, including unknown routes', async () => {
    const server = await startServer({ script: [] });
    const before = Date.now();
    await (await post(`${server.openaiBaseUrl}/responses`, codexRequest([codexUserMessage('x')]))).text();
    await (await post(`${server.url}/v1/messages?beta=true`, { stream: true, tools: claudeTools, messages: [] })).text();
    const missing = await fetch(`${server.url}/v1/nothing-here`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(missing.status).toBe(404);
    const models = await readJson(await fetch(`${server.openaiBaseUrl}/models`));
    expect((await fetch(server.url, { method: 'HEAD' })).status).toBe(200);
    expect(models.data[0].id).toBe('scripted-model');

    expect(server.requests.map(({ api, method, path, turn }) => ({ api, method, path, turn }))).toEqual([
      { api: 'openai-responses', method: 'POST', path: '/v1/responses', turn: true },
      { api: 'anthropic-messages', method: 'POST', path: '/v1/messages?beta=true', turn: true },
      { api: 'anthropic-messages', method: 'GET', path: '/v1/nothing-here', turn: false },
      { api: 'openai-responses', method: 'GET', path: '/v1/models', turn: false },
      { api: 'openai-responses', method: 'HEAD', path: '/', turn: false },
    ]);
    expect(server.requests[0]!.body.input[0].content[0].text).toBe('x');
    expect(server.requests[0]!.receivedAt).toBeGreaterThanOrEqual(before);
  });

  it('holds a delayed reply after its first event, and close() ends it at once', async () => {
    const server = await startScriptedModelServer({ script: [{ kind: 'text', text: 'late' }], delayMs: 60_000 });
    const response = await post(`${server.openaiBaseUrl}/responses`, codexRequest([]));
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(parseSse(first).map((event) => event.event)).toEqual(['response.created']);

    const started = Date.now();
    await server.close();
    await reader.read().catch(() => undefined);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('demoScript', () => {
  const view = (overrides: Partial<ModelRequestView>): ModelRequestView => ({
    api: 'openai-responses',
    prompt: undefined,
    userPrompts: [],
    lastIsToolOutput: false,
    toolOutput: undefined,
    toolOutputs: [],
    body: {},
    ...overrides,
  });

  it('asks for a shell command on a first prompt', () => {
    expect(demoScript(view({ prompt: 'hi', userPrompts: ['hi'] }), 0)).toEqual({ kind: 'shell', command: DEMO_COMMAND });
  });

  it('quotes the command output once the tool result comes back', () => {
    const reply = demoScript(
      view({ prompt: 'hi', userPrompts: ['hi'], lastIsToolOutput: true, toolOutput: 'Chunk ID: 9\nProcess exited with code 0\nOutput:\nhello\n' }),
      7,
    );
    expect(reply.kind === 'text' && reply.text).toContain('"hello"');
  });

  it('on a follow-up, asks to read the file the first command wrote, whatever the turn index', () => {
    expect(demoScript(view({ prompt: 'again?', userPrompts: ['first thing', 'again?'], toolOutputs: ['Output:\nhello\n'] }), 0)).toEqual({ kind: 'shell', command: DEMO_READ_COMMAND });
  });

  it("then quotes the first prompt and the first command's output from the history, and the file as read here, saying where each came from", () => {
    const reply = demoScript(
      view({ prompt: 'again?', userPrompts: ['first thing', 'again?'], lastIsToolOutput: true, toolOutput: 'from the file\n', toolOutputs: ['Chunk ID: 1\nOutput:\nhello from A\n', 'from the file\n'] }),
      0,
    );
    expect(reply.kind).toBe('text');
    const lines = reply.kind === 'text' ? reply.text.split('\n') : [];
    expect(lines[0]).toContain('"first thing"');
    expect(lines[1]).toBe(`The first command printed "hello from A" (from the conversation's history, saved on the first machine).`);
    expect(lines[2]).toBe(`${DEMO_FILE} here holds "from the file" (from the workspace that came with the conversation).`);
  });

  it('extracts the output from Codex tool results and keeps plain ones', () => {
    expect(commandOutput('Chunk ID: 1\nWall time: 0 seconds\nOutput:\nline 1\nline 2\n')).toBe('line 1\nline 2');
    expect(commandOutput('plain output\n')).toBe('plain output');
  });
});

describe('with the real Codex CLI', () => {
  async function codexMachine(server: ScriptedModelServer): Promise<{ codexHome: string; home: string; cwd: string }> {
    const root = await mkdtemp(join(tmpdir(), 'baton-scripted-'));
    tempDirs.push(root);
    const machine = { codexHome: join(root, 'codex-home'), home: join(root, 'home'), cwd: join(root, 'work') };
    await Promise.all(Object.values(machine).map((dir) => mkdir(dir, { recursive: true })));
    await writeFile(
      join(machine.codexHome, 'config.toml'),
      [
        'model_provider = "scripted"',
        'model = "scripted-model"',
        '[model_providers.scripted]',
        'name = "scripted"',
        `base_url = "${server.openaiBaseUrl}"`,
        'wire_api = "responses"',
        'env_key = "SCRIPTED_API_KEY"',
        '',
      ].join('\n'),
    );
    return machine;
  }

  async function runCodex(machine: { codexHome: string; home: string; cwd: string }, args: string[]): Promise<{ code: number | null; events: any[]; stderr: string }> {
    const child = spawn(CODEX_BIN, ['exec', ...args], {
      cwd: machine.cwd,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', CODEX_HOME: machine.codexHome, HOME: machine.home, SCRIPTED_API_KEY: 'x' },
      // A piped stdin would be appended to the prompt.
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: the npm launcher runs the native binary as a child, so kill the group.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const code = await new Promise<number | null>((resolveExit, reject) => {
        child.once('error', reject);
        child.once('close', resolveExit);
      });
      const events = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line));
      return { code, events, stderr };
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
  }

  async function findRollout(dir: string): Promise<string> {
    const entries = await readdir(dir, { recursive: true });
    const rollout = entries.find((entry) => basename(entry).startsWith('rollout-') && entry.endsWith('.jsonl'));
    if (rollout === undefined) throw new Error(`no rollout under ${dir}`);
    return join(dir, rollout);
  }

  it('runs the tool call and sends its output back as function_call_output', async () => {
    const server = await startServer({
      script: [
        { kind: 'shell', command: 'echo scripted-tool-output' },
        { kind: 'text', text: 'all done' },
      ],
    });
    const machine = await codexMachine(server);

    const run = await runCodex(machine, ['--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', 'run the tool']);

    expect(run.code, run.stderr).toBe(0);
    const turns = server.requests.filter((request) => request.turn);
    expect(turns).toHaveLength(2);
    const input: any[] = turns[1]!.body.input;
    const last = input[input.length - 1];
    expect(last.type).toBe('function_call_output');
    expect(last.output).toContain('scripted-tool-output');
    expect(input).toContainEqual(expect.objectContaining({ type: 'function_call', name: 'exec_command', call_id: last.call_id }));
    expect(run.events[0]).toMatchObject({ type: 'thread.started' });
    expect(run.events).toContainEqual(
      expect.objectContaining({ type: 'item.completed', item: expect.objectContaining({ type: 'agent_message', text: 'all done' }) }),
    );
  });

  it('resumes from a fresh CODEX_HOME holding only the rollout, and the model sees the earlier turns', async () => {
    const server = await startServer({ script: demoScript });
    const first = await codexMachine(server);
    const run = await runCodex(first, ['--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', 'say hello']);
    expect(run.code, run.stderr).toBe(0);
    const threadId: string = run.events[0].thread_id;

    const second = await codexMachine(server);
    const rollout = await findRollout(join(first.codexHome, 'sessions'));
    const dateFolder = join(second.codexHome, 'sessions', '2020', '01', '01');
    await mkdir(dateFolder, { recursive: true });
    await copyFile(rollout, join(dateFolder, basename(rollout)));

    const resumed = await runCodex(second, [
      'resume',
      '--json',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
      threadId,
      '--',
      '-what did I say first?',
    ]);

    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.events[0]).toEqual({ type: 'thread.started', thread_id: threadId });
    const input: any[] = server.requests[server.requests.length - 1]!.body.input;
    const types = input.map((item) => (item.type === 'message' ? `${item.role} message` : item.type));
    expect(types).toEqual(expect.arrayContaining(['function_call', 'function_call_output', 'assistant message']));
    const reply = resumed.events.find((event) => event.item?.type === 'agent_message');
    expect(reply.item.text).toContain('"say hello"');
    expect(reply.item.text).toContain('"-what did I say first?"');
  });
});
