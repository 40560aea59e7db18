/**
 * A hostile transcript in a real browser (Debian's Chromium driven by playwright-core), served by the real
 * `baton serve`: the recorded Codex and Claude Code transcripts with the usual XSS and exfiltration payloads in the
 * prompt, the command, its output, the reply and the title. The test reads the page as a victim would, clicks
 * everything clickable in the transcript, and checks that nothing ran and no request left the page's origin —
 * the attacker is a second HTTP server on loopback that every payload would call.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newConversationId, newRunId } from '../../src/ids.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { sha256Hex } from '../../src/transcript/envelope.js';
import { createFleet, type Fleet } from '../e2e/fleet-world.js';
import { CODE_BLOCK_SCRIPT, hostileClaudeSession, hostileCodexRollout, hostileTitle, hostileTurn, type HostileTurn, type PlantedTranscript } from './hostile-transcripts.js';

const RESULTS = resolve('test-results');
const CHROMIUM = '/usr/bin/chromium';

/** The attacker: every request it gets is a payload that worked. */
interface Attacker {
  url: string;
  received: string[];
  close(): Promise<void>;
}

async function startAttacker(): Promise<Attacker> {
  const received: string[] = [];
  const server: Server = createServer((request, response) => {
    received.push(`${request.method} ${request.url}`);
    response.writeHead(200, { 'content-type': 'text/html' }).end('<script>window.opener && (window.opener.__pwned = "attacker-page")</script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let fleet: Fleet;
let attacker: Attacker;
let token: string;
let browser: Browser;
let turn: HostileTurn;

beforeAll(async () => {
  await mkdir(RESULTS, { recursive: true });
  attacker = await startAttacker();
  turn = hostileTurn(attacker.url);
  fleet = await createFleet();
  token = await fleet.token('acme');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.cleanup();
  await attacker?.close();
}, 60_000);

/** Stores the planted transcript as one succeeded run of a conversation of tenant acme. */
async function storeConversation(transcript: PlantedTranscript): Promise<string> {
  const store = await openPostgresStore(fleet.cluster.url);
  try {
    const id = newConversationId();
    const now = Date.now();
    await store.importConversation({
      conversation: { id, harness: transcript.harness, sessionId: transcript.sessionId, title: hostileTitle(attacker.url), cwd: transcript.cwd, createdAt: now, updatedAt: now, tenant: 'acme' },
      runs: [{ id: newRunId(), conversationId: id, sequence: 1, kind: 'new', prompt: turn.prompt, status: 'succeeded', host: 'worker-a', cwd: transcript.cwd, startedAt: now - 1000, endedAt: now, exitCode: 0, error: undefined, queuedAt: undefined, handoffs: 0, redaction: undefined }],
      events: [],
      meta: { sessionId: transcript.sessionId, sessionStartedAt: undefined, cwd: transcript.cwd, cliVersion: transcript.cliVersion },
      files: [{ key: 'main', content: transcript.content, lineCount: transcript.lineCount, sha256: sha256Hex(transcript.content) }],
      workspace: undefined,
    });
    return id;
  } finally {
    await store.close();
  }
}

/** Everything the browser did that the page's own code would not: requests, dialogs, new windows, errors. */
interface Observed {
  requests: string[];
  dialogs: string[];
  popups: string[];
}

async function victimPage(): Promise<{ context: BrowserContext; page: Page; observed: Observed }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const observed: Observed = { requests: [], dialogs: [], popups: [] };
  context.on('request', (request) => observed.requests.push(request.url()));
  context.on('page', (opened) => observed.popups.push(opened.url()));
  const page = await context.newPage();
  observed.popups.length = 0; // the victim's own tab
  page.on('dialog', (dialog) => {
    observed.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { context, page, observed };
}

/** Waits until the page has made no request for half a second (a payload that fires does so by then). */
async function settle(page: Page, observed: Observed): Promise<void> {
  let seen = -1;
  while (seen !== observed.requests.length) {
    seen = observed.requests.length;
    await page.waitForTimeout(500);
  }
}

/** The page's globals the checks read (the tests compile without the DOM library). */
interface PageGlobals {
  __pwned?: unknown;
  document: { querySelectorAll(selector: string): Iterable<{ className: string; getAttribute(name: string): string | null }> & { length: number } };
}

const pwned = (page: Page): Promise<unknown> => page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned);

/** What in the rendered transcript can be clicked: links, buttons, summaries, inputs (there should be none of the last two). */
const CLICKABLE = ':is(a, button, summary, input, [onclick], [role=button])';

/**
 * Clicks every clickable thing in the transcript, as a curious reader would, and submits every form in it; after
 * a click that navigated (within the origin), goes back to the conversation.
 */
async function clickEverything(page: Page, observed: Observed, conversationUrl: string): Promise<number> {
  const chat = page.getByTestId('chat');
  const total = await chat.locator(CLICKABLE).count();
  for (let index = 0; index < total; index++) {
    const target = chat.locator(CLICKABLE).nth(index);
    // A real click when it can be clicked; a dispatched one (it still follows a link) when it is hidden.
    await target.click({ timeout: 2_000 }).catch(() => target.dispatchEvent('click'));
    await settle(page, observed);
    if (page.url() !== conversationUrl) {
      await page.goto(conversationUrl);
      await page.getByTestId('assistant-message').waitFor();
    }
  }
  const forms = await chat.locator('form').count();
  for (let index = 0; index < forms; index++) await chat.locator('form').nth(index).evaluate((form) => (form as unknown as { requestSubmit(): void }).requestSubmit());
  await settle(page, observed);
  return total;
}

/** The directives of a Content-Security-Policy header, by name. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!.toLowerCase(), values]),
  );
}

describe.each([
  { harness: 'codex', plant: hostileCodexRollout },
  { harness: 'claude', plant: hostileClaudeSession },
])('a hostile $harness transcript in the web UI', ({ harness, plant }) => {
  it('runs nothing, sends nothing outside the origin, and shows the payloads as text', async () => {
    const id = await storeConversation(await plant(turn));
    const { context, page, observed } = await victimPage();
    const origin = new URL(fleet.serverUrl).origin;

    // The page as the browser got it: scripts only from itself, no forms posting anywhere, no <base>.
    const index = await page.goto(fleet.serverUrl);
    const policy = directives(index!.headers()['content-security-policy'] ?? '');
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('default-src')).toEqual(["'self'"]);
    expect(policy.get('form-action')).toEqual(["'none'"]);
    expect(policy.get('base-uri')).toEqual(["'none'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('img-src')).not.toContain('*');

    await page.getByTestId('token').fill(token);
    await page.getByTestId('signin').click();
    await page.getByRole('heading', { name: 'Conversations' }).waitFor();
    const conversationUrl = `${fleet.serverUrl}/#/c/${id}`;
    await page.goto(conversationUrl);
    await page.getByTestId('assistant-message').waitFor();
    await settle(page, observed);
    await page.screenshot({ path: join(RESULTS, `web-hostile-${harness}.png`), fullPage: true });

    // Shown, as text: the prompt, the command, its output, the code block, the title.
    const chat = page.getByTestId('chat');
    expect(await page.getByTestId('user-message').textContent()).toBe(turn.prompt);
    expect(await page.getByTestId('command').locator('.tool-head code').textContent()).toBe(turn.command);
    expect(await page.getByTestId('command').locator('pre.output').textContent()).toBe(turn.output.trimEnd());
    expect(await page.getByTestId('assistant-message').locator('pre code').textContent()).toBe(`${CODE_BLOCK_SCRIPT}\n`);
    expect(await page.getByTestId('conversation-title').textContent()).toBe(hostileTitle(attacker.url));
    expect(await page.title()).toBe('baton');
    // The reply's raw HTML is sanitised, not deleted wholesale: its plain text survives.
    const reply = (await page.getByTestId('assistant-message').textContent()) ?? '';
    expect(reply).toContain('Here is what I found.');
    expect(reply).toContain('markdown outside link');
    // A link to another origin is shown with where it goes, but cannot be followed by a click.
    expect(reply).toContain(`markdown outside link (${attacker.url}/markdown-link)`);
    expect(reply).toContain(`[image: markdown outside image — not loaded from ${attacker.url}/markdown-image.png]`);

    const clicked = await clickEverything(page, observed, conversationUrl);
    // 13 links the payloads leave (disarmed), the planted details' summary and the output's.
    expect(clicked).toBeGreaterThanOrEqual(15);
    // The list of conversations shows the title too.
    await page.goto(`${fleet.serverUrl}/#/`);
    expect(await page.getByTestId('conversation-row').locator(`a[href="#/c/${id}"]`).textContent()).toBe(hostileTitle(attacker.url));
    await settle(page, observed);
    expect({ pwned: await pwned(page), received: attacker.received, dialogs: observed.dialogs, popups: observed.popups }).toEqual({ pwned: undefined, received: [], dialogs: [], popups: [] });

    await page.goto(conversationUrl);
    await page.getByTestId('assistant-message').waitFor();
    await settle(page, observed);

    // Nothing ran, nothing was asked, nothing opened, nothing left the origin.
    expect(await pwned(page)).toBeUndefined();
    expect(observed.dialogs).toEqual([]);
    expect(observed.popups).toEqual([]);
    expect(attacker.received).toEqual([]);
    expect(observed.requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);

    // None of the planted elements exist: not in the transcript, and nowhere else in the page.
    // (The page's own "Fork from here" after each turn is the one button a chat row may hold, outside any item.)
    const ownButtons = '.chat-row > .turn-end > button[data-testid="fork-from-here"]';
    expect(await chat.locator(`:is(form, input, button:not(${ownButtons}), textarea, select, option, style, iframe, frame, object, embed, script, meta, base, link, video, audio)`).count()).toBe(0);
    expect(await chat.locator(ownButtons).count()).toBeGreaterThan(0);
    expect(await chat.locator('.chat-row [style]').count()).toBe(0); // the rows themselves are placed by the page's own code
    expect(await chat.locator('[href^="javascript:" i], [href^="data:" i], [src^="http" i], [src^="//"], [srcset], [ping], [action], [formaction]').count()).toBe(0);
    const wholePage = await page.evaluate(() => {
      const { document } = globalThis as unknown as PageGlobals;
      return {
        styles: document.querySelectorAll('style').length,
        frames: document.querySelectorAll('iframe, frame, object, embed').length,
        bases: document.querySelectorAll('base, meta[http-equiv]').length,
        scripts: [...document.querySelectorAll('script')].map((script) => script.getAttribute('src') ?? 'inline'),
        forms: [...document.querySelectorAll('form')].map((form) => form.className),
      };
    });
    expect(wholePage).toMatchObject({ styles: 0, frames: 0, bases: 0, forms: ['followup'] });
    expect(wholePage.scripts.every((src) => src.startsWith('/assets/'))).toBe(true);
    expect(attacker.received).toEqual([]);
    await context.close();
  }, 120_000);
});
