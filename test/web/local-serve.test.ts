/**
 * The web UI of a zero-setup `baton serve` (embedded store, in-process worker) in a real browser (Debian's
 * Chromium through playwright-core): started with nothing but a temporary HOME, signed in by opening the URL it
 * printed, a conversation started from the form runs live on the server's own worker with the real Codex CLI,
 * a follow-up resumes it, and a terminal's `baton run` shows up in the same list; a run the model API refused
 * shows its code, the CLI's message and what to do.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../src/testing/machine.js';
import { withFailures } from '../e2e/failing-script.js';
import { fleetScript } from '../e2e/fleet-world.js';
import { startLocalServe, type LocalServe } from '../e2e/local-serve.js';
import { conversationOf, lastUserText } from '../e2e/model-requests.js';
import { createWorld, waitFor, type World } from '../e2e/world.js';

const RESULTS = resolve('test-results');
const CHROMIUM = '/usr/bin/chromium';

let world: World;
let laptop: Machine;
let serve: LocalServe;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  await mkdir(RESULTS, { recursive: true });
  world = await createWorld(withFailures(fleetScript));
  laptop = await world.machine('laptop');
  serve = await startLocalServe(laptop, world.model);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop('SIGKILL');
  await world?.cleanup();
}, 60_000);

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(RESULTS, `web-local-${name}.png`), fullPage: true });
const sessionToken = (page: Page): Promise<string | null> =>
  page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('baton.token'));

describe('baton serve with no setup, in the browser', () => {
  it('signs in from the printed URL, runs a conversation from the form on its own worker, and resumes it with a follow-up', async () => {
    const page = await newPage();
    await page.goto(serve.signInUrl);
    await page.getByRole('heading', { name: 'Conversations' }).waitFor();
    // The one-time code left the address bar; the tab holds a session of its own instead.
    expect(page.url()).not.toContain('sign-in');
    expect(await sessionToken(page)).toMatch(/^baton_local_/);
    await shot(page, 'signed-in');

    // A terminal's `baton run` on the same machine appears in the list.
    const terminal = await world.baton(laptop, ['run', '--harness', 'codex', 'hello from the terminal'], { store: `${laptop.home}/.baton/baton.db` });
    expect(terminal.code, terminal.stderr).toBe(0);
    await page.getByTestId('conversation-row').filter({ hasText: 'hello from the terminal' }).waitFor({ timeout: 30_000 });

    await page.getByTestId('new-conversation').click();
    await page.locator('[data-testid=harness] option').first().waitFor({ state: 'attached' });
    await page.getByTestId('harness').selectOption('codex');
    await page.getByTestId('prompt').fill('RUN echo local-browser-PAUSE');
    await page.getByTestId('start').click();
    await page.waitForURL(/#\/c\/c_/);
    // It runs: the command's output is on the page while the model still holds its answer (4 s).
    await page.getByTestId('live-output').locator('pre.output').filter({ hasText: 'local-browser-PAUSE' }).waitFor({ timeout: 90_000 });
    await shot(page, 'live');
    await page.getByTestId('assistant-message').filter({ hasText: 'The command printed: local-browser-PAUSE' }).waitFor({ timeout: 90_000 });

    await page.getByTestId('followup').fill('what did the command print?');
    await page.getByTestId('send').click();
    await page.getByTestId('assistant-message').filter({ hasText: 'ACK what did the command print?' }).waitFor({ timeout: 90_000 });
    const headers = await page.getByTestId('run-header').allTextContents();
    expect(headers).toHaveLength(2);
    expect(headers[0]).toMatch(/Run 1.*succeeded.*new/);
    expect(headers[1]).toMatch(/Run 2.*succeeded.*resume/);
    await shot(page, 'conversation');
    // "Open locally" on this machine's own server: the terminal shares the store, so no --server and no token.
    await page.getByTestId('open-locally').click();
    const conversationId = decodeURIComponent(/#\/c\/([^/?]+)/.exec(page.url())![1]!);
    expect((await page.getByTestId('open-locally-command').locator('code').textContent())?.trim()).toBe(`baton open ${conversationId}`);

    // The follow-up's model request carried the first run's tool output: the server's worker resumed the session.
    const request = await waitFor(() => world.turns().find((turn) => lastUserText(turn) === 'what did the command print?'), 'the follow-up request');
    expect(conversationOf(request).some((turn) => turn.kind === 'tool_output' && turn.text.includes('local-browser-PAUSE'))).toBe(true);

    // A terminal's run that the model API refused (401): the page shows its code, Codex's own message and the fix.
    const refused = await world.baton(laptop, ['run', '--harness', 'codex', 'FAIL 401 from the terminal'], { store: `${laptop.home}/.baton/baton.db` });
    expect(refused.code).toBe(1);
    await page.goto(`${new URL(page.url()).origin}/#/c/${encodeURIComponent(refused.stdout.trim())}`);
    const failure = page.locator('.failure[data-code=CLI_AUTH_FAILED]');
    await failure.waitFor({ timeout: 30_000 });
    expect(await failure.locator('.failure-code').textContent()).toBe('CLI_AUTH_FAILED');
    expect(await failure.locator('.failure-message').textContent()).toMatch(/Codex CLI said: unexpected status 401 Unauthorized: Incorrect API key provided: \[REDACTED/);
    expect(await failure.locator('.failure-hint').textContent()).toMatch(/^What to do: log in with `codex login`/);
    await shot(page, 'failed-run');

    // The same URL does not sign a second browser in.
    const other = await newPage();
    await other.goto(serve.signInUrl);
    await other.getByTestId('signin-error').filter({ hasText: 'used already' }).waitFor();
    expect(await sessionToken(other)).toBeNull();
    await shot(other, 'link-used');
    await other.close();
    await page.close();
    // The refused link's 401 is the only error a page logged.
    expect(pageErrors.filter((error) => !/status of 401/.test(error))).toEqual([]);
  }, 300_000);
});
