/**
 * The interactive launch (`baton open`) of every harness: the CLI's own UI on the terminal, resuming the session,
 * with the CLI's normal approvals unless the user asked to bypass them. (test/e2e/interactive-open.test.ts drives
 * the real UIs; this pins the argv each one is given.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HarnessContext, InteractivePermissions } from '../../src/harness/harness.js';
import { HARNESS_IDS, type HarnessId } from '../../src/harness/ids.js';
import { getHarness } from '../../src/harness/registry.js';
import { planLaunch } from '../../src/sandbox/sandbox.js';

/** The flag that switches each CLI's approvals off, and what `ask` passes instead (verified with the real CLIs). */
const PERMISSION_ARGS: Record<HarnessId, Record<InteractivePermissions, string[]>> = {
  codex: { bypass: ['--dangerously-bypass-approvals-and-sandbox'], ask: ['--ask-for-approval', 'on-request', '--sandbox', 'workspace-write'] },
  claude: { bypass: ['--dangerously-skip-permissions'], ask: ['--permission-mode', 'default'] },
  gemini: { bypass: ['--approval-mode', 'yolo'], ask: ['--approval-mode', 'default'] },
  opencode: { bypass: ['--auto'], ask: [] },
};
const HEADLESS_ONLY = ['exec', '-p', '--prompt', 'run', '--json', '--output-format', '--format'];

describe.each(HARNESS_IDS)('the %s interactive launch', (id) => {
  const harness = getHarness(id);
  let root: string;
  let context: HarnessContext;
  const sessionId = id === 'opencode' ? 'ses_0123456789abcdefABCDEFGHIJ' : '0199a213-81c0-7800-8aa1-bbab2a035a53';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'baton-interactive-'));
    context = { home: join(root, 'home'), cwd: root, env: { ...process.env, HOME: root }, runsAsRoot: false };
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const launch = (permissions: InteractivePermissions, model?: string) =>
    harness.command(context, { kind: 'interactive', setup: model ? { model } : {}, resume: { sessionId }, permissions }, { command: undefined, newArgs: undefined, resumeArgs: undefined });

  it('takes the terminal and resumes the session, with no prompt and no headless flag', async () => {
    const spec = await launch('bypass');
    expect(spec.terminal).toBe(true);
    expect(spec.stdin).toBeUndefined();
    expect(spec.args).toContain(sessionId);
    for (const flag of HEADLESS_ONLY) expect(spec.args).not.toContain(flag);
  });

  it('bypasses approvals only when asked to', async () => {
    const bypass = await launch('bypass');
    const ask = await launch('ask');
    const joined = (args: string[]) => args.join('\u0000');
    expect(joined(bypass.args)).toContain(joined(PERMISSION_ARGS[id].bypass));
    if (PERMISSION_ARGS[id].ask.length > 0) expect(joined(ask.args)).toContain(joined(PERMISSION_ARGS[id].ask));
    expect(joined(ask.args)).not.toContain(joined(PERMISSION_ARGS[id].bypass));
  });

  it('passes the conversation\'s model', async () => {
    const model = id === 'opencode' ? 'openai/gpt-5.1' : 'some-model';
    const spec = await launch('ask', model);
    expect(spec.args).toContain(model);
  });
});

describe("Gemini CLI's interactive launch in a CI-flagged shell", () => {
  // verified with gemini 0.61.0: CI=true or GITHUB_ACTIONS=true makes it headless on a terminal (exit 42, "No input
  // provided via stdin"), so `baton open` in such a shell would never show the UI.
  it('hides the CI markers from the UI, and only from the UI', async () => {
    const root = await mkdtemp(join(tmpdir(), 'baton-interactive-ci-'));
    try {
      const context: HarnessContext = { home: join(root, 'home'), cwd: root, env: { ...process.env, HOME: root }, runsAsRoot: false };
      const templates = { command: undefined, newArgs: undefined, resumeArgs: undefined };
      const inherited = { PATH: process.env.PATH, CI: 'true', GITHUB_ACTIONS: 'true', KEEP_ME: 'yes' };
      const sessionId = '0199a213-81c0-7800-8aa1-bbab2a035a53';
      const gemini = getHarness('gemini');
      const ui = await planLaunch(await gemini.command(context, { kind: 'interactive', setup: {}, resume: { sessionId }, permissions: 'ask' }, templates), inherited, { mode: 'none' });
      expect(ui.env.CI).toBeUndefined();
      expect(ui.env.GITHUB_ACTIONS).toBeUndefined();
      expect(ui.env.KEEP_ME).toBe('yes');
      const headless = await planLaunch(await gemini.command(context, { kind: 'resume', setup: {}, resume: { sessionId }, prompt: 'go on' }, templates), inherited, { mode: 'none' });
      expect(headless.env.CI).toBe('true');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
