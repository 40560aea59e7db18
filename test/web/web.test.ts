/**
 * The web UI in a real browser (Debian's Chromium driven by playwright-core; never a browser download), against
 * the real `baton serve`, a real `baton worker` running the real Codex CLI, and the scripted model server.
 * Screenshots of every page land in test-results/web-*.png, to be looked at by eye.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HARNESS_IDS, type HarnessId } from '../../src/harness/ids.js';
import { newConversationId, newRunId } from '../../src/ids.js';
import type { ReasoningEffort } from '../../src/model/agent-setup.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { RecordedRequest } from '../../src/testing/scripted-model-server.js';
import { sha256Hex } from '../../src/transcript/envelope.js';
import { createFleet, fleetScript, type Fleet } from '../e2e/fleet-world.js';
import { conversationOf, lastUserText } from '../e2e/model-requests.js';
import { waitFor } from '../e2e/world.js';

const RESULTS = resolve('test-results');
const CHROMIUM = '/usr/bin/chromium';

let fleet: Fleet;
let token: string;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  await mkdir(RESULTS, { recursive: true });
  fleet = await createFleet({ script: fleetScript });
  token = await fleet.token('acme');
  await fleet.startWorker('worker-a');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.cleanup();
}, 60_000);

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  // Anything the page logs as an error fails the test that made it.
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

async function signIn(page: Page, withToken = token): Promise<void> {
  await page.goto(fleet.serverUrl);
  await page.getByTestId('token').fill(withToken);
  await page.getByTestId('signin').click();
}

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(RESULTS, `web-${name}.png`), fullPage: true });

interface FormCase {
  harness: HarnessId;
  model?: string;
  effort?: ReasoningEffort;
  /** A system prompt to give, or false where the form must offer none. */
  systemPrompt?: string | false;
  /** Where the effort lands in the model request, and the value "high" must give. */
  effortSent?(request: RecordedRequest): unknown;
  effortExpected?: unknown;
}

/** Claude Code with the worker's defaults; Gemini and OpenCode with the setup each takes (agent-setup.test.ts). */
const FORM_CASES: FormCase[] = [
  { harness: 'claude' },
  // verified with gemini 0.61.0: effort is a thinking budget on the 2.5 models (24576 for high), so the form names one.
  { harness: 'gemini', model: 'gemini-2.5-flash', effort: 'high', systemPrompt: false, effortSent: (request) => request.body?.generationConfig?.thinkingConfig?.thinkingBudget, effortExpected: 24576 },
  // Behind the worker's model proxy OpenCode runs openai/gpt-5.1, whose "high" variant is `reasoning.effort`.
  { harness: 'opencode', effort: 'high', systemPrompt: 'Answer tersely (baton web test system prompt)', effortSent: (request) => request.body?.reasoning?.effort, effortExpected: 'high' },
];

/** The model request of the agent's turn for `prompt`: the one that offered tools (not a title or routing call). */
const requestOfTurn = (prompt: string): Promise<RecordedRequest> =>
  waitFor(() => fleet.turns().find((turn) => lastUserText(turn) === prompt && offersTools(turn)), `the model request for "${prompt}"`);

function offersTools(request: RecordedRequest): boolean {
  const tools = request.body?.tools;
  return Array.isArray(tools) && tools.length > 0;
}

describe('baton web', () => {
  afterEach(() => {
    const errors = pageErrors.splice(0);
    // The wrong-token test expects its 401 to be logged by the browser.
    expect(errors.filter((error) => !/status of 401/.test(error))).toEqual([]);
  });

  it('shows a sign-in error for a wrong token, and keeps the token out of the page', async () => {
    const page = await newPage();
    await signIn(page, 'baton_this-token-does-not-exist');
    await expect.poll(() => page.getByTestId('signin-error').textContent()).toContain('did not accept that token');
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('baton.token'))).toBeNull();
    await shot(page, 'signin-error');
    const index = await fetch(fleet.serverUrl);
    const policy = index.headers.get('content-security-policy');
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("form-action 'none'");
    expect(policy).toContain("base-uri 'none'");
    expect(await index.text()).not.toMatch(/https?:\/\//); // nothing loaded from elsewhere
    await page.close();
  });

  it('starts a conversation, streams its live output, queues a follow-up, and shows both runs', async () => {
    const page = await newPage();
    await signIn(page);
    await page.getByRole('heading', { name: 'Conversations' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('baton.token'))).toBe(token);
    await shot(page, 'conversations-empty');

    await page.getByTestId('new-conversation').click();
    // The agents on offer are the server's harnesses (GET /v1/harnesses), every one of them, in registry order.
    await page.locator('[data-testid=harness] option').first().waitFor({ state: 'attached' });
    const offered = await page.locator('[data-testid=harness] option').evaluateAll((options) => options.map((option) => (option as unknown as { value: string }).value));
    expect(offered).toEqual([...HARNESS_IDS]);
    await page.getByTestId('harness').selectOption('codex');
    await page.getByTestId('prompt').fill('RUN echo hello-from-the-browser-PAUSE');
    await shot(page, 'new-conversation');
    await page.getByTestId('start').click();
    await page.waitForURL(/#\/c\/c_/);

    // The command's output arrives while the run still runs: the model holds its answer for 4 s after it.
    const live = page.getByTestId('live-output');
    await live.locator('pre.output').filter({ hasText: 'hello-from-the-browser-PAUSE' }).waitFor({ timeout: 60_000 });
    expect(await live.textContent()).not.toContain('The command printed');
    await expect.poll(() => page.getByTestId('run-header').first().textContent()).toMatch(/Run 1\s*running/);
    await shot(page, 'live');

    // When the run ends, the saved turn replaces the live block.
    await page.getByTestId('assistant-message').filter({ hasText: 'The command printed: hello-from-the-browser-PAUSE' }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('live-output').count()).toBe(0);

    // A follow-up, and a second one sent while the first runs: it is queued behind it, and the box says why it
    // takes no third one meanwhile.
    await page.getByTestId('followup').fill('PAUSE: what did the command print?');
    await page.getByTestId('send').click();
    await page.getByTestId('live-output').filter({ hasText: 'Running on worker-a' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('followup').fill('and after that?');
    await page.getByTestId('send').click();
    await page.getByTestId('followup-blocked').filter({ hasText: 'already queued' }).waitFor();
    expect(await page.getByTestId('followup').isDisabled()).toBe(true);
    await shot(page, 'followup-queued');

    await page.getByTestId('assistant-message').filter({ hasText: 'ACK and after that?' }).waitFor({ timeout: 60_000 });
    const headers = await page.getByTestId('run-header').allTextContents();
    expect(headers).toHaveLength(3);
    expect(headers[0]).toMatch(/Run 1.*succeeded.*new · on worker-a/);
    expect(headers[1]).toMatch(/Run 2.*succeeded.*resume · on worker-a/);
    expect(headers[2]).toMatch(/Run 3.*succeeded.*resume · on worker-a/);
    // The worker's model proxy counted each run's tokens; the page shows them per run and for the conversation.
    await expect.poll(() => page.getByTestId('run-usage').count()).toBe(3);
    for (const usage of await page.getByTestId('run-usage').allTextContents()) expect(usage).toMatch(/^[\d,]+ tokens in \([\d,]+ cached\) · [\d,]+ out$/);
    expect(await page.getByTestId('conversation-usage').textContent()).toMatch(/tokens in \([\d,]+ cached\)/);
    expect(await page.getByTestId('user-message').allTextContents()).toEqual(['RUN echo hello-from-the-browser-PAUSE', 'PAUSE: what did the command print?', 'and after that?']);
    expect((await page.getByTestId('assistant-message').allTextContents()).map((text) => text.trim())).toContain('ACK PAUSE: what did the command print?');
    expect(await page.getByTestId('command').first().textContent()).toContain('echo hello-from-the-browser-PAUSE');
    expect(await page.getByTestId('followup').isDisabled()).toBe(false);
    await shot(page, 'conversation');

    // "Open locally" gives the command that continues this conversation in the CLI's own UI, with this server.
    await page.getByTestId('open-locally').click();
    const conversationId = /#\/c\/([^/?]+)/.exec(page.url())![1]!;
    expect((await page.getByTestId('open-locally-command').locator('code').textContent())?.trim()).toBe(`baton open --server ${fleet.serverUrl} ${decodeURIComponent(conversationId)}`);
    await page.getByTestId('open-locally').click();

    // "Fork from here" at the end of a turn: the fork's page, which names its origin and ends at that turn.
    const forkButton = page.getByTestId('fork-from-here').first();
    const turn = Number(await forkButton.getAttribute('data-turn'));
    expect(turn).toBeGreaterThanOrEqual(1);
    await forkButton.click();
    await expect.poll(() => page.url()).not.toContain(conversationId);
    await expect.poll(() => page.getByTestId('forked-from').textContent()).toContain(`forked from ${decodeURIComponent(conversationId)} at turn ${turn}`);
    await expect.poll(() => page.getByTestId('fork-from-here').last().getAttribute('data-turn')).toBe(String(turn));
    await page.goto(`${fleet.serverUrl}/#/c/${conversationId}`);
    await expect.poll(() => page.getByTestId('forked-from').count()).toBe(0);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
    expect(download.suggestedFilename()).toMatch(/^c_.*\.baton\.json$/);
    const exported = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(exported).toMatchObject({ format: 'baton-conversation', runs: [{ sequence: 1 }, { sequence: 2 }, { sequence: 3 }] });

    await page.goto(`${fleet.serverUrl}/#/`);
    const row = page.getByTestId('conversation-row').filter({ hasText: 'RUN echo hello-from-the-browser-PAUSE' }).filter({ hasNotText: '(fork)' });
    await expect.poll(() => page.getByTestId('conversation-row').filter({ hasText: 'RUN echo hello-from-the-browser-PAUSE (fork)' }).count()).toBe(1);
    await expect.poll(() => row.textContent()).toMatch(/codex.*idle.*3$/);
    await page.getByTestId('filter-harness').selectOption('claude');
    await expect.poll(() => page.getByTestId('conversation-row').count()).toBe(0);
    await page.getByTestId('filter-harness').selectOption('');
    await shot(page, 'conversations');
    await page.close();
  }, 180_000);

  // Every other agent through the same form and view: started from the form with the agent setup it takes, run on
  // the worker, its reply and command shown, a follow-up from the page that the model gets with the earlier turns.
  it.each(FORM_CASES)('$harness: a conversation started from the form runs, shows its reply and command, and takes a follow-up', async (formCase) => {
    const { harness } = formCase;
    const page = await newPage();
    await signIn(page);
    await page.getByRole('heading', { name: 'Conversations' }).waitFor();
    await page.getByTestId('new-conversation').click();
    await page.locator('[data-testid=harness] option').first().waitFor({ state: 'attached' });
    await page.getByTestId('harness').selectOption(harness);
    // The efforts on offer are the ones GET /v1/harnesses names for this harness.
    const levels = (await fleet.api(token, 'GET', '/v1/harnesses')).body.harnesses.find((option: any) => option.id === harness).effortLevels;
    expect(await page.locator('[data-testid=effort] option').evaluateAll((options) => options.map((option) => (option as unknown as { value: string }).value))).toEqual(levels.length > 0 ? ['', ...levels] : []);
    if (formCase.model) await page.getByTestId('model').fill(formCase.model);
    if (formCase.effort) await page.getByTestId('effort').selectOption(formCase.effort);
    await page.locator('details.agent-setup > summary').click();
    await page.getByTestId('mcp-config').waitFor();
    if (formCase.systemPrompt === false) {
      // Gemini CLI takes no system prompt: the form offers none.
      expect(await page.getByTestId('system-prompt').count()).toBe(0);
      expect(await page.locator('details.agent-setup').textContent()).toContain('takes no system prompt');
    } else if (formCase.systemPrompt) await page.getByTestId('system-prompt').fill(formCase.systemPrompt);
    const prompt = `RUN echo hello-from-${harness}`;
    await page.getByTestId('prompt').fill(prompt);
    await shot(page, `new-conversation-${harness}`);
    await page.getByTestId('start').click();
    await page.waitForURL(/#\/c\/c_/);

    await page.getByTestId('assistant-message').filter({ hasText: `The command printed: hello-from-${harness}` }).waitFor({ timeout: 90_000 });
    expect(await page.getByTestId('command').textContent()).toContain(`echo hello-from-${harness}`);
    expect(await page.getByTestId('command').locator('pre.output').textContent()).toBe(`hello-from-${harness}`);
    await expect.poll(() => page.getByTestId('run-header').textContent()).toMatch(/Run 1.*succeeded.*new · on worker-a/);
    if (formCase.model) expect(await page.locator('.toolbar .muted.small').first().textContent()).toContain(`${harness} · ${formCase.model}`);
    if (formCase.effort) expect(await page.getByTestId('conversation-effort').textContent()).toBe(` · ${formCase.effort} effort`);
    else expect(await page.getByTestId('conversation-effort').count()).toBe(0);
    // The model's request for the prompt carried the setup chosen in the form.
    const first = await requestOfTurn(prompt);
    if (formCase.effortSent) expect(formCase.effortSent(first)).toBe(formCase.effortExpected);
    if (formCase.systemPrompt) expect(JSON.stringify(first.body)).toContain(formCase.systemPrompt);

    const followup = `what did the command print? (${harness})`;
    await page.getByTestId('followup').fill(followup);
    await page.getByTestId('send').click();
    await page.getByTestId('assistant-message').filter({ hasText: `ACK ${followup}` }).waitFor({ timeout: 90_000 });
    await expect.poll(() => page.getByTestId('run-header').allTextContents()).toHaveLength(2);
    expect((await page.getByTestId('run-header').allTextContents())[1]).toMatch(/Run 2.*succeeded.*resume · on worker-a/);
    expect(await page.getByTestId('user-message').allTextContents()).toEqual([prompt, followup]);
    // The resumed transcript shows the first run's command once (Gemini's resume history may hold it twice).
    expect(await page.getByTestId('command').count()).toBe(1);
    // The follow-up resumed the conversation: the model was sent every earlier turn, and the setup again.
    const resumed = await requestOfTurn(followup);
    const turns = conversationOf(resumed);
    expect(turns).toContainEqual({ kind: 'user', text: prompt });
    expect(turns).toContainEqual({ kind: 'tool_output', text: expect.stringContaining(`hello-from-${harness}`) });
    expect(turns).toContainEqual({ kind: 'assistant', text: expect.stringContaining(`The command printed: hello-from-${harness}`) });
    if (formCase.effortSent) expect(formCase.effortSent(resumed)).toBe(formCase.effortExpected);
    await shot(page, `conversation-${harness}`);
    await page.close();
  }, 180_000);

  it('renders a 5,000-turn conversation quickly, keeping only the visible rows in the page', async () => {
    const turns = 5_000;
    const id = await importLongConversation(turns);
    const page = await newPage();
    await signIn(page);
    await page.getByRole('heading', { name: 'Conversations' }).waitFor();

    const started = Date.now();
    await page.goto(`${fleet.serverUrl}/#/c/${id}`);
    await page.getByTestId('assistant-message').filter({ hasText: `Answer ${turns}` }).waitFor({ timeout: 60_000 });
    const firstRenderMs = Date.now() - started;
    await shot(page, 'long-conversation');

    // The newest turn: its edit as a diff, its Markdown answer with highlighted code.
    const edit = page.getByTestId('edit').filter({ hasText: 'src/step.ts' }).last();
    expect(await edit.locator('.diff-del').textContent()).toContain(`-export const step = ${turns - 1};`);
    expect(await edit.locator('.diff-add').textContent()).toContain(`+export const step = ${turns};`);
    expect(await page.getByTestId('assistant-message').last().locator('pre code .hljs-keyword').first().textContent()).toBe('const');
    const rowsInPage = await page.locator('.chat-row').count();
    expect(rowsInPage).toBeLessThan(200); // of about 25,000 rows
    await page.getByTestId('chat').evaluate((chat) => chat.scrollTo({ top: 0 }));
    await page.getByTestId('user-message').filter({ hasText: /^Question 1$/ }).waitFor();
    await writeFile(join(RESULTS, 'web-long-conversation.json'), `${JSON.stringify({ turns, firstRenderMs, rowsInPage }, null, 2)}\n`);
    console.log(`web: a ${turns}-turn conversation rendered its newest turn in ${firstRenderMs} ms with ${rowsInPage} rows in the page`);
    await page.close();
  }, 120_000);
});

/** A Codex conversation of `turns` runs, each a question, a command with output, and a Markdown answer. */
async function importLongConversation(turns: number): Promise<string> {
  const store = await openPostgresStore(fleet.cluster.url);
  try {
    const sessionId = randomUUID();
    const id = newConversationId();
    const lines: string[] = [JSON.stringify({ type: 'session_meta', payload: { id: sessionId, cwd: '/work', cli_version: '0.171.0' } })];
    const runs = [];
    for (let turn = 1; turn <= turns; turn++) {
      const callId = `call_${turn}`;
      lines.push(
        JSON.stringify({ type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `Question ${turn}` }] } }),
        JSON.stringify({ type: 'response_item', payload: { type: 'function_call', name: 'exec_command', call_id: callId, arguments: JSON.stringify({ cmd: `echo step ${turn}` }) } }),
        JSON.stringify({ type: 'response_item', payload: { type: 'function_call_output', call_id: callId, output: `step ${turn}\n` } }),
      );
      if (turn % 100 === 0) {
        const patch = `*** Begin Patch\n*** Update File: src/step.ts\n@@\n-export const step = ${turn - 1};\n+export const step = ${turn};\n*** End Patch\n`;
        lines.push(
          JSON.stringify({ type: 'response_item', payload: { type: 'custom_tool_call', name: 'apply_patch', call_id: `patch_${turn}`, input: patch } }),
          JSON.stringify({ type: 'response_item', payload: { type: 'custom_tool_call_output', call_id: `patch_${turn}`, output: 'Success. Updated the following files:\nM src/step.ts\n' } }),
        );
      }
      lines.push(JSON.stringify({ type: 'response_item', payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `Answer ${turn}: ran \`echo\`.\n\n\`\`\`ts\nconst step = ${turn};\n\`\`\`` }] } }));
      runs.push({ id: newRunId(), conversationId: id, sequence: turn, kind: turn === 1 ? ('new' as const) : ('resume' as const), prompt: `Question ${turn}`, status: 'succeeded' as const, host: 'worker-a', cwd: '/work', startedAt: Date.now() - (turns - turn) * 1000, endedAt: Date.now() - (turns - turn) * 1000 + 500, exitCode: 0, error: undefined, queuedAt: undefined, handoffs: 0, redaction: undefined });
    }
    const content = Buffer.from(`${lines.join('\n')}\n`);
    await store.importConversation({
      conversation: { id, harness: 'codex', sessionId, title: `A conversation of ${turns} turns`, cwd: '/work', createdAt: Date.now(), updatedAt: Date.now(), tenant: 'acme' },
      runs,
      events: [],
      meta: { sessionId, sessionStartedAt: undefined, cwd: '/work', cliVersion: '0.171.0' },
      files: [{ key: 'main', content, lineCount: lines.length, sha256: sha256Hex(content) }],
      workspace: undefined,
    });
    return id;
  } finally {
    await store.close();
  }
}
