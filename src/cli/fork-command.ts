/**
 * `baton fork CONVERSATION_ID [--turn N | --at RUN] [--prompt P]`: a new conversation that ends at that turn or
 * run, cut from what the store holds (src/run/fork-conversation.ts); the original is untouched.
 * `baton fork CONVERSATION_ID --local`: this machine's copy of a conversation's session went another way than
 * the store's (a run here that never saved, a session continued outside baton): keep it as a conversation of
 * its own, forked from the original, instead of losing either history.
 * `baton rewind CONVERSATION_ID --turn N`: the conversation goes on from turn N; its history so far becomes a fork.
 */
import { readFile, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BatonError } from '../errors.js';
import { getHarness } from '../harness/registry.js';
import { forkConversation, rewindConversation, type ForkResult } from '../run/fork-conversation.js';
import { forkFromFiles } from '../run/fork-lost-work.js';
import { compareRedactedLocalCopy } from '../run/redacted-local-copy.js';
import { DEFAULT_LEASE_MS, resumeConversation, runRedactor, type RunResult } from '../run/runner.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES } from '../workspace/workspace.js';
import { withStore, type GlobalOptions } from './context.js';
import { RemoteClient, remoteTarget } from './remote.js';
import { executeRun, leaseMs, report, workspaceOptions, type RunCommandOptions } from './run-command.js';
import { terminalJson, terminalLine } from './terminal-text.js';

interface ForkOptions {
  local?: boolean;
  turn?: string;
  at?: string;
  prompt?: string;
  json?: boolean;
  cwd?: string;
  /** --prompt: restore | overwrite | skip (see `baton resume`); false with --no-workspace (--local only). */
  workspace?: string | false;
  redact: boolean;
  server?: string;
  quiet?: boolean;
}

/** A turn number as typed: a positive integer. */
export function parseTurn(text: string | undefined, flag = '--turn'): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new BatonError('USAGE', `${flag} takes a turn number (1, 2, …), not "${text}"`, { hint: 'turns are numbered from 1 as `baton show` shows them' });
  }
  return Number(text);
}

function assertForkOptions(options: ForkOptions): void {
  const flags = (names: Array<[boolean, string]>): string[] => names.filter(([given]) => given).map(([, name]) => name);
  if (options.local) {
    const withLocal = flags([[options.turn !== undefined, '--turn'], [options.at !== undefined, '--at'], [options.prompt !== undefined, '--prompt'], [options.server !== undefined, '--server'], [typeof options.workspace === 'string', '--workspace']]);
    if (withLocal.length > 0) {
      throw new BatonError('USAGE', `--local keeps this machine's whole copy of the session; it cannot be combined with ${withLocal.join(', ')}`, {
        hint: 'fork the store\'s saved state at a turn without --local, or fork the local copy whole with --local alone',
      });
    }
    return;
  }
  if (options.turn !== undefined && options.at !== undefined) throw new BatonError('USAGE', 'a fork is cut either at a turn or at a run, not both', { hint: 'pass --turn N or --at RUN_ID' });
  const localOnly = flags([[options.workspace === false, '--no-workspace'], [options.redact === false, '--no-redact']]);
  if (localOnly.length > 0) {
    throw new BatonError('USAGE', `${localOnly.join(', ')} only apply to --local: a fork at a turn copies the store's saved transcript and workspace as they are`, { hint: `drop ${localOnly.join(', ')}` });
  }
  for (const [given, flag] of [[options.cwd !== undefined, '--cwd'], [typeof options.workspace === 'string', '--workspace']] as const) {
    if (given && options.prompt === undefined) {
      throw new BatonError('USAGE', `${flag} without --prompt has nothing to do: the fork is made in the store`, { hint: `pass --prompt P to continue the fork at once, or drop ${flag}` });
    }
  }
}

function forkJson(result: ForkResult): Record<string, unknown> {
  const { conversation } = result;
  return {
    conversationId: conversation.id,
    harness: conversation.harness,
    sessionId: conversation.sessionId ?? null,
    forkedFrom: conversation.forkedFrom ?? null,
    turn: result.turn,
    turns: result.turns,
    workspaceRunId: result.workspaceRunId ?? null,
  };
}

export function registerForkCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('fork')
    .description('a new conversation from this one: cut after a turn or run (the store\'s saved state), or from this machine\'s diverged copy (--local)')
    .argument('<conversation-id>')
    .option('--turn <n>', 'end the fork after turn N, as `baton show` numbers them (default: the newest turn)')
    .option('--at <run-id>', 'end the fork where that run ended')
    .option('--prompt <prompt>', 'continue the fork at once with this prompt (like `baton resume FORK PROMPT`)')
    .option('--json', 'print one JSON object {conversationId, harness, sessionId, forkedFrom, turn, turns, workspaceRunId[, run]}')
    .option('--local', "fork from this machine's copy of the session (the CLI's home here), whole")
    .option('--cwd <dir>', 'with --local: the directory the session ran in here (default: the current directory); with --prompt: where the fork continues')
    .option('--workspace <mode>', 'with --prompt: when --cwd holds other work, refuse (default "restore"), "overwrite" it, or "skip" the fork\'s files')
    .option('--no-workspace', 'with --local: keep only the transcript')
    .option('--no-redact', 'with --local: store the local copy byte for byte, secrets included (see Security model in the README)')
    .option('--server <url>', 'fork on a baton server (default $BATON_SERVER; token from $BATON_TOKEN); --prompt queues the follow-up there')
    .option('-q, --quiet', 'with --prompt: do not show the agent\'s progress')
    .action(async (id: string, options: ForkOptions) => {
      assertForkOptions(options);
      if (options.local) {
        await forkLocalCopy(globals(), id, options);
        return;
      }
      const turn = parseTurn(options.turn);
      const remote = remoteTarget(options.server);
      if (remote) {
        const local = [options.cwd !== undefined && '--cwd', typeof options.workspace === 'string' && '--workspace'].filter((flag): flag is string => typeof flag === 'string');
        if (local.length > 0) throw new BatonError('USAGE', `${local.join(', ')} cannot be used with --server: the fork's follow-up runs on a worker, not here`, { hint: 'drop them, or fork locally without --server' });
        const body = { ...(turn !== undefined ? { turn } : {}), ...(options.at !== undefined ? { runId: options.at } : {}), ...(options.prompt !== undefined ? { prompt: options.prompt } : {}) };
        const created = await new RemoteClient(remote).request<{ conversation: { id: string }; runId?: string | null }>('POST', `/v1/conversations/${encodeURIComponent(id)}/forks`, body);
        if (options.json) process.stdout.write(`${terminalJson(created)}\n`);
        else {
          if (created.runId) process.stderr.write(`· queued run ${terminalLine(created.runId)} of the fork on ${remote.url}\n`);
          process.stdout.write(`${terminalLine(created.conversation.id)}\n`);
        }
        return;
      }
      let forked: ForkResult | undefined;
      await withStore(globals(), async ({ store }) => {
        forked = await forkConversation(store, id, { turn, runId: options.at });
        if (!options.json) process.stderr.write(`${describeFork(forked, id)}\n`);
      });
      const result = forked!;
      if (options.prompt === undefined) {
        if (options.json) process.stdout.write(`${terminalJson(forkJson(result))}\n`);
        else process.stdout.write(`${result.conversation.id}\n`);
        return;
      }
      const runOptions: RunCommandOptions = {
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(typeof options.workspace === 'string' ? { workspace: options.workspace } : {}),
        ...(options.json ? { json: true } : {}),
        ...(options.quiet ? { quiet: true } : {}),
      };
      await executeRun(globals(), runOptions, options.prompt, async (common) => resumeConversation({ ...common, store: await common.store(), conversationId: result.conversation.id, workspace: workspaceOptions(runOptions, 'resume') }), (run: RunResult, shown) => {
        if (!shown.json) return report(run, shown);
        process.stdout.write(`${terminalJson({ ...forkJson(result), run: { runId: run.runId, status: run.status, exitCode: run.exitCode ?? null, errorCode: run.errorCode ?? null } })}\n`);
        process.exitCode = run.status === 'succeeded' ? 0 : run.status === 'interrupted' ? 130 : 1;
      });
    });

  program
    .command('rewind')
    .description('go back to a turn: the conversation continues from turn N; its history so far is kept as a new conversation forked from it')
    .argument('<conversation-id>')
    .requiredOption('--turn <n>', 'the turn it goes back to, as `baton show` numbers them')
    .option('--json', 'print one JSON object {conversationId, sessionId, turn, turns, workspaceRunId, oldBranch: {conversationId, sessionId}}')
    .action(async (id: string, options: { turn: string; json?: boolean }) => {
      const turn = parseTurn(options.turn)!;
      await withStore(globals(), async ({ store }) => {
        const result = await rewindConversation(store, id, turn, { host: hostname(), ...(leaseMs() ? { leaseMs: leaseMs() } : {}) });
        if (options.json) {
          process.stdout.write(
            `${terminalJson({
              conversationId: result.conversation.id,
              sessionId: result.conversation.sessionId ?? null,
              turn: result.turn,
              turns: result.turns,
              workspaceRunId: result.workspaceRunId ?? null,
              oldBranch: { conversationId: result.oldBranch.id, sessionId: result.oldBranch.sessionId ?? null },
            })}\n`,
          );
          return;
        }
        const shown = terminalLine(id);
        process.stderr.write(
          `rewound ${shown} to turn ${result.turn} of ${result.turns}${result.workspaceRunId ? ` (workspace as run ${result.workspaceRunId} left it)` : ' (no workspace snapshot of that point)'}; ` +
            `its ${result.turns} turns are kept in ${result.oldBranch.id}; continue with \`baton resume ${shown} PROMPT\`\n`,
        );
        process.stdout.write(`${shown}\n`);
      });
    });
}

function describeFork(result: ForkResult, typedId: string): string {
  const id = terminalLine(typedId);
  const workspace = result.workspaceRunId ? `the workspace as run ${result.workspaceRunId} left it` : 'no workspace snapshot (none was saved up to that turn)';
  const active = result.activeRunId ? ` (run ${result.activeRunId} of ${id} is still going: the fork holds what it had saved by now)` : '';
  return `forked ${id} after turn ${result.turn} of ${result.turns} into ${result.conversation.id}: the store's saved transcript and ${workspace}${active}; continue it with \`baton resume ${result.conversation.id} PROMPT\``;
}

async function forkLocalCopy(globals: GlobalOptions, id: string, options: ForkOptions): Promise<void> {
  await withStore(globals, async ({ store }) => {
    const conversation = await store.getConversation(id);
    if (!conversation?.sessionId) {
      throw new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${id} with a session in ${store.location}`, { hint: 'list conversations with `baton ls`' });
    }
    const harness = getHarness(conversation.harness);
    const cwd = await realpath(resolve(options.cwd ?? process.cwd()));
    const context = { home: harness.resolveHome(process.env), cwd, env: process.env };
    const location = await harness.locateTranscript(context, conversation.sessionId);
    if (!location) {
      throw new BatonError('TRANSCRIPT_NOT_FOUND', `${harness.displayName}'s home ${context.home} holds no copy of session ${conversation.sessionId} for ${cwd}`, {
        hint: 'run it where the session was continued, with the same CLI home and --cwd',
      });
    }
    const stored = (await store.loadTranscript(id))?.files ?? [];
    const redactor = await runRedactor(harness, context, { redaction: { enabled: options.redact } });
    let diverged = false;
    for (const file of location.files) {
      const storedFile = stored.find((candidate) => candidate.key === file.key);
      // A local copy that differs only where the store's copy was redacted holds nothing new.
      const relation = storedFile ? (await compareRedactedLocalCopy(await readFile(file.path), storedFile.content, redactor)).relation : 'longer';
      if (relation === 'different' || relation === 'longer') diverged = true;
    }
    if (!diverged) throw new BatonError('USAGE', `this machine's copy of ${id} holds nothing the store lacks`, { hint: `resume it with \`baton resume ${id} PROMPT\`` });
    const runs = await store.listRuns(id);
    const forkId = await forkFromFiles({
      store,
      harness,
      conversation,
      sessionId: conversation.sessionId,
      files: location.files,
      origin: { runId: runs.at(-1)?.id ?? '', reason: `the copy of the session on ${hostname()} went on differently from the store's` },
      prompt: runs.at(-1)?.prompt ?? '',
      host: hostname(),
      cwd,
      leaseMs: DEFAULT_LEASE_MS,
      workspace: options.workspace !== false ? { dir: cwd, maxBytes: DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false } : undefined,
      redactor,
    });
    process.stderr.write(`forked ${id} into ${forkId} from this machine's copy; continue it with \`baton resume ${forkId} PROMPT\` (move the local copy away to continue ${id} here)\n`);
    if (options.json) process.stdout.write(`${terminalJson({ conversationId: forkId, forkedFrom: id })}\n`);
    else process.stdout.write(`${forkId}\n`);
  });
}
