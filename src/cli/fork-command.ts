/**
 * `baton fork CONVERSATION_ID --local`: this machine's copy of a conversation's session went another way than
 * the store's (a run here that never saved, a session continued outside baton): keep it as a conversation of
 * its own, forked from the original, instead of losing either history.
 */
import { readFile, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BatonError } from '../errors.js';
import { getHarness } from '../harness/registry.js';
import type { Harness } from '../harness/harness.js';
import { forkFromFiles } from '../run/fork-lost-work.js';
import { compareRedactedLocalCopy } from '../run/redacted-local-copy.js';
import { DEFAULT_LEASE_MS, runRedactor } from '../run/runner.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES } from '../workspace/workspace.js';
import { withStore, type GlobalOptions } from './context.js';

export function registerForkCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('fork')
    .description("keep this machine's diverged copy of a conversation as a new conversation forked from it")
    .argument('<conversation-id>')
    .requiredOption('--local', "fork from this machine's copy of the session (the CLI's home here)")
    .option('--cwd <dir>', 'the working directory the session ran in here (default: the current directory); its files go with the fork')
    .option('--no-workspace', 'keep only the transcript')
    .option('--no-redact', 'store the local copy byte for byte, secrets included (see Security model in the README)')
    .action(async (id: string, options: { cwd?: string; workspace: boolean; redact: boolean }) => {
      await withStore(globals(), async ({ store }) => {
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
          workspace: options.workspace ? { dir: cwd, maxBytes: DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false } : undefined,
          redactor,
        });
        process.stderr.write(`forked ${id} into ${forkId} from this machine's copy; continue it with \`baton resume ${forkId} PROMPT\` (move the local copy away to continue ${id} here)\n`);
        process.stdout.write(`${forkId}\n`);
      });
    });
}
