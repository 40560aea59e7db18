/** `baton rm CONVERSATION_ID [--server URL]`: remove a conversation with its runs, transcript and workspace snapshots. */
import type { Command } from 'commander';
import { BatonError, isBatonError } from '../errors.js';
import { withStore, type GlobalOptions } from './context.js';
import { RemoteClient, remoteTarget } from './remote.js';

/** What was removed, as the one line `baton rm` prints (the title is stored text: quoted and escaped). */
function removedLine(conversation: { id: string; harness: string; title: string }, runs: number): string {
  return `removed conversation ${conversation.id} (${conversation.harness}, ${runs} run${runs === 1 ? '' : 's'}, its transcript and workspace snapshots): ${JSON.stringify(conversation.title)}\n`;
}

/** The store's and the server's "not found" and "busy", told in the CLI's own words. */
function explained(error: unknown, id: string, list: string, activeRunId?: string | null): unknown {
  if (isBatonError(error, 'CONVERSATION_NOT_FOUND')) return new BatonError('CONVERSATION_NOT_FOUND', error.message, { hint: `list conversations with \`${list}\``, cause: error });
  if (isBatonError(error, 'CONVERSATION_BUSY')) {
    return new BatonError('CONVERSATION_BUSY', `cannot remove conversation ${id} while a run${activeRunId ? ` (${activeRunId})` : ''} is active`, {
      hint: `wait for the run to finish (or interrupt it), then run \`baton rm ${id}\` again`,
      cause: error,
    });
  }
  return error;
}

export function registerRmCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('rm')
    .description('remove a conversation with its runs, transcript and workspace snapshots (refused while a run is active)')
    .argument('<conversation-id>')
    .option('--server <url>', 'remove it from a baton server (default $BATON_SERVER; token from $BATON_TOKEN)')
    .action(async (id: string, options: { server?: string }) => {
      const remote = remoteTarget(options.server);
      if (remote) {
        const client = new RemoteClient(remote);
        const path = `/v1/conversations/${encodeURIComponent(id)}`;
        let activeRunId: string | null | undefined;
        try {
          const conversation = await client.request<{ id: string; harness: string; title: string; activeRunId: string | null; runs: unknown[] }>('GET', path);
          activeRunId = conversation.activeRunId;
          await client.request('DELETE', path);
          process.stdout.write(removedLine(conversation, conversation.runs.length));
        } catch (error) {
          throw explained(error, id, `baton ls --server ${remote.url}`, activeRunId);
        }
        return;
      }
      await withStore(globals(), async ({ store }) => {
        let activeRunId: string | undefined;
        try {
          const conversation = await store.getConversation(id);
          if (!conversation) throw new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${id} in ${store.location}`);
          activeRunId = conversation.activeRunId;
          const runs = await store.listRuns(id);
          await store.deleteConversation(id);
          process.stdout.write(removedLine(conversation, runs.length));
        } catch (error) {
          throw explained(error, id, 'baton ls', activeRunId);
        }
      });
    });
}
